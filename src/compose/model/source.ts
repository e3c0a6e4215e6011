// One compose file from disk to its canonical tree (parse → interpolate → schema → long syntax →
// `!reset`/`!override` markers), and the Locator that answers "which file and line set this field"
// for errors found after merging.
import path from 'node:path';
import { canonicalFile, type Tree } from './canonical.js';
import { ComposeFileError, fieldPath, InterpolationError } from './errors.js';
import { interpolateTree, type Lookup } from './interpolate.js';
import { checkCasts } from './casts.js';
import { applyTags } from './merge.js';
import { parseComposeText, validateCompose, type ParsedFile } from './parse.js';

export interface SourceFile {
  parsed: ParsedFile;
  /** canonical tree, markers in place */
  tree: Tree;
  dir: string;
}

/** the segments of a printed field path (`services.web.ports[0]`) */
export function pathSegments(field: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : (m[1] as string));
  return out;
}

/** read one file's text into a SourceFile; `missing` hears each unset variable */
export function loadSource(file: string, text: string, lookup: Lookup, missing: (name: string) => void): SourceFile {
  const parsed = parseComposeText(file, text);
  let data: Tree;
  try {
    data = interpolateTree(parsed.data, lookup, missing) as Tree;
  } catch (e) {
    if (!(e instanceof InterpolationError)) throw e;
    const what = e.message.replace(/ \(at [^)]*\)$/, '');
    throw new ComposeFileError(file, parsed.lineOf(pathSegments(e.path)), e.path, what);
  }
  validateCompose(parsed, withoutResets(data, parsed.tags));
  const fail = (at: Array<string | number>, what: string): never => {
    throw new ComposeFileError(file, parsed.lineOf(at), fieldPath(at), what);
  };
  checkCasts(withoutResets(data, parsed.tags), fail);
  const tree = canonicalFile(data, fail);
  applyTags(tree, parsed.tags);
  return { parsed, tree, dir: path.dirname(file) };
}

/** the tree without the values tagged `!reset`: they are ignored, so `ports: !reset null` must not fail the schema */
function withoutResets(data: Tree, tags: SourceFile['parsed']['tags']): Tree {
  const resets = tags.filter((t) => t.tag === '!reset');
  if (resets.length === 0) return data;
  const copy = structuredClone(data);
  for (const { path: at } of resets) {
    let node: unknown = copy;
    for (const seg of at.slice(0, -1)) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
    const last = at[at.length - 1];
    if (last === undefined || node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete (node as Record<string, unknown>)[last];
  }
  return copy;
}

/** where a field of the merged model was written: the last file that has it (else the nearest parent field) */
export class Locator {
  constructor(readonly files: ParsedFile[]) {}

  locate(at: ReadonlyArray<string | number>): { file: string; line: number } {
    for (let n = at.length; n > 0; n--) {
      const prefix = at.slice(0, n);
      for (let i = this.files.length - 1; i >= 0; i--) {
        const f = this.files[i] as ParsedFile;
        if (f.has(prefix)) return { file: f.file, line: f.lineOf(prefix) };
      }
    }
    return { file: this.files[0]?.file ?? '', line: 0 };
  }

  /** a located error for a field of the merged model */
  error(at: ReadonlyArray<string | number>, what: string, field: string = fieldPath(at)): ComposeFileError {
    const { file, line } = this.locate(at);
    return new ComposeFileError(file, line, field, what);
  }
}

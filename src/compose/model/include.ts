// `include` (14-include.md): each entry is loaded as its own project (its directory, its .env, its
// own includes), paths resolved against it, and its resources copied into the including model;
// a resource defined differently on both sides is refused in compose v2's words (2.x; v5 merges
// them instead), naming the include entry.
import { existsSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import { isMap, type Tree } from './canonical.js';
import { ComposeFileError } from './errors.js';

export interface IncludeEntry {
  path: string[];
  project_directory?: string;
  env_file?: string[];
}

export interface IncludeContext {
  /** load a sub-project's files (absolute) into a merged, path-resolved tree */
  loadSub(files: string[], projectDir: string, envFiles: string[] | undefined, chain: string[]): Tree;
  /** where `include[i]` was written */
  locate(at: Array<string | number>): { file: string; line: number };
  /** files being included above this level (cycle check) */
  chain: string[];
}

const KINDS = ['services', 'networks', 'volumes', 'secrets', 'configs'];

/** the model with its `include` entries loaded and copied in (the `include` key removed) */
export function applyIncludes(model: Tree, ctx: IncludeContext): Tree {
  const entries = Array.isArray(model.include) ? (model.include as IncludeEntry[]) : [];
  const { include: _drop, ...out } = model;
  void _drop;
  entries.forEach((entry, i) => {
    const loc = ctx.locate(['include', i]);
    const fail = (what: string): never => {
      throw new ComposeFileError(loc.file, loc.line, `include[${i}]`, what);
    };
    const dir = path.dirname(loc.file);
    const files = entry.path.map((p) => path.resolve(dir, p));
    for (const f of files) {
      if (!existsSync(f)) fail(`included file ${f} not found`);
      if (ctx.chain.includes(f)) fail(`include cycle detected: ${[...ctx.chain, f].join(' -> ')}`);
    }
    const projectDir = entry.project_directory === undefined ? path.dirname(files[0] as string) : path.resolve(dir, entry.project_directory);
    const envFiles = entry.env_file?.map((e) => path.resolve(dir, e));
    const sub = ctx.loadSub(files, projectDir, envFiles, [...ctx.chain, ...files]);
    for (const kind of KINDS) {
      const theirs = sub[kind];
      if (!isMap(theirs)) continue;
      const ours: Tree = isMap(out[kind]) ? { ...out[kind] } : {};
      for (const [name, def] of Object.entries(theirs)) {
        if (name in ours && !isDeepStrictEqual(ours[name], def)) fail(`${kind}.${name} conflicts with imported resource`);
        ours[name] = def;
      }
      out[kind] = ours;
    }
  });
  return out;
}

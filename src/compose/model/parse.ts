// One compose file from text to a plain tree: YAML 1.2 by `yaml`, then the Compose Specification's
// JSON schema (schema/compose-spec.json) by ajv. Every error names the file, the line and the field.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';
import { LineCounter, parseDocument, isNode, isMap, isSeq, isScalar, type Document } from 'yaml';
import { ComposeFileError, fieldPath } from './errors.js';

export { ComposeFileError } from './errors.js';

export interface ParsedFile {
  file: string;
  data: Record<string, unknown>;
  /** the 1-based line of a field (path segments as in the tree), 0 when unknown */
  lineOf(path: ReadonlyArray<string | number>): number;
  /** whether the file itself holds a value at that path */
  has(path: ReadonlyArray<string | number>): boolean;
  /** the paths of values tagged `!reset` or `!override` (13-merge.md), in document order */
  tags: Array<{ path: Array<string | number>; tag: '!reset' | '!override' }>;
}

/** parse YAML (anchors, merge keys `<<` and fragments resolved) into a tree; syntax errors are ComposeFileErrors */
export function parseComposeText(file: string, text: string): ParsedFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, merge: true, uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = lines.linePos(first.pos[0]).line;
    throw new ComposeFileError(file, line, '', `invalid YAML: ${first.message.split('\n')[0] ?? first.code}`);
  }
  const data: unknown = doc.toJS({ maxAliasCount: 10000 }) ?? {};
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ComposeFileError(file, 1, '', 'top-level object must be a mapping');
  }
  const tags: ParsedFile['tags'] = [];
  collectTags(doc.contents, [], tags);
  return {
    file,
    data: data as Record<string, unknown>,
    lineOf: (path) => lineOf(doc, lines, path),
    has: (path) => hasPath(doc, path),
    tags,
  };
}

function collectTags(node: unknown, at: Array<string | number>, out: ParsedFile['tags']): void {
  if (!isNode(node)) return;
  if (node.tag === '!reset' || node.tag === '!override') out.push({ path: at, tag: node.tag });
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key === 'string' || typeof key === 'number') collectTags(pair.value, [...at, String(key)], out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => collectTags(item, [...at, i], out));
  }
}

/** the node at a path; in a sequence a string segment that is not an index names the scalar item with that value (`depends_on: [db]`) */
function nodeAt(doc: Document, path: ReadonlyArray<string | number>): unknown {
  let node: unknown = doc.contents;
  for (const seg of path) {
    if (isMap(node)) {
      node = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg))?.value;
    } else if (isSeq(node)) {
      node =
        typeof seg === 'number' || /^\d+$/.test(seg)
          ? node.items[Number(seg)]
          : node.items.find((i) => isScalar(i) && String(i.value).split(/[=:]/)[0] === seg);
    } else {
      return undefined;
    }
    if (node === undefined) return undefined;
  }
  return node;
}

function hasPath(doc: Document, path: ReadonlyArray<string | number>): boolean {
  return nodeAt(doc, path) !== undefined;
}

function lineOf(doc: Document, lines: LineCounter, path: ReadonlyArray<string | number>): number {
  for (let n = path.length; n >= 0; n--) {
    // a mapping's entry is located by its key (`web:`), not by where its value starts
    const parent = n === 0 ? undefined : nodeAt(doc, path.slice(0, n - 1));
    const pair = isMap(parent) ? parent.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(path[n - 1])) : undefined;
    const node = isNode(pair?.key) ? pair.key : nodeAt(doc, path.slice(0, n));
    if (isNode(node) && node.range !== undefined && node.range !== null) return lines.linePos(node.range[0]).line;
  }
  return 0;
}

let validator: ValidateFunction | undefined;

/**
 * `rel` under this checkout, from dist/src/compose/model/ or from the bundle's dist/berth-chunks/:
 * the first directory up from this module that holds it.
 */
function checkoutFile(rel: string): string | undefined {
  for (let dir = new URL('.', import.meta.url); ;) {
    const candidate = new URL(rel, dir);
    if (existsSync(candidate)) return fileURLToPath(candidate);
    const up = new URL('..', dir);
    if (up.href === dir.href) return undefined;
    dir = up;
  }
}

/**
 * The schema's validator: the standalone one scripts/compile-validators.mjs generated at build time
 * (compiling the schema here took ~0.45 s of every command), else compiled from the schema.
 */
function schemaValidator(): ValidateFunction {
  if (validator === undefined) {
    const compiled = checkoutFile('dist/src/compose/model/schema/compose-spec.validate.cjs');
    const require = createRequire(import.meta.url);
    if (compiled !== undefined) {
      validator = require(compiled) as ValidateFunction;
    } else {
      // ajv itself only here: loading it is most of the cost the build step saves.
      const { Ajv } = require('ajv') as { Ajv: typeof AjvClass };
      const file = checkoutFile('src/compose/model/schema/compose-spec.json');
      if (file === undefined) throw new Error('compose-spec.json not found above ' + fileURLToPath(import.meta.url));
      const schema: unknown = JSON.parse(readFileSync(file, 'utf8'));
      const ajv = new Ajv({ allErrors: false, strict: false, allowUnionTypes: true, validateSchema: false });
      validator = ajv.compile(schema as object);
    }
  }
  return validator;
}

/** check a parsed (and interpolated) tree against the Compose Specification's schema */
export function validateCompose(parsed: ParsedFile, data: unknown = parsed.data): void {
  const err = schemaError(data);
  if (err !== undefined) throw new ComposeFileError(parsed.file, parsed.lineOf(err.at), err.field, err.what);
}

/** the first schema violation of a tree: the field's path (as printed), the path to locate it by, and what is wrong */
export function schemaError(data: unknown): { field: string; at: string[]; what: string } | undefined {
  const validate = schemaValidator();
  if (validate(data)) return undefined;
  // A oneOf/anyOf that fails reports each branch's error, then its own: the deepest branch error
  // is the one about the value as written (depends_on's map with a bad condition, not "must be an
  // array" from the list branch).
  const errors = validate.errors ?? [];
  const depth = (e: ErrorObject): number => (e.instancePath === '' ? 0 : e.instancePath.split('/').length);
  const branch = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf');
  const err = branch.reduce<ErrorObject | undefined>((best, e) => (best === undefined || depth(e) > depth(best) ? e : best), undefined) ?? errors[0];
  if (err === undefined) return undefined;
  const path = err.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const at = err.keyword === 'additionalProperties' ? [...path, String(err.params.additionalProperty)] : path;
  return { field: fieldPath(path), at, what: describe(err) };
}

function describe(err: ErrorObject): string {
  switch (err.keyword) {
    case 'additionalProperties':
      return `additional property ${String(err.params.additionalProperty)} is not allowed`;
    case 'type':
      return `must be ${String(err.params.type)
        .split(',')
        .map((t) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`))
        .join(' or ')}`;
    case 'required':
      return `${String(err.params.missingProperty)} is required`;
    case 'enum':
      return `must be one of ${(err.params.allowedValues as unknown[]).map(String).join(', ')}`;
    default:
      return err.message ?? 'is invalid';
  }
}

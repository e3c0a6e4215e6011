// One compose file from text to a plain tree: YAML 1.2 by `yaml`, then the Compose Specification's
// JSON schema (schema/compose-spec.json) by ajv. Every error names the file, the line and the field.
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { ComposeFileError, fieldPath } from './errors.js';

export { ComposeFileError } from './errors.js';

export interface ParsedFile {
  file: string;
  data: Record<string, unknown>;
  /** the 1-based line of a field (path segments as in the tree), 0 when unknown */
  lineOf(path: ReadonlyArray<string | number>): number;
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
  return { file, data: data as Record<string, unknown>, lineOf: (path) => lineOf(doc, lines, path) };
}

function lineOf(doc: Document, lines: LineCounter, path: ReadonlyArray<string | number>): number {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range !== undefined && node.range !== null) return lines.linePos(node.range[0]).line;
  }
  return 0;
}

let validator: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (validator === undefined) {
    const schema: unknown = JSON.parse(readFileSync(new URL('../../../../src/compose/model/schema/compose-spec.json', import.meta.url), 'utf8'));
    const ajv = new Ajv({ allErrors: false, strict: false, allowUnionTypes: true, validateSchema: false });
    validator = ajv.compile(schema as object);
  }
  return validator;
}

/** check a parsed (and interpolated) tree against the Compose Specification's schema */
export function validateCompose(parsed: ParsedFile, data: unknown = parsed.data): void {
  const validate = schemaValidator();
  if (validate(data)) return;
  const err = (validate.errors ?? [])[0];
  if (err === undefined) return;
  const path = err.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const field = fieldPath(path);
  const at = err.keyword === 'additionalProperties' ? [...path, String(err.params.additionalProperty)] : path;
  throw new ComposeFileError(parsed.file, parsed.lineOf(at), field, describe(err));
}

function describe(err: ErrorObject): string {
  switch (err.keyword) {
    case 'additionalProperties':
      return `additional property ${String(err.params.additionalProperty)} is not allowed`;
    case 'type':
      return `must be a ${String(err.params.type).replace(',', ' or a ')}`;
    case 'required':
      return `${String(err.params.missingProperty)} is required`;
    case 'enum':
      return `must be one of ${(err.params.allowedValues as unknown[]).map(String).join(', ')}`;
    default:
      return err.message ?? 'is invalid';
  }
}

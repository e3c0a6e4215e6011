/**
 * Request bodies as dockerd's JSON decoder (Go's encoding/json) takes them, checked against the
 * Engine API's schemas (src/api/schema/engine-api.json, derived from the v1.50 spec by
 * scripts/gen-api-schema.mjs; compiled by ajv into dist/src/api/schema/validators.js at build
 * time, so nothing is compiled at start-up).
 *
 * What Go does, and so what this does: the first JSON value is decoded and trailing bytes are
 * ignored; nesting deeper than 10,000 is refused ("exceeded max depth"); keys match struct fields
 * case-insensitively and unknown keys are dropped; null leaves a field at its zero value; a value of
 * the wrong kind or out of the Go type's range is refused with Go's own text, e.g.
 * `json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Privileged of type bool`.
 * Handlers get the canonical object: only known fields, no nulls inside lists and maps.
 */
import { readFileSync } from 'node:fs';
import { invalid } from '../lib/errors.js';
import { goQuoteChar } from '../lib/quote.js';
/** The bodies with a schema (one compiled validator each, dist/src/api/schema/validators/<name>.js). */
export const BODY_NAMES = [
  'ContainerCreate',
  'ContainerUpdate',
  'Commit',
  'ExecCreate',
  'ExecStart',
  'NetworkCreate',
  'NetworkConnect',
  'NetworkDisconnect',
  'VolumeCreate',
  'Auth',
  'PluginPrivileges',
  'PluginSet',
] as const;
export type BodyName = (typeof BODY_NAMES)[number];

/** Which body each route takes (the `x-route` of each schema; test/validate checks they agree). */
export const BODY_OF_ROUTE: Readonly<Record<string, BodyName>> = {
  'POST /containers/create': 'ContainerCreate',
  'POST /containers/{id}/update': 'ContainerUpdate',
  'POST /commit': 'Commit',
  'POST /containers/{id}/exec': 'ExecCreate',
  'POST /exec/{id}/start': 'ExecStart',
  'POST /networks/create': 'NetworkCreate',
  'POST /networks/{id}/connect': 'NetworkConnect',
  'POST /networks/{id}/disconnect': 'NetworkDisconnect',
  'POST /volumes/create': 'VolumeCreate',
  'POST /auth': 'Auth',
  'POST /plugins/pull': 'PluginPrivileges',
  'POST /plugins/{name*}/upgrade': 'PluginPrivileges',
  'POST /plugins/{name*}/set': 'PluginSet',
};

/** Go's encoding/json limit. */
export const MAX_DEPTH = 10_000;

interface SchemaNode {
  type?: string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode;
  items?: SchemaNode;
  'x-go'?: string;
  'x-go-struct'?: string;
  /** Lower-cased property names → canonical ones (built on first use). */
  fold?: Map<string, string>;
}

let schemas: Record<string, SchemaNode> | undefined;
function schemaOf(name: BodyName): SchemaNode {
  if (!schemas) {
    const file = new URL('./schema/engine-api.json', import.meta.url);
    schemas = (JSON.parse(readFileSync(file, 'utf8')) as { bodies: Record<string, SchemaNode> }).bodies;
  }
  const s = schemas[name];
  if (!s) throw new Error(`no schema for body ${name}`);
  return s;
}

/** Nesting depth of JSON text, strings skipped. Only called for texts long enough to be deep. */
function depthOf(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * Go's syntax-error text for JSON that JSON.parse refused: a re-scan of the bytes with the states
 * of encoding/json's scanner (only run on failure). Undefined when Go would take the text.
 */
export function goSyntaxError(text: string): string | undefined {
  const b = Buffer.from(text, 'utf8');
  const n = b.length;
  let i = 0;
  const stack: number[] = []; // 0x7b object, 0x5b array
  const EOF = 'unexpected EOF';
  const bad = (where: string): string => `invalid character ${goQuoteChar(b[i] as number)} ${where}`;
  const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
  const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
  const scanString = (): string | undefined => {
    for (i++; ;) {
      if (i >= n) return EOF;
      const c = b[i] as number;
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c === 0x5c) {
        i++;
        if (i >= n) return EOF;
        const e = b[i] as number;
        if ('bfnrt"\\/'.includes(String.fromCharCode(e))) i++;
        else if (e === 0x75) {
          i++;
          for (let k = 0; k < 4; k++, i++) {
            if (i >= n) return EOF;
            if (!isHex(b[i] as number)) return bad('in \\u hexadecimal character escape');
          }
        } else return bad('in string escape code');
      } else if (c < 0x20) return bad('in string literal');
      else i++;
    }
  };
  const scanNumber = (): string | undefined => {
    if (b[i] === 0x2d) {
      i++;
      if (i >= n) return EOF;
      if (!isDigit(b[i])) return bad('in numeric literal');
    }
    if (b[i] === 0x30) i++;
    else while (isDigit(b[i])) i++;
    if (b[i] === 0x2e) {
      i++;
      if (i >= n) return EOF;
      if (!isDigit(b[i])) return bad('after decimal point in numeric literal');
      while (isDigit(b[i])) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (i >= n) return EOF;
      if (!isDigit(b[i])) return bad('in exponent of numeric literal');
      while (isDigit(b[i])) i++;
    }
    return undefined;
  };
  const scanLiteral = (word: string): string | undefined => {
    for (let k = 0; k < word.length; k++, i++) {
      if (i >= n) return EOF;
      if (b[i] !== word.charCodeAt(k)) return bad(`in literal ${word} (expecting ${goQuoteChar(word.charCodeAt(k))})`);
    }
    return undefined;
  };
  type State = 'value' | 'valueOrEnd' | 'keyOrEnd' | 'key' | 'colon' | 'after';
  let st: State = 'value';
  for (;;) {
    while (i < n && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
    if (st === 'after' && stack.length === 0) return undefined;
    if (i >= n) return EOF;
    const c = b[i] as number;
    let r: string | undefined;
    switch (st) {
      case 'valueOrEnd':
      case 'value':
        if (st === 'valueOrEnd' && c === 0x5d) {
          i++;
          stack.pop();
          st = 'after';
        } else if (c === 0x7b || c === 0x5b) {
          stack.push(c);
          i++;
          st = c === 0x7b ? 'keyOrEnd' : 'valueOrEnd';
        } else {
          if (c === 0x22) r = scanString();
          else if (c === 0x2d || isDigit(c)) r = scanNumber();
          else if (c === 0x74) r = scanLiteral('true');
          else if (c === 0x66) r = scanLiteral('false');
          else if (c === 0x6e) r = scanLiteral('null');
          else return bad('looking for beginning of value');
          if (r) return r;
          st = 'after';
        }
        break;
      case 'keyOrEnd':
      case 'key':
        if (st === 'keyOrEnd' && c === 0x7d) {
          i++;
          stack.pop();
          st = 'after';
        } else if (c === 0x22) {
          r = scanString();
          if (r) return r;
          st = 'colon';
        } else return bad('looking for beginning of object key string');
        break;
      case 'colon':
        if (c !== 0x3a) return bad('after object key');
        i++;
        st = 'value';
        break;
      case 'after': {
        const top = stack[stack.length - 1];
        if (c === 0x2c) {
          i++;
          st = top === 0x7b ? 'key' : 'value';
        } else if ((top === 0x7b && c === 0x7d) || (top === 0x5b && c === 0x5d)) {
          i++;
          stack.pop();
        } else return bad(top === 0x7b ? 'after object key:value pair' : 'after array element');
        break;
      }
    }
  }
}

/** Parses the first JSON value of `text` as Go's json.Decoder does (trailing data ignored). */
export function parseJSONValue(text: string): unknown {
  if (text.length >= MAX_DEPTH * 2 && depthOf(text) > MAX_DEPTH) throw invalid('exceeded max depth');
  try {
    return JSON.parse(text);
  } catch (err) {
    const m = /^Unexpected non-whitespace character after JSON at position (\d+)/.exec((err as Error).message);
    if (m) return JSON.parse(text.slice(0, Number(m[1])));
    throw invalid(goSyntaxError(text) ?? (err as Error).message);
  }
}

const kindOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v === 'object' ? 'object' : typeof v;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function foldOf(node: SchemaNode): Map<string, string> {
  if (!node.fold) node.fold = new Map(Object.keys(node.properties ?? {}).map((k) => [k.toLowerCase(), k]));
  return node.fold;
}

/** Go's view of the keys: canonical names for struct fields (case-insensitive), unknown ones dropped. */
function canonical(v: unknown, node: SchemaNode): unknown {
  if (node.properties && isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) {
      const key = node.properties[k] ? k : foldOf(node).get(k.toLowerCase());
      if (key === undefined) continue;
      out[key] = canonical(val, node.properties[key] as SchemaNode);
    }
    return out;
  }
  if (node.additionalProperties && isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) out[k] = canonical(val, node.additionalProperties);
    return out;
  }
  if (node.items && Array.isArray(v)) return v.map((x) => canonical(x, node.items as SchemaNode));
  return v;
}

/** The zero value Go leaves for a null of this node's type. */
function zeroOf(node: SchemaNode): unknown {
  const t = node.type ?? [];
  if (t.includes('object')) return {};
  if (t.includes('array')) return [];
  if (t.includes('string')) return '';
  if (t.includes('integer') || t.includes('number')) return 0;
  if (t.includes('boolean')) return false;
  return null;
}

/** After validation: null fields dropped (Go leaves them unset), nulls in lists and maps zeroed. */
function denull(v: unknown, node: SchemaNode): unknown {
  if (node.properties && isObject(v)) {
    for (const [k, val] of Object.entries(v)) {
      if (val === null) delete v[k];
      else v[k] = denull(val, node.properties[k] as SchemaNode);
    }
  } else if (node.additionalProperties && isObject(v)) {
    const ap = node.additionalProperties;
    for (const [k, val] of Object.entries(v)) v[k] = val === null ? zeroOf(ap) : denull(val, ap);
  } else if (node.items && Array.isArray(v)) {
    const it = node.items;
    for (let i = 0; i < v.length; i++) v[i] = v[i] === null ? zeroOf(it) : denull(v[i], it);
  }
  return v;
}

const unescapePointer = (s: string): string => s.replace(/~1/g, '/').replace(/~0/g, '~');

/** Go's UnmarshalTypeError text for the value at `pointer`. */
function goTypeError(root: unknown, rootNode: SchemaNode, pointer: string): string {
  let node = rootNode;
  let value = root;
  let struct = rootNode['x-go-struct'] ?? '';
  const fields: string[] = [];
  for (const seg of pointer.split('/').slice(1).map(unescapePointer)) {
    if (node.items && node['x-go'] === 'string') {
      // strslice.StrSlice: a list with a wrong element is reported as the list
      break;
    }
    if (node.properties && isObject(value)) {
      fields.push(seg);
      struct = node['x-go-struct'] ?? struct;
      node = node.properties[seg] ?? {};
    } else if (node.additionalProperties) node = node.additionalProperties;
    else if (node.items) node = node.items;
    else break;
    value = (value as Record<string, unknown>)[seg];
  }
  let kind = kindOf(value);
  if (kind === 'number' && node.type?.includes('integer')) kind = `number ${String(value)}`;
  const goType = node['x-go'] ?? 'interface {}';
  if (fields.length === 0) return `json: cannot unmarshal ${kind} into Go value of type ${goType}`;
  return `json: cannot unmarshal ${kind} into Go struct field ${struct}.${fields.join('.')} of type ${goType}`;
}

/** Compares two JSON pointers into `root` by where their values appear in the document. */
function documentOrder(root: unknown, a: string, b: string): number {
  const sa = a.split('/').slice(1).map(unescapePointer);
  const sb = b.split('/').slice(1).map(unescapePointer);
  let cur = root;
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const ka = sa[i] as string;
    const kb = sb[i] as string;
    if (ka !== kb) {
      if (Array.isArray(cur)) return Number(ka) - Number(kb);
      const keys = isObject(cur) ? Object.keys(cur) : [];
      return keys.indexOf(ka) - keys.indexOf(kb);
    }
    cur = (cur as Record<string, unknown>)?.[ka];
  }
  return sa.length - sb.length;
}

type Validator = ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string }> | null };

const loading = new Map<BodyName, Promise<Validator>>();

/**
 * The compiled validator of one body, loaded on first use and run once on an empty body so that
 * V8 has compiled it (the create validator is the largest: ~40 ms on this machine under load).
 */
function validatorOf(name: BodyName): Promise<Validator> {
  let p = loading.get(name);
  if (!p) {
    p = (import(`./schema/validators/${name}.js`) as Promise<{ default: Validator }>).then((m) => {
      m.default(schemaOf(name).type?.includes('array') ? [] : {});
      return m.default;
    });
    loading.set(name, p);
  }
  return p;
}

/** Loads every validator (berthd does it a moment after it listens, so no request waits for one). */
export async function loadValidators(): Promise<void> {
  for (const name of BODY_NAMES) await validatorOf(name);
}

/**
 * Validates a parsed body against a schema and returns Go's view of it (see the module comment);
 * throws InvalidParameter with dockerd's text. `null` is Go's zero value: `{}` for object bodies.
 */
export async function validateBody(name: BodyName, value: unknown): Promise<unknown> {
  const check = await validatorOf(name);
  const node = schemaOf(name);
  const isArrayBody = node.type?.includes('array') === true;
  if (value === null) return isArrayBody ? [] : {};
  const v = canonical(value, node);
  if (!check(v)) {
    // Go stops at the first wrong value in the document; ajv reports in the schema's order.
    const paths = (check.errors ?? []).map((e) => e.instancePath);
    const first = paths.reduce((a, b) => (documentOrder(v, a, b) <= 0 ? a : b), paths[0] ?? '');
    throw invalid(goTypeError(v, node, first));
  }
  return denull(v, node);
}

/** Go's text for a query parameter holding JSON of the wrong kind (build's buildargs, labels …). */
export function jsonParamTypeError(value: unknown, goType: string): string {
  return `json: cannot unmarshal ${kindOf(value)} into Go value of type ${goType}`;
}

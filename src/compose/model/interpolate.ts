// Compose's variable interpolation (Compose Specification, "Interpolation"): $NAME, ${NAME},
// ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+alt}, ${NAME+alt},
// nested defaults and `$$` for a literal dollar. Applied to YAML values only, never to keys.

import { fieldPath, InterpolationError } from './errors.js';

export { InterpolationError } from './errors.js';

export type Lookup = (name: string) => string | undefined;

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/** interpolate one string; `missing` is told each variable that was unset and had no default */
export function interpolateString(text: string, lookup: Lookup, missing: (name: string) => void = () => {}, path = ''): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = closingBrace(text, i + 2);
      if (end < 0) throw new InterpolationError(`invalid interpolation format for "${text}": unterminated \${`, path);
      out += expand(text.slice(i + 2, end), text, lookup, missing, path);
      i = end + 1;
      continue;
    }
    const m = NAME.exec(text.slice(i + 1));
    if (m === null) {
      out += '$'; // not a variable: kept as written
      i++;
      continue;
    }
    out += value(m[0], lookup, missing);
    i += 1 + m[0].length;
  }
  return out;
}

function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '$') {
      i++;
    } else if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function value(name: string, lookup: Lookup, missing: (name: string) => void): string {
  const v = lookup(name);
  if (v === undefined) {
    missing(name);
    return '';
  }
  return v;
}

function expand(body: string, whole: string, lookup: Lookup, missing: (name: string) => void, path: string): string {
  const m = NAME.exec(body);
  if (m === null) throw new InterpolationError(`invalid interpolation format for "${whole}": "\${${body}}"`, path);
  const name = m[0];
  const rest = body.slice(name.length);
  if (rest === '') return value(name, lookup, missing);
  const op = /^(:?[-?+])/.exec(rest);
  if (op === null) throw new InterpolationError(`invalid interpolation format for "${whole}": "\${${body}}"`, path);
  const operator = op[1] ?? '';
  const arg = rest.slice(operator.length);
  const v = lookup(name);
  const colon = operator.startsWith(':');
  const unset = v === undefined || (colon && v === '');
  const sub = (): string => interpolateString(arg, lookup, missing, path);
  switch (operator.slice(-1)) {
    case '-':
      return unset ? sub() : v;
    case '+':
      return unset ? '' : sub();
    default: {
      if (!unset) return v;
      const msg = sub();
      throw new InterpolationError(`required variable ${name} is missing a value${msg === '' ? '' : `: ${msg}`}`, path);
    }
  }
}

/** interpolate every string value of a parsed YAML document (keys untouched); returns a new tree */
export function interpolateTree(node: unknown, lookup: Lookup, missing: (name: string) => void = () => {}): unknown {
  return walk(node, [], lookup, missing);
}

function walk(node: unknown, at: Array<string | number>, lookup: Lookup, missing: (name: string) => void): unknown {
  if (typeof node === 'string') return interpolateString(node, lookup, missing, fieldPath(at));
  if (Array.isArray(node)) return node.map((v, i) => walk(v, [...at, i], lookup, missing));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = walk(v, [...at, k], lookup, missing);
    return out;
  }
  return node;
}

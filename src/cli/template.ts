/**
 * A Go text/template evaluator, enough for docker's `--format`:
 * field chains (`.State.Status`), variables, pipelines, parenthesised calls, `if`/`else if`/
 * `else`, `range` (with `$i, $v :=`, `break`, `continue`), `with`, comments, trim markers,
 * and docker's function set (json, upper, lower, title, join, split, truncate, pad) plus
 * Go's builtins (print, printf, println, len, index, slice, eq, ne, lt, le, gt, ge, and, or, not).
 *
 * Data model: JS values. Objects act as maps (missing key → `<no value>`); a function-valued
 * property is a method and is called with the arguments that follow it (`.Label "k"`).
 */
import { goQuote } from '../lib/quote.js';

export class TemplateError extends Error {
  /** the node the error happened at (set during execution) */
  loc: { pos: number; raw: string } | undefined;
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/**
 * Marks an object as a typed context (like a Go struct) rather than a map: a missing field is
 * an error "can't evaluate field X in type <name>" instead of `<no value>`.
 */
export const TYPE_NAME: unique symbol = Symbol('template type name');

function locate(e: unknown, loc: { pos: number; raw: string }): unknown {
  if (e instanceof TemplateError && !e.loc) e.loc = { pos: loc.pos, raw: loc.raw };
  return e;
}

/** A missing map key: prints as `<no value>`, is false in `if`. */
export const NO_VALUE: unique symbol = Symbol('no value');

export type TemplateFunc = (...args: unknown[]) => unknown;
export type FuncMap = Record<string, TemplateFunc>;

// ---------- lexer ----------

type Tok =
  | { t: 'field'; names: string[] }
  | { t: 'var'; name: string; names: string[] }
  | { t: 'dot' }
  | { t: 'ident'; v: string }
  | { t: 'string'; v: string }
  | { t: 'number'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'nil' }
  | { t: 'lparen' }
  | { t: 'rparen'; names: string[] }
  | { t: 'pipe' }
  | { t: 'declare' }
  | { t: 'assign' }
  | { t: 'comma' };

function lexAction(src: string, base = 0): PosTok[] {
  const toks: PosTok[] = [];
  let i = 0;
  const readNames = (): string[] => {
    const names: string[] = [];
    while (src[i] === '.' && /[A-Za-z_]/.test(src[i + 1] ?? '')) {
      i++;
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
      const n = m?.[0] ?? '';
      names.push(n);
      i += n.length;
    }
    return names;
  };
  const step = (): void => {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      return;
    }
    if (c === '.') {
      if (/[A-Za-z_]/.test(src[i + 1] ?? '')) (toks as Tok[]).push({ t: 'field', names: readNames() });
      else if (/[0-9]/.test(src[i + 1] ?? '')) {
        const m = /^\.[0-9]+/.exec(src.slice(i));
        (toks as Tok[]).push({ t: 'number', v: Number(m?.[0]) });
        i += m?.[0].length ?? 1;
      } else {
        (toks as Tok[]).push({ t: 'dot' });
        i++;
      }
      return;
    }
    if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(src.slice(i));
      const name = m?.[0] ?? '$';
      i += name.length;
      (toks as Tok[]).push({ t: 'var', name, names: readNames() });
      return;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new TemplateError('unterminated quoted string');
      const lit = src.slice(i, j + 1);
      try {
        (toks as Tok[]).push({
          t: 'string',
          v: JSON.parse(
            lit
              .replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1')
              .replace(/\\a/g, '\\u0007')
              .replace(/\\v/g, '\\u000b'),
          ) as string,
        });
      } catch {
        throw new TemplateError(`invalid syntax ${lit}`);
      }
      i = j + 1;
      return;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw new TemplateError('unterminated raw quoted string');
      (toks as Tok[]).push({ t: 'string', v: src.slice(i + 1, j) });
      i = j + 1;
      return;
    }
    if (c === "'") {
      const m = /^'(\\.|[^'])'/.exec(src.slice(i));
      if (!m) throw new TemplateError('unterminated character constant');
      const ch = m[1] as string;
      const v = ch.startsWith('\\') ? (JSON.parse(`"${ch}"`) as string) : ch;
      (toks as Tok[]).push({ t: 'number', v: v.codePointAt(0) ?? 0 });
      i += m[0].length;
      return;
    }
    if (/[0-9+-]/.test(c)) {
      const m = /^[+-]?(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+([eE][+-]?[0-9]+)?)/.exec(src.slice(i));
      if (m && m[0] !== '' && m[0] !== '+' && m[0] !== '-') {
        (toks as Tok[]).push({ t: 'number', v: Number(m[0]) });
        i += m[0].length;
        return;
      }
      throw new TemplateError(`bad number syntax: "${src.slice(i, i + 5)}"`);
    }
    if (c === '(') {
      (toks as Tok[]).push({ t: 'lparen' });
      i++;
      return;
    }
    if (c === ')') {
      i++;
      (toks as Tok[]).push({ t: 'rparen', names: readNames() });
      return;
    }
    if (c === '|') {
      (toks as Tok[]).push({ t: 'pipe' });
      i++;
      return;
    }
    if (c === ',') {
      (toks as Tok[]).push({ t: 'comma' });
      i++;
      return;
    }
    if (c === ':' && src[i + 1] === '=') {
      (toks as Tok[]).push({ t: 'declare' });
      i += 2;
      return;
    }
    if (c === '=') {
      (toks as Tok[]).push({ t: 'assign' });
      i++;
      return;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (m) {
      const w = m[0];
      if (w === 'true' || w === 'false') (toks as Tok[]).push({ t: 'bool', v: w === 'true' });
      else if (w === 'nil') (toks as Tok[]).push({ t: 'nil' });
      else (toks as Tok[]).push({ t: 'ident', v: w });
      i += w.length;
      return;
    }
    throw new TemplateError(`unexpected "${c}" in command`);
  };
  while (i < src.length) {
    const start = i;
    const n = toks.length;
    step();
    for (let k = n; k < toks.length; k++) {
      const t = toks[k] as PosTok;
      t.raw = src.slice(start, i).trim();
      t.pos = base + start + (t.t === 'field' || (t.t === 'var' && t.names.length) ? t.raw.lastIndexOf('.') : 0);
      t.start = base + start;
    }
  }
  return toks;
}

type PosTok = Tok & { pos: number; start: number; raw: string };

// ---------- AST ----------

/** Where a node sits in the template source (for error messages), and its text. */
interface Loc {
  pos: number;
  raw: string;
}

type Arg = (
  | { k: 'field'; names: string[] }
  | { k: 'var'; name: string; names: string[] }
  | { k: 'dot' }
  | { k: 'func'; name: string }
  | { k: 'const'; v: unknown }
  | { k: 'sub'; pipe: Pipeline; names: string[] }
) &
  Loc;

interface Command extends Loc {
  args: Arg[];
}

interface Pipeline {
  decl: string[];
  assign: boolean;
  cmds: Command[];
}

type Node = { k: 'text'; v: string } | { k: 'action'; pipe: Pipeline } | ControlNode | { k: 'break' } | { k: 'continue' };

interface ControlNode {
  k: 'if' | 'with' | 'range';
  pipe: Pipeline;
  body: Node[];
  elseBody: Node[] | null;
}

interface RawAction {
  kind: 'text' | 'action';
  text: string;
  offset?: number;
}

function splitTemplate(src: string): RawAction[] {
  const out: RawAction[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) out.push({ kind: 'text', text });
      break;
    }
    let start = open + 2;
    if (src[start] === '-' && /\s/.test(src[start + 1] ?? '')) {
      text = text.replace(/\s+$/, '');
      start += 2;
    }
    if (text) out.push({ kind: 'text', text });
    // find the closing braces, skipping quoted strings
    let j = start;
    let close = -1;
    while (j < src.length) {
      const c = src[j];
      if (c === '"') {
        j++;
        while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
        j++;
        continue;
      }
      if (c === '`') {
        const e = src.indexOf('`', j + 1);
        j = e < 0 ? src.length : e + 1;
        continue;
      }
      if (c === '}' && src[j + 1] === '}') {
        close = j;
        break;
      }
      j++;
    }
    if (close < 0) throw new TemplateError('unclosed action');
    let inner = src.slice(start, close);
    if (/\s-$/.test(inner)) {
      inner = inner.slice(0, -2);
      trimNext = true;
    }
    out.push({ kind: 'action', text: inner, offset: start });
    i = close + 2;
  }
  return out;
}

class Parser {
  private pos = 0;
  constructor(private readonly items: RawAction[]) {}

  parse(): Node[] {
    const { nodes, end } = this.parseList();
    if (end) throw new TemplateError(`unexpected {{${end}}}`);
    return nodes;
  }

  /** Parses until {{end}} / {{else ...}}; returns which one stopped it. */
  private parseList(): { nodes: Node[]; end: string | null; elseRest?: string; elseOffset?: number } {
    const nodes: Node[] = [];
    while (this.pos < this.items.length) {
      const it = this.items[this.pos++] as RawAction;
      if (it.kind === 'text') {
        nodes.push({ k: 'text', v: it.text });
        continue;
      }
      const text = it.text.trim();
      const textOffset = (it.offset ?? 0) + (it.text.length - it.text.trimStart().length);
      if (text.startsWith('/*')) continue;
      const kw = /^([a-z]+)\b\s*([\s\S]*)$/.exec(text);
      const word = kw?.[1];
      const rest = kw?.[2] ?? '';
      if (word === 'end') return { nodes, end: 'end' };
      if (word === 'else') return { nodes, end: 'else', elseRest: rest, elseOffset: textOffset + text.length - rest.length };
      if (word === 'if' || word === 'with' || word === 'range') {
        nodes.push(this.parseControl(word, rest, textOffset + text.length - rest.length));
        continue;
      }
      if (word === 'break' && rest === '') {
        nodes.push({ k: 'break' });
        continue;
      }
      if (word === 'continue' && rest === '') {
        nodes.push({ k: 'continue' });
        continue;
      }
      if (word === 'define' || word === 'template' || word === 'block') {
        throw new TemplateError(`"${word}" is not supported`);
      }
      nodes.push({ k: 'action', pipe: parsePipeline(lexAction(text, textOffset), '') });
    }
    return { nodes, end: null };
  }

  private parseControl(kind: 'if' | 'with' | 'range', rest: string, offset: number): Node {
    const pipe = parsePipeline(lexAction(rest, offset), kind);
    if (pipe.cmds.length === 0) throw new TemplateError(`missing value for ${kind}`);
    const r = this.parseList();
    if (r.end === null) throw new TemplateError(`unexpected EOF`);
    let elseBody: Node[] | null = null;
    if (r.end === 'else') {
      const er = (r.elseRest ?? '').trim();
      const m = /^(if|with)\b\s*([\s\S]*)$/.exec(er);
      if (m && (kind === 'if' || kind === 'with') && m[1] === kind) {
        // {{else if ...}} chains: the nested control consumes the shared {{end}}
        const cond = m[2] ?? '';
        elseBody = [this.parseControl(kind, cond, (r.elseOffset ?? 0) + er.length - cond.length)];
      } else {
        if (er !== '') throw new TemplateError(`unexpected "${er}" in else`);
        const e = this.parseList();
        if (e.end !== 'end') throw new TemplateError('expected end; found ' + (e.end ?? 'EOF'));
        elseBody = e.nodes;
      }
    }
    return { k: kind, pipe, body: r.nodes, elseBody };
  }
}

function parsePipeline(toks: PosTok[], context: string): Pipeline {
  let i = 0;
  const decl: string[] = [];
  let assign = false;
  // variable declarations: $x := / $i, $v := / $x =
  {
    let j = 0;
    const names: string[] = [];
    while (j < toks.length) {
      const t = toks[j];
      if (t?.t === 'var' && t.names.length === 0) {
        names.push(t.name);
        j++;
        const n = toks[j];
        if (n?.t === 'comma' && context === 'range' && names.length < 2) {
          j++;
          continue;
        }
        if (n?.t === 'declare' || n?.t === 'assign') {
          assign = n.t === 'assign';
          decl.push(...names);
          i = j + 1;
        }
      }
      break;
    }
  }
  const cmds: Command[] = [];
  let cur: Arg[] = [];
  // inside parentheses commands collect into subCmds; the stack saves the outer state
  let subCmds: Command[] = [];
  const stack: Array<{ cmds: Command[]; cur: Arg[] }> = [];
  const mkCmd = (args: Arg[]): Command => ({ args, pos: args[0]?.pos ?? 0, raw: args.map((a) => a.raw).join(' ') });
  const pushCmd = (): void => {
    if (stack.length) subCmds.push(mkCmd(cur));
    else cmds.push(mkCmd(cur));
    cur = [];
  };
  const lparens: PosTok[] = [];
  for (; i < toks.length; i++) {
    const t = toks[i] as PosTok;
    const loc: Loc = { pos: t.pos, raw: t.raw };
    switch (t.t) {
      case 'field':
        cur.push({ k: 'field', names: t.names, ...loc });
        break;
      case 'var':
        cur.push({ k: 'var', name: t.name, names: t.names, ...loc });
        break;
      case 'dot':
        cur.push({ k: 'dot', ...loc });
        break;
      case 'ident':
        cur.push({ k: 'func', name: t.v, ...loc });
        break;
      case 'string':
      case 'number':
      case 'bool':
        cur.push({ k: 'const', v: t.v, ...loc });
        break;
      case 'nil':
        cur.push({ k: 'const', v: null, ...loc });
        break;
      case 'pipe':
        if (cur.length === 0) throw new TemplateError('missing command');
        pushCmd();
        break;
      case 'lparen':
        stack.push({ cmds: subCmds, cur });
        lparens.push(t);
        subCmds = [];
        cur = [];
        break;
      case 'rparen': {
        const frame = stack.pop();
        if (!frame) throw new TemplateError('unexpected right paren');
        if (cur.length) subCmds.push(mkCmd(cur));
        const open = lparens.pop();
        const inner = subCmds.map((c) => c.raw).join(' | ');
        const sub: Arg = {
          k: 'sub',
          pipe: { decl: [], assign: false, cmds: subCmds },
          names: t.names,
          pos: open?.pos ?? t.pos,
          raw: `(${inner})${t.names.map((n) => `.${n}`).join('')}`,
        };
        subCmds = frame.cmds;
        cur = frame.cur;
        cur.push(sub);
        break;
      }
      default:
        throw new TemplateError(`unexpected token in pipeline`);
    }
  }
  if (stack.length) throw new TemplateError('unclosed left paren');
  if (cur.length) pushCmd();
  return { decl, assign, cmds };
}

// ---------- values ----------

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

export function truth(v: unknown): boolean {
  if (v === NO_VALUE || v === undefined || v === null || v === false) return false;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** Go's fmt %v rendering. */
export function formatValue(v: unknown): string {
  if (v === NO_VALUE || v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatInner).join(' ')}]`;
  if (isMap(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${formatInner(v[k])}`).join(' ')}]`;
  }
  return String(v);
}

function formatInner(v: unknown): string {
  if (v === undefined || v === NO_VALUE) return '<nil>';
  return formatValue(v);
}

function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  let s = String(n);
  s = s.replace(/e([+-])(\d)$/, 'e$10$2');
  return s;
}

function toStr(v: unknown): string {
  return typeof v === 'string' ? v : formatValue(v);
}

function toInt(v: unknown, fn: string): number {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  throw new TemplateError(`error calling ${fn}: expected integer; found ${formatValue(v)}`);
}

function basicCompare(a: unknown, b: unknown, fn: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean' && (fn === 'eq' || fn === 'ne')) return a === b ? 0 : 1;
  if ((a === null || a === undefined || a === NO_VALUE) && (b === null || b === undefined || b === NO_VALUE) && (fn === 'eq' || fn === 'ne')) return 0;
  if (fn === 'eq' || fn === 'ne') return a === b ? 0 : 1;
  throw new TemplateError(`error calling ${fn}: incompatible types for comparison`);
}

/** A tiny fmt.Sprintf: verbs %s %v %d %q %t %x %f %%, with width, precision and '-'. */
export function sprintf(format: string, ...args: unknown[]): string {
  let ai = 0;
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g, (_m, flags: string, width: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (ai >= args.length) return `%!${verb}(MISSING)`;
    const a = args[ai++];
    let s: string;
    switch (verb) {
      case 'd':
        s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${formatValue(a)})`;
        break;
      case 'q':
        s = goQuote(toStr(a));
        break;
      case 'x':
        s = typeof a === 'number' ? Math.trunc(a).toString(16) : Buffer.from(toStr(a)).toString('hex');
        break;
      case 'f':
        s = typeof a === 'number' ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${formatValue(a)})`;
        break;
      default:
        s = formatValue(a);
        if (prec !== undefined && verb === 's') s = s.slice(0, Number(prec));
    }
    if (width !== undefined) {
      const w = Number(width);
      if (flags.includes('-')) s = s.padEnd(w);
      else s = s.padStart(w, flags.includes('0') && verb !== 's' ? '0' : ' ');
    }
    return s;
  });
}

function sprint(args: unknown[]): string {
  // Go's Sprint: spaces between operands when neither side is a string
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

function indexValue(item: unknown, key: unknown): unknown {
  if (Array.isArray(item) || typeof item === 'string') {
    const i = toInt(key, 'index');
    if (i < 0 || i >= item.length) throw new TemplateError(`error calling index: index out of range: ${i}`);
    return typeof item === 'string' ? item.charCodeAt(i) : item[i];
  }
  if (isMap(item)) {
    const k = toStr(key);
    if (Object.prototype.hasOwnProperty.call(item, k)) return item[k];
    // a typed map[string]string (labels, options) yields its zero value, ""
    const vals = Object.values(item);
    return vals.every((v) => typeof v === 'string') ? '' : NO_VALUE;
  }
  if (item === null || item === undefined || item === NO_VALUE) throw new TemplateError('error calling index: index of untyped nil');
  throw new TemplateError(`error calling index: can't index item of type ${typeof item}`);
}

function titleCase(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, ch: string) => pre + ch.toUpperCase());
}

/** Go's builtins plus docker's template functions. */
export const defaultFuncs: FuncMap = {
  json: (v) => {
    if (v === NO_VALUE || v === undefined) return 'null';
    return JSON.stringify(v) ?? 'null';
  },
  upper: (s) => toStr(s).toUpperCase(),
  lower: (s) => toStr(s).toLowerCase(),
  title: (s) => titleCase(toStr(s)),
  join: (a, sep) => (Array.isArray(a) ? a.map(toStr).join(toStr(sep)) : toStr(a)),
  split: (s, sep) => toStr(s).split(toStr(sep)),
  truncate: (s, n) => {
    const str = toStr(s);
    const len = toInt(n, 'truncate');
    const chars = [...str];
    return chars.length > len ? chars.slice(0, len).join('') : str;
  },
  pad: (s, before, after) => ' '.repeat(Math.max(0, toInt(before, 'pad'))) + toStr(s) + ' '.repeat(Math.max(0, toInt(after, 'pad'))),
  print: (...a) => sprint(a),
  println: (...a) => `${a.map(formatValue).join(' ')}\n`,
  printf: (f, ...a) => sprintf(toStr(f), ...a),
  len: (v) => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (isMap(v)) return Object.keys(v).length;
    throw new TemplateError(`error calling len: len of type ${v === null ? 'nil' : typeof v}`);
  },
  index: (item, ...keys) => keys.reduce((acc, k) => indexValue(acc, k), item),
  slice: (item, ...idx) => {
    if (!Array.isArray(item) && typeof item !== 'string') throw new TemplateError("error calling slice: can't slice item");
    const a = idx[0] === undefined ? 0 : toInt(idx[0], 'slice');
    const b = idx[1] === undefined ? item.length : toInt(idx[1], 'slice');
    return item.slice(a, b);
  },
  eq: (a, ...bs) => {
    if (bs.length === 0) throw new TemplateError('error calling eq: missing argument for comparison');
    return bs.some((b) => basicCompare(a, b, 'eq') === 0);
  },
  ne: (a, b) => basicCompare(a, b, 'ne') !== 0,
  lt: (a, b) => basicCompare(a, b, 'lt') < 0,
  le: (a, b) => basicCompare(a, b, 'le') <= 0,
  gt: (a, b) => basicCompare(a, b, 'gt') > 0,
  ge: (a, b) => basicCompare(a, b, 'ge') >= 0,
  not: (v) => !truth(v),
  // and/or short-circuit in the evaluator; these are used only when called through a value
  and: (...a) => a.find((x) => !truth(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truth(x)) ?? a[a.length - 1],
  html: (...a) => sprint(a).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;'),
  js: (...a) => sprint(a).replace(/[\\'"<>&=]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`),
  urlquery: (...a) => encodeURIComponent(sprint(a)),
};

/** docker's header functions: in a table header every formatting function returns its input. */
export const headerFuncs: FuncMap = {
  json: (v) => v,
  split: (v) => v,
  join: (v) => v,
  title: (v) => v,
  lower: (v) => v,
  upper: (v) => v,
  pad: (v) => v,
  truncate: (v) => v,
};

// ---------- evaluation ----------

class BreakSignal {}
class ContinueSignal {}

interface Scope {
  vars: Array<{ name: string; value: unknown }>;
}

function fieldOf(receiver: unknown, name: string, args: unknown[], isLast: boolean, missingKey: 'default' | 'error'): unknown {
  if (receiver === NO_VALUE || receiver === undefined || receiver === null) {
    if (receiver === null || missingKey === 'error') throw new TemplateError(`nil pointer evaluating interface {}.${name}`);
    return NO_VALUE;
  }
  if (isMap(receiver)) {
    if (!Object.prototype.hasOwnProperty.call(receiver, name)) {
      const typeName = (receiver as { [TYPE_NAME]?: string })[TYPE_NAME];
      if (typeName) throw new TemplateError(`can't evaluate field ${name} in type ${typeName}`);
      if (missingKey === 'error') throw new TemplateError(`map has no entry for key "${name}"`);
      return NO_VALUE;
    }
    const v = receiver[name];
    if (typeof v === 'function') return (v as TemplateFunc).apply(receiver, isLast ? args : []);
    if (isLast && args.length) throw new TemplateError(`${name} has arguments but cannot be invoked as function`);
    return v;
  }
  throw new TemplateError(`can't evaluate field ${name} in type ${Array.isArray(receiver) ? 'slice' : typeof receiver}`);
}

export interface ExecuteOptions {
  funcs?: FuncMap;
  /** Go's Option("missingkey=error"): a missing map key is an error (docker inspect). */
  missingKey?: 'default' | 'error';
  /** the template's name, as it appears in error messages */
  name?: string;
}

export class Template {
  private readonly nodes: Node[];
  private readonly funcs: FuncMap;
  private readonly missingKey: 'default' | 'error';
  readonly source: string;
  readonly name: string;

  constructor(source: string, options: ExecuteOptions = {}) {
    this.source = source;
    this.name = options.name ?? '';
    this.missingKey = options.missingKey ?? 'default';
    this.funcs = { ...defaultFuncs, ...options.funcs };
    try {
      this.nodes = new Parser(splitTemplate(source)).parse();
      this.checkFuncs(this.nodes);
    } catch (e) {
      if (e instanceof TemplateError) throw new TemplateError(`template: ${options.name ?? ''}:1: ${e.message}`);
      throw e;
    }
  }

  private checkFuncs(nodes: Node[]): void {
    const checkPipe = (p: Pipeline): void => {
      for (const c of p.cmds)
        for (const a of c.args) {
          if (a.k === 'func' && !(a.name in this.funcs)) throw new TemplateError(`function "${a.name}" not defined`);
          if (a.k === 'sub') checkPipe(a.pipe);
        }
    };
    for (const n of nodes) {
      if (n.k === 'action') checkPipe(n.pipe);
      else if (n.k === 'if' || n.k === 'with' || n.k === 'range') {
        checkPipe(n.pipe);
        this.checkFuncs(n.body);
        if (n.elseBody) this.checkFuncs(n.elseBody);
      }
    }
  }

  /** Runs the template on `data`; `funcs` overrides functions for this run (e.g. header mode). */
  execute(data: unknown, options: ExecuteOptions = {}): string {
    const funcs = options.funcs ? { ...this.funcs, ...options.funcs } : this.funcs;
    const out: string[] = [];
    const scope: Scope = { vars: [{ name: '$', value: data }] };
    try {
      this.walk(this.nodes, data, scope, out, funcs);
    } catch (e) {
      if (e instanceof TemplateError) {
        let where = `${this.name}:1`;
        let at = '';
        if (e.loc) {
          const before = this.source.slice(0, e.loc.pos);
          const line = 1 + (before.match(/\n/g)?.length ?? 0);
          const col = e.loc.pos - (before.lastIndexOf('\n') + 1);
          const ctx = e.loc.raw.length > 20 ? `${e.loc.raw.slice(0, 20)}...` : e.loc.raw;
          where = `${this.name}:${line}:${col}`;
          at = ` at <${ctx}>`;
        }
        const err = new TemplateError(`template: ${where}: executing "${this.name}"${at}: ${e.message}`);
        (err as TemplateError & { partial?: string }).partial = out.join('');
        throw err;
      }
      throw e;
    }
    return out.join('');
  }

  private walk(nodes: Node[], dot: unknown, scope: Scope, out: string[], funcs: FuncMap): void {
    for (const n of nodes) {
      switch (n.k) {
        case 'text':
          out.push(n.v);
          break;
        case 'action': {
          const v = this.evalPipeline(n.pipe, dot, scope, funcs);
          if (n.pipe.decl.length === 0) out.push(formatValue(v));
          break;
        }
        case 'if':
        case 'with': {
          const mark = scope.vars.length;
          const v = this.evalPipeline(n.pipe, dot, scope, funcs);
          if (truth(v)) this.walk(n.body, n.k === 'with' ? v : dot, scope, out, funcs);
          else if (n.elseBody) this.walk(n.elseBody, dot, scope, out, funcs);
          scope.vars.length = mark;
          break;
        }
        case 'range':
          this.range(n, dot, scope, out, funcs);
          break;
        case 'break':
          throw new BreakSignal();
        case 'continue':
          throw new ContinueSignal();
      }
    }
  }

  private range(n: ControlNode, dot: unknown, scope: Scope, out: string[], funcs: FuncMap): void {
    const mark = scope.vars.length;
    const pipe: Pipeline = { decl: [], assign: false, cmds: n.pipe.cmds };
    const v = this.evalPipeline(pipe, dot, scope, funcs);
    let entries: Array<[unknown, unknown]>;
    if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
    else if (isMap(v))
      entries = Object.keys(v)
        .sort()
        .map((k) => [k, v[k]]);
    else if (typeof v === 'number') entries = Array.from({ length: Math.max(0, Math.trunc(v)) }, (_x, i) => [i, i]);
    else if (v === null || v === undefined || v === NO_VALUE) entries = [];
    else throw new TemplateError(`range can't iterate over ${formatValue(v)}`);
    if (entries.length === 0) {
      if (n.elseBody) this.walk(n.elseBody, dot, scope, out, funcs);
      scope.vars.length = mark;
      return;
    }
    for (const [k, e] of entries) {
      const inner = scope.vars.length;
      if (n.pipe.decl.length === 1) scope.vars.push({ name: n.pipe.decl[0] as string, value: e });
      else if (n.pipe.decl.length === 2) {
        scope.vars.push({ name: n.pipe.decl[0] as string, value: k });
        scope.vars.push({ name: n.pipe.decl[1] as string, value: e });
      }
      try {
        this.walk(n.body, e, scope, out, funcs);
      } catch (sig) {
        if (sig instanceof BreakSignal) {
          scope.vars.length = inner;
          break;
        }
        if (!(sig instanceof ContinueSignal)) throw sig;
      }
      scope.vars.length = inner;
    }
    scope.vars.length = mark;
  }

  private lookupVar(scope: Scope, name: string): unknown {
    for (let i = scope.vars.length - 1; i >= 0; i--) {
      const v = scope.vars[i] as { name: string; value: unknown };
      if (v.name === name) return v.value;
    }
    throw new TemplateError(`undefined variable: ${name}`);
  }

  private evalPipeline(p: Pipeline, dot: unknown, scope: Scope, funcs: FuncMap): unknown {
    let value: unknown = undefined;
    let hasFinal = false;
    for (const c of p.cmds) {
      value = this.evalCommand(c, dot, scope, funcs, hasFinal ? { v: value } : undefined);
      hasFinal = true;
    }
    for (const name of p.decl) {
      if (p.assign) {
        const idx = [...scope.vars].reverse().findIndex((x) => x.name === name);
        if (idx < 0) throw new TemplateError(`undefined variable: ${name}`);
        (scope.vars[scope.vars.length - 1 - idx] as { value: unknown }).value = value;
      } else scope.vars.push({ name, value });
    }
    return value;
  }

  private evalArg(a: Arg, dot: unknown, scope: Scope, funcs: FuncMap): unknown {
    try {
      return this.evalArgInner(a, dot, scope, funcs);
    } catch (e) {
      throw locate(e, a);
    }
  }

  private evalArgInner(a: Arg, dot: unknown, scope: Scope, funcs: FuncMap): unknown {
    switch (a.k) {
      case 'dot':
        return dot;
      case 'const':
        return a.v;
      case 'field':
        return this.chain(dot, a.names, [], funcs);
      case 'var':
        return this.chain(this.lookupVar(scope, a.name), a.names, [], funcs);
      case 'sub':
        return this.chain(this.evalPipeline(a.pipe, dot, scope, funcs), a.names, [], funcs);
      case 'func':
        return this.callFunc(a.name, [], funcs);
    }
  }

  private chain(receiver: unknown, names: string[], args: unknown[], _funcs: FuncMap): unknown {
    let v = receiver;
    names.forEach((name, i) => {
      v = fieldOf(v, name, args, i === names.length - 1, this.missingKey);
    });
    return v;
  }

  private callFunc(name: string, args: unknown[], funcs: FuncMap): unknown {
    const f = funcs[name];
    if (!f) throw new TemplateError(`function "${name}" not defined`);
    try {
      return f(...args);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      throw new TemplateError(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private evalCommand(c: Command, dot: unknown, scope: Scope, funcs: FuncMap, final: { v: unknown } | undefined): unknown {
    try {
      return this.evalCommandInner(c, dot, scope, funcs, final);
    } catch (e) {
      throw locate(e, c.args[0]?.k === 'func' ? c : (c.args[0] ?? c));
    }
  }

  private evalCommandInner(c: Command, dot: unknown, scope: Scope, funcs: FuncMap, final: { v: unknown } | undefined): unknown {
    const [first, ...rest] = c.args;
    if (!first) throw new TemplateError('empty command');
    // and/or short-circuit
    if (first.k === 'func' && (first.name === 'and' || first.name === 'or')) {
      const vals: Array<() => unknown> = rest.map((a) => () => this.evalArg(a, dot, scope, funcs));
      if (final) vals.push(() => final.v);
      if (vals.length === 0) throw new TemplateError(`wrong number of args for ${first.name}: want at least 1 got 0`);
      let v: unknown;
      for (const get of vals) {
        v = get();
        if (first.name === 'and' ? !truth(v) : truth(v)) return v;
      }
      return v;
    }
    const args = rest.map((a) => this.evalArg(a, dot, scope, funcs));
    if (final) args.push(final.v);
    switch (first.k) {
      case 'func':
        return this.callFunc(first.name, args, funcs);
      case 'field':
        return this.chain(dot, first.names, args, funcs);
      case 'var':
        if (first.names.length) return this.chain(this.lookupVar(scope, first.name), first.names, args, funcs);
        break;
      case 'sub':
        if (first.names.length) return this.chain(this.evalPipeline(first.pipe, dot, scope, funcs), first.names, args, funcs);
        break;
      default:
        break;
    }
    if (args.length > 0) throw new TemplateError(`can't give argument to non-function ${first.k === 'const' ? formatValue(first.v) : first.k}`);
    return this.evalArg(first, dot, scope, funcs);
  }
}

/** Parses and runs a template once. */
export function renderTemplate(source: string, data: unknown, options: ExecuteOptions = {}): string {
  return new Template(source, options).execute(data);
}

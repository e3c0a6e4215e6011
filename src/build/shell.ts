/**
 * The Dockerfile word lexer: quotes, the escape character and variable substitution as the
 * Dockerfile reference defines them (`$v`, `${v}`, `${v:-word}`, `${v-word}`, `${v:+word}`,
 * `${v+word}`, `${v:?msg}`, `${v?msg}`). Used for every instruction that takes words or
 * key=value pairs (ENV, ARG, LABEL, COPY, ADD, WORKDIR, USER, EXPOSE, VOLUME, FROM, …).
 */
import { invalid } from '../lib/errors.js';

export type Vars = ReadonlyMap<string, string>;

interface LexOptions {
  escape: string;
  /** Split on unquoted whitespace (false: the whole input is one word). */
  split: boolean;
}

class Lexer {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly vars: Vars,
    private readonly o: LexOptions,
  ) {}

  words(): string[] {
    const out: string[] = [];
    let cur = '';
    let inWord = false;
    while (this.i < this.s.length) {
      const ch = this.s[this.i] as string;
      if (this.o.split && /\s/.test(ch)) {
        if (inWord) out.push(cur);
        cur = '';
        inWord = false;
        this.i++;
        continue;
      }
      inWord = true;
      if (ch === this.o.escape) {
        this.i++;
        if (this.i < this.s.length) cur += this.s[this.i++];
        else cur += ch;
      } else if (ch === "'") {
        cur += this.single();
      } else if (ch === '"') {
        cur += this.double();
      } else if (ch === '$') {
        cur += this.dollar();
      } else {
        cur += ch;
        this.i++;
      }
    }
    if (inWord) out.push(cur);
    return out;
  }

  private single(): string {
    this.i++;
    const end = this.s.indexOf("'", this.i);
    if (end < 0) throw invalid(`unexpected end of statement while looking for matching single-quote`);
    const v = this.s.slice(this.i, end);
    this.i = end + 1;
    return v;
  }

  private double(): string {
    this.i++;
    let v = '';
    while (this.i < this.s.length) {
      const ch = this.s[this.i] as string;
      if (ch === '"') {
        this.i++;
        return v;
      }
      if (ch === this.o.escape) {
        const next = this.s[this.i + 1];
        if (next !== undefined && (next === '"' || next === '$' || next === this.o.escape)) {
          v += next;
          this.i += 2;
          continue;
        }
        v += ch;
        this.i++;
        continue;
      }
      if (ch === '$') {
        v += this.dollar();
        continue;
      }
      v += ch;
      this.i++;
    }
    throw invalid('unexpected end of statement while looking for matching double-quote');
  }

  private dollar(): string {
    this.i++;
    const ch = this.s[this.i];
    if (ch === '{') {
      this.i++;
      const nameMatch = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i));
      if (!nameMatch) throw invalid(`missing ':' in substitution`);
      const name = nameMatch[0];
      this.i += name.length;
      if (this.s[this.i] === '}') {
        this.i++;
        return this.vars.get(name) ?? '';
      }
      const opMatch = /^(:?[-+?])/.exec(this.s.slice(this.i));
      if (!opMatch) throw invalid(`unsupported modifier (${this.s[this.i] ?? ''}) in substitution`);
      const op = opMatch[1] as string;
      this.i += op.length;
      const word = this.until('}');
      const value = this.vars.get(name);
      const colon = op.startsWith(':');
      const set = colon ? value !== undefined && value !== '' : value !== undefined;
      switch (op.slice(-1)) {
        case '-':
          return set ? (value as string) : word;
        case '+':
          return set ? word : '';
        default:
          if (!set) throw invalid(`${name}: ${word || 'is not allowed to be unset'}`);
          return value as string;
      }
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i));
    if (!m) return '$';
    this.i += m[0].length;
    return this.vars.get(m[0]) ?? '';
  }

  /** The word inside `${name:-word}`, itself expanded, up to the closing brace. */
  private until(close: string): string {
    let v = '';
    while (this.i < this.s.length) {
      const ch = this.s[this.i] as string;
      if (ch === close) {
        this.i++;
        return v;
      }
      if (ch === this.o.escape && this.i + 1 < this.s.length) {
        v += this.s[this.i + 1];
        this.i += 2;
      } else if (ch === "'") v += this.single();
      else if (ch === '"') v += this.double();
      else if (ch === '$') v += this.dollar();
      else {
        v += ch;
        this.i++;
      }
    }
    throw invalid(`syntax error: missing '}'`);
  }
}

/** Expands one word (quotes removed, variables substituted). */
export function expandWord(s: string, vars: Vars, escape = '\\'): string {
  return new Lexer(s, vars, { escape, split: false }).words()[0] ?? '';
}

/** Splits into words on unquoted whitespace, expanding each. */
export function expandWords(s: string, vars: Vars, escape = '\\'): string[] {
  return new Lexer(s, vars, { escape, split: true }).words();
}

/**
 * `key=value` pairs (ENV, LABEL, ARG) — or the legacy `ENV key value with spaces` form when the
 * first word holds no `=` and `legacy` is allowed.
 */
export function expandPairs(s: string, vars: Vars, o: { escape?: string; legacy: boolean; what: string }): Array<[string, string | undefined]> {
  const escape = o.escape ?? '\\';
  const first = s.trim().split(/\s+/, 1)[0] ?? '';
  if (o.legacy && !first.includes('=')) {
    const rest = s.trim().slice(first.length).trim();
    if (rest === '') throw invalid(`${o.what} must have two arguments`);
    return [[first, expandWord(rest, vars, escape)]];
  }
  const out: Array<[string, string | undefined]> = [];
  for (const w of new Lexer(s, vars, { escape, split: true }).words()) {
    const eq = w.indexOf('=');
    if (eq < 0) {
      if (o.what !== 'ARG') throw invalid(`${o.what} names can not be blank`);
      out.push([w, undefined]);
      continue;
    }
    const k = w.slice(0, eq);
    if (k === '') throw invalid(`${o.what} names can not be blank`);
    out.push([k, w.slice(eq + 1)]);
  }
  return out;
}

// `.env` and `env_file` files as docker compose v2 reads them: KEY=VALUE lines, `export ` prefix,
// `#` comments (whole lines, and after an unquoted value when preceded by a space), single quotes
// literal, double quotes with \n \t \" \\ escapes, a bare KEY (no `=`) taking the caller's value.
import { ComposeFileError, InterpolationError } from './errors.js';

export type EnvLookup = (name: string) => string | undefined;

/** interpolation of an unquoted or double-quoted value, given the values read so far (single-quoted values are literal) */
export type EnvExpand = (value: string, soFar: Readonly<Record<string, string>>) => string;

/** parse an env file's text; a bare `KEY` is looked up (absent: left out); `expand` interpolates values */
export function parseEnvFile(file: string, text: string, lookup: EnvLookup = () => undefined, expand?: EnvExpand): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const raw = (lines[n] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const line = raw.startsWith('export ') ? raw.slice(7).trimStart() : raw;
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
      throw new ComposeFileError(file, n + 1, '', `invalid variable name "${key}"`);
    }
    if (eq < 0) {
      const v = lookup(key);
      if (v !== undefined) out[key] = v;
      continue;
    }
    const written = line.slice(eq + 1).trimStart();
    const v = value(file, n + 1, written);
    try {
      out[key] = expand === undefined || written.startsWith("'") ? v : expand(v, out);
    } catch (e) {
      if (e instanceof InterpolationError) throw new ComposeFileError(file, n + 1, key, e.message);
      throw e;
    }
  }
  return out;
}

function value(file: string, line: number, text: string): string {
  const q = text[0];
  if (q === "'" || q === '"') {
    const end = closing(text, q);
    if (end < 0) throw new ComposeFileError(file, line, '', `unterminated quoted value`);
    const inner = text.slice(1, end);
    return q === "'" ? inner : unescape(inner);
  }
  const hash = text.search(/\s#/);
  return (hash < 0 ? text : text.slice(0, hash)).trimEnd();
}

function closing(text: string, q: string): number {
  for (let i = 1; i < text.length; i++) {
    if (q === '"' && text[i] === '\\') i++;
    else if (text[i] === q) return i;
  }
  return -1;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
}

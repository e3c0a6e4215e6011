/**
 * Output formatting shared by commands: go-units style durations and sizes, Go's
 * text/tabwriter column alignment, docker's ID truncation and ellipsis, port lists,
 * and `--format` handling (table / json / Go template) through the formatter context.
 */
import { Template, TemplateError, headerFuncs } from './template.js';
import { humanDuration } from '../lib/units.js';

export { humanDuration } from '../lib/units.js';
export { goQuote } from '../lib/quote.js';

// ---------- numbers ----------

/** Go's %.{prec}g formatting. */
export function formatG(value: number, precision: number): string {
  if (value === 0) return '0';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
  const p = precision === 0 ? 1 : precision;
  const expStr = value.toExponential(p - 1); // d.ddde±x
  const [mant, e] = expStr.split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= p) {
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const sign = exp < 0 ? '-' : '+';
    const abs = Math.abs(exp);
    return `${m}e${sign}${abs < 10 ? '0' : ''}${abs}`;
  }
  let fixed = value.toFixed(Math.max(0, p - 1 - exp));
  if (fixed.includes('.')) fixed = fixed.replace(/0+$/, '').replace(/\.$/, '');
  return fixed;
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function sizeAndUnit(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i] as string];
}

/** go-units HumanSizeWithPrecision: decimal units, e.g. "4.26MB". */
export function humanSize(bytes: number, precision = 3): string {
  const [s, u] = sizeAndUnit(bytes, 1000, DECIMAL_UNITS);
  return `${formatG(s, precision)}${u}`;
}

/** go-units BytesSize: binary units with 4 significant digits, e.g. "1.944GiB". */
export function bytesSize(bytes: number): string {
  const [s, u] = sizeAndUnit(bytes, 1024, BINARY_UNITS);
  return `${formatG(s, 4)}${u}`;
}

/** go-units RAMInBytes / FromHumanSize style parsing for --memory: "512m", "1g", "1024". */
export function parseMemory(input: string): number {
  const loose = /^(\d+(?:\.\d+)*) ?(.*)$/.exec(input);
  if (!loose) throw new Error(`invalid size: '${input}'`);
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp]?)(i?b?)$/i.exec(input);
  if (!m) throw new Error(`invalid suffix: '${loose[2] ?? ''}'`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.trunc(n * (mult[unit] ?? 1));
}

// ---------- durations ----------

/** Seconds (or a Date) in the past rendered as docker does: "2 minutes ago". */
export function timeAgo(when: Date | number, now: number = Date.now()): string {
  const t = typeof when === 'number' ? when * 1000 : when.getTime();
  return `${humanDuration(now - t)} ago`;
}

/**
 * The container status line the daemon reports in /containers/json, built the way
 * dockerd does: "Up 3 seconds", "Up 2 minutes (Paused)", "Exited (0) 5 seconds ago", "Created".
 */
export function containerStatusText(
  state: { Status?: string; Running?: boolean; Paused?: boolean; Restarting?: boolean; ExitCode?: number; StartedAt?: string; FinishedAt?: string },
  now: number = Date.now(),
): string {
  const started = state.StartedAt ? Date.parse(state.StartedAt) : NaN;
  const finished = state.FinishedAt ? Date.parse(state.FinishedAt) : NaN;
  if (state.Running) {
    if (state.Paused) return `Up ${humanDuration(now - started)} (Paused)`;
    if (state.Restarting) return `Restarting (${state.ExitCode ?? 0}) ${humanDuration(now - finished)} ago`;
    return `Up ${humanDuration(now - started)}`;
  }
  if (state.Status === 'removing') return 'Removal In Progress';
  if (state.Status === 'dead') return 'Dead';
  if (state.Status === 'created' || !Number.isFinite(finished) || finished <= 0 || (state.FinishedAt ?? '').startsWith('0001-')) return 'Created';
  return `Exited (${state.ExitCode ?? 0}) ${humanDuration(now - finished)} ago`;
}

// ---------- time ----------

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Go's time.Time.String() in local time, e.g. "2024-05-01 10:20:30 +0000 UTC". */
export function goTimeString(date: Date): string {
  const off = -date.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  const tz =
    off === 0
      ? 'UTC'
      : (Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
          .formatToParts(date)
          .find((p) => p.type === 'timeZoneName')?.value ?? '');
  return `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())} ${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())} ${sign}${pad2(Math.trunc(abs / 60))}${pad2(abs % 60)} ${tz}`;
}

/** RFC 3339 with nanoseconds as Go prints it, from a daemon timestamp string (kept as is). */
export function rfc3339Local(date: Date): string {
  const off = -date.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  const zone = off === 0 ? 'Z' : `${sign}${pad2(Math.trunc(abs / 60))}:${pad2(abs % 60)}`;
  return `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}T${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}${zone}`;
}

// ---------- strings ----------

export function truncateId(id: string): string {
  const i = id.indexOf(':');
  const s = i >= 0 ? id.slice(i + 1) : id;
  return s.length > 12 ? s.slice(0, 12) : s;
}

/** docker's formatter.Ellipsis: cut to maxWidth display columns, ending in "…". */
export function ellipsis(s: string, maxWidth: number): string {
  const chars = [...s];
  if (chars.length <= maxWidth) return s;
  if (maxWidth <= 0) return '';
  if (maxWidth === 1) return chars[0] ?? '';
  return `${chars.slice(0, maxWidth - 1).join('')}…`;
}

// ---------- ports ----------

export interface PortLike {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** docker's DisplayablePorts: "0.0.0.0:8080->80/tcp, 443/tcp", grouping consecutive ranges. */
export function displayablePorts(ports: readonly PortLike[]): string {
  interface Group {
    first: number;
    last: number;
  }
  const groupMap = new Map<string, Group>();
  const order: string[] = [];
  const hostMappings: string[] = [];
  const sorted = [...ports].sort((a, b) => a.PrivatePort - b.PrivatePort || a.Type.localeCompare(b.Type));
  for (const p of sorted) {
    let current = p.PrivatePort;
    let portKey = p.Type;
    if (p.IP) {
      if (p.PublicPort !== p.PrivatePort) {
        const host = p.IP.includes(':') ? `[${p.IP}]` : p.IP;
        hostMappings.push(`${host}:${p.PublicPort ?? 0}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      portKey = `${p.IP}/${p.Type}`;
    }
    const g = groupMap.get(portKey);
    if (!g) {
      groupMap.set(portKey, { first: current, last: current });
      order.push(portKey);
      continue;
    }
    if (current === g.last + 1) {
      g.last = current;
      continue;
    }
    hostMappings.push(formGroup(portKey, g.first, g.last));
    g.first = current;
    g.last = current;
    current = 0;
  }
  for (const k of order) {
    const g = groupMap.get(k) as Group;
    hostMappings.push(formGroup(k, g.first, g.last));
  }
  return hostMappings.join(', ');
}

function formGroup(key: string, start: number, last: number): string {
  const parts = key.split('/');
  const type = parts.length > 1 ? (parts[1] as string) : (parts[0] as string);
  let group = start === last ? String(start) : `${start}-${last}`;
  if (parts.length > 1) {
    let ip = parts[0] as string;
    if (ip.includes(':')) ip = `[${ip}]`;
    group = `${ip}:${group}->${group}`;
  }
  return `${group}/${type}`;
}

// ---------- tabwriter ----------

/**
 * Go's text/tabwriter with docker's settings (minwidth 10, tabwidth 1, padding 3, ' ').
 * Cells are tab-terminated; the text after a line's last tab is not aligned.
 */
export function tabwrite(text: string, options: { minWidth?: number; padding?: number } = {}): string {
  const minWidth = options.minWidth ?? 10;
  const padding = options.padding ?? 3;
  const endsWithNewline = text.endsWith('\n');
  const rawLines = text.split('\n');
  if (endsWithNewline) rawLines.pop();
  const out: string[] = [];
  // a line without tabs ends a block of aligned lines (tabwriter flushes there)
  let block: string[][] = [];
  const flush = (): void => {
    if (block.length) out.push(...formatBlock(block, minWidth, padding));
    block = [];
  };
  for (const line of rawLines) {
    const cells = line.split('\t');
    block.push(cells);
    if (cells.length === 1) flush();
  }
  flush();
  return out.join('\n') + (endsWithNewline || rawLines.length ? '\n' : '');
}

function width(s: string): number {
  return [...s].length;
}

function formatBlock(lines: string[][], minWidth: number, padding: number): string[] {
  const result: string[] = new Array<string>(lines.length);
  const widths: number[] = [];
  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i] as string[];
      let s = '';
      line.forEach((cell, j) => {
        if (j < widths.length && j < line.length - 1) s += cell + ' '.repeat(Math.max(0, (widths[j] as number) - width(cell)));
        else s += cell;
      });
      result[i] = s;
    }
  };
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      const line = lines[t] as string[];
      if (column >= line.length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let w = minWidth;
      for (; t < line1; t++) {
        const l = lines[t] as string[];
        if (column >= l.length - 1) break;
        const cw = width(l[column] as string) + padding;
        if (cw > w) w = cw;
      }
      widths.push(w);
      format(line0, t);
      widths.pop();
      line0 = t;
      t--; // the for-loop increments; resume scanning at t
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return result;
}

// ---------- --format handling ----------

export type FormatKind = 'table' | 'json' | 'raw' | 'template';

/** Expands docker's escapes in --format strings: literal "\t" and "\n". */
export function preformat(format: string): { table: boolean; body: string } {
  let body = format;
  let table = false;
  if (body.startsWith('table')) {
    table = true;
    body = body.slice('table'.length);
  }
  body = body.replace(/^ +| +$/g, '');
  body = body.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return { table, body };
}

/**
 * Renders rows with a docker-style format: "table ..." (header + tabwriter), "json"
 * (one JSON object per line of the row's fields), or a plain Go template.
 */
export function renderRows<T>(
  rows: readonly T[],
  format: string,
  ctx: {
    /** the object templates see for a row */
    toContext: (row: T) => Record<string, unknown>;
    /** header names by field */
    headers: Record<string, string>;
    /** fields for --format json */
    jsonFields?: (row: T) => Record<string, unknown>;
  },
): string {
  if (format === 'json') {
    return rows.map((r) => `${goJson(ctx.jsonFields ? ctx.jsonFields(r) : materialize(ctx.toContext(r)))}\n`).join('');
  }
  const { table, body } = preformat(format);
  let tmpl: Template;
  try {
    tmpl = new Template(body);
  } catch (e) {
    if (e instanceof TemplateError) throw new FormatError('parse', e.message);
    throw e;
  }
  let buf = '';
  for (const r of rows) {
    try {
      buf += tmpl.execute(ctx.toContext(r));
    } catch (e) {
      if (e instanceof TemplateError) throw new FormatError('execute', e.message);
      throw e;
    }
    buf += '\n';
  }
  if (!table) return buf;
  let header = '';
  try {
    header = tmpl.execute(headerContext(ctx.headers), { funcs: headerFuncs });
  } catch (e) {
    header = (e as { partial?: string }).partial ?? '';
  }
  return tabwrite(`${header}\n${buf}`);
}

function headerContext(headers: Record<string, string>): Record<string, unknown> {
  const h: Record<string, unknown> = { ...headers };
  if (!('Label' in h)) h['Label'] = (name: unknown): string => String(name);
  return h;
}

/** A --format template failed to parse or to run; commands word the message differently. */
export class FormatError extends Error {
  readonly phase: 'parse' | 'execute';
  constructor(phase: 'parse' | 'execute', message: string) {
    super(message);
    this.name = 'FormatError';
    this.phase = phase;
  }
}

/**
 * Go's json.Marshal: map keys sorted, and <, >, & escaped as \u003c, \u003e, \u0026
 * (plus U+2028/U+2029).
 */
export function goJson(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(o).sort()) out[k] = sortKeys(o[k]);
      return out;
    }
    return v;
  };
  return (JSON.stringify(sortKeys(value)) ?? 'null').replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Extra fields a context adds to its --format json form (e.g. ps's "Platform": null). */
export const JSON_EXTRA: unique symbol = Symbol('json extra fields');

/** Evaluates every zero-argument method of a context object into a plain record (for json). */
export function materialize(ctx: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const extra = (ctx as { [JSON_EXTRA]?: Record<string, unknown> })[JSON_EXTRA];
  if (extra) Object.assign(out, extra);
  for (const [k, v] of Object.entries(ctx)) {
    if (typeof v === 'function') {
      if ((v as (...a: unknown[]) => unknown).length === 0) out[k] = (v as () => unknown)();
    } else out[k] = v;
  }
  return out;
}

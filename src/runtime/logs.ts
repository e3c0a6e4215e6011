/**
 * Container logs as conmon writes them (CRI "k8s-file" format, one record a line):
 *   `2026-11-22T13:49:26.029147777+00:00 stdout F text`   (F full line, P partial)
 * Reading turns records back into Docker's log messages; `tail` reads backwards from the end
 * so a large log is never read whole for its last lines.
 */
import { promises as fs, watch } from 'node:fs';
import { parseTimeNs } from '../lib/timestamp.js';

export interface LogEntry {
  /** RFC 3339 with nanoseconds, UTC. */
  time: string;
  /** Nanoseconds since the epoch, for since/until comparisons. */
  ns: bigint;
  stream: 'stdout' | 'stderr';
  line: Buffer;
}

export interface ReadLogOptions {
  tail?: number;
  sinceNs?: bigint;
  untilNs?: bigint;
  follow?: boolean;
  /** Rotated files before `file`, oldest first (max-file). */
  older?: string[];
  /** Resolves when following must stop (container gone or stopped and drained). */
  stopped?: () => boolean;
  signal?: AbortSignal;
}

const RECORD = /^(\S+) (stdout|stderr) ([PF]) ?/;

export function formatTimeNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${base}.${frac}Z`;
}

/** Partial records (conmon's `P`) waiting for the full one that ends their line. */
interface Pending {
  parts: Buffer[];
  time?: string;
  stream?: 'stdout' | 'stderr';
}

/**
 * What is left of a line the process never ended (its last output without a newline) as an
 * entry without a newline, as dockerd's json-file logs it; undefined when nothing is pending.
 */
function flushPending(pending: Pending): LogEntry | undefined {
  if (pending.parts.length === 0 || pending.time === undefined || pending.stream === undefined) return undefined;
  const ns = parseTimeNs(pending.time);
  const line = Buffer.concat(pending.parts);
  pending.parts = [];
  return { time: formatTimeNs(ns), ns, stream: pending.stream, line };
}

/** Splits raw file bytes into complete entries, joining partial records. Returns leftover bytes. */
function parseChunk(buf: Buffer, pending: Pending, out: LogEntry[]): Buffer {
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    const rec = buf.subarray(start, nl);
    start = nl + 1;
    const head = rec.subarray(0, Math.min(rec.length, 64)).toString('latin1');
    const m = RECORD.exec(head);
    if (!m) continue;
    const body = rec.subarray(m[0].length);
    if (m[3] === 'P') {
      pending.parts.push(body);
      pending.time = m[1];
      pending.stream = m[2] as 'stdout' | 'stderr';
      continue;
    }
    const line = Buffer.concat([...pending.parts, body, Buffer.from('\n')]);
    pending.parts = [];
    const ns = parseTimeNs(m[1] as string);
    out.push({ time: formatTimeNs(ns), ns, stream: m[2] as 'stdout' | 'stderr', line });
  }
  return buf.subarray(start);
}

/** The byte offset where the last `n` records begin, and how many of them the file has. */
async function tailOffset(fh: fs.FileHandle, size: number, n: number): Promise<{ offset: number; found: number }> {
  if (n <= 0) return { offset: size, found: 0 };
  const chunk = 64 * 1024;
  let pos = size;
  let newlines = 0;
  const buf = Buffer.alloc(chunk);
  while (pos > 0) {
    const len = Math.min(chunk, pos);
    pos -= len;
    await fh.read(buf, 0, len, pos);
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] === 0x0a) {
        // The newline ending the last record does not start a record.
        if (pos + i === size - 1) continue;
        // Only full records count; partial ones join the next full one.
        if (++newlines === n) return { offset: pos + i + 1, found: n };
      }
    }
  }
  return { offset: 0, found: size > 0 ? newlines + 1 : 0 };
}

/** The time of the first record starting at or after `pos` (undefined at the end). */
async function recordTimeAfter(fh: fs.FileHandle, size: number, pos: number): Promise<{ start: number; ns: bigint } | undefined> {
  const buf = Buffer.alloc(4096);
  let at = pos;
  if (pos > 0) {
    // Skip to the start of the next line.
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, at);
      if (bytesRead === 0) return undefined;
      const nl = buf.subarray(0, bytesRead).indexOf(0x0a);
      if (nl >= 0) {
        at += nl + 1;
        break;
      }
      at += bytesRead;
    }
  }
  if (at >= size) return undefined;
  const { bytesRead } = await fh.read(buf, 0, 64, at);
  const m = RECORD.exec(buf.subarray(0, bytesRead).toString('latin1'));
  if (!m) return undefined;
  return { start: at, ns: parseTimeNs(m[1] as string) };
}

/**
 * The offset of the first record at or after `sinceNs`, by binary search over the file (records
 * are written in time order), so `--since` does not read a large log from its start.
 */
async function sinceOffset(fh: fs.FileHandle, size: number, sinceNs: bigint): Promise<number> {
  let lo = 0;
  let hi = size;
  while (hi - lo > 4096) {
    const mid = Math.floor((lo + hi) / 2);
    const r = await recordTimeAfter(fh, size, mid);
    if (!r || r.ns >= sinceNs) hi = mid;
    else lo = mid;
  }
  // Records before the first one after `lo` are older; the scan from there filters the rest.
  if (lo === 0) return 0;
  const r = await recordTimeAfter(fh, size, lo);
  return r ? r.start : size;
}

/** Where reading starts: a file of `files` and an offset in it (tail/since without reading it all). */
async function startPoint(files: string[], opts: ReadLogOptions): Promise<{ index: number; offset: number }> {
  const last = files.length - 1;
  if (opts.tail !== undefined && opts.tail >= 0) {
    let need = opts.tail;
    for (let i = last; i >= 0; i--) {
      const fh = await fs.open(files[i] as string, 'r').catch(() => undefined);
      if (!fh) continue;
      try {
        const { size } = await fh.stat();
        const { offset, found } = await tailOffset(fh, size, need);
        if (found >= need || i === 0) return { index: i, offset };
        need -= found;
      } finally {
        await fh.close();
      }
    }
    return { index: 0, offset: 0 };
  }
  if (opts.sinceNs !== undefined) {
    // The newest file whose first record is older than `since` holds the start.
    for (let i = last; i >= 0; i--) {
      const fh = await fs.open(files[i] as string, 'r').catch(() => undefined);
      if (!fh) continue;
      try {
        const { size } = await fh.stat();
        const first = await recordTimeAfter(fh, size, 0);
        if (i === 0 || (first !== undefined && first.ns < opts.sinceNs)) return { index: i, offset: await sinceOffset(fh, size, opts.sinceNs) };
      } finally {
        await fh.close();
      }
    }
  }
  return { index: 0, offset: 0 };
}

/**
 * Yields log entries from the rotated files (`older`) and then `file`; with `follow`, keeps
 * reading as the file grows — across conmon's rotations (a new file renamed over it) — until
 * stopped. `tail` and `since` find their start without reading what comes before; `until` ends
 * the read at the first later record.
 */
export async function* readLog(file: string, opts: ReadLogOptions = {}): AsyncGenerator<LogEntry> {
  const files = [...(opts.older ?? []), file];
  const start = await startPoint(files, opts);
  const pending: Pending = { parts: [] };
  let leftover: Buffer = Buffer.alloc(0);
  let past = false;
  const keep = (e: LogEntry): boolean => {
    if (opts.untilNs !== undefined && e.ns > opts.untilNs) {
      past = true;
      return false;
    }
    return opts.sinceNs === undefined || e.ns >= opts.sinceNs;
  };
  const buf = Buffer.alloc(256 * 1024);
  const drain = async function* (fh: fs.FileHandle, from: number): AsyncGenerator<LogEntry, number> {
    let pos = from;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return pos;
      pos += bytesRead;
      const out: LogEntry[] = [];
      leftover = parseChunk(Buffer.concat([leftover, buf.subarray(0, bytesRead)]), pending, out);
      for (const e of out) if (keep(e)) yield e;
      if (past) return pos;
    }
  };
  for (let i = start.index; i < files.length - 1 && !past; i++) {
    const fh = await fs.open(files[i] as string, 'r').catch(() => undefined);
    if (!fh) continue;
    try {
      yield* drain(fh, i === start.index ? start.offset : 0);
    } finally {
      await fh.close();
    }
  }
  if (past) return;
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch {
    if (!opts.follow) return;
    // Not created yet (container not started): wait for it below.
    const waited = await waitForFile(file, opts);
    if (!waited) return;
    fh = waited;
  }
  try {
    let pos = yield* drain(fh, start.index === files.length - 1 ? start.offset : 0);
    // The process's last output without a newline ends the read when nothing more can come.
    const unfinished = function* (): Generator<LogEntry> {
      const e = flushPending(pending);
      if (e && keep(e)) yield e;
    };
    if (past) return;
    if (!opts.follow) {
      yield* unfinished();
      return;
    }
    let wake: (() => void) | undefined;
    const watcher = watch(file, () => wake?.());
    watcher.on('error', () => undefined);
    const ticker = setInterval(() => wake?.(), 250);
    try {
      while (!opts.signal?.aborted) {
        if (opts.untilNs !== undefined && BigInt(Date.now()) * 1_000_000n > opts.untilNs) return;
        const stopping = opts.stopped?.() ?? false;
        pos = yield* drain(fh, pos);
        if (past) return;
        // conmon rotated: the path is a new file (or this one was truncated). Read on there.
        const now = await fs.stat(file).catch(() => undefined);
        const mine = await fh.stat();
        if (now && (now.ino !== mine.ino || now.size < pos)) {
          if (now.ino !== mine.ino) {
            // What was written to the old file before the switch.
            yield* drain(fh, pos);
            if (past) return;
            await fh.close();
            fh = await fs.open(file, 'r');
          }
          pos = 0;
          continue;
        }
        if (stopping) {
          yield* unfinished();
          return;
        }
        await new Promise<void>((r) => {
          wake = r;
          opts.signal?.addEventListener('abort', () => r(), { once: true });
        });
        wake = undefined;
      }
    } finally {
      watcher.close();
      clearInterval(ticker);
    }
  } finally {
    await fh.close();
  }
}

async function waitForFile(file: string, opts: ReadLogOptions): Promise<fs.FileHandle | undefined> {
  while (!opts.signal?.aborted) {
    try {
      return await fs.open(file, 'r');
    } catch {
      if (opts.stopped?.()) return undefined;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return undefined;
}

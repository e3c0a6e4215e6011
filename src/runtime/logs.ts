/**
 * Container logs as conmon writes them (CRI "k8s-file" format, one record a line):
 *   `2026-11-22T13:49:26.029147777+00:00 stdout F text`   (F full line, P partial)
 * Reading turns records back into Docker's log messages; `tail` reads backwards from the end
 * so a large log is never read whole for its last lines.
 */
import { promises as fs, watch } from 'node:fs';

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
  /** Resolves when following must stop (container gone or stopped and drained). */
  stopped?: () => boolean;
  signal?: AbortSignal;
}

const RECORD = /^(\S+) (stdout|stderr) ([PF]) ?/;

/** Parses an RFC 3339 time with up to 9 fraction digits and an offset into epoch ns. */
export function parseTimeNs(s: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return 0n;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  const frac = BigInt((m[2] ?? '').padEnd(9, '0'));
  return BigInt(ms) * 1_000_000n + frac;
}

export function formatTimeNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${base}.${frac}Z`;
}

/** Splits raw file bytes into complete entries, joining partial records. Returns leftover bytes. */
function parseChunk(buf: Buffer, pending: { parts: Buffer[] }, out: LogEntry[]): Buffer {
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
      continue;
    }
    const line = Buffer.concat([...pending.parts, body, Buffer.from('\n')]);
    pending.parts = [];
    const ns = parseTimeNs(m[1] as string);
    out.push({ time: formatTimeNs(ns), ns, stream: m[2] as 'stdout' | 'stderr', line });
  }
  return buf.subarray(start);
}

/** The byte offset where the last `n` records begin. */
async function tailOffset(fh: fs.FileHandle, size: number, n: number): Promise<number> {
  if (n <= 0) return size;
  const chunk = 64 * 1024;
  let pos = size;
  let newlines = 0;
  while (pos > 0) {
    const len = Math.min(chunk, pos);
    pos -= len;
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, pos);
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] === 0x0a) {
        // The newline ending the last record does not start a record.
        if (pos + i === size - 1) continue;
        // Only full records count; partial ones join the next full one.
        if (++newlines === n) return pos + i + 1;
      }
    }
  }
  return 0;
}

/** Yields log entries; with `follow`, keeps reading as the file grows until stopped. */
export async function* readLog(file: string, opts: ReadLogOptions = {}): AsyncGenerator<LogEntry> {
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
    let pos = 0;
    if (opts.tail !== undefined && opts.tail >= 0) {
      const st = await fh.stat();
      pos = await tailOffset(fh, st.size, opts.tail * 1);
    }
    const pending = { parts: [] as Buffer[] };
    let leftover: Buffer = Buffer.alloc(0);
    const keep = (e: LogEntry): boolean =>
      (opts.sinceNs === undefined || e.ns >= opts.sinceNs) && (opts.untilNs === undefined || e.ns <= opts.untilNs);
    const drain = async function* (): AsyncGenerator<LogEntry> {
      const buf = Buffer.alloc(256 * 1024);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) return;
        pos += bytesRead;
        const out: LogEntry[] = [];
        leftover = parseChunk(Buffer.concat([leftover, buf.subarray(0, bytesRead)]), pending, out);
        for (const e of out) if (keep(e)) yield e;
      }
    };
    yield* drain();
    if (!opts.follow) return;
    let wake: (() => void) | undefined;
    const watcher = watch(file, () => wake?.());
    const ticker = setInterval(() => wake?.(), 250);
    try {
      while (!opts.signal?.aborted) {
        if (opts.untilNs !== undefined && BigInt(Date.now()) * 1_000_000n > opts.untilNs) return;
        const stopping = opts.stopped?.() ?? false;
        yield* drain();
        if (stopping) return;
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

/**
 * dockerd's JSON message stream (jsonmessage): `{"status","id","progressDetail","progress"}` lines,
 * which the docker CLI turns into its progress bars, and `{"errorDetail","error"}` for failures.
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface JsonMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { message: string };
}

/** Where progress goes; the API writes it to the response, tests collect it. */
export interface ProgressSink {
  write(msg: JsonMessage): void;
}

export const shortDigest = (d: string): string => d.replace(/^sha256:/, '').slice(0, 12);

/** docker's units.HumanSize: decimal units, 3–4 significant digits ("2.2MB", "512B"). */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** The `progress` text dockerd sends beside `progressDetail` (`[==>   ]  1.2MB/3.4MB`). */
export function progressBar(current: number, total: number): string {
  const width = 50;
  if (total <= 0) return `${humanSize(current)}`.padStart(8);
  const pct = Math.min(1, current / total);
  const filled = Math.floor(pct * width);
  const bar = filled >= width ? '='.repeat(width) : '='.repeat(filled) + '>' + ' '.repeat(width - filled - 1);
  return `[${bar}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

export class Progress {
  private readonly last = new Map<string, number>();
  constructor(private readonly sink: ProgressSink) {}

  status(status: string, id?: string): void {
    this.sink.write(id === undefined ? { status } : { status, progressDetail: {}, id });
  }

  /** Throttled to one message per 100 ms per id, except the final one. */
  bytes(status: string, id: string, current: number, total: number, force = false): void {
    const now = Date.now();
    const key = `${status}\0${id}`;
    if (!force && now - (this.last.get(key) ?? 0) < 100 && current < total) return;
    this.last.set(key, now);
    this.sink.write({ status, progressDetail: { current, total }, progress: progressBar(current, total), id });
  }

  aux(value: unknown): void {
    this.sink.write({ progressDetail: {}, aux: value });
  }
}

/** A pass-through that reports how many bytes went by. */
export class Counter extends Transform {
  count = 0;
  constructor(
    private readonly onBytes: (n: number) => void,
    private readonly limit?: number,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.count += chunk.length;
    if (this.limit !== undefined && this.count > this.limit) {
      cb(new Error(`more than the ${this.limit} bytes announced`));
      return;
    }
    this.onBytes(this.count);
    cb(null, chunk);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; every result or error is awaited. */
export function limiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

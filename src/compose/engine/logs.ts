/**
 * Log streams of a project's containers, line by line with v2's `name  | ` prefix (padded to the
 * longest name, a colour per container on a terminal): `logs` (-f, --tail, -t, --since/--until)
 * and the attached mode of `up`, which also reports each container's exit.
 */
import type { Writable } from 'node:stream';
import type { EngineClient } from '../../client/client.js';
import { FrameParser } from '../../client/stream.js';
import type { ContainerSummary } from '../../engine-api/types.js';
import { nameOf } from './containers.js';

const COLOURS = [36, 33, 32, 35, 34, 91, 96, 93, 92, 95, 94];

export interface LogSink {
  /** one complete line of a container's output, without its newline */
  line(container: string, text: string, stream: 'stdout' | 'stderr'): void;
  /** a container's stream ended (with follow: it stopped) */
  end?(container: string): void;
}

export interface LogOptions {
  follow?: boolean;
  tail?: string | undefined;
  timestamps?: boolean;
  since?: string | undefined;
  until?: string | undefined;
  signal?: AbortSignal;
}

/** Streams one container's log as lines into the sink; resolves when the stream ends. */
export async function streamLogs(client: EngineClient, c: ContainerSummary, sink: LogSink, o: LogOptions = {}): Promise<void> {
  const name = nameOf(c);
  const tty = (await client.containerInspect(c.Id).catch(() => undefined))?.Config.Tty === true;
  const res = await client.containerLogs(c.Id, { follow: o.follow ?? false, tail: o.tail, timestamps: o.timestamps ?? false, since: o.since, until: o.until });
  const partial = { stdout: '', stderr: '' };
  const emit = (stream: 'stdout' | 'stderr', text: string): void => {
    const parts = (partial[stream] + text).split('\n');
    partial[stream] = parts.pop() ?? '';
    for (const l of parts) sink.line(name, l.replace(/\r$/, ''), stream);
  };
  const parser = new FrameParser();
  const onAbort = (): void => {
    res.destroy();
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (tty) emit('stdout', chunk.toString('utf8'));
      else for (const f of parser.push(chunk)) emit(f.stream === 2 ? 'stderr' : 'stdout', f.payload.toString('utf8'));
    }
  } catch (e) {
    if (!o.signal?.aborted) throw e;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  for (const s of ['stdout', 'stderr'] as const) if (partial[s]) sink.line(name, partial[s], s);
  sink.end?.(name);
}

export interface PrefixWriterOptions {
  colour?: boolean;
  prefix?: boolean;
  /** strip this from names (v2 shows `web-1`, not `proj-web-1`, in log prefixes) */
  trimProject?: string;
}

/** A LogSink writing `name  | line` to one stream, as docker compose v2 prints logs. */
export class PrefixWriter implements LogSink {
  private width = 0;
  private readonly colours = new Map<string, number>();

  constructor(
    private readonly out: Writable,
    private readonly o: PrefixWriterOptions = {},
  ) {}

  /** Reserves the prefix width for these names (so columns line up from the first line). */
  names(names: string[]): void {
    for (const n of names) this.width = Math.max(this.width, this.display(n).length);
  }

  private display(name: string): string {
    const p = this.o.trimProject;
    return p && name.startsWith(`${p}-`) ? name.slice(p.length + 1) : name;
  }

  private colour(name: string): number {
    let c = this.colours.get(name);
    if (c === undefined) {
      c = COLOURS[this.colours.size % COLOURS.length] ?? 36;
      this.colours.set(name, c);
    }
    return c;
  }

  prefixOf(name: string): string {
    if (this.o.prefix === false) return '';
    const d = this.display(name);
    this.width = Math.max(this.width, d.length);
    const text = `${d.padEnd(this.width)}  | `;
    return this.o.colour ? `\x1b[${this.colour(name)}m${text}\x1b[0m` : text;
  }

  line(container: string, text: string): void {
    this.out.write(`${this.prefixOf(container)}${text}\n`);
  }

  /** A status line under a container's prefix colour (`web-1 exited with code 0`). */
  status(container: string, text: string): void {
    const d = this.display(container);
    this.out.write(this.o.colour ? `\x1b[${this.colour(container)}m${d} ${text}\x1b[0m\n` : `${d} ${text}\n`);
  }
}

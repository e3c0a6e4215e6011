/**
 * A solve's progress as BuildKit's Status stream carries it: vertexes (started, completed,
 * cached, error), their logs, in StatusResponse messages. buildx renders them (`--progress
 * plain|tty`). A subscriber that comes late (Status and Solve race) gets the history first.
 * `classicSink` turns the builder's classic output (`Step N/M : …`, ` ---> …`, RUN output) into
 * vertexes: one per step, named `[N/M] INSTRUCTION` as BuildKit names Dockerfile steps.
 */
import { createHash } from 'node:crypto';
import type { BuildSink } from '../build/request.js';
import { codec, timestamp } from './proto.js';

const statusCodec = codec('moby.buildkit.v1.StatusResponse');

interface VertexState {
  digest: string;
  name: string;
  cached: boolean;
  started?: number;
  completed?: number;
  error?: string;
}

export class Vertex {
  constructor(
    private readonly p: Progress,
    private readonly v: VertexState,
  ) {}

  get digest(): string {
    return this.v.digest;
  }

  get done(): boolean {
    return this.v.completed !== undefined;
  }

  start(): this {
    this.v.started ??= Date.now();
    this.p.emitVertex(this.v);
    return this;
  }

  cached(): void {
    this.v.cached = true;
    this.p.emitVertex(this.v);
  }

  /** Output of the step: stream 1 (stdout) or 2 (stderr). */
  log(text: string | Buffer, stream = 1): void {
    this.p.emit({ logs: [{ vertex: this.v.digest, timestamp: timestamp(Date.now()), stream, msg: Buffer.isBuffer(text) ? text : Buffer.from(text) }] });
  }

  /** A progress line of the step (`transferring context: 2.1kB done`): BuildKit's VertexStatus, done at once. */
  status(id: string, current: number): void {
    const now = timestamp(Date.now());
    this.p.emit({ statuses: [{ ID: id, vertex: this.v.digest, current, timestamp: now, started: now, completed: now }] });
  }

  complete(error?: string): void {
    if (this.v.completed !== undefined) return;
    this.v.started ??= Date.now();
    this.v.completed = Date.now();
    if (error) this.v.error = error;
    this.p.emitVertex(this.v);
  }
}

export class Progress {
  private readonly history: Buffer[] = [];
  private readonly subs = new Set<(msg: Buffer | null) => void>();
  private closed = false;
  private seq = 0;
  private readonly vertexes: Vertex[] = [];

  constructor(private readonly ref: string) {}

  /** A new vertex (not started yet). */
  vertex(name: string): Vertex {
    const digest = `sha256:${createHash('sha256').update(`${this.ref}\0${this.seq++}\0${name}`).digest('hex')}`;
    const v = new Vertex(this, { digest, name, cached: false });
    this.vertexes.push(v);
    return v;
  }

  emitVertex(v: VertexState): void {
    this.emit({
      vertexes: [
        {
          digest: v.digest,
          name: v.name,
          cached: v.cached,
          ...(v.started !== undefined ? { started: timestamp(v.started) } : {}),
          ...(v.completed !== undefined ? { completed: timestamp(v.completed) } : {}),
          ...(v.error ? { error: v.error } : {}),
        },
      ],
    });
  }

  emit(msg: object): void {
    if (this.closed) return;
    const b = statusCodec.encode(msg);
    this.history.push(b);
    for (const s of this.subs) s(b);
  }

  /** Completes every vertex still open (with the error, when the solve failed), then ends the streams. */
  close(error?: string): void {
    if (this.closed) return;
    for (const v of this.vertexes) if (!v.done) v.complete(error);
    this.closed = true;
    for (const s of this.subs) s(null);
    this.subs.clear();
  }

  /** Sends the history, then every message, until the progress closes or `signal` aborts. */
  async subscribe(send: (msg: Buffer) => void, signal: AbortSignal): Promise<void> {
    for (const b of this.history) send(b);
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      const sub = (b: Buffer | null): void => {
        if (b === null) {
          resolve();
          return;
        }
        send(b);
      };
      this.subs.add(sub);
      signal.addEventListener(
        'abort',
        () => {
          this.subs.delete(sub);
          resolve();
        },
        { once: true },
      );
    });
  }
}

/** The classic builder's lines that are bookkeeping, not a step's output. */
const CLASSIC_META = /^( ---> |Removing intermediate container |Successfully (built|tagged) )/;
const STEP = /^Step (\d+)\/(\d+) : (.*)\n?$/s;
/** run.ts colours a RUN's stderr red for the classic stream: that text is the step's stream 2. */
const RED = '\x1b[91m';
const RESET = '\x1b[0m';

/** A BuildSink that feeds the classic builder's output into `p` as vertexes and logs. */
export function classicSink(p: Progress): BuildSink & { finish(error?: string): void } {
  let current: Vertex | undefined;
  return {
    stream(text: string): void {
      const step = STEP.exec(text);
      if (step) {
        current?.complete();
        current = p.vertex(`[${step[1]}/${step[2]}] ${(step[3] as string).trim()}`).start();
        return;
      }
      if (text.startsWith(' ---> Using cache')) {
        current?.cached();
        return;
      }
      if (CLASSIC_META.test(text)) return;
      const target = current ?? p.vertex('[internal] builder').start();
      current = target;
      if (text.startsWith(RED) && text.endsWith(RESET)) target.log(text.slice(RED.length, text.length - RESET.length), 2);
      else target.log(text, 1);
    },
    message(msg: unknown): void {
      const m = msg as { status?: unknown; id?: unknown; progressDetail?: unknown } | undefined;
      if (typeof m?.status === 'string' && current) current.log(`${typeof m.id === 'string' ? `${m.id}: ` : ''}${m.status}\n`);
    },
    finish(error?: string): void {
      current?.complete(error);
      current = undefined;
    },
  };
}

/**
 * The one-way streams the page follows, as Server-Sent Events (EventSource in the browser; no
 * WebSocket server is needed for them): `/api/stream/events` (the daemon's /events),
 * `/api/stream/stats` (every running container's: statsall.ts, dispatched by server.ts),
 * `/api/stream/containers/{id}/stats` (each stats document reduced to CPU and memory figures),
 * `/api/stream/containers/{id}/logs` (lines, demultiplexed, with `follow`/`tail`). Each ends its
 * daemon request when the browser goes away; a stream that ends sends an `end` event (so the
 * page closes it rather than letting EventSource reconnect).
 */
import type http from 'node:http';
import { FrameParser, STREAM_STDERR, STREAM_SYSTEMERR, readJsonStream } from '../client/stream.js';
import type { Query, RequestOptions } from '../client/transport.js';
import { messageOf } from '../lib/errors.js';
import { sendDaemonError, sendError, COMMON_HEADERS } from './respond.js';

export interface StreamRequester {
  request(opts: RequestOptions): Promise<http.IncomingMessage>;
  json<T>(opts: RequestOptions): Promise<T>;
}

const HEARTBEAT_MS = 20_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/** An open event stream to one browser. */
export class SseChannel {
  private readonly timer: NodeJS.Timeout;
  readonly abort = new AbortController();

  constructor(private readonly res: http.ServerResponse) {
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    res.write(': berth-web\n\n');
    this.timer = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    res.on('close', () => {
      clearInterval(this.timer);
      this.abort.abort();
    });
  }

  send(data: unknown, event?: string): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    this.res.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream with an `end` event (and an `error` one first, if given). */
  end(error?: string): void {
    clearInterval(this.timer);
    if (this.res.writableEnded || this.res.destroyed) return;
    if (error !== undefined) this.send({ message: error }, 'error');
    this.send({}, 'end');
    this.res.end();
  }
}

/** CPU and memory of one stats document, as `docker stats` computes them. */
export interface StatsPoint {
  read: string;
  cpuPercent: number;
  memUsage: number;
  memLimit: number;
  pids: number;
}

export interface StatsDoc {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
}

export function statsPoint(d: StatsDoc): StatsPoint {
  const cpu = d.cpu_stats ?? {};
  const pre = d.precpu_stats ?? {};
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (pre.cpu_usage?.total_usage ?? 0);
  const sysDelta = (cpu.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  const online = cpu.online_cpus || cpu.cpu_usage?.percpu_usage?.length || 1;
  const cpuPercent = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * online * 100 : 0;
  const mem = d.memory_stats ?? {};
  const s = mem.stats ?? {};
  // the docker CLI's figure: usage less the inactive page cache (v1 total_inactive_file, v2 inactive_file)
  const inactive = s['total_inactive_file'] ?? s['inactive_file'] ?? 0;
  const usage = mem.usage ?? 0;
  return { read: d.read ?? '', cpuPercent, memUsage: inactive < usage ? usage - inactive : usage, memLimit: mem.limit ?? 0, pids: d.pids_stats?.current ?? 0 };
}

function pick(q: URLSearchParams, keys: string[]): Query {
  const out: Query = {};
  for (const k of keys) {
    const v = q.get(k);
    if (v !== null) out[k] = v;
  }
  return out;
}

async function pipeJson(ch: SseChannel, upstream: http.IncomingMessage, map: (doc: unknown) => unknown): Promise<void> {
  try {
    for await (const doc of readJsonStream(upstream)) ch.send(map(doc));
    ch.end();
  } catch (err) {
    ch.end(ch.abort.signal.aborted ? undefined : messageOf(err));
  }
}

/** Answers `/api/stream/<rest>`; false when no stream has that name. */
export async function handleStream(client: StreamRequester, res: http.ServerResponse, rest: string, q: URLSearchParams): Promise<boolean> {
  if (rest === 'events') {
    await open(
      res,
      (signal) => client.request({ path: '/events', query: pick(q, ['since', 'filters']), signal }),
      (doc) => doc,
    );
    return true;
  }
  const m = /^containers\/([^/]+)\/(stats|logs)$/.exec(rest);
  if (!m || !NAME.test(m[1]!)) return false;
  const id = encodeURIComponent(m[1]!);
  if (m[2] === 'stats') {
    await open(
      res,
      (signal) => client.request({ path: `/containers/${id}/stats`, query: { stream: '1' }, signal }),
      (d) => statsPoint(d as StatsDoc),
    );
    return true;
  }
  await streamLogs(client, res, id, q);
  return true;
}

/** Opens the daemon's stream first, so a daemon error is still a plain JSON answer. */
async function open(res: http.ServerResponse, start: (signal: AbortSignal) => Promise<http.IncomingMessage>, map: (doc: unknown) => unknown): Promise<void> {
  const early = new AbortController();
  res.on('close', () => early.abort());
  let upstream: http.IncomingMessage;
  try {
    upstream = await start(early.signal);
  } catch (err) {
    sendDaemonError(res, err);
    return;
  }
  const ch = new SseChannel(res);
  ch.abort.signal.addEventListener('abort', () => upstream.destroy());
  await pipeJson(ch, upstream, map);
}

async function streamLogs(client: StreamRequester, res: http.ServerResponse, id: string, q: URLSearchParams): Promise<void> {
  const tail = q.get('tail') ?? '200';
  if (!/^(\d+|all)$/.test(tail)) {
    sendError(res, 400, `invalid tail ${JSON.stringify(tail)}: a number or "all"`);
    return;
  }
  let tty: boolean;
  let upstream: http.IncomingMessage;
  const early = new AbortController();
  res.on('close', () => early.abort());
  try {
    const c = await client.json<{ Config?: { Tty?: boolean } }>({ path: `/containers/${id}/json` });
    tty = c.Config?.Tty === true;
    upstream = await client.request({
      path: `/containers/${id}/logs`,
      query: { stdout: '1', stderr: '1', follow: q.get('follow') === '1' ? '1' : undefined, tail, timestamps: q.get('timestamps') === '1' ? '1' : undefined },
      signal: early.signal,
    });
  } catch (err) {
    sendDaemonError(res, err);
    return;
  }
  const ch = new SseChannel(res);
  ch.abort.signal.addEventListener('abort', () => upstream.destroy());
  const lines = { stdout: new LineSplitter(), stderr: new LineSplitter() };
  const emit = (s: 'stdout' | 'stderr', chunk: Buffer): void => {
    for (const t of lines[s].push(chunk)) ch.send({ s, t });
  };
  const parser = new FrameParser();
  try {
    for await (const chunk of upstream as AsyncIterable<Buffer>) {
      if (tty) {
        emit('stdout', chunk);
        continue;
      }
      for (const f of parser.push(chunk)) {
        if (f.stream === STREAM_SYSTEMERR) throw new Error(f.payload.toString());
        emit(f.stream === STREAM_STDERR ? 'stderr' : 'stdout', f.payload);
      }
    }
    for (const s of ['stdout', 'stderr'] as const) {
      const t = lines[s].flush();
      if (t !== undefined) ch.send({ s, t });
    }
    ch.end();
  } catch (err) {
    ch.end(ch.abort.signal.aborted ? undefined : messageOf(err));
  }
}

/** Bytes → complete lines (a trailing \r dropped), the partial last line kept for the next chunk. */
export class LineSplitter {
  private rest = '';
  private readonly decoder = new TextDecoder();

  push(chunk: Buffer): string[] {
    const text = this.rest + this.decoder.decode(chunk, { stream: true });
    const parts = text.split('\n');
    this.rest = parts.pop() ?? '';
    return parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  }

  flush(): string | undefined {
    const t = this.rest + this.decoder.decode();
    this.rest = '';
    return t === '' ? undefined : t;
  }
}

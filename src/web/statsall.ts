/**
 * `/api/stream/stats`: the load of every running container on one Server-Sent Events stream. A
 * browser opens at most six HTTP/1.1 connections to one origin, and an EventSource holds one for
 * good, so one stream per container would stall the page beyond a handful of containers. Here the
 * server follows the daemon's stats stream of each running container — found by the list at
 * start, then by `start`/`unpause` events, dropped at `die`/`pause`/`destroy` or when the daemon
 * ends the stream — and sends each document as `{id, …StatsPoint}`.
 */
import type http from 'node:http';
import { readJsonStream } from '../client/stream.js';
import { encodeFilters } from '../client/transport.js';
import { messageOf } from '../lib/errors.js';
import { sendDaemonError } from './respond.js';
import { SseChannel, statsPoint, type StatsDoc, type StreamRequester } from './sse.js';

const FOLLOW = new Set(['start', 'unpause', 'restart']);
const DROP = new Set(['die', 'pause', 'destroy', 'kill']);

export async function streamAllStats(client: StreamRequester, res: http.ServerResponse): Promise<void> {
  const early = new AbortController();
  res.on('close', () => early.abort());
  let events: http.IncomingMessage;
  let running: { Id: string }[];
  try {
    // events first, so a container started while the list is read is not missed
    events = await client.request({ path: '/events', query: { filters: encodeFilters({ type: ['container'] }) }, signal: early.signal });
    running = await client.json<{ Id: string }[]>({ path: '/containers/json', query: { filters: encodeFilters({ status: ['running'] }) } });
  } catch (err) {
    sendDaemonError(res, err);
    return;
  }
  const ch = new SseChannel(res);
  /** Per container, the stats stream being read (undefined while it opens), tagged by who follows it. */
  const followed = new Map<string, { tag: symbol; up: http.IncomingMessage | undefined }>();
  const drop = (id: string): void => {
    followed.get(id)?.up?.destroy();
    followed.delete(id);
  };
  const follow = (id: string): void => {
    if (followed.has(id) || ch.abort.signal.aborted) return;
    const tag = Symbol(id);
    followed.set(id, { tag, up: undefined });
    const mine = (): boolean => followed.get(id)?.tag === tag;
    void (async () => {
      try {
        const up = await client.request({ path: `/containers/${encodeURIComponent(id)}/stats`, query: { stream: '1' }, signal: ch.abort.signal });
        if (!mine()) {
          up.destroy();
          return;
        }
        followed.set(id, { tag, up });
        for await (const doc of readJsonStream(up)) ch.send({ id, ...statsPoint(doc as StatsDoc) });
      } catch {
        /* the container went, or the page did */
      } finally {
        // a container dropped and followed again meanwhile belongs to its new reader
        if (mine()) followed.delete(id);
      }
    })();
  };
  ch.abort.signal.addEventListener('abort', () => {
    events.destroy();
    for (const id of [...followed.keys()]) drop(id);
  });
  for (const c of running) follow(c.Id);
  try {
    for await (const ev of readJsonStream<{ id?: string; Action?: string }>(events)) {
      if (!ev.id || !ev.Action) continue;
      if (FOLLOW.has(ev.Action)) follow(ev.id);
      else if (DROP.has(ev.Action)) drop(ev.id);
    }
    ch.end();
  } catch (err) {
    ch.end(ch.abort.signal.aborted ? undefined : messageOf(err));
  }
}

/**
 * `docker logs`: a container's log records (runtime/logs.ts reads the files, rotated ones
 * first), following while the container runs or restarts — a follow ends when the run it began
 * with has ended and no new one started (a restart policy's restart keeps it going), or the
 * container is gone. The `none` driver has nothing to read (dockerd's 501).
 */
import { notImplemented } from '../lib/errors.js';
import { rotatedLogs } from '../runtime/logconfig.js';
import { readLog, type LogEntry } from '../runtime/logs.js';
import type { Container } from './types.js';

export interface ContainerLogsOptions {
  /** Keep reading while the container runs (ignored for a container that has stopped). */
  follow: boolean;
  tail?: number;
  sinceNs?: bigint;
  untilNs?: bigint;
  signal?: AbortSignal;
  /** The streams wanted (both when absent); `tail` counts records of both, as dockerd's does. */
  streams?: LogStreams;
}

export interface LogStreams {
  stdout: boolean;
  stderr: boolean;
}

/** Throws dockerd's 501 when the container's log driver keeps nothing to read. */
export function checkLogsReadable(c: Container): void {
  if (c.HostConfig.LogConfig.Type === 'none') throw notImplemented('configured logging driver does not support reading');
}

/** The container's log records; `find` gives its current record (undefined once removed). */
export function containerLogs(find: (id: string) => Container | undefined, c: Container, o: ContainerLogsOptions): AsyncGenerator<LogEntry> {
  checkLogsReadable(c);
  let startedAt = c.State.StartedAt;
  const stopped = (): boolean => {
    const cur = find(c.ID);
    if (!cur) return true;
    if (cur.State.Running || cur.State.Restarting) {
      startedAt = cur.State.StartedAt;
      return false;
    }
    return cur.State.StartedAt === startedAt || !cur.State.Running;
  };
  const records = readLog(c.LogPath, {
    older: rotatedLogs(c),
    follow: o.follow && (c.State.Running || c.State.Restarting || c.State.Status === 'created'),
    stopped,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.tail !== undefined && o.tail >= 0 ? { tail: o.tail } : {}),
    ...(o.sinceNs !== undefined ? { sinceNs: o.sinceNs } : {}),
    ...(o.untilNs !== undefined ? { untilNs: o.untilNs } : {}),
  });
  return o.streams ? onlyStreams(records, o.streams) : records;
}

/** The whole log as `attach?logs=1` replays it (no follow), of the streams wanted. */
export function replayLogs(c: Container, streams: LogStreams): AsyncGenerator<LogEntry> {
  return onlyStreams(readLog(c.LogPath, { older: rotatedLogs(c) }), streams);
}

async function* onlyStreams(records: AsyncGenerator<LogEntry>, s: LogStreams): AsyncGenerator<LogEntry> {
  for await (const e of records) {
    if ((e.stream === 'stdout' && !s.stdout) || (e.stream === 'stderr' && !s.stderr)) continue;
    yield e;
  }
}

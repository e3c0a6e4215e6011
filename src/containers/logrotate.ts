/**
 * Keeps rotated log files for `max-file` > 1. conmon (with `--log-size-max`) rotates by writing a
 * new file and renaming it over `<log>`, dropping the old one. To keep it, the rotator holds a
 * hard link `<log>.cur` to the live file; once `<log>` is a different inode, the old one is
 * shifted to `<log>.1` (`.1` → `.2` …, the oldest beyond max-file-1 removed) and `.cur` is
 * linked to the new file. Nothing is copied and conmon never stops writing, so no line is lost.
 *
 * It follows the event bus (start → watch, die/destroy → last check, unwatch) and checks on
 * every change in the container directory (inotify), plus a slow timer as a backup.
 */
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import type { EventBus, EngineEvent } from '../events/bus.js';
import { logLimits } from '../runtime/logconfig.js';
import type { Container } from './types.js';

interface Watch {
  log: string;
  maxFile: number;
  watcher?: FSWatcher;
  timer: NodeJS.Timeout;
  busy: Promise<void>;
}

export class LogRotator {
  private readonly watches = new Map<string, Watch>();
  private readonly unsubscribe: () => void;

  constructor(private readonly d: { events: EventBus; find: (id: string) => Container | undefined }) {
    this.unsubscribe = d.events.subscribe((ev) => this.onEvent(ev));
  }

  /** Watches every running container (after a daemon restart), catching up on missed rotations. */
  resume(containers: Container[]): void {
    for (const c of containers) if (c.State.Running) this.watch(c);
  }

  close(): void {
    this.unsubscribe();
    for (const id of [...this.watches.keys()]) this.unwatch(id);
  }

  private onEvent(ev: EngineEvent): void {
    if (ev.Type !== 'container') return;
    if (ev.Action === 'start') {
      const c = this.d.find(ev.Actor.ID);
      if (c) this.watch(c);
    } else if (ev.Action === 'die' || ev.Action === 'destroy') {
      const w = this.watches.get(ev.Actor.ID);
      if (w && ev.Action === 'die') void this.check(w);
      this.unwatch(ev.Actor.ID);
    }
  }

  private watch(c: Container): void {
    this.unwatch(c.ID);
    let maxFile = 1;
    try {
      maxFile = logLimits(c.HostConfig.LogConfig).maxFile;
    } catch {
      return;
    }
    if (maxFile <= 1 || !c.LogPath) return;
    const w: Watch = {
      log: c.LogPath,
      maxFile,
      timer: setInterval(() => void this.check(w), 2000),
      busy: Promise.resolve(),
    };
    w.timer.unref();
    try {
      // conmon's rotation is a create + rename in the directory; plain writes are 'change' events.
      w.watcher = watch(path.dirname(c.LogPath), (ev, name) => {
        if (ev === 'rename' && (name === null || String(name).startsWith(path.basename(c.LogPath)))) void this.check(w);
      });
      w.watcher.on('error', () => undefined);
    } catch {
      /* the timer still checks */
    }
    this.watches.set(c.ID, w);
    void this.check(w);
  }

  private unwatch(id: string): void {
    const w = this.watches.get(id);
    if (!w) return;
    clearInterval(w.timer);
    w.watcher?.close();
    this.watches.delete(id);
  }

  /** One check at a time per container. */
  private check(w: Watch): Promise<void> {
    w.busy = w.busy.then(() => rotateIfReplaced(w.log, w.maxFile)).catch(() => undefined);
    return w.busy;
  }
}

/** Shifts the file conmon replaced into `<log>.1` and links `<log>.cur` to the live one. */
export async function rotateIfReplaced(log: string, maxFile: number): Promise<void> {
  const cur = `${log}.cur`;
  const live = await fs.stat(log).catch(() => undefined);
  const held = await fs.stat(cur).catch(() => undefined);
  if (!live) return;
  if (held && held.ino === live.ino) return;
  if (held) {
    await fs.rm(`${log}.${maxFile - 1}`, { force: true });
    for (let i = maxFile - 2; i >= 1; i--) await fs.rename(`${log}.${i}`, `${log}.${i + 1}`).catch(() => undefined);
    await fs.rename(cur, `${log}.1`);
  }
  await fs.link(log, cur).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
    await fs.rm(cur, { force: true });
    await fs.link(log, cur);
  });
}

/**
 * Freezing containers: `pause`/`unpause` (a state the record keeps) and commit's pause (not
 * written to the record; a marker in the exec root lets recovery thaw a container a crash left
 * frozen). Runs under the life cycle's per-container lock.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { conflict } from '../lib/errors.js';
import type { Runc } from '../runtime/runc.js';
import type { KeyedLock } from './locks.js';
import type { ContainerStore } from './store.js';
import type { Container } from './types.js';

export interface PauseDeps {
  /** A container by reference; throws NotFound. */
  get(ref: string): Container;
  /** The life cycle's per-container lock (shared with ContainerService). */
  locks: KeyedLock;
  runc: Pick<Runc, 'pause' | 'resume'>;
  store: Pick<ContainerStore, 'save'>;
  /** The container's exec-root dir. */
  runDir(id: string): string;
  /** Publishes a container event with dockerd's attributes. */
  publish(c: Container, action: string): void;
}

export class PauseControl {
  constructor(private readonly d: PauseDeps) {}

  /**
   * Pause and unpause act first, then write the record; when the write fails (a full disk) the
   * act is undone, so a failed call changes nothing. A crash between the two is reconciled at
   * start (recovery.ts reads the runtime's state).
   */
  async pause(ref: string): Promise<void> {
    const c = this.d.get(ref);
    await this.d.locks.run(c.ID, async () => {
      if (!c.State.Running) throw conflict(`Container ${c.ID} is not running`);
      if (c.State.Paused) throw conflict(`Container ${c.ID} is already paused`);
      await this.d.runc.pause(c.ID);
      try {
        await this.saveState(c, { Paused: true, Status: 'paused' });
      } catch (err) {
        await this.d.runc.resume(c.ID).catch(() => undefined);
        throw err;
      }
    });
    this.d.publish(c, 'pause');
  }

  async unpause(ref: string): Promise<void> {
    const c = this.d.get(ref);
    await this.d.locks.run(c.ID, async () => {
      if (!c.State.Paused) throw conflict(`Container ${c.ID} is not paused`);
      await this.d.runc.resume(c.ID);
      await fs.rm(this.commitPausedMarker(c.ID), { force: true });
      try {
        await this.saveState(c, { Paused: false, Status: 'running' });
      } catch (err) {
        await this.d.runc.pause(c.ID).catch(() => undefined);
        throw err;
      }
    });
    this.d.publish(c, 'unpause');
  }

  /** Writes the record with `patch` applied to its State, then applies it in memory. */
  private async saveState(c: Container, patch: Partial<Container['State']>): Promise<void> {
    await this.d.store.save({ ...c, State: { ...c.State, ...patch } });
    Object.assign(c.State, patch);
  }

  /** The marker a commit's pause leaves in the exec root while it holds the container frozen. */
  commitPausedMarker(id: string): string {
    return path.join(this.d.runDir(id), 'commit-paused');
  }

  /**
   * `commit`'s pause: the container is frozen for the time its layer is read, and the record is
   * not rewritten (the pause is not a state the container keeps, and a full data root must not
   * make it stick). A marker in the exec root says so: a daemon that crashes while it holds the
   * pause finds the marker at start and thaws the container (recovery.ts).
   */
  async pauseForCommit(ref: string): Promise<boolean> {
    const c = this.d.get(ref);
    return this.d.locks.run(c.ID, async () => {
      if (!c.State.Running || c.State.Paused) return false;
      const marker = this.commitPausedMarker(c.ID);
      await fs.writeFile(marker, '');
      try {
        await this.d.runc.pause(c.ID);
      } catch (err) {
        await fs.rm(marker, { force: true });
        throw err;
      }
      Object.assign(c.State, { Paused: true, Status: 'paused' });
      this.d.publish(c, 'pause');
      return true;
    });
  }

  async unpauseAfterCommit(ref: string): Promise<void> {
    const c = this.d.get(ref);
    await this.d.locks.run(c.ID, async () => {
      const marker = this.commitPausedMarker(c.ID);
      if (
        !(await fs.stat(marker).then(
          () => true,
          () => false,
        ))
      )
        return; // unpaused meanwhile
      if (c.State.Running && c.State.Paused) {
        await this.d.runc.resume(c.ID);
        Object.assign(c.State, { Paused: false, Status: 'running' });
        this.d.publish(c, 'unpause');
      }
      await fs.rm(marker, { force: true });
    });
  }
}

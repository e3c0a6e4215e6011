/**
 * Container root filesystems: an overlayfs of the image's read-only layers (shared) and the
 * container's own upper/work directories. Mounts are reference-counted so that `cp`/`export`
 * on a stopped container and a running container share one mount.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isMounted, mount, unmount, MNT_DETACH } from '../lib/syscalls.js';

export interface RootfsLayout {
  /** Read-only layer directories, top-most first. */
  lowers: string[];
  upper: string;
  work: string;
  target: string;
  /**
   * Mount with overlayfs's `volatile` option: fsync and syncfs on the rootfs return at once
   * without writing anything back. For build-step containers, whose upper dir either becomes a
   * layer or is thrown away when the step fails (dpkg fsyncs every file it unpacks). After a
   * clean unmount the kernel's crash marker (`<work>/work/incompat/volatile`) is removed, so
   * the rootfs can be mounted again.
   */
  volatile?: boolean;
}

/** The mount data for overlayfs; relative lower paths keep long chains under the page limit. */
function overlayData(l: RootfsLayout): { data: string; cwd?: string } {
  const data = `lowerdir=${l.lowers.join(':')},upperdir=${l.upper},workdir=${l.work}${l.volatile ? ',volatile' : ''}`;
  return { data };
}

export class RootfsMounts {
  private readonly refs = new Map<string, number>();
  /** Work dirs of volatile mounts, by key: their crash marker goes after a clean unmount. */
  private readonly volatileWork = new Map<string, string>();

  async prepare(l: RootfsLayout): Promise<void> {
    await fs.mkdir(l.upper, { recursive: true, mode: 0o755 });
    await fs.mkdir(l.work, { recursive: true, mode: 0o700 });
  }

  /** Mounts (or takes another reference on) the rootfs at `l.target`. */
  async acquire(key: string, l: RootfsLayout): Promise<string> {
    const n = this.refs.get(key) ?? 0;
    if (n === 0 && !(await isMounted(l.target))) {
      await fs.mkdir(l.target, { recursive: true, mode: 0o755 });
      if (l.lowers.length === 0) {
        // An image with no layers: an empty read-only lower directory.
        const empty = path.join(path.dirname(l.work), 'empty');
        await fs.mkdir(empty, { recursive: true });
        l = { ...l, lowers: [empty] };
      }
      try {
        mount('overlay', l.target, 'overlay', 0, overlayData(l).data);
        if (l.volatile) this.volatileWork.set(key, l.work);
      } catch (err) {
        // Kernels before 5.10 do not know `volatile`: the mount is then an ordinary one.
        if (!l.volatile) throw err;
        mount('overlay', l.target, 'overlay', 0, overlayData({ ...l, volatile: false }).data);
      }
    }
    this.refs.set(key, n + 1);
    return l.target;
  }

  /** Marks a rootfs as mounted by an earlier berthd (live restore). */
  adopt(key: string): void {
    this.refs.set(key, (this.refs.get(key) ?? 0) + 1);
  }

  async release(key: string, target: string): Promise<void> {
    const n = (this.refs.get(key) ?? 1) - 1;
    if (n > 0) {
      this.refs.set(key, n);
      return;
    }
    this.refs.delete(key);
    unmount(target, MNT_DETACH);
    await this.dropVolatileMarker(key);
  }

  /** Unmounts whatever is there, regardless of references (container removal). */
  async forceRelease(key: string, target: string): Promise<void> {
    this.refs.delete(key);
    unmount(target, MNT_DETACH);
    await this.dropVolatileMarker(key);
  }

  private async dropVolatileMarker(key: string): Promise<void> {
    const work = this.volatileWork.get(key);
    if (work === undefined) return;
    this.volatileWork.delete(key);
    await fs.rm(path.join(work, 'work', 'incompat'), { recursive: true, force: true });
  }
}

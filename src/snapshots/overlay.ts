/**
 * The overlayfs snapshotter: image layers are the layer store's unpacked directories (shared,
 * read-only lowers), an active snapshot is an overlay of them with its own `upper/` and `work/`
 * directories. Mounts are reference-counted so that `cp`/`export` on a stopped container and a
 * running container share one mount. The only module that computes lowerdir lists or mounts
 * overlayfs.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ContentStore } from '../content/store.js';
import { notFound } from '../lib/errors.js';
import { isMounted, mount, unmount, MNT_DETACH, MS_RDONLY } from '../lib/syscalls.js';
import { layerFromUpper } from './diff.js';
import type { LayerInfo, LayerStore } from './layers.js';
import type { ActiveSnapshot, CommitOptions, MountSpec, SnapshotDirs, SnapshotView, Snapshotter } from './snapshotter.js';

export class OverlaySnapshotter implements Snapshotter {
  private readonly counts = new Map<string, number>();
  /** Work dirs of volatile mounts, by key: their crash marker goes after a clean unmount. */
  private readonly volatileWork = new Map<string, string>();

  constructor(private readonly d: { layers: LayerStore; content: ContentStore }) {}

  lowers(parents: readonly string[]): string[] {
    return [...parents].reverse().map((ch) => this.d.layers.diffDir(ch));
  }

  dirs(s: ActiveSnapshot): SnapshotDirs {
    return { lowers: this.lowers(s.parents), upper: path.join(s.dir, 'upper'), work: path.join(s.dir, 'work'), merged: s.target };
  }

  mounts(s: ActiveSnapshot): MountSpec {
    const l = this.dirs(s);
    // An image with no layers: an empty read-only lower directory.
    const lowers = l.lowers.length === 0 ? [path.join(s.dir, 'empty')] : l.lowers;
    return {
      type: 'overlay',
      source: 'overlay',
      target: s.target,
      options: [`lowerdir=${lowers.join(':')}`, `upperdir=${l.upper}`, `workdir=${l.work}`, ...(s.volatile ? ['volatile'] : [])],
    };
  }

  async prepare(s: ActiveSnapshot): Promise<MountSpec> {
    const l = this.dirs(s);
    await fs.mkdir(l.upper, { recursive: true, mode: 0o755 });
    await fs.mkdir(l.work, { recursive: true, mode: 0o700 });
    return this.mounts(s);
  }

  async acquire(key: string, s: ActiveSnapshot): Promise<string> {
    const n = this.counts.get(key) ?? 0;
    if (n === 0 && !(await isMounted(s.target))) {
      await fs.mkdir(s.target, { recursive: true, mode: 0o755 });
      if (s.parents.length === 0) await fs.mkdir(path.join(s.dir, 'empty'), { recursive: true });
      const spec = this.mounts(s);
      try {
        mount(spec.source, spec.target, spec.type, 0, spec.options.join(','));
        if (s.volatile) this.volatileWork.set(key, this.dirs(s).work);
      } catch (err) {
        // Kernels before 5.10 do not know `volatile`: the mount is then an ordinary one.
        if (!s.volatile) throw err;
        mount(spec.source, spec.target, spec.type, 0, spec.options.filter((o) => o !== 'volatile').join(','));
      }
    }
    this.counts.set(key, n + 1);
    return s.target;
  }

  adopt(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  refs(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  async release(key: string, target: string): Promise<void> {
    const n = (this.counts.get(key) ?? 1) - 1;
    if (n > 0) {
      this.counts.set(key, n);
      return;
    }
    this.counts.delete(key);
    unmount(target, MNT_DETACH);
    await this.dropVolatileMarker(key);
  }

  async forceRelease(key: string, target: string): Promise<void> {
    this.counts.delete(key);
    unmount(target, MNT_DETACH);
    await this.dropVolatileMarker(key);
  }

  private async dropVolatileMarker(key: string): Promise<void> {
    const work = this.volatileWork.get(key);
    if (work === undefined) return;
    this.volatileWork.delete(key);
    await fs.rm(path.join(work, 'work', 'incompat'), { recursive: true, force: true });
  }

  async view(parents: readonly string[], target: string): Promise<SnapshotView> {
    for (const ch of parents) if (!(await this.d.layers.has(ch))) throw notFound(`layer ${ch} not found`);
    const none = async (): Promise<void> => undefined;
    if (parents.length === 0) return { path: target, release: none };
    const lowers = this.lowers(parents);
    if (lowers.length === 1) return { path: lowers[0] as string, release: none };
    mount('overlay', target, 'overlay', MS_RDONLY, `lowerdir=${lowers.join(':')}`);
    return { path: target, release: async () => unmount(target, MNT_DETACH) };
  }

  async commit(parent: string | undefined, upperDir: string, o: CommitOptions = {}): Promise<LayerInfo> {
    if (parent !== undefined && !(await this.d.layers.has(parent))) throw notFound(`layer ${parent} not found`);
    return layerFromUpper(this.d, parent, upperDir, o);
  }

  async remove(key: string, s: ActiveSnapshot): Promise<void> {
    await this.forceRelease(key, s.target);
    const l = this.dirs(s);
    for (const dir of [l.upper, l.work, path.join(s.dir, 'empty')]) await fs.rm(dir, { recursive: true, force: true });
  }

  async unmountUnder(dirs: readonly string[]): Promise<void> {
    const info = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    const prefixes = dirs.map((d) => `${d}/`);
    const points = info
      .split('\n')
      .map((l) => (l.split(' ')[4] ?? '').replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))))
      .filter((p) => prefixes.some((x) => p.startsWith(x)))
      .sort((a, b) => b.length - a.length);
    for (const p of points) {
      try {
        unmount(p, MNT_DETACH);
      } catch {
        /* already gone */
      }
    }
  }
}

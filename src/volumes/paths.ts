/**
 * Paths inside a container that may lie in a volume or bind mount (`docker cp`): berthd sees the
 * container's rootfs without its mounts, so a path under a mount point is redirected to the
 * mount's host directory and resolved inside it (never outside it).
 *
 * The walk is the kernel's: each prefix is opened with openat2(RESOLVE_IN_ROOT) in the current
 * root (the rootfs, or a mount's source once the path reached its destination), and the path the
 * fd really has decides the next step. The answer is a root plus a path inside it, which the
 * caller opens through {@link RootDir} again: whatever the container changes meanwhile, the open
 * stays inside that root.
 */
import * as path from 'node:path';
import { RootDir, closeFd } from '../lib/rootfs.js';
import { O_PATH } from '../lib/syscalls.js';
import type { MountPoint } from './mountpoint.js';

export interface ResolvedPath {
  /** The host directory the path lies in: the rootfs or a mount's source. */
  root: string;
  /** The path inside `root` (from `/`), symlinks resolved (the last one only with followLast). */
  rel: string;
  /** The path as the container sees it (symlinks resolved the same way). */
  containerPath: string;
  /** The mount the path lies in, if any. */
  mount?: MountPoint;
}

export function resolveContainerPath(
  mps: Record<string, MountPoint> | undefined,
  rootfs: string,
  p: string,
  opts: { followLast?: boolean } = {},
): ResolvedPath {
  const followLast = opts.followLast !== false;
  const mounts = Object.values(mps ?? {})
    .filter((m) => m.Type !== 'tmpfs' && m.Source !== '')
    .sort((a, b) => b.Destination.length - a.Destination.length);
  const under = (cp: string, dest: string): boolean => dest === '/' || cp === dest || cp.startsWith(`${dest}/`);
  const mountFor = (cp: string, deeperThan: string): MountPoint | undefined =>
    mounts.find((m) => m.Destination.length > deeperThan.length && under(cp, m.Destination));

  let pending = path.posix
    .normalize(`/${p}`)
    .split('/')
    .filter((c) => c !== '');
  let mount: MountPoint | undefined;
  let base = '/'; // where the current root is in the container
  let rel = '/';
  let root = RootDir.open(rootfs);
  const containerPathOf = (r: string): string => (r === '/' ? base : base === '/' ? r : `${base}${r}`);
  try {
    while (pending.length > 0) {
      const c = pending.shift() as string;
      const last = pending.length === 0;
      let next: string;
      const fd = root.tryOpen(path.posix.join(rel, c), O_PATH, { followLast: !last || followLast });
      if (fd === undefined) {
        // The rest does not exist here; it may still be inside a mount (a mount point runc
        // has not made yet).
        next = path.posix.join(rel, c, ...pending);
        pending = [];
      } else {
        try {
          next = root.pathOf(fd);
        } finally {
          closeFd(fd);
        }
      }
      const cp = containerPathOf(next);
      const m = mountFor(cp, mount ? mount.Destination : '');
      if (m) {
        const inside = cp
          .slice(m.Destination.length)
          .split('/')
          .filter((x) => x !== '');
        root.close();
        root = RootDir.open(m.Source);
        mount = m;
        base = m.Destination;
        rel = '/';
        pending = [...inside, ...pending];
        continue;
      }
      rel = next;
    }
    return { root: root.hostPath, rel, containerPath: containerPathOf(rel), ...(mount ? { mount } : {}) };
  } finally {
    root.close();
  }
}

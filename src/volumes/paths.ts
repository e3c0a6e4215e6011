/**
 * Paths inside a container that may lie in a volume or bind mount (`docker cp`): berthd sees the
 * container's rootfs without its mounts, so a path under a mount point is redirected to the
 * mount's host directory and resolved inside it (never outside it).
 */
import * as path from 'node:path';
import { resolveInRoot } from '../lib/securepath.js';
import type { MountPoint } from './mountpoint.js';

export interface ResolvedPath {
  /** The host path. */
  host: string;
  /** The mount the path lies in, if any. */
  mount?: MountPoint;
}

export function resolveContainerPath(
  mps: Record<string, MountPoint> | undefined,
  rootfs: string,
  p: string,
  opts: { followLast?: boolean } = {},
): ResolvedPath {
  const inRoot = resolveInRoot(rootfs, p, opts);
  const cpath = `/${path.relative(rootfs, inRoot)}`;
  const mount = Object.values(mps ?? {})
    .filter((m) => m.Type !== 'tmpfs' && m.Source !== '' && (cpath === m.Destination || cpath.startsWith(`${m.Destination}/`)))
    .sort((a, b) => b.Destination.length - a.Destination.length)[0];
  if (!mount) return { host: inRoot };
  const rest = cpath.slice(mount.Destination.length) || '/';
  return { host: resolveInRoot(mount.Source, rest, opts), mount };
}

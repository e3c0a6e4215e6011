/**
 * A container's files: `diff` (changes in the writable layer), `export` (the whole rootfs as a
 * tar) and the archive API behind `docker cp`. Paths from users resolve inside the rootfs.
 */
import { fstatSync, lstatSync, readFileSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { invalid, messageOf, notFound, system } from '../lib/errors.js';
import { extractInRoot } from '../lib/rootextract.js';
import { RootDir, closeFd, listDir } from '../lib/rootfs.js';
import { AT_FDCWD, O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY, openat } from '../lib/syscalls.js';
import { packFd } from '../lib/tarpack.js';
import { resolveUser } from '../runtime/user.js';
import type { Container } from './types.js';
import type { PathStat } from '../engine-api/types.js';
import { resolveContainerPath, type ResolvedPath } from '../volumes/paths.js';

/** What the file operations need from the container life cycle. */
export interface FilesContainers {
  get(ref: string): Container;
  /** The directories of the container's layers (writable upper, image lowers). */
  layersOf(c: Container): { upper: string; lowers: string[] };
  /** Runs `fn` with the container's rootfs mounted (mounting it for a stopped container). */
  withRootfs<T>(ref: string, fn: (rootfs: string, c: Container) => Promise<T>): Promise<T>;
}

export interface Change {
  Path: string;
  /** 0 modified, 1 added, 2 deleted. */
  Kind: 0 | 1 | 2;
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

const isWhiteout = (st: Stats): boolean => st.isCharacterDevice() && st.rdev === 0;

/**
 * Mount points runc creates in the writable layer when the image lacks them. Docker keeps these
 * in a hidden init layer, so they never show in `diff`; Berth leaves them out of the listing.
 */
const MOUNT_POINTS = new Set([
  '/etc/hostname',
  '/etc/hosts',
  '/etc/resolv.conf',
  '/etc/mtab',
  '/dev',
  '/dev/pts',
  '/dev/shm',
  '/dev/mqueue',
  '/dev/console',
  '/proc',
  '/sys',
]);

export async function containerChanges(svc: FilesContainers, ref: string): Promise<Change[]> {
  const c = svc.get(ref);
  const { upper, lowers } = svc.layersOf(c);
  const inLower = (rel: string): boolean => lowers.some((l) => exists(path.join(l, rel)));
  const out: Change[] = [];
  // The upper dir is walked through fds (a running container may swap a directory for a link).
  const walk = (dirFd: number, rel: string): void => {
    for (const e of listDir(dirFd)) {
      const r = path.join(rel, e.name);
      let fd: number;
      try {
        fd = openat(dirFd, e.name, O_PATH | O_NOFOLLOW);
      } catch {
        continue; // gone meanwhile
      }
      try {
        const st = fstatSync(fd);
        if (isWhiteout(st)) {
          out.push({ Path: `/${r}`, Kind: 2 });
          continue;
        }
        out.push({ Path: `/${r}`, Kind: inLower(r) ? 0 : 1 });
        if (st.isDirectory()) {
          let sub: number;
          try {
            sub = openat(fd, '.', O_RDONLY | O_DIRECTORY);
          } catch {
            continue;
          }
          try {
            walk(sub, r);
          } finally {
            closeFd(sub);
          }
        }
      } finally {
        closeFd(fd);
      }
    }
  };
  let top: number | undefined;
  try {
    top = openat(AT_FDCWD, upper, O_RDONLY | O_DIRECTORY);
  } catch {
    top = undefined;
  }
  if (top !== undefined) {
    try {
      walk(top, '');
    } finally {
      closeFd(top);
    }
  }
  const mountPointAdded = (ch: Change): boolean => MOUNT_POINTS.has(ch.Path) && ch.Kind === 1;
  const visible = out.filter((ch) => !mountPointAdded(ch));
  // A directory reported only because a hidden mount point was created in it is not a change.
  return visible.filter(
    (ch) =>
      ch.Kind !== 0 ||
      !out.some((x) => mountPointAdded(x) && path.dirname(x.Path) === ch.Path) ||
      visible.some((x) => x !== ch && x.Path.startsWith(`${ch.Path}/`)),
  );
}

/** Docker's PathStat (the API shape, src/client/types.ts), sent base64-encoded in X-Docker-Container-Path-Stat. */
export type { PathStat };

/** Unix mode bits to Go's os.FileMode bits, which docker's clients decode. */
export function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.isDirectory()) m |= 2 ** 31;
  if (st.isSymbolicLink()) m |= 2 ** 27;
  if (st.isBlockDevice()) m |= 2 ** 26;
  if (st.isCharacterDevice()) m |= 2 ** 26 + 2 ** 21;
  if (st.isFIFO()) m |= 2 ** 25;
  if (st.isSocket()) m |= 2 ** 24;
  if (st.mode & 0o4000) m |= 2 ** 23;
  if (st.mode & 0o2000) m |= 2 ** 22;
  if (st.mode & 0o1000) m |= 2 ** 20;
  return m >>> 0;
}

function containerPath(p: string): string {
  if (p === '') throw invalid('Path cannot be empty');
  return p.startsWith('/') ? p : `/${p}`;
}

/** User and group names by id from the host's /etc/passwd and /etc/group, as dockerd's Go tar writer looks them up. */
function hostOwnerNames(): (uid: number, gid: number) => { uname: string; gname: string } {
  const table = (file: string): Map<number, string> => {
    const m = new Map<number, string>();
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return m;
    }
    for (const line of text.split('\n')) {
      const f = line.split(':');
      const id = Number(f[2]);
      if (f[0] && Number.isInteger(id) && !m.has(id)) m.set(id, f[0]);
    }
    return m;
  };
  const users = table('/etc/passwd');
  const groups = table('/etc/group');
  return (uid, gid) => ({ uname: users.get(uid) ?? '', gname: groups.get(gid) ?? '' });
}

/** Where a container path is: the confining root (rootfs or a mount's source) and the path inside it. */
function locate(c: Container, rootfs: string, cp: string, followLast: boolean): ResolvedPath {
  return resolveContainerPath(c.MountPoints, rootfs, cp, { followLast });
}

/** Runs `fn` with an O_PATH fd of the located path (not following a last symlink unless asked). */
async function withEntry<T>(
  loc: ResolvedPath,
  followLast: boolean,
  missing: () => Error,
  fn: (root: RootDir, fd: number, st: Stats) => Promise<T> | T,
): Promise<T> {
  return RootDir.with(loc.root, async (root) => {
    const fd = root.tryOpen(loc.rel, O_PATH, { followLast });
    if (fd === undefined) throw missing();
    try {
      return await fn(root, fd, fstatSync(fd));
    } finally {
      closeFd(fd);
    }
  });
}

async function statIn(c: Container, rootfs: string, p: string): Promise<PathStat> {
  const cp = containerPath(p);
  // A trailing slash follows a final symlink (dockerd stats `link/` as the directory itself).
  const follow = cp.endsWith('/') || cp.endsWith('/.');
  const loc = locate(c, rootfs, cp, follow);
  const missing = (): Error => notFound(`Could not find the file ${cp} in container`);
  return withEntry(loc, follow, missing, (_root, _fd, st) => {
    // A link's target as dockerd reports it: the path it resolves to in the container.
    const linkTarget = st.isSymbolicLink() ? locate(c, rootfs, cp, true).containerPath : '';
    const name = path.posix.basename(cp.replace(/\/+$/, '')) || '/';
    return { name: cp.endsWith('/.') ? '.' : name, size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget };
  });
}

export async function statPath(svc: FilesContainers, ref: string, p: string): Promise<PathStat> {
  return svc.withRootfs(ref, async (rootfs, c) => statIn(c, rootfs, p));
}

/**
 * Streams `p` as a tar, named as dockerd names it: `/dir` → `dir/…`, `/dir/.` → `./…`, `/` →
 * `/…`; a final symlink is archived as the link unless the path ends in a slash. `send` gets
 * the stat before any byte is sent. The tree is read through fds only (lib/tarpack.ts packFd).
 */
export async function getArchive(svc: FilesContainers, ref: string, p: string, send: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void> {
  await svc.withRootfs(ref, async (rootfs, c) => {
    const cp = containerPath(p);
    const stat = await statIn(c, rootfs, cp);
    const trailingDot = cp.endsWith('/.');
    const follow = cp.endsWith('/') || trailingDot;
    const loc = locate(c, rootfs, cp, follow);
    const missing = (): Error => notFound(`Could not find the file ${cp} in container`);
    await RootDir.with(loc.root, async (root) => {
      const fd = root.tryOpen(loc.rel, O_PATH, { followLast: follow });
      if (fd === undefined) throw missing();
      let owned = true;
      try {
        if (cp.endsWith('/') && !fstatSync(fd).isDirectory()) throw invalid('not a directory');
        const base = path.posix.basename(cp.replace(/\/+$/, ''));
        const name = trailingDot ? '.' : cp.replace(/\/+$/, '') === '' ? '/' : base;
        const tar = packFd(fd, path.join(loc.root, loc.rel), { rename: name, typeBits: true, owners: hostOwnerNames() });
        owned = false;
        await send(stat, tar);
      } finally {
        if (owned) closeFd(fd);
      }
    });
  });
}

/** `docker export`: the whole rootfs as a tar, read through fds. */
export async function exportContainer(svc: FilesContainers, ref: string, send: (tar: Readable) => Promise<void>): Promise<void> {
  await svc.withRootfs(ref, async (rootfs) => {
    const fd = openat(AT_FDCWD, rootfs, O_PATH | O_DIRECTORY);
    await send(packFd(fd, rootfs, { rename: '' }));
  });
}

export async function putArchive(
  svc: FilesContainers,
  ref: string,
  p: string,
  tar: Readable,
  opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean },
): Promise<void> {
  const c = svc.get(ref);
  await svc.withRootfs(ref, async (rootfs) => {
    const cp = containerPath(p);
    // A path in a volume or bind mount goes to the mount's host directory.
    const loc = locate(c, rootfs, cp, true);
    if (loc.mount && !loc.mount.RW) throw invalid('mounted volume is marked read-only');
    if (!loc.mount && c.HostConfig.ReadonlyRootfs) throw invalid('container rootfs is marked read-only');
    // dockerd keeps the archive's owners; with copyUIDGID and a configured user, that user's.
    let chown: { uid: number; gid: number } | undefined;
    if (opts.copyUIDGID && c.Config.User) {
      const u = resolveUser({ rootfs, user: c.Config.User });
      chown = { uid: u.uid, gid: u.gid };
    }
    await RootDir.with(loc.root, async (root) => {
      const st = root.stat(loc.rel);
      if (!st) throw notFound(`Could not find the file ${cp} in container ${c.Name.slice(1)}`);
      if (!st.isDirectory()) throw system('extraction point is not a directory');
      try {
        await extractInRoot(tar, root, loc.rel, {
          ...(chown ? { chown } : {}),
          noOverwriteDirNonDir: opts.noOverwriteDirNonDir === true,
          destName: cp.replace(/\/+$/, '') || '/',
        });
      } catch (err) {
        throw system(`Error processing tar file(exit status 1): ${messageOf(err)}`, err);
      }
    });
  });
}

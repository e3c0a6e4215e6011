/**
 * A container's files: `diff` (changes in the writable layer), `export` (the whole rootfs as a
 * tar) and the archive API behind `docker cp`. Paths from users resolve inside the rootfs.
 */
import { promises as fs, lstatSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { invalid, notFound } from '../lib/errors.js';
import { extractTar } from '../lib/safetar.js';
import { resolveInRoot } from '../lib/securepath.js';
import { packPath } from '../lib/tarpack.js';
import type { ContainerService } from './service.js';
import type { Container } from './types.js';
import type { PathStat } from '../client/types.js';
import { resolveContainerPath } from '../volumes/paths.js';

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
  '/etc/hostname', '/etc/hosts', '/etc/resolv.conf', '/etc/mtab', '/dev', '/dev/pts', '/dev/shm',
  '/dev/mqueue', '/dev/console', '/proc', '/sys',
]);

export async function containerChanges(svc: ContainerService, ref: string): Promise<Change[]> {
  const c = svc.get(ref);
  const { upper, lowers } = svc.layersOf(c);
  const inLower = (rel: string): boolean => lowers.some((l) => exists(path.join(l, rel)));
  const out: Change[] = [];
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await fs.readdir(path.join(upper, rel));
    } catch {
      return;
    }
    for (const n of names.sort()) {
      const r = path.join(rel, n);
      const st = await fs.lstat(path.join(upper, r));
      if (isWhiteout(st)) {
        out.push({ Path: `/${r}`, Kind: 2 });
        continue;
      }
      out.push({ Path: `/${r}`, Kind: inLower(r) ? 0 : 1 });
      if (st.isDirectory()) await walk(r);
    }
  };
  await walk('');
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

async function statIn(c: Container, rootfs: string, p: string): Promise<{ host: string; stat: PathStat; st: Stats }> {
  const cp = containerPath(p);
  const host = resolveContainerPath(c.MountPoints, rootfs, cp, { followLast: false }).host;
  let st: Stats;
  try {
    st = await fs.lstat(host);
  } catch {
    throw notFound(`Could not find the file ${cp} in container`);
  }
  let linkTarget = '';
  if (st.isSymbolicLink()) {
    const real = resolveInRoot(rootfs, cp);
    linkTarget = `/${path.relative(rootfs, real)}`;
  }
  return {
    host,
    st,
    stat: { name: path.basename(cp) || '/', size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget },
  };
}

export async function statPath(svc: ContainerService, ref: string, p: string): Promise<PathStat> {
  return svc.withRootfs(ref, async (rootfs, c) => (await statIn(c, rootfs, p)).stat);
}

/** Streams `p` as a tar; `onStat` gets the stat before any byte is sent. */
export async function getArchive(
  svc: ContainerService,
  ref: string,
  p: string,
  send: (stat: PathStat, tar: Readable) => Promise<void>,
): Promise<void> {
  await svc.withRootfs(ref, async (rootfs, c) => {
    const cp = containerPath(p);
    const trailingDot = cp.endsWith('/.');
    const { stat, st } = await statIn(c, rootfs, cp);
    // A trailing slash or `/.` asks for the contents; otherwise the entry itself (links followed
    // only when the path ends in a slash).
    const follow = cp.endsWith('/') || trailingDot;
    const host = resolveContainerPath(c.MountPoints, rootfs, cp, { followLast: follow }).host;
    if (cp.endsWith('/') && !st.isDirectory() && !st.isSymbolicLink()) throw invalid(`not a directory`);
    const name = trailingDot ? '' : path.basename(cp.replace(/\/+$/, '')) || '.';
    await send(stat, packPath(host, { rename: name === '.' ? '' : name }));
  });
}

export async function putArchive(
  svc: ContainerService,
  ref: string,
  p: string,
  tar: Readable,
  opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean },
): Promise<void> {
  const c = svc.get(ref);
  await svc.withRootfs(ref, async (rootfs) => {
    const cp = containerPath(p);
    // A path in a volume or bind mount goes to the mount's host directory.
    const { host, mount } = resolveContainerPath(c.MountPoints, rootfs, cp);
    if (mount && !mount.RW) throw invalid('mounted volume is marked read-only');
    if (!mount && c.HostConfig.ReadonlyRootfs) throw invalid('container rootfs is marked read-only');
    let st: Stats;
    try {
      st = await fs.stat(host);
    } catch {
      throw notFound(`Could not find the file ${cp} in container ${c.Name.slice(1)}`);
    }
    if (!st.isDirectory()) throw invalid(`extraction point is not a directory`);
    await extractTar(tar, host, { whiteouts: 'none', sameOwner: opts.copyUIDGID === true, chown: { uid: 0, gid: 0 } });
  });
}

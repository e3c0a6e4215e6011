/**
 * A container's mounts: its Binds, Mounts, VolumesFrom, Tmpfs and the image's VOLUMEs become
 * validated mount points at create (volumes created then, with dockerd's messages for bad
 * specs), and OCI mounts at start: each destination resolved inside the container's root
 * without following symlinks out of it, volumes mounted by their driver and seeded with the
 * image's content (copy-up), bind sources checked (or created, for `-v`).
 */
import { promises as fs, fstatSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { invalid, isCategory, messageOf, system } from '../lib/errors.js';
import { extractInRoot } from '../lib/rootextract.js';
import { RootDir, closeFd, errCode, listDir } from '../lib/rootfs.js';
import { O_DIRECTORY, O_RDONLY } from '../lib/syscalls.js';
import { packFd } from '../lib/tarpack.js';
import { mergeTmpfsOptions } from '../runtime/spec.js';
import type { OciMount } from '../runtime/oci.js';
import type { Container } from '../containers/types.js';
import type { MountPoint } from './mountpoint.js';
import type { VolumeService } from './service.js';

const PROPAGATION = new Set(['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate']);
const CONSISTENCY = new Set(['consistent', 'cached', 'delegated', 'default']);

/** HostConfig.Mounts[] entry (Docker's mount.Mount). */
export interface ApiMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

/** A volume the container needs, created (if missing) before its mount point is recorded. */
interface VolumeNeed {
  name: string;
  anonymous: boolean;
  labels?: Record<string, string>;
  driver?: string;
  options?: Record<string, string>;
}

/* ---------------------------------------------------------------------------------- parsing */

function checkMode(mode: string): { rw: boolean; nocopy: boolean; propagation: string } {
  const counts = { rw: 0, label: 0, prop: 0, copy: 0, cons: 0 };
  let rw = true;
  let nocopy = false;
  let propagation = '';
  for (const m of mode.split(',')) {
    if (m === 'rw' || m === 'ro') {
      counts.rw++;
      rw = m === 'rw';
    } else if (m === 'z' || m === 'Z') counts.label++;
    else if (PROPAGATION.has(m)) {
      counts.prop++;
      propagation = m;
    } else if (m === 'nocopy' || m === 'copy') {
      counts.copy++;
      nocopy = m === 'nocopy';
    } else if (CONSISTENCY.has(m)) counts.cons++;
    else throw invalid(`invalid mode: ${mode}`);
  }
  if (Object.values(counts).some((n) => n > 1)) throw invalid(`invalid mode: ${mode}`);
  return { rw, nocopy, propagation };
}

function checkDestination(dst: string, type: string, spec?: string): void {
  const prefix = spec !== undefined ? `invalid volume specification: '${spec}': ` : '';
  if (!dst.startsWith('/')) {
    throw invalid(`${prefix}invalid mount config for type "${type}": invalid mount path: '${dst}' mount path must be absolute`);
  }
  if (path.posix.normalize(dst) === '/') {
    throw invalid(`${prefix}invalid mount config for type "${type}": invalid specification: destination can't be '/'`);
  }
}

const clean = (p: string): string => path.posix.normalize(p).replace(/(.)\/$/, '$1');

/** One `-v`/Binds entry, as dockerd's Linux parser reads it. */
export function parseBind(spec: string): { mp: MountPoint; volume?: VolumeNeed } {
  const arr = spec.split(':');
  let src = '';
  let dst = '';
  let mode = '';
  if (arr.length === 1) dst = arr[0] as string;
  else if (arr.length === 2) {
    [src = '', dst = ''] = arr;
    if (isMode(dst)) throw invalid(`invalid volume specification: '${spec}'`);
  } else if (arr.length === 3) [src = '', dst = '', mode = ''] = arr;
  else throw invalid(`invalid volume specification: '${spec}'`);
  if (dst === '') throw invalid(`invalid volume specification: '${spec}'`);
  const type = src.startsWith('/') ? 'bind' : 'volume';
  checkDestination(dst, type, spec);
  const m = mode === '' ? { rw: true, nocopy: false, propagation: '' } : checkMode(mode);
  const destination = clean(dst);
  if (type === 'bind') {
    return {
      mp: {
        Type: 'bind',
        Source: clean(src),
        Destination: destination,
        Mode: mode,
        RW: m.rw,
        Propagation: m.propagation || 'rprivate',
        CreateSource: true,
      },
    };
  }
  if (src === '') {
    return {
      mp: {
        Type: 'volume',
        Name: '',
        Source: '',
        Destination: destination,
        Driver: 'local',
        Mode: mode,
        RW: m.rw,
        Propagation: m.propagation,
        CopyData: !m.nocopy,
        Anonymous: true,
      },
      volume: { name: '', anonymous: true },
    };
  }
  return {
    mp: {
      Type: 'volume',
      Name: src,
      Source: '',
      Destination: destination,
      Driver: 'local',
      Mode: mode || 'z',
      RW: m.rw,
      Propagation: m.propagation,
      CopyData: !m.nocopy,
    },
    volume: { name: src, anonymous: false },
  };
}

function isMode(s: string): boolean {
  try {
    checkMode(s);
    return true;
  } catch {
    return false;
  }
}

/** One HostConfig.Mounts entry (`--mount`), validated as dockerd's mount validator does. */
export function parseApiMount(m: ApiMount): { mp: MountPoint; volume?: VolumeNeed } {
  const type = m.Type ?? '';
  const bad = (msg: string): never => {
    throw invalid(`invalid mount config for type "${type}": ${msg}`);
  };
  if (!['bind', 'volume', 'tmpfs'].includes(type)) bad('mount type unknown');
  const target = m.Target ?? '';
  if (target === '') bad('field Target must not be empty');
  checkDestination(target, type);
  const destination = clean(target);
  const rw = m.ReadOnly !== true;
  if (type === 'bind') {
    if (m.VolumeOptions) bad('field VolumeOptions must not be specified');
    if (m.TmpfsOptions) bad('field TmpfsOptions must not be specified');
    const src = m.Source ?? '';
    if (src === '') bad('field Source must not be empty');
    if (!src.startsWith('/')) bad(`invalid mount path: '${src}' mount path must be absolute`);
    try {
      statSync(src);
    } catch {
      bad(`bind source path does not exist: ${src}`);
    }
    const prop = m.BindOptions?.Propagation ?? '';
    if (prop !== '' && !PROPAGATION.has(prop)) bad(`invalid propagation mode: ${prop}`);
    const mp: MountPoint = { Type: 'bind', Source: clean(src), Destination: destination, Mode: '', RW: rw, Propagation: prop || 'rprivate' };
    if (m.BindOptions?.NonRecursive) mp.NonRecursive = true;
    return { mp };
  }
  if (type === 'tmpfs') {
    if (m.Source) bad('field Source must not be specified');
    if (m.BindOptions) bad('field BindOptions must not be specified');
    if (m.VolumeOptions) bad('field VolumeOptions must not be specified');
    const opts: string[] = [];
    const size = m.TmpfsOptions?.SizeBytes ?? 0;
    if (size < 0) bad('invalid tmpfs size');
    if (size > 0) opts.push(`size=${Math.ceil(size / 1024)}k`);
    if (m.TmpfsOptions?.Mode) opts.push(`mode=${(m.TmpfsOptions.Mode & 0o7777).toString(8)}`);
    return { mp: { Type: 'tmpfs', Source: '', Destination: destination, Mode: '', RW: rw, Propagation: '', TmpfsOptions: opts.join(',') } };
  }
  if (m.BindOptions) bad('field BindOptions must not be specified');
  if (m.TmpfsOptions) bad('field TmpfsOptions must not be specified');
  const name = m.Source ?? '';
  const vo = m.VolumeOptions ?? {};
  const need: VolumeNeed = { name, anonymous: name === '' };
  if (vo.Labels) need.labels = vo.Labels;
  if (vo.DriverConfig?.Name) need.driver = vo.DriverConfig.Name;
  if (vo.DriverConfig?.Options) need.options = vo.DriverConfig.Options;
  return {
    mp: {
      Type: 'volume',
      Name: name,
      Source: '',
      Destination: destination,
      Driver: 'local',
      Mode: 'z',
      RW: rw,
      Propagation: '',
      CopyData: vo.NoCopy !== true,
      ...(name === '' ? { Anonymous: true } : {}),
    },
    volume: need,
  };
}

/* ---------------------------------------------------------------------------------- manager */

export interface PrepareContext {
  /** The image's VOLUMEs. */
  imageVolumes: Record<string, object> | null | undefined;
  /** Finds another container (for VolumesFrom); throws Docker's not-found error. */
  find: (ref: string) => Container;
}

/** What a container start needs from its mounts. */
export interface MountSetup {
  mounts: OciMount[];
  /** Set when a shared/slave bind needs the rootfs to propagate. */
  rootfsPropagation?: string;
}

export class MountManager {
  constructor(private readonly volumes: VolumeService) {}

  /**
   * At create: the container's mount points from VolumesFrom, then Binds and Mounts (which
   * override), then anonymous volumes for the config's and image's VOLUMEs not mounted
   * otherwise. Volumes are created here, as dockerd does.
   */
  async prepare(c: Container, ctx: PrepareContext): Promise<void> {
    const h = c.HostConfig;
    const points = new Map<string, MountPoint>();
    const needs = new Map<string, VolumeNeed>();
    for (const spec of h.VolumesFrom ?? []) {
      const i = spec.lastIndexOf(':');
      let ref = spec;
      let mode = '';
      if (i > 0) {
        ref = spec.slice(0, i);
        mode = spec.slice(i + 1);
      }
      if (mode !== '' && mode !== 'ro' && mode !== 'rw') throw invalid(`invalid mode: ${mode}`);
      let other: Container;
      try {
        other = ctx.find(ref);
      } catch (err) {
        // dockerd answers 400 here (a 404 would make the docker CLI try to pull the image).
        throw isCategory(err, 'NotFound') ? invalid(messageOf(err)) : err;
      }
      for (const mp of Object.values(other.MountPoints ?? {})) {
        const copy: MountPoint = { ...mp, CopyData: false };
        delete copy.Anonymous; // the other container's, not ours to remove
        if (mode !== '') {
          copy.RW = mode === 'rw';
          copy.Mode = mode;
        }
        points.set(mp.Destination, copy);
      }
    }
    const explicit = new Set<string>();
    const add = (r: { mp: MountPoint; volume?: VolumeNeed }): void => {
      if (explicit.has(r.mp.Destination)) throw invalid(`Duplicate mount point: ${r.mp.Destination}`);
      explicit.add(r.mp.Destination);
      points.set(r.mp.Destination, r.mp);
      if (r.volume) needs.set(r.mp.Destination, r.volume);
    };
    const anonymous: string[] = [];
    for (const spec of h.Binds ?? []) {
      const r = parseBind(spec);
      // The docker CLI sends `-v /path` as a Config.Volumes entry; in Binds it is the same.
      if (r.volume?.anonymous && !spec.includes(':')) anonymous.push(r.mp.Destination);
      else add(r);
    }
    const apiMounts = (h.Mounts ?? []) as ApiMount[];
    if (!Array.isArray(apiMounts)) throw invalid('invalid mount config: Mounts must be a list');
    for (const m of apiMounts) add(parseApiMount(m));
    const tmpfs = new Set(Object.keys(h.Tmpfs ?? {}).map((d) => clean(d.split(':')[0] ?? d)));
    for (const d of tmpfs) {
      if (explicit.has(d)) throw invalid(`Duplicate mount point: ${d}`);
    }
    const vols = [...Object.keys(c.Config.Volumes ?? {}), ...Object.keys(ctx.imageVolumes ?? {}), ...anonymous];
    for (const v of vols) {
      checkDestination(v, 'volume');
      const d = clean(v);
      if (points.has(d) || tmpfs.has(d)) continue;
      points.set(d, {
        Type: 'volume',
        Name: '',
        Source: '',
        Destination: d,
        Driver: 'local',
        Mode: '',
        RW: true,
        Propagation: '',
        CopyData: true,
        Anonymous: true,
      });
      needs.set(d, { name: '', anonymous: true });
    }
    // Everything is valid: now create the volumes.
    for (const [dest, need] of needs) {
      const mp = points.get(dest) as MountPoint;
      const v = await this.volumes.create(
        {
          Name: need.name,
          ...(need.driver ? { Driver: need.driver } : {}),
          ...(need.options ? { DriverOpts: need.options } : {}),
          ...(need.labels ? { Labels: need.labels } : {}),
        },
        { anonymous: need.anonymous },
      );
      mp.Name = v.Name;
      mp.Source = v.Mountpoint;
    }
    c.MountPoints = Object.fromEntries(points);
  }

  /**
   * At start, with the rootfs mounted: the OCI mounts. Volumes are mounted by the driver (and
   * seeded at first use), destinations are resolved inside the rootfs.
   */
  async setup(c: Container, rootfs: string): Promise<MountSetup> {
    // Destinations resolved inside the rootfs first, then mounted parents before children (by
    // where they really land: a symlink may put a shallow path deep, or the other way round).
    // (The destination is a path handed to runc, which resolves it again inside the rootfs and
    // mounts onto the fd it opened; here it only orders the mounts and names the copy-up source.)
    const mps = await RootDir.with(rootfs, (root) =>
      Object.values(c.MountPoints ?? {})
        .map((mp) => ({ mp, destination: root.resolvePath(mp.Destination) }))
        .sort((a, b) => depth(a.destination) - depth(b.destination)),
    );
    const out: OciMount[] = [];
    let rootfsPropagation: string | undefined;
    const mounted: string[] = [];
    try {
      for (const { mp, destination } of mps) {
        if (destination === '/') throw invalid(`invalid mount config for type "${mp.Type}": invalid specification: destination can't be '/'`);
        const ro = mp.RW ? [] : ['ro'];
        if (mp.Type === 'tmpfs') {
          const data = mp.TmpfsOptions ? mp.TmpfsOptions.split(',') : [];
          out.push({ destination, type: 'tmpfs', source: 'tmpfs', options: mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', ...ro, ...data]) });
          continue;
        }
        let source = mp.Source;
        if (mp.Type === 'volume') {
          source = await this.volumes.mount(mp.Name ?? '', c.ID, { destination: mp.Destination, rw: mp.RW, propagation: mp.Propagation });
          mounted.push(mp.Name ?? '');
          if (mp.CopyData) {
            await copyUp(rootfs, destination, source);
            mp.CopyData = false;
          }
        } else {
          let exists = true;
          try {
            await fs.stat(source);
          } catch {
            exists = false;
          }
          if (!exists && mp.CreateSource) {
            await fs.mkdir(source, { recursive: true, mode: 0o755 });
            exists = true;
          }
          if (!exists) throw invalid(`invalid mount config for type "bind": bind source path does not exist: ${source}`);
        }
        const propagation = mp.Propagation || 'rprivate';
        if (propagation.endsWith('shared')) {
          ensurePropagation(source, ['shared:'], 'shared');
          rootfsPropagation = 'rshared';
        } else if (propagation.endsWith('slave')) {
          ensurePropagation(source, ['shared:', 'master:'], 'shared or slave');
          rootfsPropagation ??= 'rslave';
        }
        out.push({ destination, type: 'bind', source, options: [mp.NonRecursive ? 'bind' : 'rbind', propagation, ...ro] });
      }
    } catch (err) {
      for (const name of mounted) await this.volumes.unmount(name, c.ID).catch(() => undefined);
      throw err;
    }
    return { mounts: out, ...(rootfsPropagation ? { rootfsPropagation } : {}) };
  }

  /** After the container stopped (or failed to start): its volumes are released. */
  async teardown(c: Container): Promise<void> {
    for (const mp of Object.values(c.MountPoints ?? {})) {
      if (mp.Type === 'volume' && mp.Name) await this.volumes.unmount(mp.Name, c.ID).catch(() => undefined);
    }
  }

  /** After the container's record is gone: `rm -v` / `--rm` remove its anonymous volumes. */
  async removed(c: Container, opts: { removeVolumes: boolean }): Promise<void> {
    await this.teardown(c);
    if (!opts.removeVolumes) return;
    for (const mp of Object.values(c.MountPoints ?? {})) {
      if (mp.Type !== 'volume' || !mp.Anonymous || !mp.Name) continue;
      // Still used by another container (--volumes-from): kept, as dockerd keeps it.
      await this.volumes.remove(mp.Name).catch(() => undefined);
    }
  }

  /** Live restore: running containers keep their volumes mounted. */
  adopt(c: Container): void {
    for (const mp of Object.values(c.MountPoints ?? {})) {
      if (mp.Type === 'volume' && mp.Name) this.volumes.adopt(mp.Name, c.ID);
    }
  }
}

const depth = (p: string): number => p.split('/').filter((x) => x !== '').length;

/**
 * Copy-up: an empty volume mounted over a directory the image populates gets that directory's
 * content, ownership and mode (dockerd's copyExistingContents). The directory is opened inside
 * the rootfs (lib/rootfs.ts) and its tree read through fds, streamed as a tar into the volume
 * (written through fds too): no path inside the container is followed on the host.
 */
async function copyUp(rootfs: string, dest: string, volume: string): Promise<void> {
  await RootDir.with(rootfs, async (root) => {
    let fd: number | undefined;
    try {
      fd = root.tryOpen(dest, O_RDONLY | O_DIRECTORY);
    } catch (err) {
      if (errCode(err) === 'ELOOP') return;
      throw err;
    }
    if (fd === undefined) return; // absent or not a directory: nothing to copy
    let owned = true;
    try {
      const st = fstatSync(fd);
      if ((await fs.readdir(volume)).length > 0) return;
      if (listDir(fd).length > 0) {
        owned = false;
        const tar = packFd(fd, path.join(rootfs, dest), { rename: '' });
        await RootDir.with(volume, (vol) => extractInRoot(tar, vol, '/')).catch((err: unknown) => {
          throw system(`copy-up of ${dest} into volume failed: ${messageOf(err)}`, err);
        });
      }
      await fs.chown(volume, st.uid, st.gid);
      await fs.chmod(volume, st.mode & 0o7777);
    } finally {
      if (owned) closeFd(fd);
    }
  });
}

/** dockerd's ensureShared / ensureSharedOrSlave: the mount holding `source` must propagate. */
function ensurePropagation(source: string, tags: string[], what: string): void {
  let best: { mountPoint: string; optional: string } | undefined;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const mp = (f[4] ?? '').replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp === '') continue;
    const under = mp === '/' || source === mp || source.startsWith(`${mp}/`);
    if (!under) continue;
    const dash = f.indexOf('-');
    const optional = f.slice(6, dash).join(' ');
    if (!best || mp.length >= best.mountPoint.length) best = { mountPoint: mp, optional };
  }
  if (best && !tags.some((t) => best.optional.includes(t))) {
    throw invalid(`path ${source} is mounted on ${best.mountPoint} but it is not a ${what} mount`);
  }
}

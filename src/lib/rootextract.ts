/**
 * Tar extraction into a directory of a {@link RootDir} (`docker cp` into a container, `ADD` of
 * an archive into a build root): the tar parsing of {@link TarExtractor}, with every entry made
 * through fds. Each entry's parent directory is resolved by the kernel inside the root
 * (openat2 RESOLVE_IN_ROOT, so the container's own symlinks are followed as the container sees
 * them, never out of it) and kept open; the entry is created relative to that fd with
 * O_NOFOLLOW / O_EXCL, an existing one removed through fds ({@link removeAt}). A directory the
 * container swaps for a symlink meanwhile cannot redirect a write, a chown or a remove.
 */
import { fchmodSync, fchownSync, fstatSync, futimesSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError, invalid, system } from './errors.js';
import { closeFd, errCode, removeAt, statAt, type RootDir } from './rootfs.js';
import { RUNS_AS_ROOT, TarExtractor, entryComponents, exactMode, settleFile, type ExtractResult } from './safetar.js';
import {
  AT_EMPTY_PATH,
  AT_SYMLINK_NOFOLLOW,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  fchownat,
  fgetxattr,
  fsetxattr,
  linkat,
  mkdirat,
  mknodat,
  openat,
  symlinkat,
  utimensat,
} from './syscalls.js';
import type { ReadHeader } from './tarheader.js';

export interface RootExtractOptions {
  /** The owner of every entry; undefined keeps the archive's uid/gid. */
  chown?: { uid: number; gid: number };
  /** dockerd's noOverwriteDirNonDir: a directory is never replaced by a non-directory, nor the reverse. */
  noOverwriteDirNonDir?: boolean;
  /** The destination's path as the user named it (for dockerd's messages). */
  destName?: string;
}

const S_IFIFO = 0o010000;
const MAX_OPEN_DIRS = 64;

class RootTarExtractor extends TarExtractor {
  /** Open parent directories by their path under the destination ('' = the destination). */
  private readonly dirs = new Map<string, number>();
  /**
   * Open directories in which what root creates is root:root with exactly the mode asked for
   * (no set-group-ID bit, no default ACL): there a root-owned entry needs no chown and a mode
   * the umask leaves intact no chmod.
   */
  private readonly plain = new Set<number>();

  private isPlain(fd: number): boolean {
    return this.plain.has(fd);
  }

  private notePlain(fd: number): void {
    if (!RUNS_AS_ROOT) return;
    if ((fstatSync(fd).mode & 0o2000) !== 0) return;
    if (fgetxattr(fd, 'system.posix_acl_default') !== undefined) return;
    this.plain.add(fd);
  }
  private readonly dirTimesRel: Array<{ rel: string; mtime: number }> = [];

  constructor(
    private readonly rootDir: RootDir,
    /** The destination directory inside the root. */
    private readonly dest: string,
    private readonly o: RootExtractOptions,
  ) {
    super(rootDir.hostPath, { whiteouts: 'none' });
  }

  private inRoot(rel: string): string {
    return rel === '' ? this.dest : path.posix.join(this.dest, rel);
  }

  private cacheDir(rel: string, fd: number): void {
    const old = this.dirs.get(rel);
    if (old !== undefined && old !== fd) this.closeDir(old);
    this.dirs.delete(rel);
    this.dirs.set(rel, fd);
    this.notePlain(fd);
    if (this.dirs.size > MAX_OPEN_DIRS) {
      const [k, v] = this.dirs.entries().next().value as [string, number];
      this.dirs.delete(k);
      this.closeDir(v);
    }
  }

  private closeDir(fd: number): void {
    this.plain.delete(fd);
    closeFd(fd);
  }

  /** Forgets open directories at or under `rel` (it is being replaced). */
  private forgetDirs(rel: string): void {
    for (const [k, v] of [...this.dirs]) {
      if (k === rel || k.startsWith(`${rel}/`)) {
        this.dirs.delete(k);
        this.closeDir(v);
      }
    }
  }

  /** The parent directory of an entry, open; created (0755, the daemon's owner) when missing. */
  private parent(rel: string): number {
    const fd = this.dirs.get(rel);
    if (fd !== undefined) return fd;
    let opened: number;
    try {
      opened = this.rootDir.mkdirAll(this.inRoot(rel));
    } catch (err) {
      if (errCode(err) === 'ENOTDIR' || errCode(err) === 'EEXIST') throw invalid(`invalid tar entry: parent of ${rel} is not a directory`);
      throw err;
    }
    this.cacheDir(rel, opened);
    return opened;
  }

  private entryPath(rel: string): string {
    return path.posix.join(this.o.destName ?? this.dest, rel);
  }

  /** Makes room for a new entry: what is there is removed, unless both are directories. */
  private clear(dir: number, base: string, rel: string, isDir: boolean): Stats | undefined {
    const st = statAt(dir, base);
    if (!st) return undefined;
    if (st.isDirectory() && isDir) return st;
    if (this.o.noOverwriteDirNonDir) {
      const dest = this.o.destName ?? this.dest;
      if (st.isDirectory()) throw invalid(`cannot overwrite directory ${JSON.stringify(this.entryPath(rel))} with non-directory ${JSON.stringify(dest)}`);
      if (isDir) throw invalid(`cannot overwrite non-directory ${JSON.stringify(this.entryPath(rel))} with directory ${JSON.stringify(dest)}`);
    }
    this.forgetDirs(rel);
    removeAt(dir, base);
    return undefined;
  }

  /** Runs `make` (which creates `base` in `dir`), clearing the way once if something is there. */
  private create<T>(dir: number, base: string, rel: string, isDir: boolean, make: () => T): T {
    try {
      return make();
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    this.clear(dir, base, rel, isDir);
    return make();
  }

  protected override entry(h: ReadHeader): void {
    this.result.entries++;
    const comps = entryComponents(h.name);
    if (comps.length === 0) return this.expect(h.size);
    const rel = comps.join('/');
    const base = comps[comps.length - 1] as string;
    const dir = this.parent(comps.slice(0, -1).join('/'));
    const mode = h.mode & 0o7777;
    const uid = this.o.chown?.uid ?? h.uid;
    const gid = this.o.chown?.gid ?? h.gid;
    const mtime = h.mtime;
    const xattrs = h.pax ? Object.entries(h.pax).filter(([k]) => k.startsWith('SCHILY.xattr.') && !k.startsWith('SCHILY.xattr.trusted.overlay.')) : [];
    const setXattrs = (fd: number): void => {
      for (const [k, v] of xattrs) {
        try {
          fsetxattr(fd, k.slice('SCHILY.xattr.'.length), Buffer.from(v, 'latin1'));
        } catch {
          /* file systems without xattr support: drop, as tar does */
        }
      }
    };

    switch (h.type) {
      case 'directory': {
        const had = statAt(dir, base);
        if (!had?.isDirectory()) {
          this.create(dir, base, rel, true, () => mkdirat(dir, base, 0o700));
        }
        const fd = openat(dir, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        try {
          fchownSync(fd, uid, gid);
          fchmodSync(fd, mode);
          setXattrs(fd);
        } catch (err) {
          closeFd(fd);
          throw err;
        }
        this.cacheDir(rel, fd);
        this.dirTimesRel.push({ rel, mtime });
        return this.expect(h.size);
      }
      case 'file':
      case 'contiguous-file': {
        const plain = this.isPlain(dir);
        const exact = plain && exactMode(mode);
        const ownerIsCreator = plain && uid === 0 && gid === 0;
        const fd = this.create(dir, base, rel, false, () => openat(dir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, exact ? mode : 0o600));
        this.fd = fd;
        this.fileDone = () => {
          this.fd = -1;
          try {
            settleFile(fd, { uid, gid, mode, mtime, owned: ownerIsCreator, exact });
            setXattrs(fd);
          } finally {
            closeFd(fd);
          }
          this.result.size += h.size;
        };
        return this.expect(h.size);
      }
      case 'symlink': {
        this.create(dir, base, rel, false, () => symlinkat(h.linkname, dir, base));
        fchownat(dir, base, uid, gid, AT_SYMLINK_NOFOLLOW);
        try {
          utimensat(dir, base, mtime, mtime, AT_SYMLINK_NOFOLLOW);
        } catch {
          /* keep the link's own time */
        }
        this.result.size += Buffer.byteLength(h.linkname);
        return this.expect(h.size);
      }
      case 'link': {
        // The target is a path under the destination, as dockerd resolves it (never outside the root).
        const linkComps = entryComponents(h.linkname);
        const src = this.rootDir.tryOpen(this.inRoot(linkComps.join('/')), O_PATH, { followLast: false });
        if (src === undefined) throw invalid(`invalid tar entry ${h.name}: hard link target ${h.linkname} not found`);
        try {
          if (fstatSync(src).isDirectory()) throw invalid(`invalid tar entry ${h.name}: hard link to a directory`);
          this.create(dir, base, rel, false, () => linkat(src, '', dir, base, AT_EMPTY_PATH));
        } finally {
          closeFd(src);
        }
        return this.expect(h.size);
      }
      case 'fifo': {
        this.create(dir, base, rel, false, () => mknodat(dir, base, S_IFIFO | mode, 0));
        fchownat(dir, base, uid, gid, AT_SYMLINK_NOFOLLOW);
        return this.expect(h.size);
      }
      default:
        // Character and block devices (and anything unknown) are never created from an archive.
        return this.expect(h.size);
    }
  }

  override end(): ExtractResult {
    const r = super.end();
    this.closeDirs();
    for (const d of this.dirTimesRel.reverse()) {
      const fd = this.rootDir.tryOpen(this.inRoot(d.rel), O_RDONLY | O_DIRECTORY, { followLast: false });
      if (fd === undefined) continue; // removed by a later entry
      try {
        futimesSync(fd, d.mtime, d.mtime);
      } catch {
        /* not ours to change */
      } finally {
        closeFd(fd);
      }
    }
    return r;
  }

  override abort(): void {
    super.abort();
    this.closeDirs();
  }

  private closeDirs(): void {
    for (const fd of this.dirs.values()) this.closeDir(fd);
    this.dirs.clear();
  }
}

/**
 * Extracts the tar `src` into the directory `dest` (a path inside `root`, already a directory).
 * The source's own errors fail it too.
 */
export async function extractInRoot(src: Readable, root: RootDir, dest: string, o: RootExtractOptions = {}): Promise<ExtractResult> {
  const x = new RootTarExtractor(root, dest, o);
  try {
    for await (const chunk of src) x.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return x.end();
  } catch (err) {
    x.abort();
    src.destroy();
    throw err instanceof BerthError ? err : system((err as Error).message, err);
  }
}

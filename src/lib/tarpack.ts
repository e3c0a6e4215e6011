/**
 * Streams a directory tree (or one file) as a tar, for layers, export, `cp` and build contexts.
 *
 * The tar is produced on demand, a few megabytes per read: each `_read` walks on with
 * synchronous calls (lstat, readdir, open, read) and copies file bytes straight into 1 MiB
 * output blocks. A layer is mostly small files, and a thread-pool round trip per lstat/open/
 * read/close (what the stream-per-file version paid) cost more than the page-cache work; this
 * way the event loop is held for one block at a time and every byte is copied once.
 */
import { fstatSync, readSync, type Dirent, type Stats } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { closeFd, errCode, listDir, reopen } from './rootfs.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './safetar.js';
import { AT_FDCWD, O_DIRECTORY, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, openat, readlinkat } from './syscalls.js';
import { headerBytes, type TarEntryType, type TarHeader } from './tarheader.js';

export interface PackOptions {
  /** Name of the top entry in the archive ('' = contents at the root, as export does). */
  rename?: string;
  /**
   * The tree is an overlayfs upper directory: whiteouts (0:0 character devices) become `.wh.`
   * entries and opaque directories get a `.wh..wh..opq` entry, as image layers write them.
   */
  overlayWhiteouts?: boolean;
  /** With overlayWhiteouts: whether a directory (its host path and an open fd) is opaque (its `trusted.overlay.opaque` xattr). */
  isOpaque?: (hostPath: string, fd: number) => boolean;
  /** The file type bits in each header's mode too (0o100644 for a file), as Go's archive/tar writes them. */
  typeBits?: boolean;
  /** User and group names for the headers' uname/gname (as dockerd's archives carry them). */
  owners?: (uid: number, gid: number) => { uname: string; gname: string } | undefined;
  /** Entries (by archive name, no trailing slash) left out entirely. */
  omit?: (name: string) => boolean;
  /** Called with the size of every regular file packed (a layer's size). */
  onFile?: (size: number) => void;
  /** Times later than this are written as this (reproducible layers, SOURCE_DATE_EPOCH). */
  clampMtime?: Date;
}

function typeOf(st: Stats): TarEntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'character-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets are not archived
}

/** Output block size; a multiple of 512, so headers and padded file data never straddle two. */
const BLOCK = 1 << 20;

class TarPacker extends Readable {
  private readonly work: Generator<Buffer, void, undefined>;

  constructor(src: number | undefined, srcHost: string, opts: PackOptions) {
    super({ highWaterMark: 4 * BLOCK });
    this.work = walkTree(src, srcHost, opts);
    this.unstartedFd = src;
  }

  /** The caller's fd until the walk starts (and owns it). */
  private unstartedFd: number | undefined;

  override _read(): void {
    this.unstartedFd = undefined;
    try {
      for (;;) {
        const next = this.work.next();
        if (next.done) {
          this.push(null);
          return;
        }
        if (!this.push(next.value)) return;
      }
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    try {
      this.work.return(undefined); // closes a file left open mid-read
    } catch {
      /* already finished */
    }
    if (this.unstartedFd !== undefined) closeFd(this.unstartedFd);
    cb(err);
  }
}

/** The tar's bytes in blocks of {@link BLOCK} (the last one shorter), ending with two zero blocks. */
function* walkTree(src: number | undefined, srcHost: string, opts: PackOptions): Generator<Buffer, void, undefined> {
  let out = Buffer.allocUnsafe(BLOCK);
  let pos = 0;
  const inodes = new Map<string, string>();
  const clampMs = opts.clampMtime?.getTime();

  /** Room for `n` more bytes (n ≤ BLOCK) in the current block, yielding the full one first. */
  function* room(n: number): Generator<Buffer, void, undefined> {
    if (pos + n > BLOCK) {
      yield out.subarray(0, pos);
      out = Buffer.allocUnsafe(BLOCK);
      pos = 0;
    }
  }
  function* header(h: TarHeader): Generator<Buffer, void, undefined> {
    const bytes = headerBytes(h);
    yield* room(bytes.length);
    bytes.copy(out, pos);
    pos += bytes.length;
  }
  /** `size` bytes of the open file `fd`, then zeros to the next 512-byte boundary. */
  function* fileData(fd: number, size: number, host: string): Generator<Buffer, void, undefined> {
    let left = size;
    while (left > 0) {
      if (pos === BLOCK) yield* room(BLOCK);
      const n = readSync(fd, out, pos, Math.min(left, BLOCK - pos), null);
      if (n === 0) throw new Error(`${host}: file changed size while being archived (${size - left} of ${size} bytes)`);
      pos += n;
      left -= n;
    }
    const pad = (512 - (size % 512)) % 512;
    if (pad > 0) {
      yield* room(pad);
      out.fill(0, pos, pos + pad);
      pos += pad;
    }
  }

  /**
   * The entry `name` whose fd is `fd` (owned: closed here) and stat `st`. Directories are read
   * and descended through their fds, so a directory swapped for a symlink after it was opened
   * changes nothing: what is archived is what was opened.
   */
  function* entry(fd: number, st: Stats, host: string, name: string): Generator<Buffer, void, undefined> {
    try {
      const type = typeOf(st);
      if (!type) return;
      // Whole milliseconds as Stats.mtime has them (rounded), then whole seconds.
      const ms = Math.round(st.mtimeMs);
      const mtime = Math.trunc((clampMs !== undefined && ms > clampMs ? clampMs : ms) / 1000);
      if (opts.overlayWhiteouts && type === 'character-device' && st.rdev === 0) {
        const dir = path.posix.dirname(name);
        yield* header({
          name: `${dir === '.' ? '' : `${dir}/`}${WHITEOUT_PREFIX}${path.posix.basename(name)}`,
          type: 'file',
          size: 0,
          mode: 0o644,
          uid: 0,
          gid: 0,
          mtime,
        });
        return;
      }
      const mode = st.mode & (opts.typeBits ? 0o177777 : 0o7777);
      const h: TarHeader = {
        name: type === 'directory' && name !== '' && !name.endsWith('/') ? `${name}/` : name,
        type,
        mode,
        uid: st.uid,
        gid: st.gid,
        size: 0,
        mtime,
      };
      const names = opts.owners?.(st.uid, st.gid);
      if (names) {
        h.uname = names.uname;
        h.gname = names.gname;
      }
      if (type === 'file' && st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = inodes.get(key);
        if (first !== undefined) {
          yield* header({ ...h, type: 'link', linkname: first });
          return;
        }
        inodes.set(key, name);
      }
      if (type === 'symlink') h.linkname = readlinkat(fd, '');
      if (type === 'character-device' || type === 'block-device') {
        h.devmajor = Math.floor(st.rdev / 256) & 0xfff;
        h.devminor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
      }
      if (type === 'file') {
        h.size = st.size;
        opts.onFile?.(st.size);
        yield* header(h);
        yield* fileData(fd, st.size, host);
        return;
      }
      if (name !== '') yield* header(h);
      if (type !== 'directory') return;
      if (opts.overlayWhiteouts && opts.isOpaque?.(host, fd)) {
        yield* header({ name: `${name === '' ? '' : `${name}/`}${OPAQUE_MARKER}`, type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0, mtime });
      }
      for (const e of listDir(fd)) {
        const childName = name === '' ? e.name : name.endsWith('/') ? `${name}${e.name}` : `${name}/${e.name}`;
        if (opts.omit?.(childName)) continue;
        const child = openChild(fd, e);
        if (child) yield* entry(child.fd, child.st, path.join(host, e.name), childName);
      }
    } finally {
      closeFd(fd);
    }
  }

  yield* top(src ?? openat(AT_FDCWD, srcHost, O_PATH | O_NOFOLLOW), opts.rename ?? path.basename(srcHost));
  // End of archive: two zero blocks.
  yield* room(1024);
  out.fill(0, pos, pos + 1024);
  pos += 1024;
  yield out.subarray(0, pos);

  function* top(fd: number, name: string): Generator<Buffer, void, undefined> {
    if (name !== '' && opts.omit?.(name)) {
      closeFd(fd);
      return;
    }
    const opened = readable(fd, fstatSync(fd));
    if (opened) yield* entry(opened.fd, opened.st, srcHost, name);
  }
}

/**
 * An fd to read an entry of a directory through: a directory opened O_DIRECTORY, a regular file
 * O_RDONLY, anything else O_PATH (enough for fstat and readlinkat) — all with O_NOFOLLOW, so an
 * entry replaced by a symlink is archived as that symlink. Undefined when it vanished.
 */
function openChild(dirFd: number, e: Dirent): { fd: number; st: Stats } | undefined {
  try {
    if (e.isDirectory() || e.isFile()) {
      let fd: number | undefined;
      try {
        fd = e.isDirectory()
          ? openat(dirFd, e.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
          : openat(dirFd, e.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
      } catch (err) {
        const code = errCode(err);
        if (code !== 'ELOOP' && code !== 'ENOTDIR' && code !== 'ENXIO' && code !== 'EACCES') throw err;
      }
      if (fd !== undefined) {
        const st = fstatSync(fd);
        if (st.isDirectory() === e.isDirectory() && st.isFile() === e.isFile()) return { fd, st };
        closeFd(fd); // changed type between readdir and open: look again below
      }
    }
    const p = openat(dirFd, e.name, O_PATH | O_NOFOLLOW);
    return readable(p, fstatSync(p));
  } catch (err) {
    if (errCode(err) === 'ENOENT') return undefined; // removed while being archived
    throw err;
  }
}

/** For an O_PATH fd (`fd`, then closed): a readable fd of a directory or regular file, else `fd` itself. */
function readable(fd: number, st: Stats): { fd: number; st: Stats } | undefined {
  if (!st.isDirectory() && !st.isFile()) return { fd, st };
  try {
    const real = st.isDirectory() ? openat(fd, '.', O_RDONLY | O_DIRECTORY) : reopen(fd, O_RDONLY | O_NONBLOCK);
    return { fd: real, st: fstatSync(real) };
  } finally {
    closeFd(fd);
  }
}

/**
 * Packs the open file `fd` (any fd, O_PATH included; the packer owns it and closes it). The
 * entry and everything under it is reached through fds only. `hostPath` names it in messages
 * and in the `isOpaque` callback.
 */
export function packFd(fd: number, hostPath: string, opts: PackOptions = {}): Readable {
  return new TarPacker(fd, hostPath, opts);
}

/** Packs the host path `src` (a tree berthd owns or trusts; a symlink there is packed as a link). */
export function packPath(src: string, opts: PackOptions = {}): Readable {
  return new TarPacker(undefined, src, opts);
}

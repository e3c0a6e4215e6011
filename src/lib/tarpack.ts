/**
 * Streams a directory tree (or one file) as a tar, for layers, export, `cp` and build contexts.
 *
 * The tar is produced on demand, a few megabytes per read: each `_read` walks on with
 * synchronous calls (lstat, readdir, open, read) and copies file bytes straight into 1 MiB
 * output blocks. A layer is mostly small files, and a thread-pool round trip per lstat/open/
 * read/close (what the stream-per-file version paid) cost more than the page-cache work; this
 * way the event loop is held for one block at a time and every byte is copied once.
 */
import { closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './safetar.js';
import { headerBytes, type TarEntryType, type TarHeader } from './tarheader.js';

export interface PackOptions {
  /** Name of the top entry in the archive ('' = contents at the root, as export does). */
  rename?: string;
  /** Do not descend into these host paths (mount points of other file systems). */
  skip?: (hostPath: string) => boolean;
  /**
   * The tree is an overlayfs upper directory: whiteouts (0:0 character devices) become `.wh.`
   * entries and opaque directories get a `.wh..wh..opq` entry, as image layers write them.
   */
  overlayWhiteouts?: boolean;
  /** With overlayWhiteouts: whether a directory is opaque (its `trusted.overlay.opaque` xattr). */
  isOpaque?: (hostPath: string) => boolean;
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

  constructor(src: string, opts: PackOptions) {
    super({ highWaterMark: 4 * BLOCK });
    this.work = walkTree(src, opts);
  }

  override _read(): void {
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
    cb(err);
  }
}

/** The tar's bytes in blocks of {@link BLOCK} (the last one shorter), ending with two zero blocks. */
function* walkTree(src: string, opts: PackOptions): Generator<Buffer, void, undefined> {
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

  function* walk(host: string, name: string): Generator<Buffer, void, undefined> {
    if (name !== '' && opts.omit?.(name)) return;
    const st = lstatSync(host);
    const type = typeOf(st);
    if (!type) return;
    // Whole milliseconds as Stats.mtime has them (rounded), then whole seconds.
    const ms = Math.round(st.mtimeMs);
    const mtime = Math.trunc((clampMs !== undefined && ms > clampMs ? clampMs : ms) / 1000);
    if (opts.overlayWhiteouts && type === 'character-device' && st.rdev === 0) {
      const dir = path.posix.dirname(name);
      yield* header({ name: `${dir === '.' ? '' : `${dir}/`}${WHITEOUT_PREFIX}${path.posix.basename(name)}`, type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0, mtime });
      return;
    }
    const h: TarHeader = { name: type === 'directory' && name !== '' ? `${name}/` : name, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: 0, mtime };
    if (type === 'file' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = inodes.get(key);
      if (first !== undefined) {
        yield* header({ ...h, type: 'link', linkname: first });
        return;
      }
      inodes.set(key, name);
    }
    if (type === 'symlink') h.linkname = readlinkSync(host);
    if (type === 'character-device' || type === 'block-device') {
      h.devmajor = Math.floor(st.rdev / 256) & 0xfff;
      h.devminor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
    }
    if (type === 'file') {
      h.size = st.size;
      opts.onFile?.(st.size);
      const fd = openSync(host, 'r');
      try {
        yield* header(h);
        yield* fileData(fd, st.size, host);
      } finally {
        closeSync(fd);
      }
      return;
    }
    if (name !== '') yield* header(h);
    if (opts.overlayWhiteouts && type === 'directory' && opts.isOpaque?.(host)) {
      yield* header({ name: `${name === '' ? '' : `${name}/`}${OPAQUE_MARKER}`, type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0, mtime });
    }
    if (type === 'directory' && !(opts.skip?.(host) ?? false)) {
      for (const n of readdirSync(host).sort()) yield* walk(path.join(host, n), name === '' ? n : `${name}/${n}`);
    }
  }

  yield* walk(src, opts.rename ?? path.basename(src));
  // End of archive: two zero blocks.
  yield* room(1024);
  out.fill(0, pos, pos + 1024);
  pos += 1024;
  yield out.subarray(0, pos);
}

export function packPath(src: string, opts: PackOptions = {}): Readable {
  return new TarPacker(src, opts);
}

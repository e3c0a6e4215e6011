/** Streams a directory tree (or one file) as a tar, for export and the archive API. */
import { promises as fs, createReadStream, type Stats } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './safetar.js';

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

function typeOf(st: Stats): tarStream.Header['type'] | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'character-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets are not archived
}

/** Files up to this size are read whole; larger ones stream. */
const SMALL_FILE = 1 << 20;

export function packPath(src: string, opts: PackOptions = {}): Readable {
  const pack = tarStream.pack();
  const inodes = new Map<string, string>();
  const walk = async (host: string, name: string): Promise<void> => {
    if (name !== '' && opts.omit?.(name)) return;
    const st = await fs.lstat(host);
    const type = typeOf(st);
    if (!type) return;
    const clamp = opts.clampMtime;
    const mtime = clamp && st.mtime > clamp ? clamp : st.mtime;
    if (opts.overlayWhiteouts && type === 'character-device' && st.rdev === 0) {
      const dir = path.posix.dirname(name);
      const wh = `${dir === '.' ? '' : `${dir}/`}${WHITEOUT_PREFIX}${path.posix.basename(name)}`;
      pack.entry({ name: wh, type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0, mtime }, Buffer.alloc(0));
      return;
    }
    const header: Partial<tarStream.Header> & { name: string } = {
      name: type === 'directory' && name !== '' ? `${name}/` : name,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      mtime,
      type,
    };
    if (type === 'file' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = inodes.get(key);
      if (first !== undefined) {
        pack.entry({ ...header, type: 'link', linkname: first, size: 0 });
        return;
      }
      inodes.set(key, name);
    }
    if (type === 'symlink') header.linkname = await fs.readlink(host);
    if (type === 'character-device' || type === 'block-device') {
      header.devmajor = Math.floor(st.rdev / 256) & 0xfff;
      header.devminor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
    }
    if (type === 'file') {
      header.size = st.size;
      opts.onFile?.(st.size);
      if (st.size <= SMALL_FILE) {
        // Most files are small: one read and one entry, without a stream per file.
        const buf = await fs.readFile(host);
        header.size = buf.length;
        await new Promise<void>((resolve, reject) => pack.entry(header, buf, (err) => (err ? reject(err) : resolve())));
        return;
      }
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry(header, (err) => (err ? reject(err) : resolve()));
        createReadStream(host, { highWaterMark: 1 << 20 }).on('error', reject).pipe(entry);
      });
      return;
    }
    if (name !== '') pack.entry(header);
    if (opts.overlayWhiteouts && type === 'directory' && opts.isOpaque?.(host)) {
      pack.entry({ name: `${name === '' ? '' : `${name}/`}${OPAQUE_MARKER}`, type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0, mtime }, Buffer.alloc(0));
    }
    if (type === 'directory' && !(opts.skip?.(host) ?? false)) {
      const names = (await fs.readdir(host)).sort();
      for (const n of names) await walk(path.join(host, n), name === '' ? n : `${name}/${n}`);
    }
  };
  walk(src, opts.rename ?? path.basename(src))
    .then(() => pack.finalize())
    .catch((err: Error) => pack.destroy(err));
  return pack as unknown as Readable;
}

/**
 * Tar extraction that cannot escape its root. Every entry path is cleaned and its parent
 * resolved inside the root (symlinks followed as if the root were `/`); `..` that climbs out is
 * refused; device nodes are dropped; hard links must point at files inside the root.
 * Overlay whiteouts (`.wh.name`, `.wh..wh..opq`) become overlayfs whiteouts when asked.
 */
import {
  promises as fs,
  chmodSync,
  closeSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tarStream from 'tar-stream';
import { invalid } from './errors.js';
import { resolveInRoot } from './securepath.js';
import { lsetxattr, mkWhiteout, mkfifo } from './syscalls.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export interface ExtractOptions {
  /** `overlay`: turn whiteout entries into overlayfs whiteouts; `none`: treat them as files. */
  whiteouts: 'overlay' | 'none';
  /** Keep ownership from the archive (true for layers; `docker cp` sets its own). */
  sameOwner?: boolean;
  /** Owner applied to every entry when sameOwner is false. */
  chown?: { uid: number; gid: number };
}

export interface ExtractResult {
  /** Sum of regular file and symlink sizes extracted (hard links counted once). */
  size: number;
  entries: number;
}

/** Cleans an entry name to components; throws when `..` would leave the root. */
export function entryComponents(name: string): string[] {
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) throw invalid(`invalid tar entry ${JSON.stringify(name)}: path escapes the destination`);
      out.pop();
    } else out.push(c);
  }
  return out;
}

/** The process's umask (reading it is allowed in worker threads too); all bits when unknown. */
function currentUmask(): number {
  try {
    return process.umask();
  } catch {
    return 0o777;
  }
}
const UMASK = currentUmask();
const RUNS_AS_ROOT = process.geteuid?.() === 0 && process.getegid?.() === 0;

export async function extractTar(src: Readable, root: string, opts: ExtractOptions): Promise<ExtractResult> {
  const extract = tarStream.extract();
  const dirTimes: Array<{ p: string; mtime: Date }> = [];
  const result: ExtractResult = { size: 0, entries: 0 };
  const realDirs = new Set<string>([root]);
  const sameOwner = opts.sameOwner !== false;
  // Directories this extraction made and chmod-ed without the set-group-ID bit: what is created
  // in them gets the creator's owner (root:root when the daemon runs as root), so a root-owned
  // entry needs no chown, and a mode the umask leaves intact is set by open/mkdir themselves.
  const plainDirs = new Set<string>();
  const forget = (p: string): void => {
    plainDirs.delete(p);
    for (const d of plainDirs) if (d.startsWith(`${p}/`)) plainDirs.delete(d);
  };
  const exactMode = (mode: number): boolean => (mode & 0o7000) === 0 && (mode & UMASK) === 0;

  /** Parent directory on the host, created when missing, never outside root. */
  const parentOf = async (comps: string[]): Promise<string> => {
    const rel = comps.slice(0, -1).join('/');
    const fast = path.join(root, rel);
    if (realDirs.has(fast)) return fast;
    const dir = resolveInRoot(root, rel);
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    if (!lstatSync(dir).isDirectory()) throw invalid(`invalid tar entry: parent of ${rel} is not a directory`);
    if (dir === fast) realDirs.add(fast);
    return dir;
  };

  // A source that fails after the last entry (a gzip trailer, a digest check) fails the extraction too.
  let feedError: Error | undefined;
  let failFeed: (err: Error) => void = () => undefined;
  // tar-stream's iterator does not always settle when the extractor is destroyed before its
  // first entry: the loop also races this.
  const feedFailed = new Promise<never>((_resolve, reject) => {
    failFeed = reject;
  });
  feedFailed.catch(() => undefined);
  const feed = pipeline(src, extract).catch((err: unknown) => {
    feedError = err as Error;
    failFeed(err as Error);
    extract.destroy(err as Error);
  });
  const entries = extract[Symbol.asyncIterator]();

  try {
  for (;;) {
    const next = await Promise.race([entries.next(), feedFailed]);
    if (next.done) break;
    const entry = next.value;
    // A source that ends or fails mid-entry destroys the entry, possibly before it is piped
    // (tar-stream's streams then never finish a pipeline): remember why, check before piping.
    let entryError: Error | undefined;
    entry.on('error', (e: Error) => {
      entryError = e;
    });
    const h = entry.header;
    result.entries++;
    const comps = entryComponents(h.name);
    if (comps.length === 0) {
      entry.resume();
      continue;
    }
    const base = comps[comps.length - 1] as string;
    const parent = await parentOf(comps);
    const target = path.join(parent, base);

    if (opts.whiteouts === 'overlay' && base.startsWith(WHITEOUT_PREFIX)) {
      entry.resume();
      if (base === OPAQUE_MARKER) {
        lsetxattr(parent, 'trusted.overlay.opaque', Buffer.from('y'));
      } else {
        const name = base.slice(WHITEOUT_PREFIX.length);
        // `.wh..` / `.wh...` would white out the directory itself or its parent.
        if (name === '' || name === '.' || name === '..') throw invalid(`invalid tar entry ${JSON.stringify(h.name)}: whiteout of ${JSON.stringify(name)}`);
        const victim = path.join(parent, name);
        forget(victim);
        await fs.rm(victim, { recursive: true, force: true });
        mkWhiteout(victim);
      }
      continue;
    }

    const existing = lstatSync(target, { throwIfNoEntry: false });
    if (existing && !(existing.isDirectory() && h.type === 'directory')) {
      forget(target);
      await fs.rm(target, { recursive: true, force: true });
    }

    const mode = (h.mode ?? 0o644) & 0o7777;
    const uid = sameOwner ? (h.uid ?? 0) : (opts.chown?.uid ?? 0);
    const gid = sameOwner ? (h.gid ?? 0) : (opts.chown?.gid ?? 0);
    const mtime = h.mtime ?? new Date(0);
    // Created in a plain directory of ours by root: already root:root, mode exact when the umask allows.
    const inPlainDir = RUNS_AS_ROOT && plainDirs.has(parent);
    const ownerIsCreator = inPlainDir && uid === 0 && gid === 0;

    switch (h.type) {
      case 'directory': {
        if (existing?.isDirectory()) {
          lchownSync(target, uid, gid);
          chmodSync(target, mode);
        } else if (inPlainDir && exactMode(mode)) {
          mkdirSync(target, { mode });
          if (!ownerIsCreator) lchownSync(target, uid, gid);
        } else {
          mkdirSync(target, { mode: 0o700 });
          lchownSync(target, uid, gid);
          chmodSync(target, mode);
        }
        realDirs.add(target);
        if (mode & 0o2000) forget(target);
        else plainDirs.add(target);
        dirTimes.push({ p: target, mtime });
        entry.resume();
        break;
      }
      case 'file':
      case 'contiguous-file': {
        if (entry.destroyed) throw entryError ?? invalid(`invalid tar entry ${h.name}: unexpected end of archive`);
        // Synchronous writes: a layer is thousands of small files, and a thread-pool round trip
        // per open/write/chown/chmod/utimes/close costs more than the page-cache work itself.
        const exact = inPlainDir && exactMode(mode);
        const fd = openSync(target, 'wx', exact ? mode : 0o600);
        try {
          for await (const chunk of entry as AsyncIterable<Buffer>) {
            for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
          }
          if (!ownerIsCreator) fchownSync(fd, uid, gid);
          if (!exact) fchmodSync(fd, mode);
          futimesSync(fd, mtime, mtime);
        } finally {
          closeSync(fd);
        }
        result.size += h.size ?? 0;
        break;
      }
      case 'symlink': {
        entry.resume();
        symlinkSync(h.linkname ?? '', target);
        if (!ownerIsCreator) lchownSync(target, uid, gid);
        try {
          lutimesSync(target, mtime, mtime);
        } catch {
          /* not supported: keep the link's own time */
        }
        // Counted as dockerd's layer sizes count it (st_size of the link: its target's length).
        result.size += Buffer.byteLength(h.linkname ?? '');
        break;
      }
      case 'link': {
        entry.resume();
        const linkComps = entryComponents(h.linkname ?? '');
        const linkParent = resolveInRoot(root, linkComps.slice(0, -1).join('/'));
        const source = path.join(linkParent, linkComps[linkComps.length - 1] ?? '');
        let st;
        try {
          st = lstatSync(source);
        } catch {
          throw invalid(`invalid tar entry ${h.name}: hard link target ${h.linkname} not found`);
        }
        if (st.isDirectory()) throw invalid(`invalid tar entry ${h.name}: hard link to a directory`);
        linkSync(source, target);
        break;
      }
      case 'fifo': {
        entry.resume();
        mkfifo(target, mode);
        await fs.lchown(target, uid, gid);
        break;
      }
      default:
        // Character and block devices (and anything unknown) are never created from an archive.
        entry.resume();
        break;
    }
    const xattrs = h.pax ? Object.entries(h.pax).filter(([k]) => k.startsWith('SCHILY.xattr.')) : [];
    // A default ACL (or any attribute) on a directory may change what is created in it.
    if (xattrs.length > 0 && h.type === 'directory') forget(target);
    for (const [k, v] of xattrs) {
      const name = k.slice('SCHILY.xattr.'.length);
      // A layer never sets overlayfs's own attributes; those come only from whiteout entries.
      if (!name.startsWith('trusted.overlay.')) {
        try {
          lsetxattr(target, name, Buffer.from(v, 'latin1'));
        } catch {
          /* file systems without xattr support: drop, as tar does */
        }
      }
    }
  }
  } catch (err) {
    src.destroy();
    extract.destroy();
    await feed;
    throw err;
  }
  await feed;
  if (feedError) throw feedError;
  for (const d of dirTimes.reverse()) {
    try {
      utimesSync(d.p, d.mtime, d.mtime);
    } catch {
      /* removed by a later entry */
    }
  }
  return result;
}

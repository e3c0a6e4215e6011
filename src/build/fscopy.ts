/**
 * COPY/ADD file operations: source selection in a root (globs, no escape), content checksums
 * for the build cache, and copying into a mounted image root with Docker's rules (a directory's
 * contents are copied, a file lands in a directory destination under its own name), every
 * destination path resolved inside the root.
 */
import { createHash } from 'node:crypto';
import { createReadStream, fchmodSync, fchownSync, futimesSync, promises as fs, write, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import * as path from 'node:path';
import { invalid } from '../lib/errors.js';
import { RootDir, closeFd, errCode, hostPathInRoot, removeAt, statAt } from '../lib/rootfs.js';
import { AT_SYMLINK_NOFOLLOW, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY, fchownat, mkdirat, openat, symlinkat } from '../lib/syscalls.js';

const writeAsync = (fd: number, buf: Buffer, off: number, len: number): Promise<number> =>
  promisify(write)(fd, buf, off, len, null).then((r) => r.bytesWritten);

export interface Source {
  /** Host path (after resolving the user's path in its root). */
  host: string;
  /** The path as matched, relative to its root (for messages and checksums). */
  rel: string;
}

function globToRe(seg: string): RegExp {
  let re = '^';
  for (let i = 0; i < seg.length; i++) {
    const ch = seg[i] as string;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = seg.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const cls = seg.slice(i + 1, end);
        re += `[${cls.startsWith('!') ? `^${cls.slice(1)}` : cls}]`;
        i = end;
      }
    } else if (ch === '\\' && i + 1 < seg.length) re += (seg[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

const hasGlob = (s: string): boolean => /[*?[]/.test(s);

/** Sources matching `pattern` inside `root` (sorted); none → Docker's "file not found" error. */
export async function matchSources(root: string, pattern: string, what: string): Promise<Source[]> {
  const parts = pattern.split('/').filter((p) => p !== '' && p !== '.');
  let cur: string[] = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const base of cur) {
      if (part === '..') {
        next.push(path.posix.dirname(base) === '.' ? '' : path.posix.dirname(base));
        continue;
      }
      if (!hasGlob(part)) {
        next.push(base === '' ? part : `${base}/${part}`);
        continue;
      }
      const dir = hostPathInRoot(root, base);
      let names: string[] = [];
      try {
        names = (await fs.readdir(dir)).sort();
      } catch {
        names = [];
      }
      const re = globToRe(part);
      for (const n of names) if (re.test(n)) next.push(base === '' ? n : `${base}/${n}`);
    }
    cur = next;
  }
  const out: Source[] = [];
  for (const rel of cur) {
    const host = hostPathInRoot(root, rel);
    try {
      await fs.lstat(host);
      out.push({ host, rel: rel === '' ? '.' : rel });
    } catch {
      /* no match */
    }
  }
  if (out.length === 0) {
    throw invalid(`${what} failed: file not found in build context or excluded by .dockerignore: stat ${pattern}: file does not exist`);
  }
  return out;
}

/** A checksum of a source tree: names, modes, link targets and file contents. */
export async function checksumSources(sources: Source[]): Promise<string> {
  const h = createHash('sha256');
  const walk = async (host: string, rel: string, follow: boolean): Promise<void> => {
    const st = follow ? await fs.stat(host) : await fs.lstat(host);
    h.update(`${rel}\0${st.mode}\0`);
    if (st.isSymbolicLink()) h.update(`${await fs.readlink(host)}\0`);
    else if (st.isFile()) {
      h.update(`${st.size}\0`);
      for await (const chunk of createReadStream(host)) h.update(chunk as Buffer);
    } else if (st.isDirectory()) {
      for (const n of (await fs.readdir(host)).sort()) await walk(path.join(host, n), `${rel}/${n}`, false);
    }
  };
  for (const s of sources) await walk(s.host, s.rel, true);
  return `sha256:${h.digest('hex')}`;
}

export interface CopyOptions {
  /** Owner of everything written (default 0:0). */
  uid: number;
  gid: number;
  /** `--chmod`: mode for every file and directory copied. */
  mode?: number;
}

/** `mkdir -p` of `rel` inside the root `root` (new directories 0755, owned by `o`'s uid/gid when given); an open directory fd. */
function mkdirAt(root: RootDir, rel: string, o?: CopyOptions): number {
  try {
    return root.mkdirAll(rel, 0o755, o ? (dir, name) => fchownat(dir, name, o.uid, o.gid, AT_SYMLINK_NOFOLLOW) : undefined);
  } catch (err) {
    if (errCode(err) === 'ENOTDIR' || errCode(err) === 'EEXIST') throw invalid(`cannot copy to ${rel}: a component of it is not a directory`);
    throw err;
  }
}

/** Makes the directories of `rel` inside root (root-owned 0755 when created, or `o`'s owner). */
export async function mkdirInRoot(root: string, rel: string, o?: CopyOptions): Promise<void> {
  await RootDir.with(root, (r) => closeFd(mkdirAt(r, rel, o)));
}

const COPY_BUF = 1 << 20;

/** Copies a regular file's bytes from the host path `src` into the new file `dst` (an fd), streaming. */
async function copyData(src: string, dst: number): Promise<void> {
  const h = await fs.open(src, 'r');
  const buf = Buffer.allocUnsafe(COPY_BUF);
  try {
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, COPY_BUF, null);
      if (bytesRead === 0) return;
      for (let off = 0; off < bytesRead;) off += await writeAsync(dst, buf, off, bytesRead - off);
    }
  } finally {
    await h.close();
  }
}

/**
 * Copies one tree entry (a host path) to `name` in the destination directory `dir` (an fd in
 * the root; `dstRel` names it in messages). Everything in the destination is made through fds
 * relative to `dir` with O_NOFOLLOW, so the image's symlinks never redirect a write.
 */
async function copyInto(srcHost: string, st: Stats, root: RootDir, dir: number, name: string, dstRel: string, o: CopyOptions): Promise<void> {
  const existing = statAt(dir, name);
  if (st.isDirectory()) {
    // An existing directory (or a link to one, followed inside the root) is merged into.
    let fd = existing ? root.tryOpen(dstRel, O_RDONLY | O_DIRECTORY) : undefined;
    if (fd === undefined) {
      if (existing) removeAt(dir, name);
      mkdirat(dir, name, 0o700);
      fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    }
    try {
      fchownSync(fd, o.uid, o.gid);
      fchmodSync(fd, o.mode ?? st.mode & 0o7777);
      for (const n of (await fs.readdir(srcHost)).sort()) {
        const child = path.join(srcHost, n);
        await copyInto(child, await fs.lstat(child), root, fd, n, `${dstRel}/${n}`, o);
      }
      futimesSync(fd, st.atime, st.mtime);
    } finally {
      closeFd(fd);
    }
    return;
  }
  if (existing?.isDirectory()) throw invalid(`cannot overwrite directory ${dstRel} with a file`);
  if (existing) removeAt(dir, name);
  if (st.isSymbolicLink()) {
    symlinkat(await fs.readlink(srcHost), dir, name);
    fchownat(dir, name, o.uid, o.gid, AT_SYMLINK_NOFOLLOW);
    return;
  }
  if (!st.isFile()) return; // devices, fifos and sockets are not copied from a context
  const fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    await copyData(srcHost, fd);
    fchownSync(fd, o.uid, o.gid);
    fchmodSync(fd, o.mode ?? st.mode & 0o7777);
    futimesSync(fd, st.atime, st.mtime);
  } finally {
    closeFd(fd);
  }
}

/**
 * Copies sources to `dest` (absolute, inside root) with Docker's rules: several sources or a
 * trailing slash make `dest` a directory; a directory source copies its contents. The
 * destination is reached through lib/rootfs.ts (resolved by the kernel inside the root).
 */
export async function copySources(root: string, sources: Source[], dest: string, o: CopyOptions, _what: string): Promise<void> {
  const destIsDir = dest.endsWith('/') || sources.length > 1;
  const destClean = path.posix.normalize(dest);
  await RootDir.with(root, async (r) => {
    for (const s of sources) {
      const st = await fs.stat(s.host).catch(() => fs.lstat(s.host));
      if (st.isDirectory()) {
        const dir = mkdirAt(r, destClean, o);
        try {
          if (o.mode !== undefined) fchmodSync(dir, o.mode);
          for (const n of (await fs.readdir(s.host)).sort()) {
            const child = path.join(s.host, n);
            await copyInto(child, await fs.lstat(child), r, dir, n, path.posix.join(destClean, n), o);
          }
        } finally {
          closeFd(dir);
        }
        continue;
      }
      const existingDir = r.stat(destClean)?.isDirectory() ?? false;
      const target = destIsDir || existingDir ? path.posix.join(destClean, path.posix.basename(s.rel)) : destClean;
      const parentRel = path.posix.dirname(target);
      const dir = mkdirAt(r, parentRel);
      try {
        await copyInto(s.host, st, r, dir, path.posix.basename(target), target, o);
      } finally {
        closeFd(dir);
      }
    }
  });
}

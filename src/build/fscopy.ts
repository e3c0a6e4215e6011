/**
 * COPY/ADD file operations: source selection in a root (globs, no escape), content checksums
 * for the build cache, and copying into a mounted image root with Docker's rules (a directory's
 * contents are copied, a file lands in a directory destination under its own name), every
 * destination path resolved inside the root.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs, type Stats } from 'node:fs';
import * as path from 'node:path';
import { invalid } from '../lib/errors.js';
import { resolveInRoot } from '../lib/securepath.js';

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
      const dir = resolveInRoot(root, base);
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
    const host = resolveInRoot(root, rel);
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

/** Makes the directories of `rel` inside root (root-owned 0755 when created). */
export async function mkdirInRoot(root: string, rel: string, o?: CopyOptions): Promise<string> {
  const comps = rel.split('/').filter(Boolean);
  let cur = '';
  for (const c of comps) {
    cur = `${cur}/${c}`;
    const host = resolveInRoot(root, cur);
    let st: Stats | undefined;
    try {
      st = await fs.stat(host);
    } catch {
      st = undefined;
    }
    if (!st) {
      await fs.mkdir(host, { mode: 0o755 });
      if (o) await fs.lchown(host, o.uid, o.gid);
    } else if (!st.isDirectory()) throw invalid(`cannot copy to ${rel}: ${cur} is not a directory`);
  }
  return resolveInRoot(root, rel);
}

async function removeIfNotDir(host: string): Promise<boolean> {
  try {
    const st = await fs.lstat(host);
    if (st.isDirectory()) return true;
    await fs.rm(host, { force: true });
  } catch {
    /* absent */
  }
  return false;
}

/** Copies one tree entry (a host path) to `dstRel` inside root. */
async function copyInto(srcHost: string, st: Stats, root: string, dstRel: string, o: CopyOptions): Promise<void> {
  const dst = resolveInRoot(root, dstRel, { followLast: st.isDirectory() });
  if (st.isDirectory()) {
    const isDir = await removeIfNotDir(dst);
    if (!isDir) await fs.mkdir(dst, { mode: st.mode & 0o7777 });
    await fs.lchown(dst, o.uid, o.gid);
    await fs.chmod(dst, o.mode ?? st.mode & 0o7777);
    for (const n of (await fs.readdir(srcHost)).sort()) {
      const child = path.join(srcHost, n);
      await copyInto(child, await fs.lstat(child), root, `${dstRel}/${n}`, o);
    }
    await fs.utimes(dst, st.atime, st.mtime);
    return;
  }
  if (await removeIfNotDir(dst)) throw invalid(`cannot overwrite directory ${dstRel} with a file`);
  if (st.isSymbolicLink()) {
    await fs.symlink(await fs.readlink(srcHost), dst);
    await fs.lchown(dst, o.uid, o.gid);
    return;
  }
  if (!st.isFile()) return; // devices, fifos and sockets are not copied from a context
  await fs.copyFile(srcHost, dst);
  await fs.lchown(dst, o.uid, o.gid);
  await fs.chmod(dst, o.mode ?? st.mode & 0o7777);
  await fs.utimes(dst, st.atime, st.mtime);
}

/**
 * Copies sources to `dest` (absolute, inside root) with Docker's rules: several sources or a
 * trailing slash make `dest` a directory; a directory source copies its contents.
 */
export async function copySources(root: string, sources: Source[], dest: string, o: CopyOptions, what: string): Promise<void> {
  const destIsDir = dest.endsWith('/') || sources.length > 1;
  const destClean = path.posix.normalize(dest);
  for (const s of sources) {
    const st = await fs.stat(s.host).catch(() => fs.lstat(s.host));
    if (st.isDirectory()) {
      await mkdirInRoot(root, destClean, o);
      const host = resolveInRoot(root, destClean);
      if (o.mode !== undefined) await fs.chmod(host, o.mode);
      for (const n of (await fs.readdir(s.host)).sort()) {
        const child = path.join(s.host, n);
        await copyInto(child, await fs.lstat(child), root, path.posix.join(destClean, n), o);
      }
      continue;
    }
    let target = destClean;
    let existingDir = false;
    try {
      existingDir = (await fs.stat(resolveInRoot(root, destClean))).isDirectory();
    } catch {
      existingDir = false;
    }
    if (destIsDir || existingDir) {
      await mkdirInRoot(root, destClean);
      target = path.posix.join(destClean, path.posix.basename(s.rel));
    } else {
      await mkdirInRoot(root, path.posix.dirname(destClean));
    }
    if (st.isDirectory()) throw invalid(`${what}: unexpected directory`);
    await copyInto(s.host, st, root, target, o);
  }
}

/**
 * A directory handle confined to a root: the one way berthd touches a tree that someone else
 * (a running container, an image's content) can change while berthd works in it.
 *
 * Every path is resolved by the kernel, relative to the root's fd, with
 * `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: symlinks and `..` are resolved as if the
 * root were `/`, in one system call, so a directory swapped for a symlink to a host path while
 * the lookup runs can at worst point back inside the root. What follows works on the fds:
 * `*at` calls relative to an open directory, with O_NOFOLLOW for the last component, and
 * `/proc/self/fd/N` only to re-open or list a file already open (a magic link to the open file
 * itself, never a path walk). Trees are removed by walking them through fds
 * ({@link removeAt}), never with a recursive remove by path.
 *
 * The errors thrown are shaped like Node's (`code` 'ENOENT', 'ELOOP', …).
 */
import { closeSync, fstatSync, openSync, readdirSync, readlinkSync, readSync, type Dirent, type Stats } from 'node:fs';
import * as path from 'node:path';
import { invalid } from './errors.js';
import {
  AT_FDCWD,
  AT_REMOVEDIR,
  O_DIRECTORY,
  O_NOCTTY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  mkdirat,
  openat,
  openat2,
  readlinkat,
  unlinkat,
} from './syscalls.js';

const IN_ROOT = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

export const errCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** The magic link to an open fd (for re-opening or listing that very file). */
export const fdPath = (fd: number): string => `/proc/self/fd/${fd}`;

export function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}

/** The entry `name` in the open directory `dir`, not followed; undefined when it does not exist. */
export function statAt(dir: number, name: string): Stats | undefined {
  let fd: number;
  try {
    fd = openat(dir, name, O_PATH | O_NOFOLLOW);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return fstatSync(fd);
  } finally {
    closeFd(fd);
  }
}

/** The entries of an open directory (any fd of it, O_PATH included), sorted by name. */
export function listDir(fd: number): Dirent[] {
  return readdirSync(fdPath(fd), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A second fd for the file `fd` is open on (e.g. readable from an O_PATH fd). */
export function reopen(fd: number, flags: number): number {
  return openSync(fdPath(fd), flags | O_NOCTTY);
}

/** A path as components: '' and '.' dropped (`..` is left for the kernel to resolve in the root). */
function relPath(p: string): string {
  const comps = p.split('/').filter((c) => c !== '' && c !== '.');
  return comps.length === 0 ? '.' : comps.join('/');
}

/**
 * Removes `name` in the directory `dirFd`, a whole tree when it is a directory: each directory
 * is opened with O_NOFOLLOW|O_DIRECTORY, emptied through its fd and removed with
 * unlinkat(AT_REMOVEDIR). A link swapped in for a directory is removed as a link; an entry that
 * is gone already is fine.
 */
export function removeAt(dirFd: number, name: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      unlinkat(dirFd, name, 0);
      return;
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT') return;
      if (code !== 'EISDIR' && code !== 'EPERM') throw err;
    }
    let sub: number;
    try {
      sub = openat(dirFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT') return;
      if ((code === 'ENOTDIR' || code === 'ELOOP') && attempt < 16) continue; // no longer a directory
      throw err;
    }
    try {
      for (const e of listDir(sub)) removeAt(sub, e.name);
    } finally {
      closeFd(sub);
    }
    try {
      unlinkat(dirFd, name, AT_REMOVEDIR);
      return;
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT') return;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') && attempt < 16) continue; // filled again meanwhile
      throw err;
    }
  }
}

/** A directory on the host every lookup is confined to. */
export class RootDir {
  private constructor(
    /** An O_PATH fd of the root directory. */
    readonly fd: number,
    readonly hostPath: string,
  ) {}

  /** Opens the root itself by its host path (a path berthd owns or trusts: a rootfs, a volume's `_data`). */
  static open(hostPath: string): RootDir {
    return new RootDir(openat(AT_FDCWD, hostPath, O_PATH | O_DIRECTORY), hostPath);
  }

  /** Runs `fn` with the root open, closing it after (also after a rejection). */
  static async with<T>(hostPath: string, fn: (root: RootDir) => Promise<T> | T): Promise<T> {
    const root = RootDir.open(hostPath);
    try {
      return await fn(root);
    } finally {
      root.close();
    }
  }

  close(): void {
    closeFd(this.fd);
  }

  /**
   * An fd for `p` (a path inside the root; absolute or relative, both from the root). With
   * `followLast: false` a symlink at the end is not followed (O_NOFOLLOW: with O_PATH the fd is
   * the link itself, otherwise ELOOP).
   */
  open(p: string, flags: number, o: { followLast?: boolean; mode?: number } = {}): number {
    return openat2(this.fd, relPath(p), flags | (o.followLast === false ? O_NOFOLLOW : 0), o.mode ?? 0, IN_ROOT);
  }

  /** Like {@link open}, undefined when the path does not exist. */
  tryOpen(p: string, flags: number, o: { followLast?: boolean; mode?: number } = {}): number | undefined {
    try {
      return this.open(p, flags, o);
    } catch (err) {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  /** The stat of `p` (of a link itself unless followLast), undefined when absent. */
  stat(p: string, o: { followLast?: boolean } = {}): Stats | undefined {
    const fd = this.tryOpen(p, O_PATH, o);
    if (fd === undefined) return undefined;
    try {
      return fstatSync(fd);
    } finally {
      closeFd(fd);
    }
  }

  /** A regular file's content (at most `max` bytes), undefined when absent or not a regular file. */
  readFile(p: string, max = 16 << 20): Buffer | undefined {
    const fd = this.tryOpen(p, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd === undefined) return undefined;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return undefined;
      const buf = Buffer.allocUnsafe(Math.min(st.size, max));
      let n = 0;
      while (n < buf.length) {
        const r = readSync(fd, buf, n, buf.length - n, n);
        if (r === 0) break;
        n += r;
      }
      return buf.subarray(0, n);
    } finally {
      closeFd(fd);
    }
  }

  /** The path inside the root (from `/`) that an fd opened in it refers to now. */
  pathOf(fd: number): string {
    const root = readlinkSync(fdPath(this.fd));
    const file = readlinkSync(fdPath(fd));
    const rel = path.relative(root, file);
    return rel === '' ? '/' : rel.startsWith('..') ? '/' : `/${rel}`;
  }

  /**
   * The path (from `/`) that `p` resolves to inside the root, securejoin's way: each component
   * is looked at with openat2 inside the root, a symlink's text followed (also a dangling one,
   * whose target is then the rest of the path), `..` stops at the root, and what does not exist
   * is kept as written. For a path handed on to another resolver (a mount destination, which runc
   * resolves again, securely, inside the rootfs).
   */
  resolvePath(p: string): string {
    let pending = p.split('/').filter((c) => c !== '' && c !== '.');
    let cur = '/';
    let links = 0;
    while (pending.length > 0) {
      const c = pending.shift() as string;
      if (c === '..') {
        cur = path.posix.dirname(cur);
        continue;
      }
      const next = path.posix.join(cur, c);
      const fd = this.tryOpen(next, O_PATH, { followLast: false });
      if (fd === undefined) return path.posix.join(next, ...pending);
      try {
        if (!fstatSync(fd).isSymbolicLink()) {
          cur = next;
          continue;
        }
        if (++links > 255) throw Object.assign(new Error(`too many levels of symbolic links: ${p}`), { code: 'ELOOP' });
        const target = readlinkat(fd, '');
        if (target.startsWith('/')) cur = '/';
        pending = [...target.split('/').filter((x) => x !== '' && x !== '.'), ...pending];
      } finally {
        closeFd(fd);
      }
    }
    return cur;
  }

  /**
   * Opens the directory `p`, creating what is missing (`mkdir -p` inside the root; new
   * directories get `mode` and the daemon's owner). Existing symlinks on the way are followed
   * inside the root. Returns an O_RDONLY|O_DIRECTORY fd; throws ENOTDIR when something on the
   * way is not a directory.
   */
  mkdirAll(p: string, mode = 0o755, onCreate?: (parentFd: number, name: string) => void): number {
    let comps = path.posix
      .normalize(`/${p}`)
      .split('/')
      .filter((c) => c !== '');
    for (let attempt = 0; ; attempt++) {
      // The deepest existing prefix, resolved by the kernel.
      let i = comps.length;
      let fd: number | undefined;
      for (; i >= 0; i--) {
        fd = this.tryOpen(comps.slice(0, i).join('/'), O_RDONLY | O_DIRECTORY);
        if (fd !== undefined) break;
      }
      if (fd === undefined) throw Object.assign(new Error(`mkdir ${p}: the root is gone`), { code: 'ENOENT' });
      try {
        for (; i < comps.length; i++) {
          const c = comps[i] as string;
          let made = false;
          try {
            mkdirat(fd, c, mode);
            made = true;
          } catch (err) {
            if (errCode(err) !== 'EEXIST') throw err;
          }
          if (made) onCreate?.(fd, c);
          const next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
          closeFd(fd);
          fd = next;
        }
        const done = fd;
        fd = undefined;
        return done;
      } catch (err) {
        // A component is a symlink (dangling: its target is made, inside the root) or turned into
        // one meanwhile, or vanished: resolve again from the root.
        const code = errCode(err);
        if ((code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENOENT') && attempt < 8) {
          const again = this.resolvePath(comps.join('/'))
            .split('/')
            .filter((c) => c !== '');
          if (code !== 'ENOENT' && again.join('/') === comps.join('/') && attempt > 0) throw err; // a file in the way
          comps = again;
          continue;
        }
        throw err;
      } finally {
        if (fd !== undefined) closeFd(fd);
      }
    }
  }

  /** Removes the entry at `p` (a link itself, a tree through fds); absent is fine. */
  removeAll(p: string): void {
    const rel = relPath(path.posix.normalize(`/${p}`));
    if (rel === '.') throw Object.assign(new Error('refusing to remove the root'), { code: 'EINVAL' });
    const parent = this.tryOpen(path.posix.dirname(rel), O_PATH | O_DIRECTORY);
    if (parent === undefined) return;
    try {
      removeAt(parent, path.posix.basename(rel));
    } finally {
      closeFd(parent);
    }
  }
}

/**
 * The host path `p` resolves to inside `root` ({@link RootDir.resolvePath}: links followed
 * inside the root, the missing rest kept as written). For a tree berthd unpacked itself (a build
 * context, a `load` archive, a layer being extracted) and for a path handed on to the kernel or
 * runc (a bind-mount source inside a build stage); a symlink loop is InvalidParameter.
 */
export function hostPathInRoot(root: string, p: string): string {
  const r = RootDir.open(root);
  try {
    const rel = r.resolvePath(p);
    return rel === '/' ? root : path.join(root, rel);
  } catch (err) {
    if (errCode(err) === 'ELOOP') throw invalid(`too many levels of symbolic links: ${p}`);
    throw err;
  } finally {
    r.close();
  }
}

/** A regular file's whole content, opened inside `root`; absent → an ENOENT error (as fs.readFile throws). */
export function readFileInRoot(root: string, p: string): Buffer {
  const r = RootDir.open(root);
  try {
    const b = r.readFile(p, Number.MAX_SAFE_INTEGER);
    if (b === undefined) throw Object.assign(new Error(`ENOENT: no such file in the root: ${p}`), { code: 'ENOENT' });
    return b;
  } finally {
    r.close();
  }
}

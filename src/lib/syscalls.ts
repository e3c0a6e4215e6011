/**
 * System calls Node lacks, through koffi (FFI to libc, prebuilt in its npm package).
 * mount(2) on the hot path of every container start is one call here instead of a spawned
 * mount(8) process.
 */
import koffi from 'koffi';
import { constants as osConstants } from 'node:os';
import { system } from './errors.js';

const libc = koffi.load('libc.so.6');
const errnoLoc = libc.func('int *__errno_location()');
const cMount = libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
const cUmount2 = libc.func('int umount2(const char *target, int flags)');
const cMknod = libc.func('int mknod(const char *path, uint32_t mode, uint64_t dev)');
const cLsetxattr = libc.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)');
const cLgetxattr = libc.func('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)');
const cStrerror = libc.func('const char *strerror(int errnum)');
const cOpen = libc.func('int open(const char *path, int flags)');
const cClose = libc.func('int close(int fd)');
const cIoctlInt = libc.func('int ioctl(int fd, unsigned long request, _Inout_ int *arg)');
const cSendfile = libc.func('long sendfile(int out_fd, int in_fd, _Inout_ int64_t *offset, size_t count)');
const cSyncFileRange = libc.func('int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags)');
const cPosixFadvise = libc.func('int posix_fadvise(int fd, int64_t offset, int64_t len, int advice)');

function errno(): number {
  return koffi.decode(errnoLoc(), 'int') as number;
}

function check(ret: number, what: string): void {
  if (ret !== 0) {
    const e = errno();
    const err = system(`${what}: ${cStrerror(e) as string}`) as Error & { errno?: number };
    err.errno = e;
    throw err;
  }
}

export const MS_RDONLY = 0x1;
export const MNT_DETACH = 0x2;

export function mount(source: string, target: string, fstype: string, flags: number, data: string): void {
  check(cMount(source, target, fstype, flags, data) as number, `mount ${fstype} on ${target}`);
}

/** Unmounts; a path that is not mounted (EINVAL) or gone (ENOENT) is fine. */
export function unmount(target: string, flags = 0): void {
  const ret = cUmount2(target, flags) as number;
  if (ret !== 0) {
    const e = errno();
    if (e === 22 /* EINVAL */ || e === 2 /* ENOENT */) return;
    check(ret, `unmount ${target}`);
  }
}

const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;

/** An overlayfs whiteout: a character device 0:0. */
export function mkWhiteout(path: string): void {
  check(cMknod(path, S_IFCHR, 0) as number, `mknod ${path}`);
}

export function mkfifo(path: string, mode: number): void {
  check(cMknod(path, S_IFIFO | (mode & 0o7777), 0) as number, `mkfifo ${path}`);
}

export function lsetxattr(path: string, name: string, value: Buffer): void {
  check(cLsetxattr(path, name, value, value.length, 0) as number, `setxattr ${name} on ${path}`);
}

/** An extended attribute's value, or undefined when the file does not have it. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const buf = Buffer.alloc(256);
  const n = Number(cLgetxattr(path, name, buf, buf.length));
  return n < 0 ? undefined : buf.subarray(0, n);
}

const O_RDONLY_DIRECTORY = 0o200000; // O_RDONLY | O_DIRECTORY
const FS_IOC_GETFLAGS = 0x80086601;
const FS_IOC_SETFLAGS = 0x40086602;
const FS_TOPDIR_FL = 0x00020000;

/**
 * Marks a directory as the top of directory hierarchies (ext2/3/4's `chattr +T`): the Orlov
 * allocator then places each new subdirectory in a block group of its own choosing, with room
 * to spare, instead of next to its siblings. For the layer and container stores, whose
 * subdirectories are independent trees created and removed whole: a new layer's thousands of
 * inodes do not land among those a removed layer just freed (which ext4 without a journal
 * walks past one by one while they are recent). False when the file system has no such flag.
 */
export function setTopDir(dir: string): boolean {
  const fd = cOpen(dir, O_RDONLY_DIRECTORY) as number;
  if (fd < 0) return false;
  try {
    const flags = [0];
    if ((cIoctlInt(fd, FS_IOC_GETFLAGS, flags) as number) !== 0) return false;
    if (((flags[0] as number) & FS_TOPDIR_FL) !== 0) return true;
    flags[0] = (flags[0] as number) | FS_TOPDIR_FL;
    return (cIoctlInt(fd, FS_IOC_SETFLAGS, flags) as number) === 0;
  } finally {
    cClose(fd);
  }
}

/** Whether a path is a mount point, from /proc/self/mountinfo. */
export async function isMounted(target: string): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const esc = target.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return info.split('\n').some((line) => line.split(' ')[4] === esc);
}

export const EAGAIN = 11;
export const EINTR = 4;

/**
 * sendfile(2): copies up to `count` bytes of file `inFd` from `offset` to `outFd` (a socket) in
 * the kernel. Returns the bytes sent (0 at end of file) or `-errno` (e.g. `-EAGAIN` when a
 * non-blocking socket is full). Synchronous: the caller must own `outFd` for the call's duration.
 */
export function sendfile(outFd: number, inFd: number, offset: number, count: number): number {
  const off = [offset];
  const n = Number(cSendfile(outFd, inFd, off, count));
  return n < 0 ? -errno() : n;
}

const SYNC_FILE_RANGE_WRITE = 2;

/**
 * Starts write-back of a file's dirty pages in [offset, offset+length) without waiting for it
 * (sync_file_range(SYNC_FILE_RANGE_WRITE)), on a worker thread since submitting I/O can block.
 * A hint for a later fsync (which stays the durability point): errors are ignored.
 */
export function startWriteback(fd: number, offset: number, length: number): Promise<void> {
  return new Promise((resolve) => {
    cSyncFileRange.async(fd, offset, length, SYNC_FILE_RANGE_WRITE, () => resolve());
  });
}

const POSIX_FADV_WILLNEED = 3;

/** Asks the kernel to read [offset, offset+length) of a file ahead (posix_fadvise WILLNEED); a hint. */
export function readAhead(fd: number, offset: number, length: number): void {
  cPosixFadvise(fd, offset, length, POSIX_FADV_WILLNEED);
}

/* ------------------------------------------------------------ *at calls on directory fds */

const cSyscallOpenat2 = libc.func('long syscall(long nr, int dirfd, const char *path, const void *how, size_t size)');
const cOpenat = libc.func('int openat(int dirfd, const char *path, int flags, uint32_t mode)');
const cMkdirat = libc.func('int mkdirat(int dirfd, const char *path, uint32_t mode)');
const cUnlinkat = libc.func('int unlinkat(int dirfd, const char *path, int flags)');
const cFchownat = libc.func('int fchownat(int dirfd, const char *path, uint32_t uid, uint32_t gid, int flags)');
const cReadlinkat = libc.func('long readlinkat(int dirfd, const char *path, _Out_ uint8_t *buf, size_t size)');
const cSymlinkat = libc.func('int symlinkat(const char *target, int dirfd, const char *path)');
const cLinkat = libc.func('int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)');
const cMknodat = libc.func('int mknodat(int dirfd, const char *path, uint32_t mode, uint64_t dev)');
const cUtimensat = libc.func('int utimensat(int dirfd, const char *path, const uint8_t *times, int flags)');
const cFgetxattr = libc.func('long fgetxattr(int fd, const char *name, _Out_ uint8_t *value, size_t size)');
const cFsetxattr = libc.func('int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)');

const SYS_openat2 = 437; // x86_64 and aarch64 share the number (a generic syscall since 5.6)

export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

/** An error shaped like Node's fs errors (`code` 'ENOENT', `errno` negative), so callers test `code`. */
function sysError(what: string, e: number): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(e) ?? `E${e}`;
  const err = new Error(`${what}: ${code}: ${cStrerror(e) as string}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = -e;
  return err;
}

function checkAt(ret: number, what: string): number {
  if (ret < 0) throw sysError(what, errno());
  return ret;
}

/**
 * openat2(2): opens `path` relative to `dirfd` with `resolve` flags (RESOLVE_IN_ROOT: `dirfd` is
 * the root for the whole lookup, absolute links and `..` included). Retries EAGAIN, which the
 * kernel returns when a concurrent rename may have moved the lookup.
 */
export function openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number {
  const how = Buffer.alloc(24);
  how.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), 0);
  how.writeBigUInt64LE(BigInt(mode), 8);
  how.writeBigUInt64LE(BigInt(resolve), 16);
  for (let i = 0; ; i++) {
    const fd = Number(cSyscallOpenat2(SYS_openat2, dirfd, path, how, how.length));
    if (fd >= 0) return fd;
    const e = errno();
    if ((e === EAGAIN || e === EINTR) && i < 128) continue;
    throw sysError(`openat2 ${path}`, e);
  }
}

export function openat(dirfd: number, path: string, flags: number, mode = 0): number {
  return checkAt(cOpenat(dirfd, path, flags | O_CLOEXEC, mode) as number, `openat ${path}`);
}

export function mkdirat(dirfd: number, path: string, mode: number): void {
  checkAt(cMkdirat(dirfd, path, mode) as number, `mkdirat ${path}`);
}

export function unlinkat(dirfd: number, path: string, flags: number): void {
  checkAt(cUnlinkat(dirfd, path, flags) as number, `unlinkat ${path}`);
}

export function fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): void {
  checkAt(cFchownat(dirfd, path, uid >>> 0, gid >>> 0, flags) as number, `fchownat ${path}`);
}

/** The target of a symlink; `path` '' with an O_PATH fd of the link itself. */
export function readlinkat(dirfd: number, path: string): string {
  let buf = Buffer.allocUnsafe(256);
  for (;;) {
    const n = checkAt(Number(cReadlinkat(dirfd, path, buf, buf.length)), `readlinkat ${path}`);
    if (n < buf.length) return buf.toString('utf8', 0, n);
    buf = Buffer.allocUnsafe(buf.length * 4);
  }
}

export function symlinkat(target: string, dirfd: number, path: string): void {
  checkAt(cSymlinkat(target, dirfd, path) as number, `symlinkat ${path}`);
}

export function linkat(olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number): void {
  checkAt(cLinkat(olddirfd, oldpath, newdirfd, newpath, flags) as number, `linkat ${newpath}`);
}

export function mknodat(dirfd: number, path: string, mode: number, dev: number): void {
  checkAt(cMknodat(dirfd, path, mode, dev) as number, `mknodat ${path}`);
}

/** Sets access and modification time (whole seconds); AT_SYMLINK_NOFOLLOW for a link itself. */
export function utimensat(dirfd: number, path: string, atime: number, mtime: number, flags: number): void {
  const ts = Buffer.alloc(32);
  ts.writeBigInt64LE(BigInt(Math.trunc(atime)), 0);
  ts.writeBigInt64LE(BigInt(Math.trunc(mtime)), 16);
  checkAt(cUtimensat(dirfd, path, ts, flags) as number, `utimensat ${path}`);
}

/** An extended attribute of an open file, or undefined when it does not have it. */
export function fgetxattr(fd: number, name: string): Buffer | undefined {
  const buf = Buffer.alloc(256);
  const n = Number(cFgetxattr(fd, name, buf, buf.length));
  return n < 0 ? undefined : buf.subarray(0, n);
}

export function fsetxattr(fd: number, name: string, value: Buffer): void {
  checkAt(cFsetxattr(fd, name, value, value.length, 0) as number, `fsetxattr ${name}`);
}

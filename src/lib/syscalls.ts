/**
 * System calls Node lacks, through koffi (FFI to libc, prebuilt in its npm package).
 * mount(2) on the hot path of every container start is one call here instead of a spawned
 * mount(8) process.
 */
import koffi from 'koffi';
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

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
const cLgetxattr = libc.func('intptr_t lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)');
const cStrerror = libc.func('const char *strerror(int errnum)');

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

/** An extended attribute of a path (not following symlinks), or undefined when it has none. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const buf = Buffer.alloc(256);
  const n = Number(cLgetxattr(path, name, buf, buf.length));
  return n < 0 ? undefined : buf.subarray(0, n);
}

/** Whether a path is a mount point, from /proc/self/mountinfo. */
export async function isMounted(target: string): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const esc = target.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return info.split('\n').some((line) => line.split(' ')[4] === esc);
}

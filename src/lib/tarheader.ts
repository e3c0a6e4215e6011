/**
 * ustar header blocks (POSIX.1-1988 layout, with a pax extended header when a name does not
 * fit), written straight into a caller's buffer. The layout is the one tar-stream's packer
 * writes (octal fields ending in a space, a `PaxHeader` entry for long or non-ASCII paths), so
 * layers packed before and after the switch to this writer have the same bytes and diff IDs.
 */

export type TarEntryType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Owner names (ustar uname/gname, ≤ 32 bytes; layers leave them empty). */
  uname?: string;
  gname?: string;
}

const TYPEFLAG: Record<TarEntryType | 'pax', number> = {
  file: 0x30,
  link: 0x31,
  symlink: 0x32,
  'character-device': 0x33,
  'block-device': 0x34,
  directory: 0x35,
  fifo: 0x36,
  pax: 0x78, // 'x'
};

/** `val` in octal, zero-padded to `digits`, then a space; all sevens when it does not fit. */
function octal(buf: Buffer, off: number, val: number, digits: number): void {
  let s = Math.max(0, Math.trunc(val)).toString(8);
  s = s.length > digits ? '7'.repeat(digits) : s.padStart(digits, '0');
  buf.write(`${s} `, off, 'latin1');
}

/** The size field: 11 octal digits, or base-256 (high bit set) beyond 8 GiB. */
function sizeField(buf: Buffer, off: number, size: number): void {
  if (size.toString(8).length <= 11) {
    octal(buf, off, size, 11);
    return;
  }
  buf[off] = 0x80;
  let n = size;
  for (let i = 11; i > 0; i--) {
    buf[off + i] = n % 256;
    n = Math.floor(n / 256);
  }
}

/** Splits a path into ustar's name (≤ 100 bytes) and prefix (≤ 155), or undefined when it cannot. */
function splitName(name: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(name) !== name.length) return undefined; // non-ASCII: pax
  let rest = name;
  let prefix = '';
  while (rest.length > 100) {
    const i = rest.indexOf('/');
    if (i === -1) return undefined;
    prefix += prefix ? `/${rest.slice(0, i)}` : rest.slice(0, i);
    rest = rest.slice(i + 1);
  }
  if (prefix.length > 155) return undefined;
  return { name: rest, prefix };
}

function block(buf: Buffer, off: number, h: TarHeader & { prefix?: string }, typeflag: number): void {
  buf.fill(0, off, off + 512);
  buf.write(h.name, off, 'utf8');
  octal(buf, off + 100, h.mode & 0o177777, 6); // permission bits, and the file type bits when given (Go's archives carry them)
  octal(buf, off + 108, h.uid, 6);
  octal(buf, off + 116, h.gid, 6);
  sizeField(buf, off + 124, h.size);
  octal(buf, off + 136, h.mtime, 11);
  buf[off + 156] = typeflag;
  if (h.linkname) buf.write(h.linkname, off + 157, 'utf8');
  buf.write('ustar\u000000', off + 257, 'latin1');
  if (h.uname) buf.write(h.uname.slice(0, 31), off + 265, 'utf8');
  if (h.gname) buf.write(h.gname.slice(0, 31), off + 297, 'utf8');
  octal(buf, off + 329, h.devmajor ?? 0, 6);
  octal(buf, off + 337, h.devminor ?? 0, 6);
  if (h.prefix) buf.write(h.prefix, off + 345, 'latin1');
  let sum = 8 * 0x20; // the checksum field counts as spaces
  for (let i = off; i < off + 148; i++) sum += buf[i] as number;
  for (let i = off + 156; i < off + 512; i++) sum += buf[i] as number;
  octal(buf, off + 148, sum, 6);
}

/** One pax record: `<length> <key>=<value>\n`, the length counting its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const len = Buffer.byteLength(body);
  let digits = String(len).length;
  if (len + digits >= 10 ** digits) digits++;
  return `${len + digits}${body}`;
}

/** Bytes the header of `h` takes (512, or more with a pax header). */
export function headerBytes(h: TarHeader): Buffer {
  const split = splitName(h.name);
  if (split && !(h.linkname && Buffer.byteLength(h.linkname) > 100)) {
    const buf = Buffer.allocUnsafe(512);
    block(buf, 0, { ...h, name: split.name, prefix: split.prefix }, TYPEFLAG[h.type]);
    return buf;
  }
  const pax = Buffer.from(paxRecord('path', h.name) + (h.linkname ? paxRecord('linkpath', h.linkname) : ''));
  const padded = Math.ceil(pax.length / 512) * 512;
  const buf = Buffer.alloc(512 + padded + 512);
  const named = { ...h, name: 'PaxHeader', ...(h.linkname ? { linkname: 'PaxHeader' } : {}) };
  block(buf, 0, { ...named, size: pax.length }, TYPEFLAG.pax);
  pax.copy(buf, 512);
  block(buf, 512 + padded, named, TYPEFLAG[h.type]);
  return buf;
}

/* ------------------------------------------------------------------ reading */

/** Entry kinds a reader meets, the metadata ones included. */
export type TarReadType = TarEntryType | 'contiguous-file' | 'pax' | 'pax-global' | 'gnu-long-name' | 'gnu-long-link' | 'unknown';

export interface ReadHeader {
  name: string;
  type: TarReadType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname: string;
  /** pax records that applied to this entry (SCHILY.xattr.* among them). */
  pax?: Record<string, string>;
}

function readType(flag: number): TarReadType {
  switch (flag) {
    case 0:
    case 0x30:
      return 'file';
    case 0x31:
      return 'link';
    case 0x32:
      return 'symlink';
    case 0x33:
      return 'character-device';
    case 0x34:
      return 'block-device';
    case 0x35:
      return 'directory';
    case 0x36:
      return 'fifo';
    case 0x37:
      return 'contiguous-file';
    case 0x78: // x
      return 'pax';
    case 0x67: // g
      return 'pax-global';
    case 0x4c: // L
    case 0x4e: // N (old GNU)
      return 'gnu-long-name';
    case 0x4b: // K
      return 'gnu-long-link';
    default:
      return 'unknown';
  }
}

/** A NUL-terminated string field. */
function field(buf: Buffer, off: number, len: number, enc: BufferEncoding = 'utf8'): string {
  let end = off;
  while (end < off + len && buf[end] !== 0) end++;
  return buf.toString(enc, off, end);
}

/** An octal number field (leading spaces/NULs allowed, ended by a space or NUL), or base-256. */
function number(buf: Buffer, off: number, len: number): number {
  if ((buf[off] as number) & 0x80) {
    const negative = buf[off] === 0xff;
    let n = 0;
    for (let i = off + 1; i < off + len; i++) n = n * 256 + (negative ? 0xff - (buf[i] as number) : (buf[i] as number));
    return negative ? -n : n;
  }
  let i = off;
  const end = off + len;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0)) i++;
  let n = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = buf[i] as number;
    if (c < 0x30 || c > 0x37) break;
    n = n * 8 + (c - 0x30);
    digits++;
  }
  return digits === 0 ? 0 : n;
}

/**
 * The header in `buf[off, off+512)`: undefined for an all-zero block (end-of-archive marker);
 * throws on a bad checksum or an unknown format.
 */
export function decodeHeader(buf: Buffer, off: number): ReadHeader | undefined {
  let unsigned = 8 * 0x20;
  let signed = 8 * 0x20;
  for (let i = off; i < off + 512; i++) {
    if (i >= off + 148 && i < off + 156) continue;
    const b = buf[i] as number;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (unsigned === 8 * 0x20) return undefined; // a zero block
  const sum = number(buf, off + 148, 8);
  if (sum !== unsigned && sum !== signed) throw new Error('invalid tar header: bad checksum (is the archive corrupted or still compressed?)');
  const magic = buf.toString('latin1', off + 257, off + 263);
  const ustar = magic === 'ustar\u0000';
  if (!ustar && magic !== 'ustar ') throw new Error('invalid tar header: unknown format');
  let name = field(buf, off, 100);
  if (ustar && buf[off + 345] !== 0) name = `${field(buf, off + 345, 155)}/${name}`;
  let type = readType(buf[off + 156] as number);
  // Old tars mark directories only with a trailing slash.
  if (type === 'file' && name.endsWith('/')) type = 'directory';
  return {
    name,
    type,
    mode: number(buf, off + 100, 8),
    uid: number(buf, off + 108, 8),
    gid: number(buf, off + 116, 8),
    size: number(buf, off + 124, 12),
    mtime: number(buf, off + 136, 12),
    linkname: field(buf, off + 157, 100),
  };
}

/** pax extended header records (`<len> <key>=<value>\n`…). */
export function decodePax(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < buf.length) {
    let sp = off;
    while (sp < buf.length && buf[sp] !== 0x20) sp++;
    const len = Number(buf.toString('latin1', off, sp));
    if (!Number.isInteger(len) || len <= 0 || off + len > buf.length) break;
    const rec = buf.subarray(sp + 1, off + len - 1); // without the trailing newline
    const eq = rec.indexOf(0x3d);
    if (eq > 0) {
      const key = rec.toString('utf8', 0, eq);
      // xattr values are bytes; keep them byte for byte (latin1), everything else is UTF-8.
      out[key] = rec.toString(key.startsWith('SCHILY.xattr.') ? 'latin1' : 'utf8', eq + 1);
    }
    off += len;
  }
  return out;
}

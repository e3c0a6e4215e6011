/**
 * Tar extraction that cannot escape its root. Every entry path is cleaned and its parent
 * resolved inside the root (symlinks followed as if the root were `/`); `..` that climbs out is
 * refused; device nodes are dropped; hard links must point at files inside the root.
 * Overlay whiteouts (`.wh.name`, `.wh..wh..opq`) become overlayfs whiteouts when asked.
 */
import {
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
  rmSync,
  symlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { invalid } from './errors.js';
import { hostPathInRoot } from './rootfs.js';
import { lsetxattr, mkWhiteout, mkfifo } from './syscalls.js';
import { decodeHeader, decodePax, type ReadHeader } from './tarheader.js';

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
export const RUNS_AS_ROOT = process.geteuid?.() === 0 && process.getegid?.() === 0;

/** Metadata entries (pax, GNU long names) larger than this are refused. */
const MAX_META_BYTES = 1 << 20;

const enum State {
  Header,
  Data,
  Padding,
}

/**
 * A tar extractor fed chunk by chunk, synchronously: headers are parsed from the bytes as they
 * come and file contents are written straight from the caller's chunks (no stream or copy per
 * entry). `write` and `end` throw on anything invalid; the caller stops feeding then.
 */
export class TarExtractor {
  readonly result: ExtractResult = { size: 0, entries: 0 };
  private state = State.Header;
  private readonly hdr = Buffer.alloc(512);
  private hdrFill = 0;
  /** Bytes of the current entry's data still to come, then its padding. */
  protected left = 0;
  private pad = 0;
  /** Where the current entry's data goes: a file, a metadata buffer, or nowhere. */
  protected fd = -1;
  private meta: { kind: 'pax' | 'pax-global' | 'gnu-long-name' | 'gnu-long-link'; buf: Buffer; fill: number } | undefined;
  protected fileDone: (() => void) | undefined;
  private pax: Record<string, string> | undefined;
  private paxGlobal: Record<string, string> | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;

  private readonly dirTimes: Array<{ p: string; mtime: number }> = [];
  private readonly realDirs: Set<string>;
  // Directories this extraction made and chmod-ed without the set-group-ID bit: what is created
  // in them gets the creator's owner (root:root when the daemon runs as root), so a root-owned
  // entry needs no chown, and a mode the umask leaves intact is set by open/mkdir themselves.
  private readonly plainDirs = new Set<string>();
  private readonly sameOwner: boolean;

  constructor(
    private readonly root: string,
    private readonly opts: ExtractOptions,
  ) {
    this.realDirs = new Set([root]);
    this.sameOwner = opts.sameOwner !== false;
  }

  /** Extracts what `chunk` completes. */
  write(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.state) {
        case State.Header: {
          const take = Math.min(512 - this.hdrFill, n - i);
          if (this.hdrFill === 0 && take === 512) {
            i += 512;
            this.header(chunk, i - 512);
          } else {
            chunk.copy(this.hdr, this.hdrFill, i, i + take);
            this.hdrFill += take;
            i += take;
            if (this.hdrFill === 512) {
              this.hdrFill = 0;
              this.header(this.hdr, 0);
            }
          }
          break;
        }
        case State.Data: {
          const take = Math.min(this.left, n - i);
          if (this.fd >= 0) {
            for (let off = i; off < i + take;) off += writeSync(this.fd, chunk, off, i + take - off);
          } else if (this.meta) {
            chunk.copy(this.meta.buf, this.meta.fill, i, i + take);
            this.meta.fill += take;
          }
          this.left -= take;
          i += take;
          if (this.left === 0) this.dataDone();
          break;
        }
        case State.Padding: {
          const take = Math.min(this.pad, n - i);
          this.pad -= take;
          i += take;
          if (this.pad === 0) this.state = State.Header;
          break;
        }
      }
    }
  }

  /** Checks the archive ended between entries, then sets directory times. */
  end(): ExtractResult {
    if (this.state !== State.Header || this.hdrFill !== 0) {
      this.abort();
      throw invalid('unexpected end of data in the tar archive');
    }
    for (const d of this.dirTimes.reverse()) {
      try {
        utimesSync(d.p, d.mtime, d.mtime);
      } catch {
        /* removed by a later entry */
      }
    }
    return this.result;
  }

  /** Closes a file left open mid-entry. */
  abort(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = -1;
    }
  }

  protected expect(size: number): void {
    this.left = size;
    this.pad = (512 - (size % 512)) % 512;
    this.state = size > 0 ? State.Data : this.pad > 0 ? State.Padding : State.Header;
    if (size === 0) this.dataDone();
  }

  /** The entry's data is all here: finish what it was for. */
  private dataDone(): void {
    this.state = this.pad > 0 ? State.Padding : State.Header;
    if (this.meta) {
      const { kind, buf, fill } = this.meta;
      this.meta = undefined;
      const bytes = buf.subarray(0, fill);
      if (kind === 'pax') this.pax = { ...this.paxGlobal, ...decodePax(bytes) };
      else if (kind === 'pax-global') this.paxGlobal = decodePax(bytes);
      else {
        const s = field(bytes);
        if (kind === 'gnu-long-name') this.longName = s;
        else this.longLink = s;
      }
      return;
    }
    const done = this.fileDone;
    this.fileDone = undefined;
    done?.();
  }

  private header(buf: Buffer, off: number): void {
    let h: ReadHeader | undefined;
    try {
      h = decodeHeader(buf, off);
    } catch (err) {
      throw invalid((err as Error).message);
    }
    if (!h) {
      this.expect(0); // a zero block: end-of-archive marker (what follows is read on, as tar-stream did)
      return;
    }
    if (h.type === 'pax' || h.type === 'pax-global' || h.type === 'gnu-long-name' || h.type === 'gnu-long-link') {
      if (h.size > MAX_META_BYTES) throw invalid(`invalid tar entry: ${h.type} header of ${h.size} bytes`);
      this.meta = { kind: h.type, buf: Buffer.alloc(h.size), fill: 0 };
      this.expect(h.size);
      return;
    }
    if (this.longName !== undefined) h.name = this.longName;
    if (this.longLink !== undefined) h.linkname = this.longLink;
    this.longName = undefined;
    this.longLink = undefined;
    const pax = this.pax ?? this.paxGlobal;
    this.pax = undefined;
    if (pax) {
      if (pax['path']) h.name = pax['path'];
      if (pax['linkpath']) h.linkname = pax['linkpath'];
      if (pax['size'] !== undefined) h.size = Number(pax['size']);
      if (pax['uid'] !== undefined) h.uid = Number(pax['uid']);
      if (pax['gid'] !== undefined) h.gid = Number(pax['gid']);
      if (pax['mtime'] !== undefined) h.mtime = Math.trunc(Number(pax['mtime']));
      h.pax = pax;
    }
    if (!Number.isSafeInteger(h.size) || h.size < 0) throw invalid(`invalid tar entry ${JSON.stringify(h.name)}: size ${h.size}`);
    this.entry(h);
  }

  private forget(p: string): void {
    this.plainDirs.delete(p);
    for (const d of this.plainDirs) if (d.startsWith(`${p}/`)) this.plainDirs.delete(d);
  }

  /** Parent directory on the host, created when missing, never outside root. */
  private parentOf(comps: string[]): string {
    const rel = comps.slice(0, -1).join('/');
    const fast = path.join(this.root, rel);
    if (this.realDirs.has(fast)) return fast;
    const dir = hostPathInRoot(this.root, rel);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    if (!lstatSync(dir).isDirectory()) throw invalid(`invalid tar entry: parent of ${rel} is not a directory`);
    if (dir === fast) this.realDirs.add(fast);
    return dir;
  }

  protected entry(h: ReadHeader): void {
    const { opts } = this;
    this.result.entries++;
    const comps = entryComponents(h.name);
    // Data of entries that are not extracted as files is skipped.
    if (comps.length === 0) return this.expect(h.size);
    const base = comps[comps.length - 1] as string;
    const parent = this.parentOf(comps);
    const target = path.join(parent, base);

    if (opts.whiteouts === 'overlay' && base.startsWith(WHITEOUT_PREFIX)) {
      if (base === OPAQUE_MARKER) {
        lsetxattr(parent, 'trusted.overlay.opaque', Buffer.from('y'));
      } else {
        const name = base.slice(WHITEOUT_PREFIX.length);
        // `.wh..` / `.wh...` would white out the directory itself or its parent.
        if (name === '' || name === '.' || name === '..') throw invalid(`invalid tar entry ${JSON.stringify(h.name)}: whiteout of ${JSON.stringify(name)}`);
        const victim = path.join(parent, name);
        this.forget(victim);
        rmSync(victim, { recursive: true, force: true });
        mkWhiteout(victim);
      }
      return this.expect(h.size);
    }

    const existing = lstatSync(target, { throwIfNoEntry: false });
    if (existing && !(existing.isDirectory() && h.type === 'directory')) {
      this.forget(target);
      rmSync(target, { recursive: true, force: true });
    }

    const mode = h.mode & 0o7777;
    const uid = this.sameOwner ? h.uid : (opts.chown?.uid ?? 0);
    const gid = this.sameOwner ? h.gid : (opts.chown?.gid ?? 0);
    const mtime = h.mtime;
    // Created in a plain directory of ours by root: already root:root, mode exact when the umask allows.
    const inPlainDir = RUNS_AS_ROOT && this.plainDirs.has(parent);
    const ownerIsCreator = inPlainDir && uid === 0 && gid === 0;
    const xattrs = h.pax ? Object.entries(h.pax).filter(([k]) => k.startsWith('SCHILY.xattr.')) : [];
    const setXattrs = (): void => {
      for (const [k, v] of xattrs) {
        const name = k.slice('SCHILY.xattr.'.length);
        // A layer never sets overlayfs's own attributes; those come only from whiteout entries.
        if (name.startsWith('trusted.overlay.')) continue;
        try {
          lsetxattr(target, name, Buffer.from(v, 'latin1'));
        } catch {
          /* file systems without xattr support: drop, as tar does */
        }
      }
    };

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
        this.realDirs.add(target);
        // A default ACL (or any attribute) on a directory may change what is created in it.
        if (mode & 0o2000 || xattrs.length > 0) this.forget(target);
        else this.plainDirs.add(target);
        this.dirTimes.push({ p: target, mtime });
        setXattrs();
        return this.expect(h.size);
      }
      case 'file':
      case 'contiguous-file': {
        const exact = inPlainDir && exactMode(mode);
        const fd = openSync(target, 'wx', exact ? mode : 0o600);
        this.fd = fd;
        this.fileDone = () => {
          this.fd = -1;
          try {
            settleFile(fd, { uid, gid, mode, mtime, owned: ownerIsCreator, exact });
          } finally {
            closeSync(fd);
          }
          this.result.size += h.size;
          setXattrs();
        };
        return this.expect(h.size);
      }
      case 'symlink': {
        symlinkSync(h.linkname, target);
        if (!ownerIsCreator) lchownSync(target, uid, gid);
        try {
          lutimesSync(target, mtime, mtime);
        } catch {
          /* not supported: keep the link's own time */
        }
        // Counted as dockerd's layer sizes count it (st_size of the link: its target's length).
        this.result.size += Buffer.byteLength(h.linkname);
        setXattrs();
        return this.expect(h.size);
      }
      case 'link': {
        const linkComps = entryComponents(h.linkname);
        const linkParent = hostPathInRoot(this.root, linkComps.slice(0, -1).join('/'));
        const source = path.join(linkParent, linkComps[linkComps.length - 1] ?? '');
        const st = lstatSync(source, { throwIfNoEntry: false });
        if (!st) throw invalid(`invalid tar entry ${h.name}: hard link target ${h.linkname} not found`);
        if (st.isDirectory()) throw invalid(`invalid tar entry ${h.name}: hard link to a directory`);
        linkSync(source, target);
        setXattrs();
        return this.expect(h.size);
      }
      case 'fifo': {
        mkfifo(target, mode);
        lchownSync(target, uid, gid);
        setXattrs();
        return this.expect(h.size);
      }
      default:
        // Character and block devices (and anything unknown) are never created from an archive.
        return this.expect(h.size);
    }
  }
}

/** A string up to its first NUL. */
function field(b: Buffer): string {
  const z = b.indexOf(0);
  return b.toString('utf8', 0, z === -1 ? b.length : z);
}

/** Whether open/mkdir with `mode` give exactly `mode` (no special bits, nothing the umask clears). */
/**
 * Gives a just-written file its header's owner, mode and time through its fd: the chown is left
 * out when the creator (root) already owns it as asked, the chmod when it was created with its
 * exact mode.
 */
export function settleFile(fd: number, o: { uid: number; gid: number; mode: number; mtime: Date | number; owned: boolean; exact: boolean }): void {
  if (!o.owned) fchownSync(fd, o.uid, o.gid);
  if (!o.exact) fchmodSync(fd, o.mode);
  futimesSync(fd, o.mtime, o.mtime);
}

export const exactMode = (mode: number): boolean => (mode & 0o7000) === 0 && (mode & UMASK) === 0;

/** Extracts the tar `src` into `root` (see TarExtractor); the source's own errors fail it too. */
export async function extractTar(src: Readable, root: string, opts: ExtractOptions): Promise<ExtractResult> {
  const x = new TarExtractor(root, opts);
  try {
    for await (const chunk of src) x.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return x.end();
  } catch (err) {
    x.abort();
    src.destroy();
    throw err;
  }
}

/**
 * Blob upload sessions: streamed to <root>/uploads/<uuid>/data, hashed as the bytes arrive,
 * verified against the client's digest and only then renamed into blobs/ (so a crash or a bad
 * digest never leaves visible content). Requests on one session are serialized; sessions survive
 * a restart (the running hash does not, so the file is re-hashed once when needed).
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, promises as fs, writevSync } from 'node:fs';
import * as path from 'node:path';
import { finished, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../lib/atomic.js';
import { startWriteback } from '../lib/syscalls.js';
import { regErr } from './errors.js';
import { digestAlg, type Storage } from './storage.js';

/** Request body bytes gathered before one write(2) to the upload file. */
const WRITE_BLOCK = 1 << 20;
/** Chunks gathered at most before a write (IOV_MAX; a client may send tiny chunks). */
const MAX_IOV = 1024;
/** Bytes written between two starts of write-back (so the final fsync has little left to do). */
const WRITEBACK_EVERY = 8 << 20;

/**
 * Streams `body` onto the end of `file` (whose size is `size`), hashing every byte into `h`;
 * resolves to the bytes appended. The body's chunks are gathered into ~1 MiB blocks and written
 * with one synchronous writev(2) each as they arrive (into the page cache: cheaper than a thread-pool
 * round trip per chunk, and no back-pressure to manage), and every 8 MiB the kernel is told to start
 * writing the new pages out (sync_file_range), so the fsync before the commit finds little to do.
 */
async function appendBody(file: string, size: number, body: Readable, h: Hash): Promise<number> {
  const fh = await fs.open(file, 'a');
  const fd = fh.fd;
  let written = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let flushedTo = size;
  let writebackFrom = size;
  let writeback: Promise<void> = Promise.resolve();
  const flush = (): void => {
    let bufs = pending;
    pending = [];
    let left = pendingBytes;
    pendingBytes = 0;
    while (left > 0) {
      const n = writevSync(fd, bufs);
      left -= n;
      flushedTo += n;
      if (left > 0) bufs = dropBytes(bufs, n);
    }
    if (flushedTo - writebackFrom >= WRITEBACK_EVERY) {
      const from = writebackFrom;
      const to = flushedTo;
      writebackFrom = to;
      writeback = writeback.then(() => startWriteback(fd, from, to - from));
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        try {
          h.update(chunk);
          written += chunk.length;
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= WRITE_BLOCK || pending.length >= MAX_IOV) flush();
        } catch (err) {
          body.off('data', onData);
          body.destroy(err as Error);
        }
      };
      body.on('data', onData);
      finished(body, (err) => {
        body.off('data', onData);
        if (err) return reject(err);
        try {
          flush();
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    });
  } finally {
    await writeback;
    await fh.close();
  }
  return written;
}

/** `bufs` without its first `n` bytes (after a short write). */
function dropBytes(bufs: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (n >= b.length) {
      n -= b.length;
      continue;
    }
    out.push(n > 0 ? b.subarray(n) : b);
    n = 0;
  }
  return out;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface Session {
  id: string;
  name: string;
  dir: string;
  startedAt: string;
  /** Bytes in the data file. */
  size: number;
  /** Running hash of bytes [0, size), when known. */
  hash: Hash | undefined;
  hashAlg: 'sha256' | 'sha512';
  lock: Promise<unknown>;
}

export class Uploads {
  private sessions = new Map<string, Session>();
  constructor(private storage: Storage) {}

  private dataPath(s: Session): string {
    return path.join(s.dir, 'data');
  }

  async create(name: string, alg: 'sha256' | 'sha512' = 'sha256'): Promise<Session> {
    const id = randomUUID();
    const dir = path.join(this.storage.uploadsDir, id);
    await fs.mkdir(dir, { recursive: true });
    const startedAt = new Date().toISOString();
    await fs.writeFile(path.join(dir, 'data'), '');
    await writeFileAtomic(path.join(dir, 'info.json'), JSON.stringify({ name, startedAt, hashAlg: alg }));
    const s: Session = { id, name, dir, startedAt, size: 0, hash: createHash(alg), hashAlg: alg, lock: Promise.resolve() };
    this.sessions.set(id, s);
    return s;
  }

  /** The session `id` of repository `name`, from memory or (after a restart) from disk. */
  async get(name: string, id: string): Promise<Session> {
    if (!UUID_RE.test(id)) throw regErr('BLOB_UPLOAD_UNKNOWN', undefined, { uuid: id });
    let s = this.sessions.get(id);
    if (!s) {
      const dir = path.join(this.storage.uploadsDir, id);
      try {
        const info = JSON.parse(await fs.readFile(path.join(dir, 'info.json'), 'utf8')) as { name: string; startedAt: string; hashAlg?: 'sha256' | 'sha512' };
        const st = await fs.stat(path.join(dir, 'data'));
        s = { id, name: info.name, dir, startedAt: info.startedAt, size: st.size, hash: undefined, hashAlg: info.hashAlg ?? 'sha256', lock: Promise.resolve() };
        const again = this.sessions.get(id);
        if (again) s = again;
        else this.sessions.set(id, s);
      } catch {
        throw regErr('BLOB_UPLOAD_UNKNOWN', undefined, { uuid: id });
      }
    }
    if (s.name !== name) throw regErr('BLOB_UPLOAD_UNKNOWN', undefined, { uuid: id });
    return s;
  }

  /** Runs fn with the session's lock held. */
  private locked<T>(s: Session, fn: () => Promise<T>): Promise<T> {
    const p = s.lock.then(fn, fn);
    s.lock = p.catch(() => undefined);
    return p;
  }

  /** Re-hashes the data file when the running hash is unknown or of another algorithm. */
  private async ensureHash(s: Session, alg: 'sha256' | 'sha512'): Promise<Hash> {
    if (s.hash && s.hashAlg === alg) return s.hash;
    const h = createHash(alg);
    const st = await fs.stat(this.dataPath(s));
    s.size = st.size;
    if (st.size > 0) {
      // eslint-disable-next-line require-yield -- the last stage is a sink: it hashes and yields nothing
      await pipeline(createReadStream(this.dataPath(s), { highWaterMark: 1 << 20 }), async function* (src: AsyncIterable<Buffer>) {
        for await (const chunk of src) h.update(chunk);
      });
    }
    s.hash = h;
    s.hashAlg = alg;
    return h;
  }

  /**
   * Appends a request body. `start` (from Content-Range) must equal the current size (else 416);
   * `length` (Content-Length) is checked against the bytes received.
   */
  append(s: Session, body: Readable, o: { start?: number; end?: number; length?: number }): Promise<number> {
    return this.locked(s, () => this.appendLocked(s, body, o));
  }

  private async appendLocked(s: Session, body: Readable, o: { start?: number; end?: number; length?: number }): Promise<number> {
    if (!this.sessions.has(s.id)) throw regErr('BLOB_UPLOAD_UNKNOWN', undefined, { uuid: s.id });
    if (o.start !== undefined) {
      if (o.start !== s.size) {
        body.resume();
        throw regErr('RANGE_INVALID', `range start ${o.start} does not follow the uploaded ${s.size} bytes`, { size: s.size });
      }
      if (o.end !== undefined && o.length !== undefined && o.end - o.start + 1 !== o.length) {
        body.resume();
        throw regErr('RANGE_INVALID', 'Content-Range does not match Content-Length');
      }
    }
    const h = await this.ensureHash(s, s.hashAlg);
    let written = 0;
    try {
      written = await appendBody(this.dataPath(s), s.size, body, h);
    } catch (err) {
      // Some of the bytes may be on disk, the running hash may be ahead: start again from the file.
      s.hash = undefined;
      s.size = (await fs.stat(this.dataPath(s)).catch(() => ({ size: 0 }))).size;
      throw err;
    }
    s.size += written;
    if (o.length !== undefined && written !== o.length) throw regErr('SIZE_INVALID', undefined, { expected: o.length, received: written });
    return s.size;
  }

  /**
   * Appends an optional last chunk, verifies the whole upload against `digest`, and commits it as
   * a blob linked into the session's repository. A wrong digest ends the session (400 DIGEST_INVALID).
   */
  finish(s: Session, digest: string, last: { body: Readable; start?: number; end?: number; length?: number } | undefined): Promise<number> {
    return this.locked(s, async () => {
      if (!this.sessions.has(s.id)) throw regErr('BLOB_UPLOAD_UNKNOWN', undefined, { uuid: s.id });
      if (last) await this.appendLocked(s, last.body, last);
      const alg = digestAlg(digest);
      const h = await this.ensureHash(s, alg);
      const got = `${alg}:${h.digest('hex')}`;
      s.hash = undefined;
      if (got !== digest) {
        await this.drop(s);
        throw regErr('DIGEST_INVALID', undefined, { expected: digest, computed: got });
      }
      const file = this.dataPath(s);
      const fh = await fs.open(file, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.storage.commitBlobFile(file, digest);
      await this.storage.linkBlob(s.name, digest);
      await this.drop(s);
      return s.size;
    });
  }

  cancel(s: Session): Promise<void> {
    return this.locked(s, () => this.drop(s));
  }

  private async drop(s: Session): Promise<void> {
    this.sessions.delete(s.id);
    await fs.rm(s.dir, { recursive: true, force: true });
  }
}

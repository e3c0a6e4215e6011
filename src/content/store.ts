/**
 * Content-addressed blob store. Blobs live at `blobs/sha256/<hex>` and are only ever
 * written through a verified ingest: streamed to a temp file while hashing, checked against
 * the expected digest and size, fsynced, then renamed into place.
 *
 * A layer's uncompressed tar (addressed by its diff ID) is either a blob of its own or, for
 * pulled layers, the registry's compressed blob plus a record `compressed/<diff-id hex>.json`
 * (`{digest, size, compression}`): `has`, `info`, `read`, `delete` and `list` answer for the
 * diff ID as if the tar were stored (`read` decompresses on the fly), so pulls never write
 * the uncompressed tar a second time.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalid, notFound } from '../lib/errors.js';
import { readJSON, syncDir, writeJSONAtomic } from '../lib/atomic.js';
import { decompressStream, type Compression } from '../lib/decompress.js';

export interface Descriptor {
  digest: string;
  size: number;
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** A pass-through stream that hashes and counts what flows through it. */
export class Digester extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** A diff ID stored as a compressed blob: which blob, how it is compressed, the tar's size. */
export interface CompressedTar {
  digest: string;
  size: number;
  compression: Compression;
}

export class ContentStore {
  private readonly blobs: string;
  private readonly ingestDir: string;
  private readonly compressedDir: string;

  constructor(root: string) {
    this.blobs = path.join(root, 'blobs', 'sha256');
    this.ingestDir = path.join(root, 'ingest');
    this.compressedDir = path.join(root, 'compressed');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.blobs, { recursive: true });
    await fs.mkdir(this.compressedDir, { recursive: true });
    // Partial ingests from a crash are never visible; clear them out.
    await fs.rm(this.ingestDir, { recursive: true, force: true });
    await fs.mkdir(this.ingestDir, { recursive: true });
  }

  blobPath(digest: string): string {
    if (!DIGEST_RE.test(digest)) throw invalid(`invalid digest: ${digest}`);
    return path.join(this.blobs, digest.slice('sha256:'.length));
  }

  private compressedPath(diffId: string): string {
    return path.join(this.compressedDir, `${path.basename(this.blobPath(diffId))}.json`);
  }

  /** The compressed blob holding `diffId`'s tar, when it is stored that way. */
  async compressedTar(diffId: string): Promise<CompressedTar | undefined> {
    return readJSON<CompressedTar>(this.compressedPath(diffId));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await fs.access(this.blobPath(digest));
      return true;
    } catch {
      const c = await this.compressedTar(digest);
      return c !== undefined && existsSync(this.blobPath(c.digest));
    }
  }

  async info(digest: string): Promise<Descriptor> {
    try {
      const st = await fs.stat(this.blobPath(digest));
      return { digest, size: st.size };
    } catch {
      const c = await this.compressedTar(digest);
      if (c !== undefined && existsSync(this.blobPath(c.digest))) return { digest, size: c.size };
      throw notFound(`content ${digest}: not found`);
    }
  }

  /** The blob's bytes; for a diff ID stored compressed, its tar decompressed on the fly. */
  read(digest: string): Readable {
    const file = this.blobPath(digest);
    if (!existsSync(file)) {
      let c: CompressedTar | undefined;
      try {
        c = JSON.parse(readFileSync(this.compressedPath(digest), 'utf8')) as CompressedTar;
      } catch {
        c = undefined;
      }
      if (c !== undefined) return decompressStream(createReadStream(this.blobPath(c.digest), { highWaterMark: 1 << 20 }), c.compression);
    }
    return createReadStream(file);
  }

  async readBytes(digest: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.blobPath(digest));
    } catch {
      throw notFound(`content ${digest}: not found`);
    }
  }

  /** Streams `src` into the store; verifies against `expected` when given. */
  async ingest(src: Readable, expected?: Partial<Descriptor>): Promise<Descriptor> {
    const tmp = path.join(this.ingestDir, randomBytes(8).toString('hex'));
    const digester = new Digester();
    try {
      const out = createWriteStream(tmp, { mode: 0o644 });
      await pipeline(src, digester, out);
      const desc = { digest: digester.digest(), size: digester.size };
      if (expected?.size !== undefined && expected.size !== desc.size) {
        throw invalid(`size mismatch: expected ${expected.size}, got ${desc.size}`);
      }
      if (expected?.digest !== undefined && expected.digest !== desc.digest) {
        throw invalid(`digest mismatch: expected ${expected.digest}, got ${desc.digest}`);
      }
      await this.commit(tmp, desc.digest);
      return desc;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /** Moves a fully written, already hashed temp file into place. */
  async commit(tmpFile: string, digest: string): Promise<void> {
    const fh = await fs.open(tmpFile, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmpFile, this.blobPath(digest));
    await syncDir(this.blobs);
  }

  /**
   * Commits a written temp file holding the compressed blob `tar.digest` (already verified)
   * and records it as the store's copy of `diffId`'s tar: blob first, then the record.
   */
  async commitCompressed(tmpFile: string, diffId: string, tar: CompressedTar): Promise<void> {
    if (!existsSync(this.blobPath(tar.digest))) await this.commit(tmpFile, tar.digest);
    await writeJSONAtomic(this.compressedPath(diffId), tar, 0o644);
  }

  /** A temp path inside the store's ingest area, for writers that hash on their own. */
  tempPath(): string {
    return path.join(this.ingestDir, randomBytes(8).toString('hex'));
  }

  async writeBytes(data: Buffer | string): Promise<Descriptor> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = `sha256:${createHash('sha256').update(buf).digest('hex')}`;
    if (await this.has(digest)) return { digest, size: buf.length };
    const tmp = this.tempPath();
    try {
      await fs.writeFile(tmp, buf, { mode: 0o644 });
      await this.commit(tmp, digest);
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return { digest, size: buf.length };
  }

  /** Bytes on disk for a digest: the blob's, or for a diff ID stored compressed, its compressed blob's. */
  async storedBytes(digest: string): Promise<number> {
    const st = await fs.stat(this.blobPath(digest)).catch(() => undefined);
    if (st) return st.size;
    const c = await this.compressedTar(digest);
    return c === undefined ? 0 : ((await fs.stat(this.blobPath(c.digest)).catch(() => undefined))?.size ?? 0);
  }

  /** Removes a blob; for a diff ID stored compressed, its record and the compressed blob. */
  async delete(digest: string): Promise<void> {
    await fs.rm(this.blobPath(digest), { force: true });
    const c = await this.compressedTar(digest);
    if (c !== undefined) {
      await fs.rm(this.compressedPath(digest), { force: true });
      await fs.rm(this.blobPath(c.digest), { force: true });
    }
  }

  /** Every blob and diff ID stored; compressed blobs that hold a diff ID's tar are listed as that diff ID. */
  async list(): Promise<string[]> {
    const held = new Set<string>();
    const diffIds: string[] = [];
    for (const n of await fs.readdir(this.compressedDir).catch(() => [] as string[])) {
      const m = /^([0-9a-f]{64})\.json$/.exec(n);
      if (!m) continue;
      const diffId = `sha256:${m[1] as string}`;
      const c = await this.compressedTar(diffId);
      if (c === undefined) continue;
      held.add(c.digest);
      diffIds.push(diffId);
    }
    const blobs = (await fs.readdir(this.blobs)).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}`);
    return [...blobs.filter((b) => !held.has(b)), ...diffIds.filter((d) => !blobs.includes(d))];
  }
}

/**
 * Content-addressed blob store. Blobs live at `blobs/sha256/<hex>` and are only ever
 * written through a verified ingest: streamed to a temp file while hashing, checked against
 * the expected digest and size, fsynced, then renamed into place.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalid, notFound } from '../lib/errors.js';
import { syncDir } from '../lib/atomic.js';

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

export class ContentStore {
  private readonly blobs: string;
  private readonly ingestDir: string;

  constructor(root: string) {
    this.blobs = path.join(root, 'blobs', 'sha256');
    this.ingestDir = path.join(root, 'ingest');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.blobs, { recursive: true });
    // Partial ingests from a crash are never visible; clear them out.
    await fs.rm(this.ingestDir, { recursive: true, force: true });
    await fs.mkdir(this.ingestDir, { recursive: true });
  }

  blobPath(digest: string): string {
    if (!DIGEST_RE.test(digest)) throw invalid(`invalid digest: ${digest}`);
    return path.join(this.blobs, digest.slice('sha256:'.length));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await fs.access(this.blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  async info(digest: string): Promise<Descriptor> {
    try {
      const st = await fs.stat(this.blobPath(digest));
      return { digest, size: st.size };
    } catch {
      throw notFound(`content ${digest}: not found`);
    }
  }

  read(digest: string): Readable {
    return createReadStream(this.blobPath(digest));
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

  async delete(digest: string): Promise<void> {
    await fs.rm(this.blobPath(digest), { force: true });
  }

  async list(): Promise<string[]> {
    return (await fs.readdir(this.blobs)).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }
}

/**
 * Read-only layers, unpacked once into directories keyed by chain ID and shared by every image
 * and container that uses them. A layer appears only once fully unpacked: it is extracted into
 * a temp directory and renamed into place.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { Digester } from '../content/store.js';
import { readJSON, syncDir, writeJSONAtomic } from '../lib/atomic.js';
import { extractTar } from '../lib/safetar.js';
import type { Lease } from '../content/leases.js';

export interface LayerInfo {
  chainId: string;
  diffId: string;
  parent?: string;
  /** Bytes of regular files and symlinks in the layer, hard links once (dockerd's DiffSize). */
  size: number;
}

export function chainIdOf(parent: string | undefined, diffId: string): string {
  if (parent === undefined) return diffId;
  return `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`;
}

export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  let parent: string | undefined;
  for (const d of diffIds) {
    parent = chainIdOf(parent, d);
    out.push(parent);
  }
  return out;
}

const hex = (digest: string): string => digest.replace(/^sha256:/, '');

export class LayerStore {
  constructor(private readonly root: string) {}

  async init(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true });
    for (const name of await fs.readdir(this.root)) {
      if (name.startsWith('tmp-')) await fs.rm(path.join(this.root, name), { recursive: true, force: true });
    }
  }

  diffDir(chainId: string): string {
    return path.join(this.root, hex(chainId), 'diff');
  }

  async get(chainId: string): Promise<LayerInfo | undefined> {
    return readJSON<LayerInfo>(path.join(this.root, hex(chainId), 'layer.json'));
  }

  async has(chainId: string): Promise<boolean> {
    return (await this.get(chainId)) !== undefined;
  }

  /**
   * Unpacks an uncompressed layer tar on top of `parent`. When `blobFile` is given the exact
   * bytes are also written there (the caller commits them to the content store by diff ID).
   * `verify` sees the diff ID once every byte is in and may throw to discard the layer.
   */
  async apply(parent: string | undefined, src: Readable, opts: { blobFile?: string; lease?: Lease; verify?: (diffId: string) => void | Promise<void> } = {}): Promise<LayerInfo> {
    const tmp = path.join(this.root, `tmp-${randomBytes(8).toString('hex')}`);
    const diff = path.join(tmp, 'diff');
    // Wired before the first await: an error the source emits meanwhile must not be lost.
    const digester = new Digester();
    const toExtract = new PassThrough({ highWaterMark: 1 << 20 });
    src.on('error', (err) => digester.destroy(err));
    src.pipe(digester);
    digester.pipe(toExtract);
    digester.on('error', (err) => toExtract.destroy(err));
    toExtract.on('error', () => undefined); // surfaces through the extraction's pipeline
    let blobDone: Promise<void> = Promise.resolve();
    let out: WriteStream | undefined;
    if (opts.blobFile !== undefined) {
      out = createWriteStream(opts.blobFile, { mode: 0o644 });
      digester.pipe(out);
      const o = out;
      blobDone = new Promise<void>((resolve, reject) => {
        o.once('finish', resolve);
        o.once('error', reject);
        digester.once('error', reject);
      });
      blobDone.catch(() => undefined);
    }
    try {
      await fs.mkdir(diff, { recursive: true, mode: 0o755 });
      const { size } = await extractTar(toExtract, diff, { whiteouts: 'overlay' });
      await blobDone;
      const diffId = digester.digest();
      // The caller's last word (e.g. the image config's diff ID) before anything becomes visible.
      await opts.verify?.(diffId);
      const chainId = chainIdOf(parent, diffId);
      const info: LayerInfo = { chainId, diffId, size };
      if (parent !== undefined) info.parent = parent;
      const final = path.join(this.root, hex(chainId));
      // Protected from garbage collection before it becomes visible.
      opts.lease?.add([chainId, diffId]);
      if (await this.has(chainId)) {
        await fs.rm(tmp, { recursive: true, force: true });
        return info;
      }
      await writeJSONAtomic(path.join(tmp, 'layer.json'), info, 0o644);
      await fs.rm(final, { recursive: true, force: true });
      await fs.rename(tmp, final);
      await syncDir(this.root);
      return info;
    } catch (err) {
      src.unpipe(digester);
      digester.destroy();
      out?.destroy();
      await fs.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  async remove(chainId: string): Promise<void> {
    const dir = path.join(this.root, hex(chainId));
    const doomed = path.join(this.root, `tmp-rm-${randomBytes(6).toString('hex')}`);
    try {
      await fs.rename(dir, doomed);
    } catch {
      return;
    }
    await fs.rm(doomed, { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    return (await fs.readdir(this.root)).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }
}

/**
 * Read-only layers, unpacked once into directories keyed by chain ID and shared by every image
 * and container that uses them. A layer appears only once fully unpacked: it is extracted into
 * a temp directory and renamed into place. Layers announced as large unpack in a worker thread.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { Gunzip } from 'node:zlib';
import { readJSON, syncDir, writeJSONAtomic } from '../lib/atomic.js';
import { setTopDir } from '../lib/syscalls.js';
import { span } from '../lib/trace.js';
import { BerthError, type ErrorCategory } from '../lib/errors.js';
import { unpackLayer, type UnpackResult } from './unpack.js';
import type { FromWorker, ToWorker, WorkerInput } from './extract-worker.js';
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

/** Layers announced at least this big unpack in a worker thread. */
export const WORKER_MIN_BYTES = 4 << 20;
const MAX_CHUNKS_IN_FLIGHT = 16;
/** Bytes are posted to the worker in blocks of this size, each moved (transferred), not cloned. */
const BLOCK_BYTES = 1 << 20;

/**
 * unpackLayer in a worker thread: `src` is read here and posted with ack-based flow control.
 * A socket's or a pool's chunks share their memory with other buffers (posting one would clone
 * the whole backing store): they are gathered into 1 MiB blocks of their own, which move to the
 * worker without a copy; a chunk that already owns its memory (a gunzip's output) moves as is.
 */
function unpackInWorker(
  src: Readable,
  dir: string,
  opts: { blobFile?: string | undefined; compressed?: boolean | undefined },
): { done: Promise<UnpackResult>; abort: () => void } {
  src.pause();
  // Only a gunzip's output chunks are known to be held by nothing else (zlib allocates a new
  // buffer after each full one); a tee'd source's chunks may still be queued for a file write.
  const ownsChunks = src instanceof Gunzip;
  let srcError: Error | undefined;
  let worker: Worker | undefined;
  let finished = false;
  src.on('error', (err) => {
    srcError = err;
    worker?.postMessage({ t: 'abort', message: err.message } satisfies ToWorker);
  });
  const done = new Promise<UnpackResult>((resolve, reject) => {
    setImmediate(() => {
      if (srcError) {
        finished = true;
        reject(srcError);
        return;
      }
      const input: WorkerInput = { dir, ...(opts.blobFile !== undefined ? { blobFile: opts.blobFile } : {}), ...(opts.compressed ? { compressed: true } : {}) };
      const w = new Worker(new URL('./extract-worker.js', import.meta.url), { workerData: input });
      worker = w;
      let inFlight = 0;
      w.on('message', (m: FromWorker) => {
        if (m.t === 'ack') {
          inFlight--;
          if (inFlight < MAX_CHUNKS_IN_FLIGHT / 2 && !finished) src.resume();
        } else if (m.t === 'done') {
          finished = true;
          resolve({ diffId: m.diffId, size: m.size, tarSize: m.tarSize });
        } else {
          finished = true;
          reject(srcError ?? new BerthError((m.category as ErrorCategory | undefined) ?? 'System', m.message));
        }
      });
      w.on('error', (err) => {
        finished = true;
        reject(err);
      });
      w.on('exit', (code) => {
        if (!finished) reject(new Error(`layer unpack worker exited with code ${code}`));
      });
      const post = (b: Buffer): void => {
        inFlight++;
        w.postMessage({ t: 'data', b } satisfies ToWorker, [b.buffer as ArrayBuffer]);
        if (inFlight >= MAX_CHUNKS_IN_FLIGHT) src.pause();
      };
      let block: Buffer | undefined;
      let fill = 0;
      const flush = (): void => {
        if (block && fill > 0) post(block.subarray(0, fill));
        block = undefined;
        fill = 0;
      };
      src.on('data', (chunk: Buffer) => {
        if (ownsChunks && chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.byteLength >= BLOCK_BYTES / 2) {
          flush();
          post(chunk);
          return;
        }
        for (let off = 0; off < chunk.length;) {
          block ??= Buffer.allocUnsafeSlow(BLOCK_BYTES);
          const n = chunk.copy(block, fill, off);
          fill += n;
          off += n;
          if (fill === BLOCK_BYTES) flush();
        }
      });
      src.on('end', () => {
        flush();
        w.postMessage({ t: 'end' } satisfies ToWorker);
      });
      src.resume();
    });
  });
  done.catch(() => undefined);
  return {
    done,
    abort: () => {
      src.pause();
      if (worker && !finished) void worker.terminate();
    },
  };
}

export class LayerStore {
  constructor(private readonly root: string) {}

  async init(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true });
    setTopDir(this.root);
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
   * Makes a directory that already holds a layer's files in overlay form (a committed overlay
   * upper dir, on this file system) the layer `diffId` on top of `parent`, by renaming it into
   * place: no second copy of the files. When the layer exists already the directory is left to
   * the caller. Falls back to `undefined` (caller unpacks the tar instead) across file systems.
   */
  async adopt(parent: string | undefined, dir: string, layer: { diffId: string; size: number }, opts: { lease?: Lease } = {}): Promise<LayerInfo | undefined> {
    const chainId = chainIdOf(parent, layer.diffId);
    const info: LayerInfo = { chainId, diffId: layer.diffId, size: layer.size };
    if (parent !== undefined) info.parent = parent;
    opts.lease?.add([chainId, layer.diffId]);
    if (await this.has(chainId)) return info;
    const tmp = path.join(this.root, `tmp-${randomBytes(8).toString('hex')}`);
    await fs.mkdir(tmp, { mode: 0o755 });
    try {
      await fs.rename(dir, path.join(tmp, 'diff'));
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      if ((err as NodeJS.ErrnoException).code === 'EXDEV') return undefined;
      throw err;
    }
    try {
      await writeJSONAtomic(path.join(tmp, 'layer.json'), info, 0o644);
      const final = path.join(this.root, hex(chainId));
      await fs.rm(final, { recursive: true, force: true });
      await fs.rename(tmp, final);
      await syncDir(this.root);
      return info;
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Unpacks a layer tar (or, with `compressed`, a compressed one) on top of `parent`. When `blobFile` is given the exact
   * bytes are also written there (the caller commits them to the content store by diff ID).
   * `verify` sees the diff ID (and the tar's size) once every byte is in and may throw to
   * discard the layer.
   */
  async apply(
    parent: string | undefined,
    src: Readable,
    opts: {
      blobFile?: string;
      lease?: Lease;
      verify?: (diffId: string, tarSize: number) => void | Promise<void>;
      sizeHint?: number;
      /** `src` may be compressed (told by its first bytes): it is decompressed where it unpacks. */
      compressed?: boolean;
    } = {},
  ): Promise<LayerInfo> {
    const tmp = path.join(this.root, `tmp-${randomBytes(8).toString('hex')}`);
    const diff = path.join(tmp, 'diff');
    // Large layers unpack in a worker thread (several layers, several cores); small ones here.
    const how = { blobFile: opts.blobFile, compressed: opts.compressed };
    const unpack = (opts.sizeHint ?? 0) >= WORKER_MIN_BYTES ? unpackInWorker(src, diff, how) : unpackLayer(src, diff, how);
    const t = span('layer-apply');
    try {
      const { diffId, size, tarSize } = await unpack.done;
      t.mark('unpack');
      // The caller's last word (e.g. the image config's diff ID) before anything becomes visible.
      await opts.verify?.(diffId, tarSize);
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
      t.mark('verify');
      await fs.rm(final, { recursive: true, force: true });
      await fs.rename(tmp, final);
      await syncDir(this.root);
      t.mark('rename');
      t.end();
      return info;
    } catch (err) {
      unpack.abort();
      await unpack.done.catch(() => undefined);
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

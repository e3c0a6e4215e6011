/**
 * The unpack core of a layer: optionally decompress, hash the tar (its diff ID), extract it
 * safely into `dir` (made here), and optionally copy the tar's exact bytes to `blobFile`. Runs
 * on the daemon's thread for small layers and inside a worker thread (extract-worker.ts) for
 * large ones, so several layers unpack on several cores. Every chunk is hashed, written and
 * extracted synchronously in one pass (TarExtractor): no stream hop or copy per entry.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { decompress } from '../lib/decompress.js';
import { TarExtractor } from '../lib/safetar.js';

export interface UnpackResult {
  diffId: string;
  size: number;
  /** Bytes of the tar itself. */
  tarSize: number;
}

export interface UnpackOptions {
  blobFile?: string | undefined;
  /** `src` may be compressed (gzip, zstd, …: told by its first bytes); the diff ID is of the tar inside. */
  compressed?: boolean | undefined;
}

/**
 * Starts reading `src` at once (an error it emits before the caller's next await is not lost)
 * and returns the unpack's result. `abort` stops it (the promise then rejects).
 */
export function unpackLayer(src: Readable, dir: string, opts: UnpackOptions): { done: Promise<UnpackResult>; abort: () => void } {
  let aborted = false;
  let tar: Readable = src;
  src.on('error', () => undefined); // surfaces through the read loop below
  const done = (async (): Promise<UnpackResult> => {
    const hash = createHash('sha256');
    let tarSize = 0;
    const x = new TarExtractor(dir, { whiteouts: 'overlay' });
    let blobFd = -1;
    try {
      if (opts.compressed) tar = await decompress(src);
      if (aborted) throw new Error('layer unpack aborted');
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      if (opts.blobFile !== undefined) blobFd = openSync(opts.blobFile, 'w', 0o644);
      for await (const chunk of tar as AsyncIterable<Buffer>) {
        hash.update(chunk);
        tarSize += chunk.length;
        if (blobFd >= 0) for (let off = 0; off < chunk.length;) off += writeSync(blobFd, chunk, off);
        x.write(chunk);
      }
      const { size } = x.end();
      return { diffId: `sha256:${hash.digest('hex')}`, size, tarSize };
    } catch (err) {
      x.abort();
      src.destroy();
      tar.destroy();
      throw err;
    } finally {
      if (blobFd >= 0) closeSync(blobFd);
    }
  })();
  done.catch(() => undefined); // the caller awaits it; no unhandled-rejection noise meanwhile
  return {
    done,
    abort: () => {
      aborted = true;
      const err = new Error('layer unpack aborted');
      src.destroy(err);
      tar.destroy(err);
    },
  };
}

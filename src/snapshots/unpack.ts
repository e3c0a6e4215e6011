/**
 * The unpack core of a layer: hash the tar (its diff ID), extract it safely into `dir` (made
 * here), and
 * optionally copy the exact bytes to `blobFile`. Runs on the daemon's thread for small layers
 * and inside a worker thread (extract-worker.ts) for large ones, so several layers unpack on
 * several cores.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { Digester } from '../content/store.js';
import { extractTar } from '../lib/safetar.js';

export interface UnpackResult {
  diffId: string;
  size: number;
  /** Bytes of the tar itself. */
  tarSize: number;
}

/**
 * Wires `src` at once (an error it emits before the caller's next await is not lost) and
 * returns the unpack's result. `abort` stops it (the promise then rejects).
 */
export function unpackLayer(src: Readable, dir: string, opts: { blobFile?: string | undefined }): { done: Promise<UnpackResult>; abort: () => void } {
  const digester = new Digester();
  const toExtract = new PassThrough({ highWaterMark: 1 << 20 });
  src.on('error', (err) => digester.destroy(err));
  src.pipe(digester);
  digester.pipe(toExtract);
  digester.on('error', (err) => toExtract.destroy(err));
  toExtract.on('error', () => undefined); // surfaces through the extraction's pipeline
  let blobDone: Promise<void> = Promise.resolve();
  const out = opts.blobFile !== undefined ? createWriteStream(opts.blobFile, { mode: 0o644 }) : undefined;
  if (out) {
    digester.pipe(out);
    blobDone = new Promise<void>((resolve, reject) => {
      out.once('finish', resolve);
      out.once('error', reject);
      digester.once('error', reject);
    });
    blobDone.catch(() => undefined);
  }
  const abort = (): void => {
    src.unpipe(digester);
    digester.destroy();
    out?.destroy();
  };
  const done = (async (): Promise<UnpackResult> => {
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      const { size } = await extractTar(toExtract, dir, { whiteouts: 'overlay' });
      await blobDone;
      return { diffId: digester.digest(), size, tarSize: digester.size };
    } catch (err) {
      abort();
      throw err;
    }
  })();
  done.catch(() => undefined); // the caller awaits it; no unhandled-rejection noise meanwhile
  return { done, abort };
}

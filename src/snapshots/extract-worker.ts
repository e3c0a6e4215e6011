/**
 * Worker thread that unpacks one layer (unpack.ts) from chunks the daemon posts: `{t:'data', b}`
 * (acknowledged with `{t:'ack'}` once taken, the daemon's flow control), `{t:'end'}`,
 * `{t:'abort', message}`. With `compressed`, the chunks are the registry's compressed bytes and
 * the decompression happens here too. Answers `{t:'done', diffId, size}` or `{t:'error', message, category}`.
 */
import { PassThrough } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { BerthError } from '../lib/errors.js';
import { unpackLayer } from './unpack.js';

export interface WorkerInput {
  dir: string;
  blobFile?: string;
  compressed?: boolean;
}

export type ToWorker = { t: 'data'; b: Uint8Array } | { t: 'end' } | { t: 'abort'; message: string };
export type FromWorker = { t: 'ack' } | { t: 'done'; diffId: string; size: number; tarSize: number } | { t: 'error'; message: string; category?: string };

const port = parentPort;
if (port) {
  const input = workerData as WorkerInput;
  const src = new PassThrough({ highWaterMark: 4 << 20 });
  const { done } = unpackLayer(src, input.dir, { blobFile: input.blobFile, compressed: input.compressed });
  port.on('message', (m: ToWorker) => {
    if (m.t === 'data') src.write(Buffer.from(m.b.buffer, m.b.byteOffset, m.b.byteLength), () => port.postMessage({ t: 'ack' } satisfies FromWorker));
    else if (m.t === 'end') src.end();
    else src.destroy(new Error(m.message));
  });
  done.then(
    (r) => {
      port.postMessage({ t: 'done', diffId: r.diffId, size: r.size, tarSize: r.tarSize } satisfies FromWorker);
      port.close();
    },
    (err: unknown) => {
      const e = err as Error;
      port.postMessage({ t: 'error', message: e.message, ...(err instanceof BerthError ? { category: err.category } : {}) } satisfies FromWorker);
      port.close();
    },
  );
}

/**
 * Decompression of layer streams by kind: gzip in-process (zlib, on libuv's thread pool), zstd,
 * xz and bzip2 through the system tools. `compressionOf` tells the kind from a stream's first
 * bytes (undefined: not compressed).
 */
import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { invalid } from './errors.js';

export type Compression = 'gzip' | 'zstd' | 'xz' | 'bzip2';

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** The compression of a stream that starts with `head` (at least 6 bytes to tell them all). */
export function compressionOf(head: Buffer): Compression | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(XZ_MAGIC)) return 'xz';
  if (head.subarray(0, 4).equals(ZSTD_MAGIC)) return 'zstd';
  return undefined;
}

/** The decompressed bytes of `src`; errors of `src` and of the decompressor end the stream. */
export function decompressStream(src: Readable, kind: Compression): Readable {
  if (kind === 'gzip') {
    const gz = createGunzip({ chunkSize: 1 << 20 });
    // Consumers attach their own handlers; this one only keeps a late error (a bad gzip
    // trailer after the last tar entry) from being thrown as an unhandled event.
    gz.on('error', () => undefined);
    src.on('error', (e) => gz.destroy(e));
    return src.pipe(gz);
  }
  const child = spawn(kind, ['-d', '-c'], { stdio: ['pipe', 'pipe', 'ignore'] });
  src.on('error', (e) => child.stdout.destroy(e));
  src.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  child.on('error', (e) => child.stdout.destroy(invalid(`cannot decompress ${kind} archive: ${e.message}`)));
  return child.stdout;
}

/** Peeks at the first bytes and returns a stream of the decompressed tar. */
export async function decompress(src: Readable): Promise<Readable> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let len = 0;
    const onData = (c: Buffer): void => {
      chunks.push(c);
      len += c.length;
      if (len >= 6) done();
    };
    const done = (): void => {
      src.off('data', onData);
      src.off('end', done);
      src.off('error', reject);
      src.pause();
      resolve(Buffer.concat(chunks));
    };
    src.on('data', onData);
    src.once('end', done);
    src.once('error', reject);
  });
  const whole = new PassThrough({ highWaterMark: 1 << 20 });
  whole.write(head);
  src.on('error', (e) => whole.destroy(e));
  src.pipe(whole);
  src.resume();
  const kind = compressionOf(head);
  return kind === undefined ? whole : decompressStream(whole, kind);
}

/**
 * Blob response bodies, two ways:
 *
 * - **copy**: the file is read synchronously (page cache; read-ahead asked of the kernel) into a
 *   few reused 256 KiB buffers, each written with the response's back-pressure. No thread-pool
 *   round trip per read and no new buffer per chunk; works on every response (TLS, pipelined).
 * - **sendfile(2)**: the kernel moves the file's pages to the socket, with no copy through user
 *   space. libuv owns the socket (non-blocking, its own write queue), so bytes written behind its
 *   back must never interleave with its writes: sendfile runs only while the socket's write queue is
 *   empty (nothing buffered in the Node stream, `writeQueueSize` 0), synchronously (no other JS can
 *   queue a write or close the socket during the call). When the socket is full (EAGAIN) the next
 *   64 KiB of the file go through `res.write()`: libuv waits for room, and the write's callback says
 *   everything queued so far reached the kernel; then sendfile resumes. The first such write also
 *   carries the response headers. Only for plain TCP/UNIX sockets with an fd, attached to this
 *   response (a pipelined request behind another response is copied).
 *
 * Which one (config `sendfile`): `auto` (default) uses sendfile for peers that are not on this
 * host and copies for loopback peers. A loopback receiver is this machine's CPU too, and it pays
 * for sendfile (likely because its recv copies from cold page-cache pages, where after a copy by
 * the sender it reads freshly written buffers): with the registry bench on 2 cores the client's CPU
 * per 210 MB pull was 0.27–0.32 s with sendfile vs 0.24–0.26 s with a copy, the pull slower in four
 * of seven A/B runs, while the server's CPU dropped from ~0.08 s to ~0.03 s. A remote client gets
 * that saving for free, and the network card reads the pages itself.
 *
 * A client that goes away shows as EPIPE/ECONNRESET (SIGPIPE is ignored by Node), a destroyed
 * socket or a 'close': the response is destroyed (its length was promised, so the connection
 * must go) and the server goes on.
 */
import { promises as fs, readSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { EAGAIN, EINTR, readAhead, sendfile } from '../lib/syscalls.js';

/** Bytes per write through Node on the sendfile path (the headers' carrier, the wait for room). */
const CHUNK = 64 << 10;
/** Bytes sendfile moves before the loop yields to other connections. */
const TURN = 8 << 20;
/** Buffer size of the copy path. */
const COPY = 256 << 10;
/** Read-ahead asked of the kernel: this far beyond the position, in steps of half of it. */
const AHEAD = 8 << 20;

export type SendfileMode = 'auto' | 'always' | 'never';

interface StreamHandle {
  fd?: number;
  writeQueueSize?: number;
}

const handleOf = (sock: Socket): StreamHandle | undefined => (sock as unknown as { _handle?: StreamHandle | null })._handle ?? undefined;

/** Whether an address is this host's loopback (a UNIX socket has none: local too). */
export function isLoopback(addr: string | undefined): boolean {
  if (addr === undefined) return true;
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}

/** Whether `res` can be sent with sendfile: a plain TCP or UNIX socket of its own, with an fd. */
export function canSendfile(res: ServerResponse): boolean {
  const sock = res.socket;
  if (!sock || sock.destroyed || (sock as Socket & { encrypted?: boolean }).encrypted) return false;
  const fd = handleOf(sock)?.fd;
  return typeof fd === 'number' && fd >= 0;
}

/** Whether a blob body for this response goes out with sendfile under `mode`. */
export function useSendfile(res: ServerResponse, mode: SendfileMode): boolean {
  if (mode === 'never') return false;
  if (mode === 'auto' && isLoopback(res.socket?.remoteAddress)) return false;
  return canSendfile(res);
}

/** Asks for read-ahead of the next window once `pos` is past the middle of the last one. */
function aheadOf(fd: number, end: number): (pos: number) => void {
  let ahead = -1;
  return (pos) => {
    if (ahead >= end || (ahead >= 0 && pos + AHEAD / 2 < ahead)) return;
    const from = Math.max(pos, ahead);
    const to = Math.min(end, pos + AHEAD);
    if (to > from) readAhead(fd, from, to - from);
    ahead = to;
  };
}

/** res.write(chunk) and wait until Node handed it (and all before it) to the kernel. */
function writeAndWait(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) return reject(new Error('response destroyed'));
    const onClose = (): void => reject(new Error('client went away'));
    res.once('close', onClose);
    res.write(chunk, (err) => {
      res.off('close', onClose);
      if (err) reject(err);
      else resolve();
    });
  });
}

/** Waits for 'drain' (or rejects on 'close'). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) return reject(new Error('response destroyed'));
    const done = (): void => {
      res.off('close', gone);
      resolve();
    };
    const gone = (): void => {
      res.off('drain', done);
      reject(new Error('client went away'));
    };
    res.once('drain', done);
    res.once('close', gone);
  });
}

/**
 * Sends `length` bytes of `file` from `start` as the body of `res` (whose headers, with that
 * Content-Length, were set by writeHead), then ends it; with sendfile when `sendfile` is true
 * (see useSendfile). On any failure (client gone, file shorter than announced) the response is
 * destroyed.
 */
export async function sendBlobBody(
  res: ServerResponse,
  file: string,
  start: number,
  length: number,
  o: { sendfile: boolean; onBytes: (n: number) => void },
): Promise<void> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch {
    res.destroy();
    return;
  }
  try {
    await (o.sendfile ? viaSendfile : viaCopy)(res, fh.fd, file, start, start + length, o.onBytes);
    res.end();
  } catch {
    res.destroy();
  } finally {
    await fh.close();
  }
}

const short = (file: string, end: number): Error => new Error(`${file}: shorter than ${end} bytes`);

async function viaCopy(res: ServerResponse, fd: number, file: string, start: number, end: number, onBytes: (n: number) => void): Promise<void> {
  const free: Buffer[] = [];
  const ahead = aheadOf(fd, end);
  let pos = start;
  while (pos < end) {
    if (res.destroyed) throw new Error('client went away');
    if (end - pos > COPY) ahead(pos);
    const buf = free.pop() ?? Buffer.allocUnsafeSlow(COPY);
    const k = readSync(fd, buf, 0, Math.min(COPY, end - pos), pos);
    if (k === 0) throw short(file, end);
    pos += k;
    onBytes(k);
    // The buffer is free again once Node handed it to the kernel.
    const more = res.write(k === COPY ? buf : buf.subarray(0, k), () => free.push(buf));
    if (!more) await drained(res);
  }
}

async function viaSendfile(res: ServerResponse, fd: number, file: string, start: number, end: number, onBytes: (n: number) => void): Promise<void> {
  const sock = res.socket!;
  const sockFd = handleOf(sock)?.fd ?? -1;
  const ahead = aheadOf(fd, end);
  /** Whether libuv has nothing queued on the socket (so bytes written now come next on the wire). */
  const idle = (): boolean => {
    const h = handleOf(sock);
    return !sock.destroyed && h?.fd === sockFd && sock.writableLength === 0 && (h.writeQueueSize ?? 0) === 0;
  };
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(CHUNK, end - start)));
  let pos = start;
  let first = true;
  while (pos < end || first) {
    first = false;
    if (pos < end) {
      const k = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (k === 0) throw short(file, end);
      await writeAndWait(res, k === buf.length ? buf : buf.subarray(0, k));
      pos += k;
      onBytes(k);
    }
    let turn = 0;
    while (pos < end && idle()) {
      if (turn >= TURN) {
        await new Promise<void>((r) => setImmediate(r));
        turn = 0;
        continue;
      }
      ahead(pos);
      const n = sendfile(sockFd, fd, pos, Math.min(end - pos, TURN));
      if (n > 0) {
        pos += n;
        turn += n;
        onBytes(n);
      } else if (n === -EAGAIN) break;
      else if (n === -EINTR) continue;
      else if (n === 0) throw short(file, end);
      else throw new Error(`sendfile: errno ${-n}`);
    }
    if (sock.destroyed) throw new Error('client went away');
  }
}

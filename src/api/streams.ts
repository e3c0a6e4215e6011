/** Docker's stream conventions: the 8-byte frame header and hijacked (upgraded) connections. */
import type { Duplex } from 'node:stream';
import type { Ctx } from './router.js';
import { versionAtLeast } from './router.js';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;

/** [stream, 0, 0, 0, size (uint32 big-endian)] + payload. */
export function frame(stream: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(8 + payload.length);
  out[0] = stream;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  out.writeUInt32BE(payload.length, 4);
  payload.copy(out, 8);
  return out;
}

export function streamContentType(ctx: Ctx, tty: boolean): string {
  return !tty && versionAtLeast(ctx, '1.42') ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
}

/**
 * Takes over the connection: `101 UPGRADED` for clients that asked for an upgrade, a bare
 * `200 OK` for those that did not (both then carry the raw stream).
 */
export function hijack(ctx: Ctx, tty: boolean): Duplex {
  const type = streamContentType(ctx, tty);
  const sock = ctx.socket;
  if (ctx.upgrade) {
    sock.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
  } else {
    // Detach the socket from the HTTP machinery and speak raw on it.
    ctx.res?.detachSocket?.(sock as never);
    sock.write(`HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\n\r\n`);
  }
  return sock;
}

export const STREAM_BYTE_STDOUT = 2;
export const STREAM_BYTE_STDERR = 3;

export { parseDetachKeys } from '../lib/detachkeys.js';

export interface SocketLike {
  on(ev: 'data', fn: (b: Buffer) => void): unknown;
  on(ev: 'end' | 'close' | 'error', fn: () => void): unknown;
  write(b: Buffer): void;
  end(): void;
  destroy(): void;
}

export interface PipeOptions {
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Bytes that detach the client (TTY sessions); empty for none. */
  detachKeys?: Buffer;
  onDetach?: () => void;
  /** Awaited before the client connection is closed at the end of output (exec's exit code). */
  beforeEnd?: () => Promise<unknown>;
}

/**
 * Joins a hijacked client connection to a monitor's attach socket: output packets (stream byte
 * + data) become Docker frames (or raw bytes with a TTY); client bytes become input, with the
 * detach sequence watched for; when either side ends, the other is closed.
 */
export function pipeAttach(conn: Duplex, sock: SocketLike, o: PipeOptions): void {
  // The client may have gone while the monitor's socket was being opened: its 'close' has
  // already fired, so nothing below would ever close the monitor's side (two descriptors leaked
  // per vanished attach).
  if (conn.destroyed) {
    sock.destroy();
    return;
  }
  let closed = false;
  const finish = (): void => {
    if (closed) return;
    closed = true;
    sock.destroy();
    void Promise.resolve(o.beforeEnd?.())
      .catch(() => undefined)
      .finally(() => conn.end());
  };
  sock.on('data', (buf: Buffer) => {
    const kind = buf[0];
    const payload = buf.subarray(1);
    if (payload.length === 0) return;
    if (kind === STREAM_BYTE_STDOUT && o.stdout) conn.write(o.tty ? payload : frame(STDOUT, payload));
    else if (kind === STREAM_BYTE_STDERR && o.stderr) conn.write(o.tty ? payload : frame(STDERR, payload));
  });
  sock.on('end', finish);
  sock.on('close', finish);
  sock.on('error', finish);
  conn.on('close', () => {
    if (!closed) {
      closed = true;
      sock.destroy();
    }
  });
  conn.on('error', () => undefined);
  if (!o.stdin) {
    conn.resume();
    return;
  }
  const keys = o.detachKeys ?? Buffer.alloc(0);
  let matched = 0;
  const send = (b: Buffer): void => {
    for (let i = 0; i < b.length; i += 8192) sock.write(b.subarray(i, i + 8192));
  };
  conn.on('data', (chunk: Buffer) => {
    if (keys.length === 0) {
      send(chunk);
      return;
    }
    const pass: number[] = [];
    for (const byte of chunk) {
      if (byte === keys[matched]) {
        matched++;
        if (matched === keys.length) {
          if (pass.length > 0) send(Buffer.from(pass));
          closed = true;
          o.onDetach?.();
          sock.destroy();
          conn.end();
          return;
        }
        continue;
      }
      if (matched > 0) {
        pass.push(...keys.subarray(0, matched));
        matched = 0;
      }
      pass.push(byte);
    }
    if (pass.length > 0) send(Buffer.from(pass));
  });
  conn.on('end', () => {
    if (!closed) sock.end();
  });
  // A 'data' listener does not restart a socket paused explicitly — and splitUpgradeBody pauses it
  // when an Upgrade request's body came in its own packet (the docker CLI, now and then): input
  // then never flowed (exec -it's lost Ctrl-C). Resume it.
  conn.resume();
}

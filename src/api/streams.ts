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

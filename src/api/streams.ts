/** Docker's stream conventions: the 8-byte frame header and hijacked (upgraded) connections. */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { messageOf } from '../lib/errors.js';
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

/** dockerd's failure message in a JSON stream, once the 200 is out: `{"errorDetail": {message, code?}, "error"}`. */
export function streamErrorMessage(err: unknown, code?: number): { errorDetail: { message: string; code?: number }; error: string } {
  const message = messageOf(err);
  return { errorDetail: code === undefined ? { message } : { message, code }, error: message };
}

/** A response carrying dockerd's JSON message stream (pull, push, import, load, build). */
export interface JsonStream {
  /** Whether the 200 and its headers went out (always, unless `lazy` and nothing was written). */
  readonly started: boolean;
  /** One JSON document and the line end; dropped once the client has gone. */
  write: (msg: unknown) => void;
  /** The error envelope as the stream's message (the status goes out first if it has not). */
  fail: (err: unknown, code?: number) => void;
  end: () => void;
}

/**
 * Opens a JSON message stream on `res`: `200 application/json` at once, or with the first
 * message when `lazy` (so an error before any output can still be an HTTP error). `eol` is the
 * line end dockerd uses for that endpoint (`\r\n` for pull/push/build, `\n` for load/import).
 */
export function openJsonStream(res: ServerResponse, opts: { eol: '\n' | '\r\n'; lazy?: boolean }): JsonStream {
  let started = false;
  const start = (): void => {
    if (started) return;
    started = true;
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json' });
  };
  if (!opts.lazy) start();
  const write = (msg: unknown): void => {
    start();
    if (!res.destroyed) res.write(JSON.stringify(msg) + opts.eol);
  };
  return {
    get started() {
      return started;
    },
    write,
    fail: (err, code) => write(streamErrorMessage(err, code)),
    end: () => {
      start();
      res.end();
    },
  };
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

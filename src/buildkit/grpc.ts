/**
 * gRPC over Node's http2, on connections the Engine API hijacked: the server side for `/grpc`
 * (buildx calls BuildKit's control and gateway services) and the client side for `/session`
 * (berthd calls the services the CLI serves: filesync, secrets, …). Only what those peers use:
 * uncompressed length-prefixed messages, metadata as headers, status in trailers.
 * (Why not @grpc/grpc-js: docs/dependencies.md.)
 */
import * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';

/** gRPC status codes (google.rpc.Code) Berth answers or reads. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** A failed call: the peer's (or our) grpc-status and grpc-message. */
export class GrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** `[compressed flag][uint32 length][message]`. */
export function frameMessage(msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + msg.length);
  out[0] = 0;
  out.writeUInt32BE(msg.length, 1);
  msg.copy(out, 5);
  return out;
}

/** Splits a byte stream into gRPC messages. */
export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + len) break;
      if (this.buf[0] !== 0) throw new GrpcError(GrpcCode.UNIMPLEMENTED, 'compressed gRPC messages are not supported');
      out.push(this.buf.subarray(5, 5 + len));
      this.buf = this.buf.subarray(5 + len);
    }
    return out;
  }
}

/** grpc-message is percent-encoded (gRPC over HTTP/2). */
const encodeStatusMessage = (s: string): string => s.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => encodeURIComponent(c)).replace(/%(?![0-9A-F]{2})/g, '%25');
const decodeStatusMessage = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** A queue of incoming messages as an async iterable, ended by the stream's end or an error. */
class Inbox implements AsyncIterable<Buffer> {
  private readonly items: Buffer[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  private error: Error | undefined;

  put(b: Buffer): void {
    this.items.push(b);
    this.wake();
  }

  end(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const item = this.items.shift();
      if (item) {
        yield item;
        continue;
      }
      if (this.ended) {
        if (this.error) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }
}

/** One incoming call, as a service method sees it. */
export interface ServerCall {
  /** The request headers: gRPC metadata (lower-case keys). */
  readonly metadata: http2.IncomingHttpHeaders;
  /** The client's messages, until it half-closes. */
  readonly messages: AsyncIterable<Buffer>;
  /** Sends one response message. */
  send(msg: Buffer): void;
  /** Aborted when the client cancels or the connection goes. */
  readonly signal: AbortSignal;
}

export type ServerMethod = (call: ServerCall) => Promise<void>;

/** Maps an error thrown by a method to its gRPC status (api/errors.ts decides for Berth's errors). */
export type StatusOf = (err: unknown) => { code: number; message: string };

/**
 * Serves gRPC on a hijacked connection: `methods` by full path (`/package.Service/Method`); an
 * unknown path is UNIMPLEMENTED, as grpc-go answers it.
 */
export interface ServeOptions {
  methods: ReadonlyMap<string, ServerMethod>;
  statusOf: StatusOf;
  /** Each call's path and its outcome (the daemon's debug log). */
  log?: (msg: string) => void;
}

export function serveGrpc(socket: Duplex, head: Buffer, o: ServeOptions): void {
  const { methods, statusOf, log } = o;
  if (head.length > 0) socket.unshift(head);
  const server = http2.createServer({ settings: { initialWindowSize: 1 << 20 } });
  server.on('session', (s) => {
    s.on('error', () => undefined);
    s.on('close', () => server.close());
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const path = String(headers[':path'] ?? '');
    const method = methods.get(path);
    log?.(`grpc ${path}${method ? '' : ' (unimplemented)'}`);
    if (!method) {
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': String(GrpcCode.UNIMPLEMENTED),
          'grpc-message': encodeStatusMessage(`unknown method ${path.split('/').pop() ?? path} for service ${path.split('/')[1] ?? ''}`),
        },
        { endStream: true },
      );
      stream.resume();
      return;
    }
    const inbox = new Inbox();
    const reader = new MessageReader();
    const ac = new AbortController();
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const m of reader.push(chunk)) inbox.put(m);
      } catch (err) {
        inbox.end(err as Error);
      }
    });
    stream.on('end', () => inbox.end());
    stream.on('close', () => {
      inbox.end(new GrpcError(GrpcCode.CANCELLED, 'context canceled'));
      ac.abort();
    });
    let headersSent = false;
    const sendHeaders = (): void => {
      if (headersSent) return;
      headersSent = true;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    };
    const finish = (code: number, message: string): void => {
      if (stream.closed || stream.destroyed) return;
      if (!headersSent) {
        headersSent = true;
        const h: http2.OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code) };
        if (message) h['grpc-message'] = encodeStatusMessage(message);
        stream.respond(h, { endStream: true });
        return;
      }
      stream.once('wantTrailers', () => {
        const t: http2.OutgoingHttpHeaders = { 'grpc-status': String(code) };
        if (message) t['grpc-message'] = encodeStatusMessage(message);
        stream.sendTrailers(t);
      });
      stream.end();
    };
    const call: ServerCall = {
      metadata: headers,
      messages: inbox,
      signal: ac.signal,
      send: (msg) => {
        if (stream.closed || stream.destroyed) return;
        sendHeaders();
        stream.write(frameMessage(msg));
      },
    };
    method(call).then(
      () => finish(GrpcCode.OK, ''),
      (err: unknown) => {
        const st = err instanceof GrpcError ? { code: err.code, message: err.message } : statusOf(err);
        log?.(`grpc ${path}: status ${st.code}: ${st.message}`);
        finish(st.code, st.message);
      },
    );
  });
  server.emit('connection', socket);
}

/** The first message of a call (unary and server-streaming requests). */
export async function firstMessage(call: ServerCall): Promise<Buffer> {
  for await (const m of call.messages) return m;
  return Buffer.alloc(0);
}

/** gRPC metadata to send: a key with several values becomes several header fields. */
export type Metadata = Record<string, string | string[]>;

/** A bidirectional (or any) call this side started. */
export interface ClientCall {
  send(msg: Buffer): void;
  /** Half-closes: no more messages from us. */
  end(): void;
  readonly messages: AsyncIterable<Buffer>;
  cancel(): void;
  /** Resolves once what was sent is flushed below the stream's buffer (backpressure for large sends). */
  drained(): Promise<void>;
}

/** The client side on a connection where berthd dials the peer's gRPC server (`/session`). */
export class GrpcClient {
  constructor(private readonly session: http2.ClientHttp2Session) {}

  /** Starts a call; its `messages` end with the peer's status (a GrpcError when it is not OK). */
  call(path: string, metadata: Metadata = {}): ClientCall {
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    };
    for (const [k, v] of Object.entries(metadata)) headers[k.toLowerCase()] = v;
    const stream = this.session.request(headers, { endStream: false });
    const inbox = new Inbox();
    const reader = new MessageReader();
    let status: { code: number; message: string } | undefined;
    const readStatus = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) status = { code: Number(h['grpc-status']), message: decodeStatusMessage(String(h['grpc-message'] ?? '')) };
    };
    stream.on('response', (h) => readStatus(h));
    stream.on('trailers', (h: http2.IncomingHttpHeaders) => readStatus(h));
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const m of reader.push(chunk)) inbox.put(m);
      } catch (err) {
        inbox.end(err as Error);
      }
    });
    stream.on('error', (err: Error) => inbox.end(new GrpcError(GrpcCode.UNAVAILABLE, err.message)));
    stream.on('close', () => {
      if (!status) inbox.end(new GrpcError(GrpcCode.UNAVAILABLE, `${path}: stream closed without a status`));
      else if (status.code !== GrpcCode.OK) inbox.end(new GrpcError(status.code, status.message));
      else inbox.end();
    });
    return {
      send: (msg) => {
        if (!stream.closed && !stream.destroyed) stream.write(frameMessage(msg));
      },
      end: () => {
        if (!stream.closed && !stream.destroyed) stream.end();
      },
      messages: inbox,
      cancel: () => stream.close(http2.constants.NGHTTP2_CANCEL),
      drained: () =>
        stream.writableNeedDrain && !stream.destroyed
          ? new Promise<void>((resolve) => {
              const done = (): void => {
                stream.off('drain', done);
                stream.off('close', done);
                resolve();
              };
              stream.on('drain', done);
              stream.on('close', done);
            })
          : Promise.resolve(),
    };
  }

  /** One request, one response. */
  async unary(path: string, req: Buffer, metadata: Metadata = {}): Promise<Buffer> {
    const c = this.call(path, metadata);
    c.send(req);
    c.end();
    let res: Buffer | undefined;
    for await (const m of c.messages) res ??= m;
    if (!res) throw new GrpcError(GrpcCode.INTERNAL, `${path}: no response message`);
    return res;
  }
}

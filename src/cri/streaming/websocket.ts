/**
 * The WebSocket variant of the streaming protocols (RFC 6455 server side) for exec and attach,
 * as the kubelet's streaming server offers it beside SPDY. Facts of the k8s channel protocols:
 * each message's first byte names its channel (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize);
 * `base64.channel.k8s.io` variants send text messages whose first character is the channel's
 * digit and whose rest is base64; `v4.*` carry the Status JSON on the error channel;
 * `v5.channel.k8s.io` adds channel 255, a message `[255, n]` closing channel n (stdin's end). When
 * the channels are ready the server writes one empty message on the lowest output channel, so the
 * client knows the session started.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import { terminalSizes, type CommandIO } from './remotecommand.js';

export const WEBSOCKET_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'channel.k8s.io', 'base64.channel.k8s.io'];

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_MESSAGE = 16 * 1024 * 1024;

/** Whether the request asks for a WebSocket. */
export function isWebSocketRequest(req: http.IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** One WebSocket connection (server side): messages in, messages out. Emits 'message' (data, text) and 'close'. */
export class WsConn extends EventEmitter {
  private buf = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentText = false;
  private closed = false;

  constructor(private readonly socket: Duplex) {
    super();
    socket.on('data', (b: Buffer) => this.onData(b));
    const gone = (): void => this.gone();
    socket.on('close', gone);
    socket.on('end', gone);
    socket.on('error', gone);
  }

  send(data: Buffer, text = false): void {
    if (this.closed) return;
    this.socket.write(frame(text ? 1 : 2, data));
  }

  /** A close frame, then the connection's end. */
  close(code = 1000): void {
    if (this.closed) return;
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code, 0);
    this.socket.end(frame(8, p));
    this.gone();
  }

  destroy(): void {
    this.socket.destroy();
    this.gone();
  }

  private gone(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }

  private onData(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length < 2) return;
      const b0 = this.buf[0] as number;
      const b1 = this.buf[1] as number;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        const big = this.buf.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE)) return this.destroy();
        len = Number(big);
        off = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      if (!masked) return this.destroy(); // clients must mask (RFC 6455 5.1)
      if (this.buf.length < off + 4 + len) return;
      const key = this.buf.subarray(off, off + 4);
      const payload = Buffer.from(this.buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (key[i & 3] as number);
      this.buf = this.buf.subarray(off + 4 + len);
      this.onFrame((b0 & 0x80) !== 0, b0 & 0x0f, payload);
    }
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === 8) return this.close();
    if (opcode === 9) return void (this.closed || this.socket.write(frame(10, payload)));
    if (opcode === 10) return;
    if (opcode === 1 || opcode === 2) {
      this.fragments = [payload];
      this.fragmentText = opcode === 1;
    } else if (opcode === 0) this.fragments.push(payload);
    else return this.destroy();
    if (!fin) return;
    const msg = Buffer.concat(this.fragments);
    this.fragments = [];
    this.emit('message', msg, this.fragmentText);
  }
}

function frame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (n >= 126 && n < 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else if (n >= 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/** Completes the handshake with `protocol` (already chosen from the client's offer). */
export function acceptWebSocket(req: http.IncomingMessage, socket: Duplex, head: Buffer, protocol: string): WsConn | undefined {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || key.length === 0) return undefined;
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
      `Sec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
  );
  if (head.length > 0) socket.unshift(head);
  return new WsConn(socket);
}

/** The client's offered subprotocols. */
export function offeredSubprotocols(req: http.IncomingMessage): string[] {
  return String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export interface WsChannels {
  io: CommandIO;
  /** The error channel's writer. */
  writeError(text: string): void;
  /** v4 and later: Status JSON on the error channel. */
  version: number;
  close(): void;
}

/** The command's channels over `ws` with `protocol`'s framing. */
export function wsChannels(ws: WsConn, protocol: string, o: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): WsChannels {
  const base64 = protocol.includes('base64');
  const version = /^v(\d+)\./.exec(protocol) ? Number(/^v(\d+)\./.exec(protocol)?.[1]) : 1;
  const send = (ch: number, data: Buffer): void => {
    if (base64) ws.send(Buffer.from(String(ch) + data.toString('base64')), true);
    else ws.send(Buffer.concat([Buffer.from([ch]), data]));
  };
  const writer = (ch: number): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        send(ch, chunk);
        cb();
      },
    });
  const stdin = o.stdin ? new PassThrough() : undefined;
  const resize = o.tty ? new PassThrough() : undefined;
  ws.on('message', (msg: Buffer, text: boolean) => {
    let ch: number;
    let data: Buffer;
    if (text || base64) {
      const s = msg.toString('latin1');
      ch = s.charCodeAt(0) - 48;
      data = Buffer.from(s.slice(1), 'base64');
    } else {
      ch = msg[0] ?? -1;
      data = msg.subarray(1);
    }
    if (ch === 255 && version >= 5 && data[0] === 0) stdin?.end();
    else if (ch === 0 && stdin && !stdin.writableEnded) stdin.write(data);
    else if (ch === 4 && resize && !resize.writableEnded) resize.write(data);
  });
  const io: CommandIO = { tty: o.tty };
  if (stdin) io.stdin = stdin;
  if (o.stdout) io.stdout = writer(1);
  if (o.stderr && !o.tty) io.stderr = writer(2);
  // The client's going: input ends, and the outputs close (what tells a runtime the client left).
  ws.on('close', () => {
    stdin?.end();
    resize?.end();
    io.stdout?.destroy();
    io.stderr?.destroy();
  });
  if (resize) io.resize = terminalSizes(resize);
  // The first (empty) message on the lowest output channel: the session is open.
  send(o.stdout ? 1 : o.stderr && !o.tty ? 2 : 3, Buffer.alloc(0));
  return {
    io,
    version,
    writeError: (t) => send(3, Buffer.from(t)),
    close: () => ws.close(),
  };
}

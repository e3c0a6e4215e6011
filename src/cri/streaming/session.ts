/**
 * A SPDY/3.1 session over an upgraded connection, and its streams as Node Duplexes. Both ends
 * (the streaming server, and the test client that stands in where crictl cannot go) use it.
 *
 * Flow control: SPDY/3.1 defines per-stream and session windows, but moby/spdystream (the Go
 * library under client-go, hence crictl and kubectl) neither sends WINDOW_UPDATE nor waits for
 * one, so no window is kept here either: WINDOW_UPDATE frames are accepted and ignored, and
 * back-pressure is TCP's (a full stream pauses the socket; a slow socket holds the writer).
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { messageOf } from '../../lib/errors.js';
import {
  FLAG_FIN,
  FrameReader,
  GoawayStatus,
  HeaderZlib,
  RstStatus,
  dataFrame,
  decodeFrame,
  encodeHeaderBlock,
  goawayFrame,
  pingFrame,
  rstStreamFrame,
  synReplyFrame,
  synStreamFrame,
  type Frame,
  type SpdyHeaders,
} from './spdy.js';

/** The largest DATA frame written. */
const MAX_DATA = 32 * 1024;
/** How long a closed session waits for the peer to close its side of the connection. */
const CLOSE_GRACE_MS = 10_000;

/** One SPDY stream: its peer's headers, a readable side (the peer's DATA), a writable side (ours). */
export class SpdyStream extends Duplex {
  /** Whether the peer has sent its FIN (its side ended). */
  remoteClosed = false;
  /** Whether we sent our FIN. */
  localClosed = false;
  /** The reply headers (a stream we opened: when SYN_REPLY comes). */
  readonly replied: Promise<SpdyHeaders>;
  private gotReply!: (h: SpdyHeaders) => void;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: SpdyHeaders,
  ) {
    super({ allowHalfOpen: true });
    this.replied = new Promise((r) => (this.gotReply = r));
    this.replied.catch(() => undefined);
  }

  /** A header's first value (names are case-insensitive). */
  header(name: string): string | undefined {
    return this.headers.get(name.toLowerCase())?.[0];
  }

  /** Sends SYN_REPLY for a stream the peer opened. */
  reply(headers: SpdyHeaders = new Map()): Promise<void> {
    return this.session.sendHeaders(this.id, headers, 'reply');
  }

  /** Resets the stream (RST_STREAM) and destroys it. */
  reset(status: number = RstStatus.CANCEL): void {
    if (!this.destroyed) this.session.sendRst(this.id, status);
    this.destroy();
  }

  override _read(): void {
    this.session.resumeInput();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.localClosed) return cb(new Error('spdy: write after FIN'));
    const frames: Buffer[] = [];
    for (let i = 0; i < chunk.length; i += MAX_DATA) frames.push(dataFrame(this.id, chunk.subarray(i, i + MAX_DATA)));
    this.session.sendRaw(Buffer.concat(frames), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.localClosed = true;
    this.session.sendRaw(dataFrame(this.id, Buffer.alloc(0), FLAG_FIN), () => cb());
    this.session.maybeForget(this);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.session.forget(this.id);
    cb(err);
  }

  /** @internal The peer's DATA. */
  deliver(data: Buffer, fin: boolean): boolean {
    let more = true;
    if (data.length > 0) more = this.push(data);
    if (fin) this.peerFin();
    return more;
  }

  /** @internal The peer ended its side. */
  peerFin(): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    this.push(null);
    this.session.maybeForget(this);
  }

  /** @internal */
  replyArrived(h: SpdyHeaders): void {
    this.gotReply(h);
  }
}

export interface SpdySessionOptions {
  /** Server sessions accept odd (client) stream IDs and open even ones; clients the reverse. */
  server: boolean;
}

/**
 * A session on `socket`. Emits 'stream' (a SpdyStream the peer opened, not yet replied to),
 * 'error' never (protocol errors end the session), and 'close' once the connection is gone.
 */
export class SpdySession extends EventEmitter {
  private readonly streams = new Map<number, SpdyStream>();
  private readonly reader = new FrameReader();
  private readonly inflate = new HeaderZlib('decompress');
  private readonly deflate = new HeaderZlib('compress');
  /** Outgoing frames in order (header blocks are compressed asynchronously). */
  private out: Promise<unknown> = Promise.resolve();
  /** Incoming frames decoded in order. */
  private in: Promise<unknown> = Promise.resolve();
  private nextId: number;
  private lastPeerId = 0;
  private closed = false;
  private goingAway = false;
  /** Writers waiting for the socket to drain. */
  private readonly drainWaiters: Array<() => void> = [];

  constructor(
    private readonly socket: Duplex,
    private readonly o: SpdySessionOptions,
  ) {
    super();
    this.nextId = o.server ? 2 : 1;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // Frames already read are still being decoded (header blocks inflate asynchronously): the
    // end of the connection takes effect after them.
    const gone = (): void => {
      this.in = this.in.then(() => this.teardown());
    };
    socket.on('error', gone);
    socket.on('close', gone);
    socket.on('end', gone);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Opens a stream (SYN_STREAM) with `headers`; its `replied` resolves with the peer's SYN_REPLY. */
  open(headers: SpdyHeaders, o: { fin?: boolean } = {}): SpdyStream {
    const id = this.nextId;
    this.nextId += 2;
    const s = new SpdyStream(this, id, headers);
    this.streams.set(id, s);
    if (o.fin) s.localClosed = true;
    void this.sendHeaders(id, headers, 'syn', o.fin ? FLAG_FIN : 0);
    return s;
  }

  /** Ends the session: GOAWAY, then the connection closes once queued frames are written. */
  close(): void {
    if (this.closed || this.goingAway) return;
    this.goingAway = true;
    this.sendRaw(goawayFrame(this.lastPeerId, GoawayStatus.OK), () => undefined);
    this.out = this.out.then(() => new Promise<void>((r) => this.socket.end(r)));
    // A peer that keeps its side open after our GOAWAY is cut off after a grace period.
    setTimeout(() => this.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** Ends the session at once, streams included. */
  destroy(): void {
    this.socket.destroy();
    this.teardown();
  }

  /** @internal */
  sendRaw(buf: Buffer, cb: (err?: Error | null) => void): void {
    this.out = this.out.then(() => {
      if (this.closed || this.socket.destroyed || this.socket.writableEnded) return cb(new Error('spdy: session closed'));
      // Frames keep their order in the socket's buffer; the callback carries the back-pressure
      // to the stream's writer (socket errors end the session, and with it the streams).
      if (this.socket.write(buf)) return cb();
      this.drainWaiters.push(() => cb());
      if (this.drainWaiters.length === 1) this.socket.once('drain', () => this.drained());
    });
  }

  private drained(): void {
    const waiters = this.drainWaiters.splice(0);
    for (const w of waiters) w();
  }

  /** @internal Sends SYN_STREAM, SYN_REPLY or HEADERS with a compressed block, in order. */
  sendHeaders(id: number, headers: SpdyHeaders, kind: 'syn' | 'reply', flags = 0): Promise<void> {
    const block = this.deflate.process(encodeHeaderBlock(headers));
    return new Promise((resolve) => {
      this.out = this.out.then(async () => {
        let b: Buffer;
        try {
          b = await block;
        } catch {
          this.destroy();
          return resolve();
        }
        const frame = kind === 'syn' ? synStreamFrame({ streamId: id, flags, block: b }) : synReplyFrame({ streamId: id, flags, block: b });
        if (!this.closed && !this.socket.destroyed && !this.socket.writableEnded) this.socket.write(frame);
        resolve();
      });
    });
  }

  /** @internal */
  sendRst(id: number, status: number): void {
    this.sendRaw(rstStreamFrame(id, status), () => undefined);
  }

  /** @internal */
  resumeInput(): void {
    if (this.socket.isPaused()) this.socket.resume();
  }

  /** @internal Drops a stream both sides have ended. */
  maybeForget(s: SpdyStream): void {
    if (s.localClosed && s.remoteClosed) this.streams.delete(s.id);
  }

  /** @internal */
  forget(id: number): void {
    this.streams.delete(id);
  }

  private onData(chunk: Buffer): void {
    let raws;
    try {
      raws = this.reader.push(chunk);
    } catch {
      return this.protocolError();
    }
    for (const raw of raws) {
      // Header blocks must be inflated in arrival order; DATA waits behind them too.
      this.in = this.in.then(async () => {
        if (this.closed) return;
        let f: Frame;
        try {
          f = await decodeFrame(raw, this.inflate);
        } catch (err) {
          this.emit('protocol-error', messageOf(err));
          return this.protocolError();
        }
        this.handle(f);
      });
    }
  }

  private handle(f: Frame): void {
    switch (f.type) {
      case 'data': {
        const s = this.streams.get(f.streamId);
        if (!s) {
          if (f.data.length > 0) this.sendRst(f.streamId, RstStatus.INVALID_STREAM);
          return;
        }
        if (!s.deliver(f.data, (f.flags & FLAG_FIN) !== 0)) this.socket.pause();
        return;
      }
      case 'syn_stream': {
        const fromPeer = this.o.server ? f.streamId % 2 === 1 : f.streamId % 2 === 0;
        if (!fromPeer || f.streamId <= this.lastPeerId || this.goingAway) {
          this.sendRst(f.streamId, this.goingAway ? RstStatus.REFUSED_STREAM : RstStatus.PROTOCOL_ERROR);
          return;
        }
        this.lastPeerId = f.streamId;
        const s = new SpdyStream(this, f.streamId, f.headers);
        this.streams.set(f.streamId, s);
        if (f.flags & FLAG_FIN) s.peerFin();
        this.emit('stream', s);
        return;
      }
      case 'syn_reply': {
        const s = this.streams.get(f.streamId);
        if (!s) return;
        s.replyArrived(f.headers);
        if (f.flags & FLAG_FIN) s.peerFin();
        return;
      }
      case 'headers': {
        const s = this.streams.get(f.streamId);
        if (s && f.flags & FLAG_FIN) s.peerFin();
        return;
      }
      case 'rst_stream':
        this.streams.get(f.streamId)?.destroy();
        return;
      case 'ping': {
        // Echo the peer's pings (their IDs have the peer's parity); ours coming back need nothing.
        const peers = this.o.server ? f.id % 2 === 1 : f.id % 2 === 0;
        if (peers) this.sendRaw(pingFrame(f.id), () => undefined);
        return;
      }
      case 'goaway':
        this.goingAway = true;
        if (this.streams.size === 0) this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE, unknown types: nothing to do (see the flow-control note above).
        return;
    }
  }

  private protocolError(): void {
    if (this.closed) return;
    try {
      this.socket.write(goawayFrame(this.lastPeerId, GoawayStatus.PROTOCOL_ERROR));
    } catch {
      /* gone */
    }
    this.destroy();
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.streams.values()]) {
      if (!s.remoteClosed) s.peerFin();
      s.destroy();
    }
    this.streams.clear();
    this.drained();
    this.inflate.close();
    this.deflate.close();
    if (!this.socket.destroyed) this.socket.destroy();
    this.emit('close');
  }
}

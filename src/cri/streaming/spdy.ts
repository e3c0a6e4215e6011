/**
 * SPDY/3.1 framing and the header block codec, as the kubelet's streaming clients (client-go over
 * moby/spdystream: crictl, kubectl) speak it after `Upgrade: SPDY/3.1`. Facts from the SPDY/3
 * and 3.1 drafts (chromium.org/spdy): every frame has an 8-byte header — a control frame sets the
 * top bit, then a 15-bit version (3), a 16-bit type, 8 bits of flags and a 24-bit length; a data
 * frame has a 31-bit stream ID, flags and length. Header blocks are a 32-bit pair count, then
 * 32-bit-length-prefixed names and values (several values joined by NUL), compressed by one zlib
 * stream per direction for the whole session, primed with the SPDY/3 dictionary and ended by a
 * sync flush per block.
 */
import * as zlib from 'node:zlib';
import { invalid } from '../../lib/errors.js';

export const SPDY_VERSION = 3;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
} as const;

/** GOAWAY status codes. */
export const GoawayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** Header names (lower case, as SPDY requires) to their values. */
export type SpdyHeaders = Map<string, string[]>;

/** A frame as it is on the wire, before its header block (if any) is decompressed. */
export type RawFrame =
  { control: false; streamId: number; flags: number; data: Buffer } | { control: true; version: number; type: number; flags: number; payload: Buffer };

/** A decoded frame. */
export type Frame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedId: number; priority: number; flags: number; headers: SpdyHeaders }
  | { type: 'syn_reply'; streamId: number; flags: number; headers: SpdyHeaders }
  | { type: 'headers'; streamId: number; flags: number; headers: SpdyHeaders }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: { flags: number; id: number; value: number }[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  | { type: 'unknown'; frameType: number; flags: number; payload: Buffer };

/** The largest frame payload accepted (the 24-bit length allows 16 MiB; no client sends that much). */
export const MAX_FRAME_PAYLOAD = 1 << 24;
/** The largest uncompressed header block accepted. */
export const MAX_HEADER_BLOCK = 256 * 1024;

const WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
  'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
  'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive',
  'origin',
]; // prettier-ignore
const TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

/**
 * The SPDY/3 header compression dictionary (the draft's section 2.6.10.1): its common header
 * words, each with a 32-bit length in front, then a run of status codes, reason phrases, dates and
 * media types. 1423 bytes; zlib checks its Adler-32 against the peer's FDICT, so a wrong byte
 * fails the first header block.
 */
export const SPDY3_DICTIONARY: Buffer = (() => {
  const parts: Buffer[] = [];
  for (const w of WORDS) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length, 0);
    parts.push(len, Buffer.from(w, 'latin1'));
  }
  parts.push(Buffer.from(TAIL, 'latin1'));
  return Buffer.concat(parts);
})();

/* --------------------------------------------------------------- header blocks */

/** A header block before compression. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n, 0);
    return b;
  };
  parts.push(u32(headers.size));
  for (const [name, values] of headers) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** A decompressed header block; throws InvalidParameter on a malformed one. */
export function decodeHeaderBlock(buf: Buffer): SpdyHeaders {
  const out: SpdyHeaders = new Map();
  let off = 0;
  const need = (n: number): void => {
    if (off + n > buf.length) throw invalid('spdy: truncated header block');
  };
  need(4);
  const count = buf.readUInt32BE(off);
  off += 4;
  for (let i = 0; i < count; i++) {
    need(4);
    const nl = buf.readUInt32BE(off);
    off += 4;
    need(nl);
    const name = buf.toString('utf8', off, off + nl);
    off += nl;
    need(4);
    const vl = buf.readUInt32BE(off);
    off += 4;
    need(vl);
    const value = buf.toString('utf8', off, off + vl);
    off += vl;
    if (name.length === 0) throw invalid('spdy: empty header name');
    const key = name.toLowerCase();
    out.set(key, [...(out.get(key) ?? []), ...value.split('\0')]);
  }
  return out;
}

/**
 * One direction's zlib context for a session's header blocks. Each call compresses (or
 * inflates) one block and ends it with a sync flush; calls run in order.
 */
export class HeaderZlib {
  private readonly z: zlib.Deflate | zlib.Inflate;
  private chain: Promise<unknown> = Promise.resolve();
  private failed: Error | undefined;

  constructor(mode: 'compress' | 'decompress') {
    // Paused mode: after a block's flush the output sits in the readable buffer (big enough for
    // any accepted block), read out synchronously in the flush's callback.
    const o = { dictionary: SPDY3_DICTIONARY, readableHighWaterMark: MAX_HEADER_BLOCK * 2 };
    this.z = mode === 'compress' ? zlib.createDeflate({ ...o, level: zlib.constants.Z_DEFAULT_COMPRESSION }) : zlib.createInflate(o);
    this.z.on('error', (err: Error) => (this.failed = err));
  }

  /** The block through this context. */
  process(input: Buffer): Promise<Buffer> {
    const run = (): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        if (this.failed) return reject(this.failed);
        const onError = (err: Error): void => reject(err);
        this.z.once('error', onError);
        this.z.write(input);
        this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          this.z.off('error', onError);
          if (this.failed) return reject(this.failed);
          const parts: Buffer[] = [];
          for (let c = this.z.read() as Buffer | null; c !== null; c = this.z.read() as Buffer | null) parts.push(c);
          const out = Buffer.concat(parts);
          if (out.length > MAX_HEADER_BLOCK) return reject(invalid('spdy: header block too large'));
          resolve(out);
        });
      });
    const p = this.chain.then(run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.z.destroy();
  }
}

/* --------------------------------------------------------------------- frames */

/** Splits bytes from the wire into frames; feed it chunks, take the complete frames. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** The frames completed by `chunk`; throws InvalidParameter on an oversized frame. */
  push(chunk: Buffer): RawFrame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: RawFrame[] = [];
    while (this.buf.length >= 8) {
      const len = this.buf.readUIntBE(5, 3);
      if (len > MAX_FRAME_PAYLOAD) throw invalid('spdy: frame too large');
      if (this.buf.length < 8 + len) break;
      const flags = this.buf[4] as number;
      const body = this.buf.subarray(8, 8 + len);
      const first = this.buf.readUInt32BE(0);
      if (first & 0x80000000) {
        out.push({ control: true, version: (first >>> 16) & 0x7fff, type: first & 0xffff, flags, payload: Buffer.from(body) });
      } else {
        out.push({ control: false, streamId: first & 0x7fffffff, flags, data: Buffer.from(body) });
      }
      this.buf = this.buf.subarray(8 + len);
    }
    return out;
  }
}

function controlHeader(type: number, flags: number, length: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt8(flags, 4);
  h.writeUIntBE(length, 5, 3);
  return h;
}

function control(type: number, flags: number, payload: Buffer): Buffer {
  return Buffer.concat([controlHeader(type, flags, payload.length), payload]);
}

const u31 = (n: number): number => n & 0x7fffffff;

/** A DATA frame. */
export function dataFrame(streamId: number, data: Buffer, flags = 0): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(u31(streamId), 0);
  h.writeUInt8(flags, 4);
  h.writeUIntBE(data.length, 5, 3);
  return Buffer.concat([h, data]);
}

/** A SYN_STREAM with its (already compressed) header block. */
export function synStreamFrame(o: { streamId: number; associatedId?: number; priority?: number; flags?: number; block: Buffer }): Buffer {
  const p = Buffer.alloc(10);
  p.writeUInt32BE(u31(o.streamId), 0);
  p.writeUInt32BE(u31(o.associatedId ?? 0), 4);
  p.writeUInt8(((o.priority ?? 0) & 7) << 5, 8);
  return control(FrameType.SYN_STREAM, o.flags ?? 0, Buffer.concat([p, o.block]));
}

/** A SYN_REPLY (or, with `type` HEADERS, a HEADERS frame) with its compressed header block. */
export function synReplyFrame(o: { streamId: number; flags?: number; block: Buffer; type?: number }): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(u31(o.streamId), 0);
  return control(o.type ?? FrameType.SYN_REPLY, o.flags ?? 0, Buffer.concat([p, o.block]));
}

export function rstStreamFrame(streamId: number, status: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(u31(streamId), 0);
  p.writeUInt32BE(status, 4);
  return control(FrameType.RST_STREAM, 0, p);
}

export function pingFrame(id: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(id >>> 0, 0);
  return control(FrameType.PING, 0, p);
}

export function goawayFrame(lastStreamId: number, status: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(u31(lastStreamId), 0);
  p.writeUInt32BE(status, 4);
  return control(FrameType.GOAWAY, 0, p);
}

export function settingsFrame(entries: { flags?: number; id: number; value: number }[], flags = 0): Buffer {
  const p = Buffer.alloc(4 + entries.length * 8);
  p.writeUInt32BE(entries.length, 0);
  entries.forEach((e, i) => {
    p.writeUInt32BE((((e.flags ?? 0) & 0xff) << 24) | (e.id & 0xffffff), 4 + i * 8);
    p.writeUInt32BE(e.value >>> 0, 8 + i * 8);
  });
  return control(FrameType.SETTINGS, flags, p);
}

export function windowUpdateFrame(streamId: number, delta: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(u31(streamId), 0);
  p.writeUInt32BE(u31(delta), 4);
  return control(FrameType.WINDOW_UPDATE, 0, p);
}

/**
 * A raw frame decoded; header blocks go through `inflate` (the session's receiving zlib
 * context, so frames must be decoded in arrival order). Throws InvalidParameter on a malformed frame.
 */
export async function decodeFrame(raw: RawFrame, inflate: HeaderZlib): Promise<Frame> {
  if (!raw.control) return { type: 'data', streamId: raw.streamId, flags: raw.flags, data: raw.data };
  const p = raw.payload;
  const min = (n: number): void => {
    if (p.length < n) throw invalid(`spdy: control frame ${raw.type} too short`);
  };
  if (raw.version !== SPDY_VERSION) throw invalid(`spdy: unsupported version ${raw.version}`);
  switch (raw.type) {
    case FrameType.SYN_STREAM: {
      min(10);
      const headers = decodeHeaderBlock(await inflate.process(p.subarray(10)));
      return {
        type: 'syn_stream',
        streamId: u31(p.readUInt32BE(0)),
        associatedId: u31(p.readUInt32BE(4)),
        priority: (p[8] as number) >> 5,
        flags: raw.flags,
        headers,
      };
    }
    case FrameType.SYN_REPLY:
    case FrameType.HEADERS: {
      min(4);
      const headers = decodeHeaderBlock(await inflate.process(p.subarray(4)));
      const type = raw.type === FrameType.SYN_REPLY ? 'syn_reply' : 'headers';
      return { type, streamId: u31(p.readUInt32BE(0)), flags: raw.flags, headers };
    }
    case FrameType.RST_STREAM:
      min(8);
      return { type: 'rst_stream', streamId: u31(p.readUInt32BE(0)), status: p.readUInt32BE(4) };
    case FrameType.SETTINGS: {
      min(4);
      const n = p.readUInt32BE(0);
      min(4 + n * 8);
      const entries = [];
      for (let i = 0; i < n; i++) {
        const w = p.readUInt32BE(4 + i * 8);
        entries.push({ flags: w >>> 24, id: w & 0xffffff, value: p.readUInt32BE(8 + i * 8) });
      }
      return { type: 'settings', flags: raw.flags, entries };
    }
    case FrameType.PING:
      min(4);
      return { type: 'ping', id: p.readUInt32BE(0) };
    case FrameType.GOAWAY:
      min(4);
      return { type: 'goaway', lastStreamId: u31(p.readUInt32BE(0)), status: p.length >= 8 ? p.readUInt32BE(4) : 0 };
    case FrameType.WINDOW_UPDATE:
      min(8);
      return { type: 'window_update', streamId: u31(p.readUInt32BE(0)), delta: u31(p.readUInt32BE(4)) };
    default:
      return { type: 'unknown', frameType: raw.type, flags: raw.flags, payload: p };
  }
}

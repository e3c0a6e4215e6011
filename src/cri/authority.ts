/**
 * Go's gRPC clients before 1.5x (crictl and critest v1.26.1, older kubelets) send a UNIX socket's
 * path as the HTTP/2 `:authority` ("/run/berth/cri.sock"). nghttp2 under Node's http2 refuses
 * that as an invalid authority and resets the stream (PROTOCOL_ERROR) before grpc-js sees it.
 * This shim sits between the socket and grpc-js: it walks the client's HEADERS frames and
 * replaces a literal `:authority` value with "localhost" (what newer clients send for UNIX
 * sockets). Everything else passes byte for byte.
 *
 * HPACK's dynamic table stays in step: the client indexed its entry with the old value, the
 * server indexes the new one at the same position; the new value is never longer than the old,
 * so the server's table never evicts earlier than the client's, and every index the client
 * sends names the same position on both sides (RFC 7541 §4). Only representation prefixes and
 * string lengths are read; Huffman-coded strings are skipped, not decoded.
 */
import { Duplex } from 'node:stream';
import type * as net from 'node:net';

const PREFACE_LENGTH = 24;
const FRAME_HEADERS = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** `:authority` in HPACK's static table. */
const AUTHORITY_INDEX = 1;
const REPLACEMENT = 'localhost';

/** The socket seen through the shim: what grpc-js's connection injector is given. */
export class AuthorityFix extends Duplex {
  private buf: Buffer = Buffer.alloc(0);
  private prefaceLeft = PREFACE_LENGTH;

  constructor(private readonly sock: net.Socket) {
    super();
    sock.on('data', (d: Buffer) => {
      const out = this.feed(d);
      if (out.length > 0 && !this.push(out)) sock.pause();
    });
    sock.on('end', () => this.push(null));
    sock.on('error', (err) => this.destroy(err));
    sock.on('close', () => this.destroy());
  }

  override _read(): void {
    this.sock.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.sock.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.sock.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.sock.destroy();
    cb(err);
  }

  /** Whole frames out (rewritten where needed); a partial frame waits for more bytes. */
  private feed(d: Buffer): Buffer {
    const parts: Buffer[] = [];
    let data = d;
    if (this.prefaceLeft > 0) {
      const n = Math.min(this.prefaceLeft, data.length);
      parts.push(data.subarray(0, n));
      this.prefaceLeft -= n;
      data = data.subarray(n);
    }
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, data]) : data;
    let off = 0;
    while (this.buf.length - off >= 9) {
      const len = this.buf.readUIntBE(off, 3);
      if (this.buf.length - off < 9 + len) break;
      const frame = this.buf.subarray(off, off + 9 + len);
      parts.push(frame[3] === FRAME_HEADERS ? rewriteHeadersFrame(frame) : frame);
      off += 9 + len;
    }
    this.buf = this.buf.subarray(off);
    if (this.buf.length > 0) this.buf = Buffer.from(this.buf);
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }
}

/** A HEADERS frame with its header block's literal `:authority` replaced (or the frame as it was). */
export function rewriteHeadersFrame(frame: Buffer): Buffer {
  const flags = frame[4] as number;
  if (!(flags & FLAG_END_HEADERS)) return frame; // split over CONTINUATION frames: left alone
  let start = 9;
  let padding = 0;
  if (flags & FLAG_PADDED) {
    padding = frame[9] as number;
    start += 1;
  }
  if (flags & FLAG_PRIORITY) start += 5;
  const end = frame.length - padding;
  if (start > end) return frame;
  const block = rewriteBlock(frame.subarray(start, end));
  if (!block) return frame;
  const payload = Buffer.concat([frame.subarray(9, start), block, frame.subarray(end)]);
  const header = Buffer.from(frame.subarray(0, 9));
  header.writeUIntBE(payload.length, 0, 3);
  return Buffer.concat([header, payload]);
}

/** The header block with the `:authority` literal replaced; undefined when there is none (or it cannot be read). */
function rewriteBlock(block: Buffer): Buffer | undefined {
  let pos = 0;
  while (pos < block.length) {
    const b = block[pos] as number;
    if (b & 0x80) {
      pos = skipInt(block, pos, 7);
    } else if ((b & 0xe0) === 0x20) {
      pos = skipInt(block, pos, 5);
    } else {
      const prefix = (b & 0xc0) === 0x40 ? 6 : 4;
      const [index, afterName] = readInt(block, pos, prefix);
      let valueAt = afterName;
      if (index === 0) valueAt = skipString(block, afterName);
      if (valueAt < 0) return undefined;
      const valueEnd = skipString(block, valueAt);
      if (valueEnd < 0) return undefined;
      if (index === AUTHORITY_INDEX) {
        const [len, bytesAt] = readInt(block, valueAt, 7);
        const huffman = ((block[valueAt] as number) & 0x80) !== 0;
        // The decoded value is at least this long: a Huffman code is at most 30 bits a symbol, padding under 8.
        const minLength = huffman ? Math.max(0, Math.ceil((len * 8 - 7) / 30)) : len;
        if (bytesAt < 0 || minLength === 0) return undefined;
        if (!huffman && !block.subarray(bytesAt, valueEnd).includes(0x2f)) return undefined; // a valid authority: kept
        const value = Buffer.from(REPLACEMENT.slice(0, Math.min(REPLACEMENT.length, minLength)));
        return Buffer.concat([block.subarray(0, valueAt), Buffer.from([value.length]), value, block.subarray(valueEnd)]);
      }
      pos = valueEnd;
    }
    if (pos < 0) return undefined;
  }
  return undefined;
}

/** An HPACK integer with an N-bit prefix at `pos`: [value, position after it] ([-1, -1] when truncated). */
function readInt(buf: Buffer, pos: number, prefix: number): [number, number] {
  if (pos >= buf.length) return [-1, -1];
  const mask = (1 << prefix) - 1;
  let value = (buf[pos] as number) & mask;
  let p = pos + 1;
  if (value < mask) return [value, p];
  let shift = 0;
  for (;;) {
    if (p >= buf.length || shift > 28) return [-1, -1];
    const c = buf[p++] as number;
    value += (c & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(c & 0x80)) return [value, p];
  }
}

function skipInt(buf: Buffer, pos: number, prefix: number): number {
  return readInt(buf, pos, prefix)[1];
}

/** Position after an HPACK string literal at `pos` (-1 when truncated). */
function skipString(buf: Buffer, pos: number): number {
  const [len, at] = readInt(buf, pos, 7);
  if (at < 0 || at + len > buf.length) return -1;
  return at + len;
}

/**
 * Stream helpers for the Engine API: the 8-byte multiplexed frame format used by attach and
 * logs when there is no TTY, and a reader for streams of JSON objects (progress messages).
 */
import type { Readable, Writable } from 'node:stream';

export const STREAM_STDIN = 0;
export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;
export const STREAM_SYSTEMERR = 3;

export interface Frame {
  stream: number;
  payload: Buffer;
}

/** Encodes one frame: [stream, 0, 0, 0, uint32 BE size] + payload. */
export function encodeFrame(stream: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/**
 * Incremental parser for the multiplexed format: feed it chunks as they arrive,
 * get back the complete frames. Partial headers and payloads are kept for the next push.
 */
export class FrameParser {
  private pending: Buffer[] = [];
  private pendingLen = 0;

  push(chunk: Buffer): Frame[] {
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingLen += chunk.length;
    }
    const frames: Frame[] = [];
    if (this.pendingLen < 8) return frames;
    let buf = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingLen);
    let off = 0;
    while (buf.length - off >= 8) {
      const size = buf.readUInt32BE(off + 4);
      if (buf.length - off - 8 < size) break;
      const stream = buf[off] as number;
      frames.push({ stream, payload: buf.subarray(off + 8, off + 8 + size) });
      off += 8 + size;
    }
    buf = buf.subarray(off);
    this.pending = buf.length > 0 ? [buf] : [];
    this.pendingLen = buf.length;
    return frames;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.pendingLen;
  }
}

export interface DemuxTargets {
  stdout: Writable;
  stderr: Writable;
}

/** Thrown when the daemon sends a system-error frame (stream 3). */
export class StreamSystemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamSystemError';
  }
}

/**
 * Copies a multiplexed stream to stdout/stderr, honouring backpressure.
 * Resolves when the source ends.
 */
export async function demuxStream(source: Readable, targets: DemuxTargets): Promise<void> {
  const parser = new FrameParser();
  for await (const chunk of source as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (const f of parser.push(buf)) {
      if (f.stream === STREAM_SYSTEMERR) throw new StreamSystemError(f.payload.toString());
      const target = f.stream === STREAM_STDERR ? targets.stderr : targets.stdout;
      if (!target.write(f.payload)) {
        await new Promise<void>((resolve) => target.once('drain', resolve));
      }
    }
  }
}

/** Copies a raw (TTY) stream to a writable, honouring backpressure. */
export async function copyStream(source: Readable, target: Writable): Promise<void> {
  for await (const chunk of source as AsyncIterable<Buffer | string>) {
    if (!target.write(chunk)) {
      await new Promise<void>((resolve) => target.once('drain', resolve));
    }
  }
}

/**
 * Splits a byte stream into top-level JSON values. Works for newline-separated JSON
 * and for values written back to back (as Go's json.Encoder/Decoder pair allows).
 */
export class JsonSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escape = false;
  private start = -1;
  private scanned = 0;

  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    let i = this.scanned;
    for (; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === '\\') this.escape = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') {
        this.inString = true;
        if (this.start < 0) this.start = i;
      } else if (c === '{' || c === '[') {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0 && this.start >= 0) {
          out.push(this.buf.slice(this.start, i + 1));
          this.start = -1;
        }
      } else if (this.depth === 0 && (c === '\n' || c === '\r' || c === ' ' || c === '\t')) {
        if (this.start >= 0) {
          // a bare scalar at top level, ended by whitespace
          out.push(this.buf.slice(this.start, i));
          this.start = -1;
        }
      } else if (this.depth === 0 && this.start < 0) {
        this.start = i;
      }
    }
    // compact the buffer
    if (this.start < 0) {
      this.buf = '';
      this.scanned = 0;
    } else {
      this.buf = this.buf.slice(this.start);
      this.scanned = this.buf.length;
      this.start = 0;
    }
    return out;
  }

  /** Whatever is left when the stream ends (a trailing scalar), if anything. */
  end(): string[] {
    const rest = this.buf.trim();
    this.buf = '';
    this.start = -1;
    this.scanned = 0;
    return rest ? [rest] : [];
  }
}

/** Reads a stream of JSON values (e.g. progress messages), yielding each parsed value. */
export async function* readJsonStream<T = unknown>(source: Readable): AsyncGenerator<T> {
  const splitter = new JsonSplitter();
  const decoder = new TextDecoder();
  for await (const chunk of source as AsyncIterable<Buffer | string>) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    for (const item of splitter.push(text)) yield JSON.parse(item) as T;
  }
  for (const item of splitter.end()) yield JSON.parse(item) as T;
}

/** A progress/status message as the daemon streams it (Docker's jsonmessage). */
export interface JsonMessage {
  id?: string;
  status?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: unknown;
}

/**
 * Displays a stream of JSON progress messages (pull, import) the way docker's jsonmessage
 * does for a non-terminal: one line per status, progress bars only on a terminal.
 */
import type { Readable, Writable } from 'node:stream';
import { readJsonStream, type JsonMessage } from '../client/stream.js';

export class JsonMessageError extends Error {
  readonly code: number | undefined;
  constructor(message: string, code?: number) {
    super(message);
    this.name = 'JsonMessageError';
    this.code = code;
  }
}

export interface DisplayOptions {
  /** called with every aux payload (e.g. an image ID) */
  onAux?: (aux: unknown) => void;
  /** whether `out` is a terminal (enables progress lines) */
  terminal?: boolean;
}

export async function displayJsonMessages(source: Readable, out: Writable, options: DisplayOptions = {}): Promise<JsonMessage[]> {
  const all: JsonMessage[] = [];
  const terminal = options.terminal ?? false;
  for await (const msg of readJsonStream<JsonMessage & { progressDetail?: unknown }>(source)) {
    all.push(msg);
    if (msg.error || msg.errorDetail) {
      throw new JsonMessageError(msg.errorDetail?.message ?? msg.error ?? 'unknown error', msg.errorDetail?.code);
    }
    if (msg.aux !== undefined) {
      options.onAux?.(msg.aux);
      continue;
    }
    const hasProgress = typeof msg.progress === 'string' && msg.progress !== '';
    if (hasProgress && !terminal) continue;
    let line = '';
    if (msg.id) line += `${msg.id}: `;
    if (hasProgress) line += `${msg.status ?? ''} ${msg.progress ?? ''}\r`;
    else if (msg.stream !== undefined) line += msg.stream;
    else line += `${msg.status ?? ''}\n`;
    out.write(line);
  }
  return all;
}

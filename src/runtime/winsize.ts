/**
 * Window sizes for a conmon-monitored terminal.
 *
 * conmon 2.1.6 reads its control FIFOs (`ctl`, then `winsz`) 199 bytes at a time and, when one
 * read holds several lines, hands the FIRST line to its parser once per line (it parses the
 * buffer's start, not each line; fixed upstream after 2.1.6). Two resizes that meet in the FIFO
 * — `stty rows 40 cols 120` gives two SIGWINCHes, so the CLI sends (40,old) then (40,120) — were
 * applied as the first one twice: the container saw rows 40 but not cols 120.
 *
 * So each size goes straight to the `winsz` FIFO (the one conmon's resize reader uses; `ctl` only
 * forwards "h w" lines to it) as a record of exactly 199 bytes (the line padded with blanks, which
 * sscanf's "%d %d\n" skips). Such a write is atomic (< PIPE_BUF) and one read takes exactly one
 * record, so records never merge whatever the timing. Writes to one monitor are also serialized
 * in request order (fs.open runs on libuv's pool, where two requests could overtake each other).
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';

/** conmon's read size on its control FIFOs (CTLBUFSZ - 1). */
export const WINSZ_RECORD = 199;

/** The record for one size: "h w", blanks, "\n", WINSZ_RECORD bytes in all. */
export function winszRecord(height: number, width: number): string {
  const line = `${Math.trunc(height)} ${Math.trunc(width)}`;
  return line.padEnd(WINSZ_RECORD - 1, ' ') + '\n';
}

const queues = new Map<string, Promise<void>>();

async function writeRecord(fifo: string, record: string): Promise<void> {
  let fh: fs.FileHandle;
  try {
    // Non-blocking: when the monitor is gone there is no reader, and a blocking open would hold
    // one of libuv's few threads forever.
    fh = await fs.open(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  } catch {
    return; // ENXIO / ENOENT: nobody reads the FIFO, the session has ended
  }
  try {
    await fh.write(record);
  } finally {
    await fh.close();
  }
}

/** Sends a window size to the monitor whose bundle directory is `bundleDir`, in call order. */
export function sendWindowSize(bundleDir: string, height: number, width: number): Promise<void> {
  const fifo = path.join(bundleDir, 'winsz');
  const prev = queues.get(fifo) ?? Promise.resolve();
  const next = prev.then(() => writeRecord(fifo, winszRecord(height, width)));
  const settled = next.catch(() => undefined);
  queues.set(fifo, settled);
  void settled.then(() => {
    if (queues.get(fifo) === settled) queues.delete(fifo);
  });
  return next;
}

/**
 * Asks the monitor whose bundle directory is `bundleDir` to reopen its log file (conmon's `ctl`
 * FIFO, message type 2 "reopen log files"; CRI's ReopenContainerLog), as one padded record.
 */
export function sendReopenLogs(bundleDir: string): Promise<void> {
  return writeRecord(path.join(bundleDir, 'ctl'), '2 0 0'.padEnd(WINSZ_RECORD - 1, ' ') + '\n');
}

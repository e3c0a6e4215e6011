/**
 * Attached sessions (run, start -a, attach, exec): pumps a hijacked connection between the
 * caller's terminal and the container the way the docker CLI's hijackedIOStreamer does.
 *
 * - TTY sessions put the caller's terminal in raw mode (restored on every exit path: normal end,
 *   errors, SIGTERM/SIGHUP, process exit), stream stdin as bytes (Ctrl-C and Ctrl-D go to the
 *   container), copy the raw output to stdout, and send the window size right after start and
 *   on every SIGWINCH.
 * - The detach sequence (default Ctrl-P Ctrl-Q) is forwarded to the daemon, which detaches
 *   (and so does not close a StdinOnce container's stdin); the session also watches for it
 *   locally, like docker's escape proxy, so the caller knows the session ended by a detach.
 * - Without a TTY the output is demultiplexed onto stdout/stderr, and stdin EOF half-closes
 *   the connection (the container sees EOF on its stdin).
 */
import { spawnSync } from 'node:child_process';
import type { Duplex } from 'node:stream';
import type { WriteStream } from 'node:tty';
import { copyStream, demuxStream } from '../client/stream.js';
import type { HijackedStream } from '../client/client.js';
import type { Cli } from './common.js';
import { parseDetachKeys } from '../lib/detachkeys.js';

export { parseDetachKeys };

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** Incremental matcher for the detach sequence over the bytes the caller types. */
export class EscapeMatcher {
  private matched = 0;
  constructor(private readonly keys: Buffer) {}

  /** Returns the index just past the completed sequence in `chunk`, or -1. */
  feed(chunk: Buffer): number {
    if (this.keys.length === 0) return -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) {
          this.matched = 0;
          return i + 1;
        }
      } else {
        this.matched = b === this.keys[0] ? 1 : 0;
      }
    }
    return -1;
  }
}

/** The caller's terminal size, when stdout is a terminal (docker uses its output stream). */
export function terminalSize(): { height: number; width: number } | undefined {
  const out = process.stdout as WriteStream;
  if (!out.isTTY) return undefined;
  const height = out.rows ?? 0;
  const width = out.columns ?? 0;
  return height > 0 && width > 0 ? { height, width } : undefined;
}

/** `[height, width]` for ConsoleSize in create/exec requests (TTY only). */
export function consoleSize(tty: boolean): [number, number] | undefined {
  if (!tty) return undefined;
  const s = terminalSize();
  return s ? [s.height, s.width] : undefined;
}

/** Fails like docker's CheckTty when a TTY session is asked for on a non-terminal stdin. */
export function checkTty(attachStdin: boolean, tty: boolean): void {
  if (tty && attachStdin && !process.stdin.isTTY) throw new TtyError();
}

export class TtyError extends Error {
  constructor() {
    super('the input device is not a TTY');
    this.name = 'TtyError';
  }
}

let rawModeOwners = 0;
const restoreOnExit = (): void => {
  if (rawModeOwners > 0 && process.stdin.isTTY) {
    try {
      process.stdin.setRawMode(false);
    } catch {
      /* the terminal is gone */
    }
  }
};

/**
 * Puts stdin in raw mode until the returned function is called; also restores it on process
 * exit and on SIGTERM/SIGHUP (then exits with 128+signal, as a signal would have).
 */
export function enterRawMode(): () => void {
  const input = process.stdin;
  if (!input.isTTY) return () => undefined;
  input.setRawMode(true);
  // libuv's raw mode keeps output processing (OPOST/ONLCR), so the container's "\r\n" would
  // reach the screen as "\r\r\n"; docker's MakeRaw clears OPOST. Node has no call for it:
  // stty does it on our stdin (setRawMode(false) restores the termios saved before raw mode).
  spawnSync('stty', ['-opost'], { stdio: [0, 'ignore', 'ignore'] });
  rawModeOwners++;
  if (rawModeOwners === 1) process.on('exit', restoreOnExit);
  const onSignal = (sig: NodeJS.Signals): void => {
    restore();
    const num = sig === 'SIGHUP' ? 1 : 15;
    process.exit(128 + num);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  let done = false;
  const restore = (): void => {
    if (done) return;
    done = true;
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    rawModeOwners--;
    try {
      input.setRawMode(false);
    } catch {
      /* the terminal is gone */
    }
    if (rawModeOwners === 0) process.off('exit', restoreOnExit);
  };
  return restore;
}

/**
 * Sends the terminal size now (retrying a few times, as docker's initTtySize does: the
 * process may not be ready for it yet) and on every window change. Returns a stop function.
 */
export function monitorTtySize(cli: Cli, resize: (size: { height: number; width: number }) => Promise<void>, options: { nudge?: boolean } = {}): () => void {
  const out = process.stdout as WriteStream;
  if (!out.isTTY) return () => undefined;
  let stopped = false;
  // docker's attach: resize to one more row and column first, so a re-attached shell gets a
  // SIGWINCH and redraws its prompt even when the size did not change
  const first = terminalSize();
  const nudged = options.nudge && first ? resize({ height: first.height + 1, width: first.width + 1 }).catch(() => undefined) : Promise.resolve();
  const send = async (retries: number): Promise<void> => {
    const size = terminalSize();
    if (!size) return;
    for (let attempt = 0; ; attempt++) {
      try {
        await resize(size);
        return;
      } catch (e) {
        if (stopped || attempt >= retries) {
          if (retries > 0 && !stopped) cli.eprintln(`failed to resize tty, using default size`);
          return;
        }
        await new Promise((r) => setTimeout(r, (attempt + 1) * 10));
      }
    }
  };
  // One resize at a time, in order (concurrent requests could reach the daemon out of order
  // and leave an older size in place); window changes during a request collapse into one.
  let busy: Promise<void> = nudged.then(() => send(10));
  let queued = false;
  const onResize = (): void => {
    if (stopped || queued) return;
    queued = true;
    busy = busy.then(() => {
      queued = false;
      return stopped ? undefined : send(0);
    });
  };
  // Node's own SIGWINCH listener (added when process.stdout was first used, so before this
  // one) refreshes stdout's rows/columns; like docker, resend on every SIGWINCH.
  process.on('SIGWINCH', onResize);
  return () => {
    stopped = true;
    process.off('SIGWINCH', onResize);
  };
}

export interface SessionOptions {
  tty: boolean;
  /** Stream our stdin to the connection. */
  stdin: boolean;
  /** Detach-keys spec (TTY sessions only); the daemon is told the same. */
  detachKeys?: string | undefined;
  /** Sends the window size (TTY sessions with a terminal on stdout). */
  resize?: ((size: { height: number; width: number }) => Promise<void>) | undefined;
  /** Resize to (h+1, w+1) first (docker attach), so the process redraws. */
  nudgeSize?: boolean;
}

export interface SessionResult {
  /** The session ended because the caller typed the detach sequence. */
  detached: boolean;
}

/** Pumps a hijacked connection until the output ends (or the caller detaches). */
export async function runSession(cli: Cli, hijacked: HijackedStream, options: SessionOptions): Promise<SessionResult> {
  const socket: Duplex = hijacked.socket;
  const input = process.stdin;
  let detached = false;
  let restoreRaw: () => void = () => undefined;
  let stopResize: () => void = () => undefined;
  let detachTimer: NodeJS.Timeout | undefined;
  const matcher = options.tty ? new EscapeMatcher(parseDetachKeys(options.detachKeys || DEFAULT_DETACH_KEYS)) : undefined;

  const onData = (chunk: Buffer): void => {
    if (detached) return;
    const end = matcher ? matcher.feed(chunk) : -1;
    if (end < 0) {
      socket.write(chunk);
      return;
    }
    // Forward up to and including the sequence: the daemon detaches on it (so a StdinOnce
    // container's stdin stays open). If it does not close the connection soon, we do.
    detached = true;
    socket.write(chunk.subarray(0, end));
    input.pause();
    detachTimer = setTimeout(() => socket.destroy(), 2000);
    detachTimer.unref();
  };
  const onEnd = (): void => {
    if (!detached) socket.end();
  };
  const onError = (): void => undefined;

  try {
    if (options.stdin) {
      if (options.tty) restoreRaw = enterRawMode();
      input.on('data', onData);
      input.on('end', onEnd);
      input.on('error', onError);
      input.resume();
    }
    const pump = options.tty ? copyStream(socket, cli.out) : demuxStream(socket, { stdout: cli.out, stderr: cli.err });
    if (options.tty && options.resize) stopResize = monitorTtySize(cli, options.resize, { nudge: options.nudgeSize === true });
    try {
      await pump;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (!detached && code !== 'ECONNRESET' && code !== 'EPIPE' && code !== 'ERR_STREAM_PREMATURE_CLOSE') throw e;
    }
  } finally {
    if (detachTimer) clearTimeout(detachTimer);
    stopResize();
    if (options.stdin) {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
    }
    restoreRaw();
    socket.destroy();
  }
  return { detached };
}

/** Signals forwarded to the container by --sig-proxy (those Node can catch; not SIGWINCH). */
const PROXIED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM'];

/** Forwards the signals berth receives to the container (`POST /containers/{id}/kill?signal=`). */
export function proxySignals(cli: Cli, id: string): () => void {
  const handler = (sig: NodeJS.Signals): void => {
    cli.client.containerKill(id, { signal: sig }).catch((e: unknown) => {
      if (cli.debug) cli.eprintln(`Error sending signal: ${(e as Error).message}`);
    });
  };
  for (const s of PROXIED_SIGNALS) process.on(s, handler);
  return () => {
    for (const s of PROXIED_SIGNALS) process.off(s, handler);
  };
}

/**
 * The remote command protocol of the kubelet's streaming server (`exec` and `attach`) on a SPDY
 * session. Facts of the protocol (client-go's remotecommand, which crictl and kubectl use):
 * - the client opens one stream per channel, named by its `streamType` header: `error`, `stdin`,
 *   `stdout`, `stderr` (not with a TTY) and, from v3.channel.k8s.io on with a TTY, `resize`, which
 *   carries JSON terminal sizes (`{"Width":80,"Height":24}`) one after another;
 * - the server replies to each and waits (up to a creation timeout) until all it expects exist;
 * - output goes on stdout/stderr, each ended with a FIN; the client's FIN on stdin closes input;
 * - at the end the error stream says how it went: v4.channel.k8s.io writes a metav1.Status JSON
 *   (`Success`, or `Failure` with reason `NonZeroExitCode` and the code as an `ExitCode` cause,
 *   which the client turns into its exit code); v2/v3 write an error's text, nothing on success.
 */
import type { Readable, Writable } from 'node:stream';
import { messageOf } from '../../lib/errors.js';
import type { SpdySession, SpdyStream } from './session.js';
import { RstStatus } from './spdy.js';

/** Protocols in the server's order of preference (the client's order decides). */
export const REMOTECOMMAND_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

export interface TerminalSize {
  width: number;
  height: number;
}

/** The streams a command gets; absent ones were not asked for. The server ends them afterwards. */
export interface CommandIO {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  tty: boolean;
  resize?: AsyncIterable<TerminalSize>;
}

export interface RemoteCommandOptions {
  /** What the CRI request asked for (the client's streams must match). */
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  /** How long the client has to open its streams. */
  streamCreationTimeoutMs: number;
  /** Runs the command; resolves with its exit code (attach: 0 when it ends). */
  run: (io: CommandIO) => Promise<{ exitCode: number }>;
  /** Describes the command in a non-zero exit's message (exec: its argv). */
  describe?: string;
}

const STREAM_TYPES = new Set(['error', 'stdin', 'stdout', 'stderr', 'resize']);

/** Serves one exec or attach on an upgraded session whose protocol was negotiated as `protocol`. */
export async function serveRemoteCommand(session: SpdySession, protocol: string, o: RemoteCommandOptions): Promise<void> {
  const v = protocolVersion(protocol);
  const expected = new Set<string>(['error']);
  if (o.stdin) expected.add('stdin');
  if (o.stdout) expected.add('stdout');
  if (o.stderr && !o.tty) expected.add('stderr');
  if (o.tty && v >= 3) expected.add('resize');
  const streams = new Map<string, SpdyStream>();
  const complete = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), o.streamCreationTimeoutMs);
    timer.unref();
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      resolve(ok);
    };
    session.on('close', () => done(false));
    session.on('stream', (s: SpdyStream) => {
      const type = s.header('streamtype') ?? '';
      if (!STREAM_TYPES.has(type) || streams.has(type)) {
        s.reset(RstStatus.REFUSED_STREAM);
        return;
      }
      void s.reply();
      if (!expected.has(type)) {
        // Not asked for by the request: answered but not used, and drained so that its data
        // cannot hold up the session.
        s.on('error', () => undefined);
        s.resume();
        return;
      }
      streams.set(type, s);
      if ([...expected].every((t) => streams.has(t))) done(true);
    });
  });
  if (!complete) {
    // kubelet: "timed out waiting for client to create streams" — nothing to write it on.
    session.destroy();
    return;
  }
  const errorStream = streams.get('error') as SpdyStream;
  const stdout = streams.get('stdout');
  const stderr = streams.get('stderr');
  const resize = streams.get('resize');
  for (const s of [errorStream, stdout, stderr, resize]) s?.on('error', () => undefined);
  // The client never writes on these: drain them so a stray byte cannot stall the session.
  errorStream.resume();
  const io: CommandIO = { tty: o.tty };
  const stdin = streams.get('stdin');
  if (stdin) {
    stdin.on('error', () => undefined);
    io.stdin = stdin;
  }
  if (stdout) io.stdout = stdout;
  if (stderr) io.stderr = stderr;
  if (resize) io.resize = terminalSizes(resize);
  const status = await commandStatus(o, io);
  await Promise.all([endStream(stdout), endStream(stderr)]);
  const text = errorStreamText(status, v);
  if (text) errorStream.write(text);
  await endStream(errorStream);
  stdin?.destroy();
  resize?.destroy();
  session.close();
}

/** Runs the command; how it went as the error stream's Status. */
export async function commandStatus(o: Pick<RemoteCommandOptions, 'run' | 'describe'>, io: CommandIO): Promise<Status> {
  try {
    const { exitCode } = await o.run(io);
    return exitCode === 0 ? { metadata: {}, status: 'Success' } : nonZeroExit(exitCode, o.describe);
  } catch (err) {
    return internalError(messageOf(err));
  }
}

/** What the error stream carries for `status` in protocol version `v` (v2/v3: a failure's text). */
export function errorStreamText(status: Status, v: number): string {
  if (v >= 4) return JSON.stringify(status);
  return status.status !== 'Success' && status.message ? status.message : '';
}

/** 4 for v4.channel.k8s.io …, 1 for the legacy channel.k8s.io (or none). */
export function protocolVersion(p: string): number {
  const m = /^v(\d+)\.channel\.k8s\.io$/.exec(p);
  return m ? Number(m[1]) : 1;
}

/** metav1.Status, the fields this server writes. */
export interface Status {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: { reason?: string; message: string }[] };
  code?: number;
}

function nonZeroExit(code: number, describe?: string): Status {
  const what = describe ? `error executing command ${describe}, exit code ${code}` : `exit code ${code}`;
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: ${what}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

function internalError(msg: string): Status {
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${msg}`,
    reason: 'InternalError',
    details: { causes: [{ message: msg }] },
    code: 500,
  };
}

function endStream(s: SpdyStream | undefined): Promise<void> {
  if (!s || s.destroyed || s.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    s.end(() => resolve());
    s.once('close', () => resolve());
    s.once('error', () => resolve());
  });
}

/** The JSON terminal sizes on a resize stream, as they come (malformed ones are skipped). */
export async function* terminalSizes(s: Readable): AsyncGenerator<TerminalSize> {
  let buf = '';
  for await (const chunk of s) {
    buf += (chunk as Buffer).toString('utf8');
    for (;;) {
      const end = jsonObjectEnd(buf);
      if (end < 0) break;
      const text = buf.slice(0, end);
      buf = buf.slice(end);
      try {
        const v = JSON.parse(text) as { Width?: unknown; Height?: unknown };
        const width = Number(v.Width);
        const height = Number(v.Height);
        if (Number.isInteger(width) && Number.isInteger(height) && width >= 0 && height >= 0) yield { width, height };
      } catch {
        /* skipped */
      }
    }
    if (buf.length > 64 * 1024) buf = '';
  }
}

/** Where the first complete JSON object in `s` ends (after it), or -1. */
function jsonObjectEnd(s: string): number {
  let depth = 0;
  let inStr = false;
  let started = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === '{') {
      depth++;
      started = true;
    } else if (c === '}') {
      depth--;
      if (started && depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * The client's first terminal size (client-go sends it as soon as the streams exist), waiting at
 * most `waitMs`, and the sizes after it. A command started with that size has the right terminal
 * from its first instruction instead of after a resize that races its start.
 */
export async function firstSize(
  sizes: AsyncIterable<TerminalSize> | undefined,
  waitMs: number,
): Promise<{ first: TerminalSize | undefined; rest: AsyncIterable<TerminalSize> | undefined }> {
  if (!sizes) return { first: undefined, rest: undefined };
  const it = sizes[Symbol.asyncIterator]();
  const pending = it.next();
  pending.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), waitMs)));
  const got = await Promise.race([pending, timeout]);
  clearTimeout(timer);
  const rest = (carry: Promise<IteratorResult<TerminalSize>> | undefined): AsyncIterable<TerminalSize> => ({
    [Symbol.asyncIterator]: () => ({ next: () => (carry ? ((p) => ((carry = undefined), p))(carry) : it.next()) }),
  });
  if (got === 'timeout') return { first: undefined, rest: rest(pending) };
  if (got.done) return { first: undefined, rest: undefined };
  return { first: got.value, rest: rest(undefined) };
}

/**
 * The per-container monitor: conmon (Podman's, ~2 MB RSS). It is the container's parent,
 * holds its stdio, writes its log (k8s-file format), keeps an attach socket, records the exit
 * code in `<exit-dir>/<id>` and outlives berthd. berthd talks to it through:
 *   - the sync pipe (fd 3): `{"data": pid}` once `runc create` succeeded, or a negative value and
 *     the runtime's message when it failed;
 *   - the attach socket (SOCK_SEQPACKET): output packets prefixed with a stream byte
 *     (2 stdout, 3 stderr), input packets written to the container's stdin;
 *   - the exit file, watched with inotify.
 */
import { spawn } from 'node:child_process';
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import { EventEmitter } from 'node:events';
import { SeqpacketSocket } from 'node-unix-socket';
import { system } from '../lib/errors.js';
import { sendWindowSize } from './winsize.js';

export interface MonitorPaths {
  bundle: string;
  logPath: string;
  exitDir: string;
  /** Directory of short symlinks to bundles, keeping socket paths under 108 bytes. */
  socketDir: string;
  /** Per-container directory where conmon writes `exit` and `oom`. */
  persistDir: string;
  pidFile: string;
  monitorPidFile: string;
}

export interface StartMonitorOptions {
  id: string;
  /** Short handle used for the attach socket symlink. */
  handle: string;
  name: string;
  runtime: string;
  runtimeArgs: string[];
  paths: MonitorPaths;
  stdin: boolean;
  tty: boolean;
  /** Keep the container's stdin open when an attached client goes away (not StdinOnce). */
  leaveStdinOpen?: boolean;
  logSizeMax?: number;
  /** The `none` log driver: conmon keeps no log. */
  noLog?: boolean;
}

export interface MonitorStarted {
  /** PID of the container's init process. */
  pid: number;
  monitorPid: number;
}

export const STREAM_STDOUT = 2;
export const STREAM_STDERR = 3;

/** Spawns conmon and waits for `runc create` to finish. The container is created, not started. */
export async function startMonitor(o: StartMonitorOptions): Promise<MonitorStarted> {
  const p = o.paths;
  const args = [
    '--api-version',
    '1',
    '-c',
    o.id,
    '-u',
    o.handle,
    '-n',
    o.name,
    '-r',
    o.runtime,
    ...o.runtimeArgs.flatMap((a) => ['--runtime-arg', a]),
    '-b',
    p.bundle,
    '-p',
    p.pidFile,
    '-P',
    p.monitorPidFile,
    '-l',
    o.noLog ? 'none:' : `k8s-file:${p.logPath}`,
    '--exit-dir',
    p.exitDir,
    '--socket-dir-path',
    p.socketDir,
    '--persist-dir',
    p.persistDir,
    '--log-level',
    'error',
  ];
  if (o.stdin) args.push('--stdin');
  if (o.stdin && o.leaveStdinOpen) args.push('--leave-stdin-open');
  if (o.tty) args.push('--terminal');
  if (o.logSizeMax !== undefined && o.logSizeMax > 0) args.push('--log-size-max', String(o.logSizeMax));
  const child = spawn('conmon', args, {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, _OCI_SYNCPIPE: '3' },
    cwd: p.bundle,
    detached: true,
  });
  child.unref();
  const sync = child.stdio[3] as NodeJS.ReadableStream;
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const text = await new Promise<string>((resolve, reject) => {
    let buf = '';
    sync.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf);
    });
    sync.on('end', () => resolve(buf));
    sync.on('error', reject);
    child.on('error', (e) => reject(system(`cannot start conmon: ${e.message}`)));
  });
  (sync as unknown as { destroy(): void }).destroy();
  child.stderr?.destroy();
  const line = text.split('\n')[0] ?? '';
  let msg: { data?: number; message?: string } = {};
  try {
    msg = JSON.parse(line) as typeof msg;
  } catch {
    throw system(`container monitor failed: ${(stderr || line || 'no response').trim()}`);
  }
  if (msg.data === undefined || msg.data < 0) {
    throw system((msg.message ?? stderr).trim() || 'container create failed');
  }
  const monitorPid = Number((await fs.readFile(p.monitorPidFile, 'utf8')).trim());
  return { pid: msg.data, monitorPid };
}

/** Connects to the monitor's attach socket. */
export function attachSocketPath(paths: MonitorPaths, handle: string): string {
  return path.join(paths.socketDir, handle, 'attach');
}

export function connectAttach(socketPath: string): Promise<SeqpacketSocket> {
  return new Promise((resolve, reject) => {
    const s = new SeqpacketSocket();
    s.once('error', reject);
    try {
      s.connect(socketPath, () => {
        s.off('error', reject);
        resolve(s);
      });
    } catch (err) {
      reject(err);
    }
  });
}

/** Whether a PID is alive and is a conmon process. */
export async function monitorAlive(pid: number): Promise<boolean> {
  if (!pid) return false;
  try {
    const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return cmd.startsWith('conmon') && state !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Watches the exit directory. Emits `exit` with the container ID when conmon writes an exit file.
 * A slow periodic scan backs up inotify so that no exit is missed.
 */
export class ExitWatcher extends EventEmitter {
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private readonly seen = new Set<string>();

  constructor(readonly dir: string) {
    super();
  }

  async start(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    this.watcher = watch(this.dir, (_ev, name) => {
      if (name) void this.check(name.toString());
    });
    this.timer = setInterval(() => void this.scan(), 2000);
    this.timer.unref();
    await this.scan();
  }

  private async scan(): Promise<void> {
    let names: string[] = [];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return;
    }
    for (const n of names) await this.check(n);
  }

  private async check(name: string): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(name) || this.seen.has(name)) return;
    let text: string;
    try {
      text = await fs.readFile(path.join(this.dir, name), 'utf8');
    } catch {
      return;
    }
    // conmon writes the file in one go; an empty file means it is mid-write.
    if (text.trim() === '') return;
    this.seen.add(name);
    this.emit('exit', name, Number.parseInt(text.trim(), 10));
  }

  /** Forgets an exit once it has been handled (the file is removed by the caller). */
  async consume(id: string): Promise<void> {
    await fs.rm(path.join(this.dir, id), { force: true });
    this.seen.delete(id);
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
  }
}

export interface StartExecOptions {
  containerId: string;
  /** Unique handle of the exec session (socket symlink name). */
  handle: string;
  runtime: string;
  runtimeArgs: string[];
  /** Directory of the session: conmon's bundle dir (ctl, winsz, attach), pid file, log, exits. */
  dir: string;
  socketDir: string;
  processSpecPath: string;
  tty: boolean;
  stdin: boolean;
  /** Called with the attach socket before the process starts (when attaching). */
  attach?: (socket: SeqpacketSocket) => void;
}

export interface ExecSession {
  pid: number;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number>;
}

/**
 * Runs a process in a running container through conmon's exec mode (`runc exec` under a
 * monitor). With attach, conmon first reports its attach socket on the attach pipe; berthd
 * connects, then releases the start pipe so no output is lost. The sync pipe carries the PID,
 * then the exit code.
 */
export async function startExec(o: StartExecOptions): Promise<ExecSession> {
  await fs.mkdir(path.join(o.dir, 'exit'), { recursive: true });
  await fs.mkdir(o.socketDir, { recursive: true });
  const args = [
    '--api-version',
    '1',
    '-c',
    o.containerId,
    '-u',
    o.handle,
    '-r',
    o.runtime,
    ...o.runtimeArgs.flatMap((a) => ['--runtime-arg', a]),
    '-b',
    o.dir,
    '-p',
    path.join(o.dir, 'pid'),
    '-l',
    `k8s-file:${path.join(o.dir, 'log')}`,
    '--exit-dir',
    path.join(o.dir, 'exit'),
    '--socket-dir-path',
    o.socketDir,
    '--log-level',
    'error',
    '-e',
    '--exec-process-spec',
    o.processSpecPath,
  ];
  const attaching = o.attach !== undefined;
  if (attaching) args.push('--exec-attach');
  if (o.stdin) args.push('--stdin');
  if (o.tty) args.push('--terminal');
  const env: NodeJS.ProcessEnv = { ...process.env, _OCI_SYNCPIPE: '3' };
  if (attaching) Object.assign(env, { _OCI_ATTACHPIPE: '4', _OCI_STARTPIPE: '5' });
  const child = spawn('conmon', args, {
    stdio: attaching ? ['ignore', 'ignore', 'pipe', 'pipe', 'pipe', 'pipe'] : ['ignore', 'ignore', 'pipe', 'pipe'],
    env,
    cwd: o.dir,
    detached: true,
  });
  child.unref();
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const sync = child.stdio[3] as NodeJS.ReadableStream;
  const messages: Array<{ data?: number; message?: string }> = [];
  const waiting: Array<() => void> = [];
  let ended = false;
  let buf = '';
  sync.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        messages.push(JSON.parse(line) as { data?: number; message?: string });
      } catch {
        messages.push({ data: -1, message: line });
      }
      waiting.splice(0).forEach((w) => w());
    }
  });
  sync.on('end', () => {
    ended = true;
    waiting.splice(0).forEach((w) => w());
  });
  const next = async (): Promise<{ data?: number; message?: string } | undefined> => {
    while (messages.length === 0 && !ended) await new Promise<void>((r) => waiting.push(r));
    return messages.shift();
  };
  child.on('error', () => {
    ended = true;
    waiting.splice(0).forEach((w) => w());
  });

  if (attaching) {
    const stdio = child.stdio as unknown as Array<NodeJS.ReadableStream & NodeJS.WritableStream>;
    const start = stdio[5] as NodeJS.WritableStream;
    const attachPipe = stdio[4] as NodeJS.ReadableStream;
    start.write('0');
    await new Promise<void>((resolve, reject) => {
      attachPipe.once('data', () => resolve());
      attachPipe.once('end', () => reject(system(`exec failed: ${stderr.trim() || 'monitor exited'}`)));
    });
    const socket = await connectAttach(attachSocketPath({ socketDir: o.socketDir } as MonitorPaths, o.handle));
    o.attach?.(socket);
    start.end('1');
  }
  const first = await next();
  if (!first || first.data === undefined || first.data < 0) {
    throw system((first?.message ?? stderr).trim() || 'exec failed');
  }
  const pid = first.data;
  const exited = (async (): Promise<number> => {
    const last = await next();
    if (last?.data !== undefined) return last.data;
    // The sync pipe closed without a code (berthd restarted?): read the exit file.
    try {
      const names = await fs.readdir(path.join(o.dir, 'exit'));
      const text = await fs.readFile(path.join(o.dir, 'exit', names[0] ?? ''), 'utf8');
      return Number.parseInt(text.trim(), 10);
    } catch {
      return -1;
    }
  })();
  return { pid, exited };
}

/** Sends a window size to a monitor's terminal (see winsize.ts: conmon's FIFO quirks). */
export async function resizeTerminal(bundleDir: string, height: number, width: number): Promise<void> {
  await sendWindowSize(bundleDir, height, width);
}

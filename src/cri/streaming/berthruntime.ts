/**
 * The StreamingRuntime on Berth's engine: exec through the exec service (conmon in exec mode,
 * its attach socket for the streams, its winsz FIFO for resizes, its exit code), attach through
 * the container monitor's attach socket, and port forwarding by running `socat` inside the pod's
 * network namespace (`nsenter --net=<path> socat - TCP4:127.0.0.1:<port>`, as dockershim did;
 * Node cannot enter a namespace itself, and a process per forwarded connection is off the hot
 * path). socat comes from Debian's `socat` package (scripts/install-deps.sh).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { SeqpacketSocket } from 'node-unix-socket';
import { conflict, system, unavailable } from '../../lib/errors.js';
import type { ExecConfig, ExecRecord } from '../../containers/exec.js';
import type { Container } from '../../containers/types.js';
import { firstSize, type CommandIO, type TerminalSize } from './remotecommand.js';
import type { StreamingRuntime } from './server.js';

/** Where a pod's network namespace is (cri-core's sandboxes implement it). */
export interface SandboxNetns {
  /**
   * The path of the sandbox's network namespace (a bind-mounted netns file or
   * `/proc/<infra pid>/ns/net`); `''` for a pod on the host's network. Throws NotFound.
   */
  netnsPath(podSandboxId: string): Promise<string>;
}

/** The exec sessions as streaming uses them (containers/exec.ts's ExecService). */
export interface StreamingExecs {
  create(ref: string, body: Partial<ExecConfig>): ExecRecord;
  start(id: string, o: { consoleSize?: [number, number]; attach?: (s: SeqpacketSocket) => void }): Promise<{ done: Promise<number> }>;
  resize(id: string, height: number, width: number): Promise<void>;
}

/** The containers as attach uses them (containers/service.ts's ContainerService). */
export interface StreamingContainers {
  get(ref: string): Container;
  attachSocket(c: Container): Promise<SeqpacketSocket>;
  resize(ref: string, height: number, width: number): Promise<void>;
}

export interface BerthStreamingDeps {
  execs: StreamingExecs;
  containers: StreamingContainers;
  netns: SandboxNetns;
  /** The tools port forwarding spawns (default from PATH). */
  nsenter?: string;
  socat?: string;
}

/** conmon's attach socket packets: a stream byte, then the bytes. */
const STREAM_STDOUT = 2;
const STREAM_STDERR = 3;

export class BerthStreamingRuntime implements StreamingRuntime {
  constructor(private readonly d: BerthStreamingDeps) {}

  async exec(containerId: string, cmd: string[], io: CommandIO): Promise<{ exitCode: number }> {
    const rec = this.d.execs.create(containerId, {
      Cmd: cmd,
      Tty: io.tty,
      AttachStdin: io.stdin !== undefined,
      AttachStdout: io.stdout !== undefined,
      AttachStderr: io.stderr !== undefined,
    });
    let output: Promise<'output-ended' | 'client-gone'> = Promise.resolve('output-ended');
    const { first, rest } = await firstSize(io.resize, 1000);
    const { done } = await this.d.execs.start(rec.ID, {
      ...(first ? { consoleSize: [first.height, first.width] as [number, number] } : {}),
      attach: (sock) => {
        output = joinStreams(sock, io);
      },
    });
    const resizing = applyResizes(rest, (s) => this.d.execs.resize(rec.ID, s.height, s.width));
    // A terminal whose client went away hangs up, as closing a terminal does: the process gets
    // SIGHUP (conmon keeps the pty's master open, so the kernel would not send it). Without a
    // TTY the client's going ends stdin instead, which is what a command reading it sees.
    void output.then((how) => {
      if (how === 'client-gone' && io.tty && rec.Running && rec.Pid > 0) hangUp(rec.Pid);
    });
    const exitCode = await done;
    // The exit code comes on conmon's sync pipe; the output may still be in flight on the socket.
    await output;
    void resizing;
    return { exitCode };
  }

  async attach(containerId: string, io: CommandIO): Promise<void> {
    const c = this.d.containers.get(containerId);
    if (!c.State.Running) throw conflict(`container ${c.ID} is not running`);
    const sock = await this.d.containers.attachSocket(c);
    const output = joinStreams(sock, io);
    void applyResizes(io.resize, (s) => this.d.containers.resize(c.ID, s.height, s.width));
    // Leaving an attach leaves the container running (no hangup: it is not the client's terminal).
    await output;
  }

  async portForward(podSandboxId: string, port: number, conn: Duplex): Promise<void> {
    const netnsPath = await this.d.netns.netnsPath(podSandboxId);
    if (netnsPath === '') return forwardHost(port, conn);
    // The pod's loopback as a Go client's "localhost" dial has it: IPv4, then IPv6.
    const refused: string[] = [];
    for (const target of [`TCP4:127.0.0.1:${port}`, `TCP6:[::1]:${port}`]) {
      const child = await this.dial(netnsPath, target);
      if ('failed' in child) {
        refused.push(child.failed);
        continue;
      }
      return relay(child.proc, child.closed, conn);
    }
    throw system(`failed to connect to localhost:${port} inside the pod's network namespace: ${refused.join('; ')}`);
  }

  /** socat connected to `target` in the namespace, or why it could not connect (it has exited then). */
  private dial(netnsPath: string, target: string): Promise<{ proc: ChildProcessWithoutNullStreams; closed: Promise<unknown> } | { failed: string }> {
    const socat = this.d.socat ?? 'socat';
    // -d -d: socat says when it connected ("starting data transfer loop"), before reading stdin.
    const proc = spawn(this.d.nsenter ?? 'nsenter', [`--net=${netnsPath}`, socat, '-d', '-d', '-', target], { stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stdin.on('error', () => undefined);
    const closed = new Promise((r) => proc.once('close', r));
    return new Promise((resolve, reject) => {
      let log = '';
      const onLog = (b: Buffer): void => {
        log = (log + b.toString()).slice(-4000);
        if (/starting data transfer loop/.test(log)) {
          proc.stderr.off('data', onLog);
          proc.stderr.resume();
          resolve({ proc, closed });
        }
      };
      proc.stderr.on('data', onLog);
      proc.once('error', (err) => reject(unavailable(`cannot forward: ${socat}: ${err.message} (is socat installed?)`)));
      proc.once('close', (code) => {
        const err = / E (.*)$/m.exec(log)?.[1] ?? `socat exited with ${code}`;
        resolve({ failed: /Connection refused/i.test(err) ? `${target}: connection refused` : `${target}: ${err}` });
      });
    });
  }
}

/** Copies between the forwarded connection and a connected socat until either side ends. */
async function relay(proc: ChildProcessWithoutNullStreams, closed: Promise<unknown>, conn: Duplex): Promise<void> {
  conn.pipe(proc.stdin);
  proc.stdout.pipe(conn, { end: false });
  const onGone = (): void => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
  };
  conn.on('close', onGone);
  await closed;
  conn.off('close', onGone);
  conn.unpipe(proc.stdin);
}

/** A pod on the host network: a plain connection. */
function forwardHost(port: number, conn: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      conn.pipe(s);
      s.pipe(conn, { end: false });
    });
    s.once('error', (err) => reject(system(`failed to connect to 127.0.0.1:${port}: ${err.message}`)));
    s.once('close', () => resolve());
    conn.once('close', () => s.destroy());
  });
}

/**
 * Joins a monitor's attach socket to the command's streams: output packets to stdout/stderr (a
 * TTY's all come as stdout), stdin to input, the client's end of stdin as the socket's
 * half-close. Resolves when the output has ended or the client went away.
 */
function joinStreams(sock: SeqpacketSocket, io: CommandIO): Promise<'output-ended' | 'client-gone'> {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (how: 'output-ended' | 'client-gone'): void => {
      if (finished) return;
      finished = true;
      io.stdin?.off('data', onInput);
      sock.destroy();
      resolve(how);
    };
    sock.on('data', (buf: Buffer) => {
      const payload = buf.subarray(1);
      if (payload.length === 0) return;
      const out = buf[0] === STREAM_STDERR && !io.tty ? io.stderr : buf[0] === STREAM_STDOUT || io.tty ? io.stdout : undefined;
      if (out && !out.destroyed && !out.writableEnded) out.write(payload);
    });
    sock.on('end', () => finish('output-ended'));
    sock.on('close', () => finish('output-ended'));
    sock.on('error', () => finish('output-ended'));
    const onInput = (chunk: Buffer): void => {
      for (let i = 0; i < chunk.length; i += 8192) sock.write(chunk.subarray(i, i + 8192));
    };
    if (io.stdin) {
      io.stdin.on('data', onInput);
      io.stdin.once('end', () => {
        if (!finished) sock.end();
      });
    }
    // The client went away (the session closed): nothing left to deliver to.
    for (const s of [io.stdout, io.stderr]) s?.once('close', () => finish('client-gone'));
  });
}

function hangUp(pid: number): void {
  try {
    process.kill(pid, 'SIGHUP');
  } catch {
    /* already gone */
  }
}

/** Applies the client's terminal sizes as they come, in order. */
async function applyResizes(sizes: AsyncIterable<TerminalSize> | undefined, apply: (s: TerminalSize) => Promise<void>): Promise<void> {
  if (!sizes) return;
  try {
    for await (const s of sizes) await apply(s).catch(() => undefined);
  } catch {
    /* the stream went away */
  }
}

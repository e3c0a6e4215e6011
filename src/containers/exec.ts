/**
 * Exec sessions: processes started inside running containers (`docker exec`). Each runs under
 * its own conmon in exec mode, so it survives a berthd restart like the container does.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { SeqpacketSocket } from 'node-unix-socket';
import { conflict, invalid, messageOf, notFound } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { span } from '../lib/trace.js';
import { resizeTerminal, startExec } from '../runtime/monitor.js';
import { readLog } from '../runtime/logs.js';
import { goDuration } from '../lib/duration.js';
import type { OciProcess } from '../runtime/oci.js';
import type { Container } from './types.js';

export interface ExecConfig {
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  DetachKeys: string;
  Tty: boolean;
  Env: string[];
  Cmd: string[];
  Privileged: boolean;
  User: string;
  WorkingDir: string;
  ConsoleSize?: [number, number] | null;
}

export interface ExecRecord {
  ID: string;
  ContainerID: string;
  Config: ExecConfig;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  started: boolean;
  dir: string;
}

/** Finished sessions are forgotten after this long, as dockerd cleans its exec store. */
const KEEP_FINISHED_MS = 10 * 60 * 1000;

/** What exec needs from the rest of the engine (wired in daemon.ts). */
export interface ExecDeps {
  /** A container's current record by reference; throws NotFound. */
  get(ref: string): Container;
  /** The process part of the container's spec for `args` run inside it (containers/specinputs.ts). */
  execProcess(
    c: Container,
    o: { args: string[]; env: string[]; user: string; cwd: string; tty: boolean; privileged: boolean; consoleSize?: unknown },
  ): OciProcess;
  /** The runtime binary and global arguments, and the dir of conmon's short attach-socket links. */
  runtime: { binary: string; args: string[]; socketDir: string };
  /** Publishes a container event with dockerd's attributes. */
  publish(c: Container, action: string, extra?: Record<string, string>): void;
}

export class ExecService {
  private readonly execs = new Map<string, ExecRecord>();

  constructor(
    private readonly containers: ExecDeps,
    private readonly execRoot: string,
  ) {}

  create(ref: string, body: Partial<ExecConfig>): ExecRecord {
    const c = this.containers.get(ref);
    if (!c.State.Running) throw conflict(`container ${c.ID} is not running`);
    if (c.State.Paused) throw conflict(`container ${c.ID} is paused, unpause the container before exec`);
    if (c.State.Restarting) throw conflict(`container ${c.ID} is restarting, wait until the container is running`);
    const cmd = body.Cmd;
    if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((x) => typeof x === 'string')) throw invalid('No exec command specified');
    if (body.Env !== undefined && body.Env !== null && !(Array.isArray(body.Env) && body.Env.every((e) => typeof e === 'string'))) {
      throw invalid('invalid environment: Env must be a list of strings');
    }
    const id = newId();
    const rec: ExecRecord = {
      ID: id,
      ContainerID: c.ID,
      Config: {
        AttachStdin: body.AttachStdin === true,
        AttachStdout: body.AttachStdout === true,
        AttachStderr: body.AttachStderr === true,
        DetachKeys: body.DetachKeys ?? '',
        Tty: body.Tty === true,
        Env: body.Env ?? [],
        Cmd: cmd,
        Privileged: body.Privileged === true,
        User: body.User ?? '',
        WorkingDir: body.WorkingDir ?? '',
        ConsoleSize: body.ConsoleSize ?? null,
      },
      Running: false,
      ExitCode: null,
      Pid: 0,
      started: false,
      dir: path.join(this.execRoot, 'exec', id),
    };
    this.execs.set(id, rec);
    this.containers.publish(c, `exec_create: ${execAction(cmd)}`, { execID: id });
    return rec;
  }

  get(id: string): ExecRecord {
    const rec = this.execs.get(id);
    if (!rec) throw notFound(`No such exec instance: ${id}`);
    return rec;
  }

  /**
   * Starts the process. `attach` (when the client attaches) receives the monitor's attach
   * socket before the process runs. Resolves once it runs; `done` resolves with its exit code.
   */
  async start(
    id: string,
    o: {
      tty?: boolean;
      consoleSize?: unknown;
      attach?: (s: SeqpacketSocket) => void;
      /** Runs once the process exited, before the session directory (and its log) is removed. */
      beforeCleanup?: (dir: string) => Promise<void>;
    },
  ): Promise<{ done: Promise<number> }> {
    const rec = this.get(id);
    if (rec.started) throw conflict(`Error: Exec command ${id} has already run`);
    const c = this.containers.get(rec.ContainerID);
    if (!c.State.Running) throw conflict(`container ${c.ID} is not running`);
    if (c.State.Paused) throw conflict(`container ${c.ID} is paused, unpause the container before exec`);
    rec.started = true;
    const tty = o.tty ?? rec.Config.Tty;
    let proc;
    try {
      proc = this.containers.execProcess(c, {
        args: rec.Config.Cmd,
        env: rec.Config.Env,
        user: rec.Config.User,
        cwd: rec.Config.WorkingDir,
        tty,
        privileged: rec.Config.Privileged,
        consoleSize: o.consoleSize ?? rec.Config.ConsoleSize,
      });
    } catch (err) {
      // e.g. an unknown user: dockerd reports it and records 126.
      rec.ExitCode = 126;
      throw invalid(messageOf(err));
    }
    const t = span('exec');
    await fs.mkdir(rec.dir, { recursive: true, mode: 0o700 });
    const specPath = path.join(rec.dir, 'process.json');
    await fs.writeFile(specPath, JSON.stringify(proc), { mode: 0o600 });
    const rt = this.containers.runtime;
    let session;
    try {
      session = await startExec({
        containerId: c.ID,
        handle: `x${id.slice(0, 15)}`,
        runtime: rt.binary,
        runtimeArgs: rt.args,
        dir: rec.dir,
        socketDir: rt.socketDir,
        processSpecPath: specPath,
        tty,
        stdin: rec.Config.AttachStdin,
        ...(o.attach ? { attach: o.attach } : {}),
      });
    } catch (err) {
      rec.ExitCode = /executable file not found|no such file or directory/.test(messageOf(err)) ? 127 : 126;
      await this.cleanup(rec);
      throw invalid(`OCI runtime exec failed: ${cleanMessage(messageOf(err))}: unknown`);
    }
    t.mark('started');
    rec.Running = true;
    rec.Pid = session.pid;
    this.containers.publish(c, `exec_start: ${execAction(rec.Config.Cmd)}`, { execID: id });
    const done = session.exited.then(async (code) => {
      t.mark('exited');
      t.end();
      rec.Running = false;
      rec.ExitCode = code;
      rec.Pid = 0;
      this.containers.publish(c, 'exec_die', { execID: id, exitCode: String(code) });
      await o.beforeCleanup?.(rec.dir).catch(() => undefined);
      await this.cleanup(rec);
      setTimeout(() => this.execs.delete(id), KEEP_FINISHED_MS).unref();
      return code;
    });
    return { done };
  }

  /**
   * Runs a command in the container without a client (healthcheck probes): the output (stdout and
   * stderr, from the session's log) and exit code; after `timeoutMs` the process is killed and
   * the result is dockerd's timeout result.
   */
  async probe(ref: string, cmd: string[], o: { timeoutMs: number }): Promise<{ exitCode: number; output: string }> {
    const c = this.containers.get(ref);
    const rec = this.create(c.ID, { Cmd: cmd, User: c.Config.User, WorkingDir: c.Config.WorkingDir });
    let output = '';
    const { done } = await this.start(rec.ID, {
      tty: false,
      beforeCleanup: async (dir) => {
        const parts: Buffer[] = [];
        for await (const e of readLog(path.join(dir, 'log'))) parts.push(e.line);
        output = Buffer.concat(parts).toString();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), o.timeoutMs)));
    const first = await Promise.race([done, timedOut]);
    if (timer) clearTimeout(timer);
    // Probes leave no exec record behind (dockerd drops them too).
    void done.finally(() => this.execs.delete(rec.ID));
    if (first === 'timeout') {
      if (rec.Pid > 0) {
        try {
          process.kill(rec.Pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      return { exitCode: -1, output: `Health check exceeded timeout (${goDuration(o.timeoutMs)})` };
    }
    return { exitCode: first, output };
  }

  /**
   * CRI's ExecSync: runs `cmd` to its end and returns its stdout and stderr apart; at
   * `timeoutMs` (0: none) the process is killed and `timedOut` set. No exec record is kept.
   */
  async execSync(ref: string, cmd: string[], o: { timeoutMs: number }): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer; timedOut: boolean }> {
    const c = this.containers.get(ref);
    const rec = this.create(c.ID, { Cmd: cmd, User: c.Config.User, WorkingDir: c.Config.WorkingDir });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const { done } = await this.start(rec.ID, {
      tty: false,
      beforeCleanup: async (dir) => {
        for await (const e of readLog(path.join(dir, 'log'))) (e.stream === 'stderr' ? err : out).push(e.line);
      },
    });
    void done.finally(() => this.execs.delete(rec.ID));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (o.timeoutMs > 0) timer = setTimeout(() => resolve('timeout'), o.timeoutMs);
    });
    const first = await Promise.race([done, timedOut]);
    if (timer) clearTimeout(timer);
    if (first === 'timeout') {
      try {
        if (rec.Pid > 0) process.kill(rec.Pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      const code = await done.catch(() => -1);
      return { exitCode: code, stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut: true };
    }
    return { exitCode: first, stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut: false };
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    const rec = this.get(id);
    if (!rec.Running) throw conflict(`Exec ${id} is not running`);
    if (!rec.Config.Tty) return;
    await resizeTerminal(rec.dir, height, width).catch(() => undefined);
  }

  /** A client left an exec session with the detach keys: dockerd's `exec_detach` event. */
  detached(id: string): void {
    const rec = this.execs.get(id);
    if (!rec) return;
    try {
      this.containers.publish(this.containers.get(rec.ContainerID), 'exec_detach', { execID: id });
    } catch {
      /* the container is gone */
    }
  }

  inspect(id: string): Record<string, unknown> {
    const rec = this.get(id);
    const c = this.containers.get(rec.ContainerID);
    return {
      CanRemove: false,
      ContainerID: rec.ContainerID,
      DetachKeys: rec.Config.DetachKeys,
      ExitCode: rec.ExitCode,
      ID: rec.ID,
      OpenStderr: rec.Config.AttachStderr,
      OpenStdin: rec.Config.AttachStdin,
      OpenStdout: rec.Config.AttachStdout,
      ProcessConfig: {
        arguments: rec.Config.Cmd.slice(1),
        entrypoint: rec.Config.Cmd[0],
        privileged: rec.Config.Privileged,
        tty: rec.Config.Tty,
        user: rec.Config.User,
      },
      Running: rec.Running,
      Pid: rec.Pid,
      ...(c ? {} : {}),
    };
  }

  /** Exec IDs of a container (inspect's ExecIDs). */
  idsOf(containerId: string): string[] {
    return [...this.execs.values()].filter((e) => e.ContainerID === containerId && e.Running).map((e) => e.ID);
  }

  forgetContainer(containerId: string): void {
    for (const [id, e] of this.execs) if (e.ContainerID === containerId) this.execs.delete(id);
  }

  private async cleanup(rec: ExecRecord): Promise<void> {
    const rt = this.containers.runtime;
    await fs.rm(path.join(rt.socketDir, `x${rec.ID.slice(0, 15)}`), { force: true });
    await fs.rm(rec.dir, { recursive: true, force: true });
  }
}

function cleanMessage(msg: string): string {
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(msg);
  if (!m) return msg;
  try {
    return JSON.parse(`"${m[1]}"`) as string;
  } catch {
    return m[1] as string;
  }
}

/** The command part of dockerd's exec event actions: entrypoint, a blank, the arguments. */
export function execAction(cmd: string[]): string {
  return `${cmd[0] ?? ''} ${cmd.slice(1).join(' ')}`;
}

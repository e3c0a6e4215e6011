/**
 * The containers' monitors (conmon, runtime/monitor.ts) as the life cycle uses them: their files
 * in the exec root, starting one for a container (runc create under it), the attach socket,
 * signals to the container's init, the terminal size, OOM evidence, and ending a monitor left
 * by an interrupted start (with the PIDs recovery's /proc scan found).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { SeqpacketSocket } from 'node-unix-socket';
import { messageOf, system } from '../lib/errors.js';
import { readOomKilled } from '../runtime/cgroups.js';
import { logLimits } from '../runtime/logconfig.js';
import { sendReopenLogs } from '../runtime/winsize.js';
import { attachSocketPath, connectAttach, monitorAlive, resizeTerminal, startMonitor, type MonitorPaths, type MonitorStarted } from '../runtime/monitor.js';
import { startError } from './runcerrors.js';
import { containerCgroupsPath } from './specinputs.js';
import type { Container } from './types.js';

export interface ContainerMonitorsOptions {
  execRoot: string;
  /** Where conmon writes exit codes (the exit watcher's dir). */
  exitDir: string;
  /** The runtime conmon runs: its binary and global arguments (runc's --root). */
  runtime: { binary: string; args: string[] };
  /** Parent of every container cgroup (a container's CgroupParent wins). */
  cgroupParent: string;
}

export class ContainerMonitors {
  /** While recovery runs: the container monitors its /proc scan found, by container ID. */
  private hints: Map<string, number[]> | undefined;

  constructor(private readonly o: ContainerMonitorsOptions) {}

  /** The container's exec-root dir: the OCI bundle and the monitor's files. */
  runDir(id: string): string {
    return path.join(this.o.execRoot, 'containers', id);
  }

  /** Where conmon puts its short links to attach sockets (108-byte socket path limit). */
  get socketDir(): string {
    return path.join(this.o.execRoot, 'sock');
  }

  paths(c: Container): MonitorPaths {
    const run = this.runDir(c.ID);
    return {
      bundle: run,
      logPath: c.LogPath,
      exitDir: this.o.exitDir,
      socketDir: this.socketDir,
      persistDir: path.join(run, 'persist'),
      pidFile: path.join(run, 'pidfile'),
      monitorPidFile: path.join(run, 'conmon.pid'),
    };
  }

  /** conmon's pidfile of the container's monitor. */
  monitorPidFile(c: Container): string {
    return this.paths(c).monitorPidFile;
  }

  /** Starts the container's monitor, which runs `runc create` on its bundle (failures as dockerd words them). */
  async launch(c: Container): Promise<MonitorStarted> {
    return startMonitor({
      id: c.ID,
      handle: c.ID.slice(0, 12),
      name: c.Name.slice(1),
      runtime: this.o.runtime.binary,
      runtimeArgs: this.o.runtime.args,
      paths: this.paths(c),
      stdin: c.Config.OpenStdin,
      // A TTY's end of input is Ctrl-D inside the terminal, so a detaching client must not close
      // it; without a TTY, StdinOnce closes stdin when the attached client's input ends.
      leaveStdinOpen: !c.Config.StdinOnce || c.Config.Tty,
      tty: c.Config.Tty,
      ...logOptions(c),
    }).catch((err: unknown) => {
      throw startError(err);
    });
  }

  /** The attach socket of a container whose monitor runs. */
  attachSocket(c: Container): Promise<SeqpacketSocket> {
    return connectAttach(attachSocketPath(this.paths(c), c.ID.slice(0, 12)));
  }

  /** Signals the container's init directly: faster than spawning `runc kill`. */
  async signal(c: Container, sig: number): Promise<void> {
    if (!c.State.Pid) return;
    try {
      process.kill(c.State.Pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw system(`cannot signal container ${c.ID}: ${messageOf(err)}`);
    }
  }

  /** Makes the container's monitor reopen its log file (after the file was moved away: log rotation). */
  async reopenLog(c: Container): Promise<void> {
    await sendReopenLogs(this.runDir(c.ID));
  }

  /** Sets the terminal size of a TTY container (best effort). */
  async resize(c: Container, height: number, width: number): Promise<void> {
    await resizeTerminal(this.runDir(c.ID), height, width).catch(() => undefined);
  }

  /** Whether the container's last run was OOM-killed: conmon's marker, else the cgroup's count. */
  async oomKilled(c: Container): Promise<boolean> {
    try {
      await fs.access(path.join(this.runDir(c.ID), 'persist', 'oom'));
      return true;
    } catch {
      /* conmon saw none; ask the cgroup */
    }
    try {
      return readOomKilled(containerCgroupsPath(c, this.o.cgroupParent)) > 0;
    } catch {
      return false;
    }
  }

  /** Monitors recovery found running, by container ID (undefined when it is done). */
  setHints(monitors: Map<string, number[]> | undefined): void {
    this.hints = monitors;
  }

  /** Ends a monitor left from an interrupted start (conmon outlives runc's container). */
  async kill(c: Container): Promise<void> {
    const pids = new Set<number>();
    if (c.MonitorPid) pids.add(c.MonitorPid);
    const fromFile = Number.parseInt(await fs.readFile(this.monitorPidFile(c), 'utf8').catch(() => ''), 10);
    if (fromFile > 0) pids.add(fromFile);
    for (const pid of this.hints?.get(c.ID) ?? []) pids.add(pid);
    for (const pid of pids) {
      if (!(await monitorAlive(pid))) continue;
      // Only a monitor of this container: its command line names the container ID.
      const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (!cmd.includes(c.ID)) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        continue;
      }
      const deadline = Date.now() + 5000;
      while ((await monitorAlive(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** conmon's `--log-size-max` for the container's json-file max-size; no log for the `none` driver. */
function logOptions(c: Container): { logSizeMax?: number; noLog?: boolean } {
  if (c.HostConfig.LogConfig.Type === 'none') return { noLog: true };
  try {
    const { maxSize } = logLimits(c.HostConfig.LogConfig);
    return maxSize !== undefined ? { logSizeMax: maxSize } : {};
  } catch {
    return {};
  }
}

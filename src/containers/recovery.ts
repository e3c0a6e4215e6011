/**
 * Live restore and crash recovery at daemon start: records reconciled with what runs. Monitors
 * that survived keep their containers; exits recorded while berthd was down are applied;
 * containers whose monitor is gone without an exit file are marked exited (255). What an
 * operation cut short left is finished or undone: removals and build steps, commit's pause,
 * starts cut short, runtimes of IDs with no record. Then restart policies apply.
 * See docs/architecture.md ("Live restore") for the rules.
 */
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { messageOf } from '../lib/errors.js';
import { cgroupDirs } from '../runtime/cgroups.js';
import { monitorAlive } from '../runtime/monitor.js';
import type { Runc } from '../runtime/runc.js';
import type { Snapshotter } from '../snapshots/snapshotter.js';
import type { MountManager } from '../volumes/mounts.js';
import type { Image } from '../images/types.js';
import type { ContainerMonitors } from './monitors.js';
import type { PauseControl } from './pause.js';
import { containerCgroupsPath } from './specinputs.js';
import type { ContainerStore } from './store.js';
import { ZERO_TIME, type Container } from './types.js';

/** What recovery needs from the life cycle (implemented by ContainerService). */
export interface RecoveryLifecycle {
  /** Removes a container (runtime state, monitor, mounts, network, volumes, record). */
  remove(ref: string, opts: { force?: boolean; removeVolumes?: boolean }): Promise<void>;
  /** Applies an exit as the exit watcher does (state, cleanup, restart policy, auto-remove). */
  applyExit(id: string, code: number): Promise<void>;
  /** Starts a container under its lock (a restart policy at daemon start). */
  startFromRecovery(c: Container): Promise<void>;
  /** The mount point of the container's rootfs. */
  rootfsTarget(c: Container): string;
  /** The container's exec-root dir. */
  runDir(id: string): string;
}

export interface RecoveryDeps {
  lifecycle: RecoveryLifecycle;
  /** Commit's pause: its marker says a crash left a container frozen. */
  pauses: Pick<PauseControl, 'commitPausedMarker'>;
  /** The containers' monitors: their pidfiles; ending one (with the PIDs the scan found as hints). */
  monitors: Pick<ContainerMonitors, 'monitorPidFile' | 'kill' | 'setHints'>;
  store: Pick<ContainerStore, 'list' | 'find' | 'save'>;
  images: { byId(id: string): Image | undefined };
  runc: Pick<Runc, 'state' | 'hasState' | 'delete' | 'resume' | 'stateDir' | 'opts'>;
  mounts: Pick<Snapshotter, 'adopt' | 'forceRelease'>;
  exits: { dir: string; consume(id: string): Promise<void> };
  volumeMounts: Pick<MountManager, 'teardown'>;
  /** The daemon's cgroup parent (orphans' cgroups are under it). */
  cgroupParent: string;
  /** Where conmon puts its short links to attach sockets. */
  socketDir: string;
}

export class Recovery {
  /** While recover() runs: the host's mount points and the container monitors found running. */
  private scan: { mounts: Set<string>; monitors: Map<string, number[]>; creates: Map<string, number[]> } | undefined;

  constructor(private readonly d: RecoveryDeps) {}

  /**
   * Removes links in sock/ whose target is gone (containers removed, exec sessions ended while
   * berthd was down, or by an older berthd that never removed them); live ones stay.
   */
  private async removeStaleSocketLinks(): Promise<number> {
    let names: string[];
    try {
      names = await fs.readdir(this.d.socketDir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const n of names) {
      const link = path.join(this.d.socketDir, n);
      const st = await fs.lstat(link).catch(() => undefined);
      if (!st?.isSymbolicLink()) continue;
      const alive = await fs.stat(link).then(
        () => true,
        () => false,
      );
      if (alive) continue;
      await fs.rm(link, { force: true });
      removed++;
    }
    return removed;
  }

  /**
   * Live restore: reconcile records with what runs. Monitors that survived keep their
   * containers; exits recorded while berthd was down are applied; containers whose monitor is
   * gone without an exit file (a reboot) are marked exited. What an interrupted operation left
   * is finished or undone: removals (`removing`, with `rm -v`'s volumes), build steps, commit's
   * pause, and starts cut short (runc containers in `created`, their `runc init` and conmon,
   * rootfs mounts). Then restart policies apply.
   */
  async recover(): Promise<void> {
    await this.removeStaleSocketLinks();
    this.scan = { mounts: mountPoints(), ...runtimeProcesses(this.d.exits.dir, this.d.runc.opts) };
    this.d.monitors.setHints(this.scan.monitors);
    try {
      for (const c of this.d.store.list()) {
        await this.recoverOne(c).catch((err: unknown) => process.emitWarning(`recovery of ${c.ID.slice(0, 12)}: ${messageOf(err)}`));
      }
      await this.removeOrphanRuntimes();
    } finally {
      this.scan = undefined;
      this.d.monitors.setHints(undefined);
    }
    // Restart policies at daemon start, as dockerd applies them.
    for (const c of this.d.store.list()) {
      if (c.State.Running) continue;
      const p = c.HostConfig.RestartPolicy.Name;
      const wasRestarting = c.State.Restarting;
      const should = p === 'always' || (p === 'unless-stopped' && !c.HasBeenManuallyStopped) || (wasRestarting && p === 'on-failure');
      if (should && c.HasBeenStartedBefore) {
        c.State.Restarting = false;
        await this.d.lifecycle.startFromRecovery(c).catch((err: unknown) => {
          process.emitWarning(`restart of ${c.ID.slice(0, 12)} failed: ${messageOf(err)}`);
        });
      } else if (wasRestarting) {
        c.State.Restarting = false;
        c.State.Status = 'exited';
        await this.d.store.save(c);
      }
    }
  }

  private async recoverOne(c: Container): Promise<void> {
    // An interrupted removal or build step: finished now (runtime state, mounts, volumes, record).
    if (c.State.Status === 'removing' || c.BuildStep) {
      Object.assign(c.State, { Status: 'exited', Running: false, Paused: false, Restarting: false });
      await this.d.lifecycle.remove(c.ID, { force: true, removeVolumes: c.RemoveVolumes === true });
      return;
    }
    await this.thawAfterCommit(c);
    if (!c.State.Running && !c.State.Restarting) {
      await this.recoverStopped(c);
      return;
    }
    const image = this.d.images.byId(c.Image);
    if (c.State.Running && (await monitorAlive(c.MonitorPid))) {
      if (image) this.d.mounts.adopt(c.ID);
      const st = await this.d.runc.state(c.ID);
      if (st && c.State.Paused !== (st.status === 'paused')) {
        c.State.Paused = st.status === 'paused';
        c.State.Status = c.State.Paused ? 'paused' : 'running';
        await this.d.store.save(c);
      }
      return;
    }
    const exitFile = path.join(this.d.exits.dir, c.ID);
    let code: number | undefined;
    try {
      code = Number.parseInt(readFileSync(exitFile, 'utf8').trim(), 10);
    } catch {
      code = undefined;
    }
    if (code !== undefined && !Number.isNaN(code) && c.State.Running) {
      if (image) this.d.mounts.adopt(c.ID);
      await this.d.lifecycle.applyExit(c.ID, code);
      return;
    }
    // The monitor is gone and left no exit code (machine restart, or killed): it exited.
    await this.d.runc.delete(c.ID, true).catch(() => undefined);
    if (image) await this.d.mounts.forceRelease(c.ID, this.d.lifecycle.rootfsTarget(c));
    Object.assign(c.State, {
      Status: 'exited',
      Running: false,
      Paused: false,
      Restarting: c.State.Restarting,
      Pid: 0,
      ExitCode: c.State.Restarting ? c.State.ExitCode : 255,
      FinishedAt: c.State.FinishedAt === ZERO_TIME ? new Date().toISOString() : c.State.FinishedAt,
    });
    c.MonitorPid = 0;
    await this.d.store.save(c);
  }

  /**
   * Monitors, `runc create` processes and runc containers of IDs with no record (a removal the
   * crash cut after the record went): ended, so nothing runs that no container owns.
   */
  private async removeOrphanRuntimes(): Promise<void> {
    const ids = new Set([...(this.scan?.monitors.keys() ?? []), ...(this.scan?.creates.keys() ?? [])]);
    for (const name of await fs.readdir(this.d.runc.opts.root).catch(() => [] as string[])) if (/^[0-9a-f]{64}$/.test(name)) ids.add(name);
    for (const id of ids) {
      if (this.d.store.find(id)) continue;
      for (const pid of [...(this.scan?.monitors.get(id) ?? []), ...(this.scan?.creates.get(id) ?? [])]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await this.d.runc.delete(id, true).catch(() => undefined);
      await killCgroup(`${this.d.cgroupParent.replace(/\/$/, '')}/${id}`);
      await fs.rm(this.d.runc.stateDir(id), { recursive: true, force: true });
      try {
        // Only once the rootfs is unmounted (with its volume and bind submounts) may the bundle
        // dir be removed recursively: an rm through a live mount would delete the host's files.
        await this.d.mounts.forceRelease(id, path.join(this.d.lifecycle.runDir(id), 'rootfs'));
        await fs.rm(this.d.lifecycle.runDir(id), { recursive: true, force: true });
      } catch (err) {
        process.emitWarning(`orphan runtime ${id.slice(0, 12)}: its bundle is kept: ${messageOf(err)}`);
      }
      await this.d.exits.consume(id);
    }
  }

  /** A container frozen by a `commit` that a crash interrupted is thawed. */
  private async thawAfterCommit(c: Container): Promise<void> {
    const marker = this.d.pauses.commitPausedMarker(c.ID);
    if (
      !(await fs.stat(marker).then(
        () => true,
        () => false,
      ))
    )
      return;
    const st = await this.d.runc.state(c.ID);
    if (st?.status === 'paused') await this.d.runc.resume(c.ID);
    await fs.rm(marker, { force: true });
    if (c.State.Paused) {
      // The record holds the pause only if something else wrote it meanwhile.
      Object.assign(c.State, { Paused: false, Status: c.State.Running ? 'running' : c.State.Status });
      await this.d.store.save(c);
    }
  }

  /**
   * A container the record says is not running: a start that the crash cut short may have left
   * a runc container (`created`, its `runc init` waiting on the exec fifo, or even started), its
   * conmon and its rootfs mount. A started one whose monitor lives is adopted as running; the
   * rest is cleaned away so the next `start` begins from nothing (no stale exit from the old
   * monitor), and the record stays as it was (Created, or its last exit).
   */
  private async recoverStopped(c: Container): Promise<void> {
    const monitorPidFile = this.d.monitors.monitorPidFile(c);
    const monitorPid = Number.parseInt(await fs.readFile(monitorPidFile, 'utf8').catch(() => ''), 10) || (this.scan?.monitors.get(c.ID)?.[0] ?? 0);
    const hasState = await this.d.runc.hasState(c.ID);
    const image = this.d.images.byId(c.Image);
    const target = path.join(this.d.lifecycle.runDir(c.ID), 'rootfs');
    const mounted = this.scan?.mounts.has(target) ?? false;
    const creating = (this.scan?.creates.get(c.ID)?.length ?? 0) > 0;
    if (!hasState && !mounted && !creating && !(monitorPid && (await monitorAlive(monitorPid)))) return;
    const st = hasState ? await this.d.runc.state(c.ID) : undefined;
    if (st?.status === 'running' && st.pid > 0 && monitorPid && (await monitorAlive(monitorPid)) && image) {
      // Started by runc, but the crash came before the record said so: it runs, so it is adopted.
      this.d.mounts.adopt(c.ID);
      const now = new Date().toISOString();
      Object.assign(c.State, {
        Status: 'running',
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: st.pid,
        ExitCode: 0,
        Error: '',
        StartedAt: now,
      });
      c.MonitorPid = monitorPid;
      c.HasBeenStartedBefore = true;
      await this.d.store.save(c);
      return;
    }
    // Half-started: the monitor first (so it records no exit for what is killed next) and a
    // `runc create` it left, then runc's container and its `runc init`, anything else left in
    // the container's cgroup, the exit file, the rootfs mount.
    await this.d.monitors.kill(c);
    for (const pid of this.scan?.creates.get(c.ID) ?? []) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (hasState || creating) await this.d.runc.delete(c.ID, true).catch(() => undefined);
    await killCgroup(containerCgroupsPath(c, this.d.cgroupParent));
    // A state dir `runc create` had only begun (no state.json): runc cannot delete what it cannot
    // load, and the next `runc create` would refuse the ID. Nothing of it runs any more.
    if (await this.d.runc.hasState(c.ID)) await fs.rm(this.d.runc.stateDir(c.ID), { recursive: true, force: true });
    await this.d.exits.consume(c.ID);
    await this.d.mounts.forceRelease(c.ID, image ? this.d.lifecycle.rootfsTarget(c) : target);
    await this.d.volumeMounts.teardown(c).catch(() => undefined);
    if (c.State.Pid !== 0 || c.MonitorPid !== 0) {
      Object.assign(c.State, { Pid: 0 });
      c.MonitorPid = 0;
      await this.d.store.save(c);
    }
  }

  /** Stops restart timers (daemon shutdown). Containers keep running. */
}

/** SIGKILLs what is left in a container's cgroups (a `runc init` without runtime state) and removes them. */
async function killCgroup(cgroupsPath: string): Promise<void> {
  const dirs = cgroupDirs(cgroupsPath);
  for (let round = 0; round < 50; round++) {
    let left = 0;
    for (const dir of dirs) {
      const procs = await fs.readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
      for (const pid of procs.split('\n').filter(Boolean).map(Number)) {
        left++;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const dir of dirs) await fs.rmdir(dir).catch(() => undefined);
}

/** Mount points of this mount namespace (from /proc/self/mountinfo, octal escapes decoded). */
function mountPoints(): Set<string> {
  const out = new Set<string>();
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp) out.add(mp.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/**
 * Container monitors (conmon, not exec sessions) of this daemon that are alive, by container ID
 * (their command line names the container with `-c` and this daemon's exit directory), and the
 * `runc create` processes of this daemon's runc root (a monitor's child, left when it is killed).
 */
function runtimeProcesses(exitDir: string, runc: { binary: string; root: string }): { monitors: Map<string, number[]>; creates: Map<string, number[]> } {
  const monitors = new Map<string, number[]>();
  const creates = new Map<string, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return { monitors, creates };
  }
  const add = (m: Map<string, number[]>, id: string, pid: number): void => void m.set(id, [...(m.get(id) ?? []), pid]);
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    while (args.length > 0 && args[args.length - 1] === '') args.pop();
    const at = (flag: string): string | undefined => {
      const i = args.indexOf(flag);
      return i >= 0 ? args[i + 1] : undefined;
    };
    if (args[0] === 'conmon') {
      if (args.includes('-e') || args.includes('--exec')) continue;
      const id = at('-c');
      if (id && at('--exit-dir') === exitDir) add(monitors, id, Number(e));
    } else if (path.basename(args[0] ?? '') === path.basename(runc.binary) && args.includes('create') && at('--root') === runc.root) {
      const id = args[args.length - 1];
      if (id && /^[0-9a-f]{64}$/.test(id)) add(creates, id, Number(e));
    }
  }
  return { monitors, creates };
}

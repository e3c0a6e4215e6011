/**
 * The container service: the life cycle of containers (create, start, stop, kill, wait, remove,
 * restart policies, live restore). It owns state transitions; the API layer only translates.
 *
 * Every transition of one container runs under that container's lock, so a stop racing an exit
 * or a remove racing a start sees one consistent record.
 */
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { EventBus } from '../events/bus.js';
import { linkEntry, linkNames } from '../network/links.js';
import { conflict, invalid, isCategory, messageOf, notFound, notModified, system, BerthError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { matchLabels } from '../lib/labels.js';
import { sizeRw } from './view.js';
import { parseTimestampMs } from '../lib/timestamp.js';
import { mkdirAll } from '../lib/atomic.js';
import { span } from '../lib/trace.js';
import { generateName, VALID_NAME } from '../lib/names.js';
import type { ImageStore } from '../images/store.js';
import type { Image } from '../images/types.js';
import { familiarName, parseReference } from '../images/reference.js';
import type { ActiveSnapshot, Snapshotter } from '../snapshots/snapshotter.js';
import { cgroupDirs, readOomKilled, resourcesToRuncUpdate, swapAccountingEnabled } from '../runtime/cgroups.js';
import {
  attachSocketPath,
  connectAttach,
  monitorAlive,
  resizeTerminal,
  startMonitor,
  type ExitWatcher,
  type MonitorPaths,
} from '../runtime/monitor.js';
import type { Runc } from '../runtime/runc.js';
import { deviceCgroupRule, devicesFromHostConfig } from '../runtime/devices.js';
import { resolveUser } from '../runtime/user.js';
import { logLimits, resolveLogConfig, type LogConfig } from '../runtime/logconfig.js';
import { buildContainer, validateResources, validateRestartPolicy, type CreateRequest } from './create.js';
import { writeEtcFiles } from './etcfiles.js';
import { KeyedLock } from './locks.js';
import { parseSignal, raceTimeout } from './signals.js';
import { Waiters, type WaitCondition, type WaitResult } from './waiters.js';
import { publishContainerEvent } from './events.js';
import { diskFullError, startError, startFailureExitCode } from './runcerrors.js';
import { containerCgroupsPath, resourcesOf, swapAccounting, type SpecInputs } from './specinputs.js';
import type { ContainerNetworking } from './networking.js';
import { RestartManager } from './restart.js';
import type { ContainerStore } from './store.js';
import { ZERO_TIME, type Container, type HostConfig } from './types.js';
import type { SeqpacketSocket } from 'node-unix-socket';
import type { MountManager, MountSetup } from '../volumes/mounts.js';

export interface ContainerServiceOptions {
  store: ContainerStore;
  images: ImageStore;
  /** Container root filesystems: snapshots of the image's layers, mounted on demand. */
  mounts: Snapshotter;
  runc: Runc;
  exits: ExitWatcher;
  events: EventBus;
  execRoot: string;
  /** Parent of every container cgroup, e.g. `/berth` (per daemon, so daemons don't collide). */
  cgroupParent: string;
  /** The inputs of the containers' OCI specs (containers/specinputs.ts). */
  spec: Pick<SpecInputs, 'specFor' | 'joinNamespaceDonors'>;
  /** Volumes, binds and tmpfs mounts (src/volumes/mounts.ts). */
  volumeMounts: MountManager;
  /** Networks: membership, addresses, interfaces, ports, the /etc files' contents. */
  network: ContainerNetworking;
  /** daemon.json's log-driver/log-opts (runtime/logconfig.ts); Berth's default cap without. */
  logDefaults?: LogConfig;
}

/** Called at start, after `runc create` and before `runc start`: connect attach streams here. */
export type PreStartHook = (socket: SeqpacketSocket | undefined) => void;

export class ContainerService {
  private readonly locks = new KeyedLock();
  private readonly waiters = new Waiters();
  private readonly preStart = new Map<string, PreStartHook[]>();
  /** Containers whose rootfs mounts `volatile` (build steps; in memory: after a restart they mount normally). */
  private readonly volatileRoots = new Set<string>();
  private readonly restarts: RestartManager;
  /** While recovery runs: the container monitors its /proc scan found, by container ID. */
  private monitorHints: Map<string, number[]> | undefined;

  constructor(private readonly o: ContainerServiceOptions) {
    this.restarts = new RestartManager((id) => this.restartFromPolicy(id));
    o.exits.on('exit', (id: string, code: number) => void this.applyExit(id, code));
  }

  /* ------------------------------------------------------------------ paths */

  runDir(id: string): string {
    return path.join(this.o.execRoot, 'containers', id);
  }

  /** The container's rootfs as a snapshot: its own files in its dir, mounted in its run dir. */
  private rootfsLayout(c: Container, image: Image): ActiveSnapshot {
    return {
      parents: image.chainIds,
      dir: this.o.store.dir(c.ID),
      target: path.join(this.runDir(c.ID), 'rootfs'),
      ...(this.volatileRoots.has(c.ID) ? { volatile: true } : {}),
    };
  }

  /** Where conmon puts its short links to attach sockets (108-byte socket path limit). */
  private get socketDir(): string {
    return path.join(this.o.execRoot, 'sock');
  }

  private monitorPaths(c: Container): MonitorPaths {
    const run = this.runDir(c.ID);
    return {
      bundle: run,
      logPath: c.LogPath,
      exitDir: this.o.exits.dir,
      socketDir: this.socketDir,
      persistDir: path.join(run, 'persist'),
      pidFile: path.join(run, 'pidfile'),
      monitorPidFile: path.join(run, 'conmon.pid'),
    };
  }

  private cgroupsPath(c: Container): string {
    return containerCgroupsPath(c, this.o.cgroupParent);
  }

  /* ------------------------------------------------------------------ queries */

  get(ref: string): Container {
    return this.o.store.get(ref);
  }

  list(): Container[] {
    return this.o.store.list();
  }

  imageOf(c: Container): Image | undefined {
    return this.o.images.byId(c.Image);
  }

  /** Whether any container uses an image (for rmi's conflict check). */
  usersOf(imageId: string): Container[] {
    return this.o.store.list().filter((c) => c.Image === imageId);
  }

  /* ------------------------------------------------------------------ create */

  /**
   * `volatileRootfs`: the rootfs ignores fsync (overlayfs `volatile`), for build steps whose
   * upper dir becomes a layer or is discarded; see ActiveSnapshot.volatile.
   */
  async create(req: CreateRequest, opts: { name?: string; volatileRootfs?: boolean; buildStep?: boolean }): Promise<Container> {
    const imageRef = req.Config.Image;
    if (typeof imageRef !== 'string' || imageRef === '') throw invalid('No image was specified');
    const image = this.o.images.find(imageRef);
    if (!image) throw notFound(`No such image: ${this.familiar(imageRef)}`);
    let name = opts.name ?? '';
    if (name !== '') {
      if (!VALID_NAME.test(name)) throw invalid(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      name = name.replace(/^\//, '');
      if (this.o.store.hasName(`/${name}`)) {
        throw this.o.store.nameConflict(`/${name}`, this.o.store.find(name)?.ID ?? '');
      }
    } else {
      for (let i = 0; ; i++) {
        name = generateName(i);
        if (!this.o.store.hasName(`/${name}`)) break;
      }
    }
    const t = span('create');
    const id = newId();
    const c = buildContainer({ id, name, image, imageRef, request: req });
    if (opts.volatileRootfs) this.volatileRoots.add(id);
    if (opts.buildStep) c.BuildStep = true;
    let endpoints = req.NetworkingConfig?.EndpointsConfig ?? undefined;
    const mac = typeof req.Config.MacAddress === 'string' ? req.Config.MacAddress : '';
    if (mac !== '') {
      // API < 1.44 clients set the MAC in Config: it belongs to the primary network's endpoint.
      const key = c.HostConfig.NetworkMode;
      endpoints = { ...(endpoints ?? {}), [key]: { ...(endpoints?.[key] ?? {}), MacAddress: mac } };
    }
    this.o.network.validateCreate(c.HostConfig.NetworkMode, endpoints, { bindings: c.HostConfig.PortBindings, exposed: c.Config.ExposedPorts });
    this.o.network.validateLinks(c);
    for (const mode of [c.HostConfig.IpcMode, c.HostConfig.PidMode]) {
      // dockerd resolves IPC and PID donors at create (400), the network donor only at start.
      if (mode?.startsWith('container:') && !this.o.store.find(mode.slice('container:'.length))) throw invalid(`No such container: ${mode.slice('container:'.length)}`);
    }
    c.HostConfig.LogConfig = resolveLogConfig(req.HostConfig?.LogConfig, this.o.logDefaults ?? { Type: 'json-file', Config: {} });
    const dir = this.o.store.dir(id);
    await mkdirAll(dir, 0o710);
    t.mark('mkdir');
    try {
      c.LogPath = path.join(dir, "container.log");
      // container:<X> uses X's files, set at start (dockerd's inspect shows none until then).
      if (!isContainerMode(c)) {
        c.HostnamePath = path.join(dir, 'hostname');
        c.HostsPath = path.join(dir, 'hosts');
        c.ResolvConfPath = path.join(dir, 'resolv.conf');
      }
      await this.o.volumeMounts.prepare(c, { imageVolumes: image.config.config?.Volumes, find: (r) => this.get(r) });
      await this.o.mounts.prepare(this.rootfsLayout(c, image));
      t.mark('layout');
      await writeEtcFiles(c, this.o.network);
      t.mark('etc');
      await this.o.network.created(c, endpoints);
      await this.o.store.add(c);
      t.mark('save');
      t.end();
    } catch (err) {
      this.volatileRoots.delete(id);
      await this.o.network.removed(c).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }
    this.event(c, 'create');
    return c;
  }

  private familiar(ref: string): string {
    try {
      return familiarName(parseReference(ref));
    } catch {
      return ref;
    }
  }

  /* ------------------------------------------------------------------ start */

  /** Registers a hook to run between create and start of the next start (attach streams). */
  onNextStart(id: string, hook: PreStartHook): () => void {
    const list = this.preStart.get(id) ?? [];
    list.push(hook);
    this.preStart.set(id, list);
    return () => {
      const l = this.preStart.get(id);
      if (l) this.preStart.set(id, l.filter((h) => h !== hook));
    };
  }

  async start(ref: string): Promise<void> {
    const c = this.get(ref);
    await this.locks.run(c.ID, async () => {
      if (c.State.Paused) throw conflict('cannot start a paused container, try unpause instead');
      if (c.State.Running) throw notModified();
      if (c.State.Status === 'removing') throw conflict(`container is marked for removal and cannot be started`);
      if (c.State.Dead) throw conflict(`container is marked for removal and cannot be started`);
      c.HasBeenManuallyStopped = false;
      this.restarts.cancel(c.ID);
      try {
        await this.startLocked(c);
      } catch (err) {
        // Attached clients learn of the failure by their stream closing.
        for (const hook of this.preStart.get(c.ID) ?? []) hook(undefined);
        this.preStart.delete(c.ID);
        if (c.HostConfig.AutoRemove) void this.remove(c.ID, { force: true, removeVolumes: true }).catch(() => undefined);
        throw err;
      }
    });
  }

  private async startLocked(c: Container): Promise<void> {
    const image = this.o.images.byId(c.Image);
    if (!image) throw notFound(`No such image: ${c.Image}`);
    const t = span('start');
    const run = this.runDir(c.ID);
    await fs.rm(path.join(run, 'persist'), { recursive: true, force: true });
    await fs.mkdir(path.join(run, 'persist'), { recursive: true });
    await fs.mkdir(path.join(this.o.execRoot, 'sock'), { recursive: true });
    await this.o.exits.consume(c.ID);
    // A previous run's runtime state (e.g. after a crash) would make `runc create` fail.
    if (await this.o.runc.hasState(c.ID)) await this.o.runc.delete(c.ID, true).catch(() => undefined);
    t.mark('prep');
    const layout = this.rootfsLayout(c, image);
    const rootfs = await this.o.mounts.acquire(c.ID, layout);
    t.mark('mount');
    let started = false;
    try {
      this.o.spec.joinNamespaceDonors(c);
      await this.o.network.prepare(c);
      t.mark('net');
      await writeEtcFiles(c, this.o.network);
      const volumeMounts = await this.o.volumeMounts.setup(c, rootfs);
      const spec = this.o.spec.specFor(c, rootfs, volumeMounts);
      t.mark('spec');
      // The bundle is derived from the record and rewritten at every start: no fsync needed.
      await fs.writeFile(path.join(run, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
      t.mark('write');
      const paths = this.monitorPaths(c);
      const mon = await startMonitor({
        id: c.ID,
        handle: c.ID.slice(0, 12),
        name: c.Name.slice(1),
        runtime: this.o.runc.opts.binary,
        runtimeArgs: this.o.runc.globalArgs(),
        paths,
        stdin: c.Config.OpenStdin,
        // A TTY's end of input is Ctrl-D inside the terminal, so a detaching client must not close
        // it; without a TTY, StdinOnce closes stdin when the attached client's input ends.
        leaveStdinOpen: !c.Config.StdinOnce || c.Config.Tty,
        tty: c.Config.Tty,
        ...logOptions(c),
      }).catch((err: unknown) => {
        throw startError(err);
      });
      t.mark('monitor');
      try {
        await this.o.network.attach(c, mon.pid);
      } catch (err) {
        await this.o.runc.delete(c.ID, true).catch(() => undefined);
        throw err;
      }
      t.mark('net-attach');
      const hooks = this.preStart.get(c.ID) ?? [];
      this.preStart.delete(c.ID);
      if (hooks.length > 0) {
        const sockPath = attachSocketPath(paths, c.ID.slice(0, 12));
        for (const hook of hooks) {
          try {
            hook(await connectAttach(sockPath));
          } catch (err) {
            process.emitWarning(`attach to ${c.ID.slice(0, 12)} failed: ${messageOf(err)}`);
          }
        }
      }
      try {
        await this.o.runc.start(c.ID);
      } catch (err) {
        await this.o.runc.delete(c.ID, true).catch(() => undefined);
        throw startError(err);
      }
      t.mark('runc-start');
      const now = new Date().toISOString();
      const state: Container['State'] = {
        ...c.State,
        Status: 'running',
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: mon.pid,
        ExitCode: 0,
        Error: '',
        StartedAt: now,
        FinishedAt: c.State.FinishedAt,
      };
      try {
        await this.o.store.save({ ...c, State: state, MonitorPid: mon.monitorPid, HasBeenStartedBefore: true });
      } catch (err) {
        // The record cannot say it runs (a full disk): the start is undone, so it fails whole.
        await this.killMonitor(c);
        await this.o.runc.delete(c.ID, true).catch(() => undefined);
        await this.o.exits.consume(c.ID);
        throw err;
      }
      started = true;
      Object.assign(c.State, state);
      c.MonitorPid = mon.monitorPid;
      c.HasBeenStartedBefore = true;
      t.mark('save');
      t.end();
      this.event(c, 'start');
    } catch (caught) {
      let err = caught;
      if (!started) {
        err = await diskFullError(caught, this.o.store.dir(c.ID));
        await this.o.network.release(c).catch(() => undefined);
        await this.o.mounts.release(c.ID, layout.target).catch(() => undefined);
        await this.o.volumeMounts.teardown(c).catch(() => undefined);
        if (err instanceof BerthError) {
          c.State.Error = err.message;
          c.State.ExitCode = startFailureExitCode(err.message);
          await this.o.store.save(c).catch(() => undefined);
        }
      }
      throw err;
    }
  }

  /* ------------------------------------------------------------------ exit */

  /** Applies a container's exit (from the exit watcher, or an exit file found by recovery). */
  async applyExit(id: string, code: number): Promise<void> {
    const c = this.o.store.find(id);
    if (!c) {
      await this.o.exits.consume(id);
      return;
    }
    let restartDelay: number | undefined;
    let autoRemove = false;
    await this.locks.run(id, async () => {
      if (!c.State.Running && !c.State.Restarting) {
        await this.o.exits.consume(id);
        return;
      }
      const t = span('exit');
      // The exit file's time is when the process ended, even if berthd was down then.
      const finishedAt = await fs
        .stat(path.join(this.o.exits.dir, id))
        .then((st) => st.mtime.toISOString())
        .catch(() => new Date().toISOString());
      const oom = await this.oomKilled(c);
      t.mark('oom');
      const image = this.o.images.byId(c.Image);
      await Promise.all([
        this.o.runc.cleanupStopped(id, this.cgroupsPath(c)).catch(() => this.o.runc.delete(id, true).catch(() => undefined)),
        image ? this.o.mounts.release(id, this.rootfsLayout(c, image).target).catch(() => undefined) : undefined,
        this.o.volumeMounts.teardown(c).catch(() => undefined),
        this.o.network.release(c).catch(() => undefined),
      ]);
      t.mark('cleanup');
      t.end();
      const startedAt = Date.parse(c.State.StartedAt);
      Object.assign(c.State, {
        Status: 'exited',
        Running: false,
        Paused: false,
        Restarting: false,
        OOMKilled: oom,
        Pid: 0,
        // The process's own code, as dockerd reports it: OOMKilled says a process of the container was
        // OOM-killed; 137 only when that was the main process (its SIGKILL).
        ExitCode: code,
        FinishedAt: finishedAt,
      });
      c.MonitorPid = 0;
      // Decided before the next await, so readers (logs -f) never see a restarting container as stopped.
      const decision = this.restarts.decide(c, { ranForMs: Date.now() - startedAt });
      if (decision.restart) {
        c.State.Restarting = true;
        c.State.Status = 'restarting';
        restartDelay = decision.delayMs;
      } else if (c.HostConfig.AutoRemove) {
        autoRemove = true;
      }
      // The exit is a fact, applied in memory whatever happens to the write. The exit file goes
      // only once the record says so: when the write fails (a full disk), the next start of
      // berthd applies the exit again from it.
      try {
        await this.o.store.save(c);
        await this.o.exits.consume(id);
      } catch (err) {
        process.emitWarning(`container ${id.slice(0, 12)}: exit not recorded: ${messageOf(err)}`);
      }
      this.event(c, 'die', { exitCode: String(c.State.ExitCode) });
      if (oom) this.event(c, 'oom');
      this.waiters.notify(c, ['not-running', 'next-exit']);
    });
    if (restartDelay !== undefined) this.restarts.schedule(id, restartDelay);
    if (autoRemove) await this.remove(id, { force: true, removeVolumes: true }).catch(() => undefined);
  }

  private async oomKilled(c: Container): Promise<boolean> {
    try {
      await fs.access(path.join(this.runDir(c.ID), 'persist', 'oom'));
      return true;
    } catch {
      /* conmon saw none; ask the cgroup */
    }
    try {
      return readOomKilled(this.cgroupsPath(c)) > 0;
    } catch {
      return false;
    }
  }

  private async restartFromPolicy(id: string): Promise<void> {
    const c = this.o.store.find(id);
    if (!c) return;
    await this.locks.run(id, async () => {
      if (!c.State.Restarting || c.HasBeenManuallyStopped) return;
      c.RestartCount++;
      try {
        await this.startLocked(c);
        this.event(c, 'restart');
      } catch (err) {
        Object.assign(c.State, { Status: 'exited', Restarting: false, Error: messageOf(err) });
        await this.o.store.save(c);
      }
    });
  }

  /* ------------------------------------------------------------------ wait */

  /**
   * Resolves when the condition is met. `ready` is called once the wait is registered (the API
   * sends its response headers then, as dockerd does, so clients know they may start).
   */
  wait(ref: string, condition: WaitCondition, signal?: AbortSignal): Promise<WaitResult> {
    const c = this.get(ref);
    if (condition === 'not-running' && !c.State.Running && !c.State.Restarting) {
      return Promise.resolve({ StatusCode: c.State.ExitCode });
    }
    return this.waiters.add(c.ID, condition, signal);
  }

  /* ------------------------------------------------------------------ stop / kill */

  async stop(ref: string, opts: { signal?: string; timeout?: number }): Promise<void> {
    const c = this.get(ref);
    if (c.State.Restarting) {
      await this.locks.run(c.ID, async () => {
        this.restarts.cancel(c.ID);
        c.HasBeenManuallyStopped = true;
        Object.assign(c.State, { Status: 'exited', Restarting: false });
        await this.o.store.save(c);
      });
      this.event(c, 'stop');
      return;
    }
    if (!c.State.Running) throw notModified();
    const sig = parseSignal(opts.signal ?? c.Config.StopSignal, 'SIGTERM');
    // Best-effort when the disk is full: the stop goes on (an exit is a fact; it writes again).
    await this.o.store
      .save({ ...c, HasBeenManuallyStopped: true })
      .catch((err: unknown) => process.emitWarning(`container ${c.ID.slice(0, 12)}: stop not recorded: ${messageOf(err)}`));
    c.HasBeenManuallyStopped = true;
    const timeout = opts.timeout ?? c.Config.StopTimeout ?? 10;
    const exited = this.wait(c.ID, 'not-running');
    if (timeout !== 0) {
      await this.signalProcess(c, sig);
      this.event(c, 'kill', { signal: String(sig) });
      if (c.State.Paused) await this.o.runc.resume(c.ID).catch(() => undefined);
    }
    const done = timeout < 0 ? await exited.then(() => true) : await raceTimeout(exited, timeout * 1000);
    if (!done) {
      await this.signalProcess(c, 9);
      this.event(c, 'kill', { signal: '9' });
      if (c.State.Paused) await this.o.runc.resume(c.ID).catch(() => undefined);
      await exited;
    }
    this.event(c, 'stop');
  }

  async kill(ref: string, signal?: string): Promise<void> {
    const c = this.get(ref);
    const sig = parseSignal(signal, 'SIGKILL');
    if (!c.State.Running) throw conflict(`Cannot kill container: ${ref}: container ${c.ID} is not running`);
    if (sig === 9) {
      c.HasBeenManuallyStopped = true;
    }
    await this.signalProcess(c, sig);
    this.event(c, 'kill', { signal: String(sig) });
    if (sig === 9) await this.wait(c.ID, 'not-running');
  }

  /** Signals the container's init directly: faster than spawning `runc kill`. */
  private async signalProcess(c: Container, sig: number): Promise<void> {
    if (!c.State.Pid) return;
    try {
      process.kill(c.State.Pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw system(`cannot signal container ${c.ID}: ${messageOf(err)}`);
    }
  }

  async restart(ref: string, opts: { signal?: string; timeout?: number }): Promise<void> {
    const c = this.get(ref);
    if (c.State.Running) {
      await this.stop(c.ID, opts).catch((err: unknown) => {
        if (!isCategory(err, 'NotModified')) throw err;
      });
    }
    await this.start(c.ID).catch((err: unknown) => {
      if (!isCategory(err, 'NotModified')) throw err;
    });
    this.event(c, 'restart');
  }

  /* ------------------------------------------------------------------ pause */

  /**
   * Pause and unpause act first, then write the record; when the write fails (a full disk) the
   * act is undone, so a failed call changes nothing. A crash between the two is reconciled at
   * start (recover() reads the runtime's state).
   */
  async pause(ref: string): Promise<void> {
    const c = this.get(ref);
    await this.locks.run(c.ID, async () => {
      if (!c.State.Running) throw conflict(`Container ${c.ID} is not running`);
      if (c.State.Paused) throw conflict(`Container ${c.ID} is already paused`);
      await this.o.runc.pause(c.ID);
      try {
        await this.saveState(c, { Paused: true, Status: 'paused' });
      } catch (err) {
        await this.o.runc.resume(c.ID).catch(() => undefined);
        throw err;
      }
    });
    this.event(c, 'pause');
  }

  async unpause(ref: string): Promise<void> {
    const c = this.get(ref);
    await this.locks.run(c.ID, async () => {
      if (!c.State.Paused) throw conflict(`Container ${c.ID} is not paused`);
      await this.o.runc.resume(c.ID);
      await fs.rm(this.commitPausedMarker(c.ID), { force: true });
      try {
        await this.saveState(c, { Paused: false, Status: 'running' });
      } catch (err) {
        await this.o.runc.pause(c.ID).catch(() => undefined);
        throw err;
      }
    });
    this.event(c, 'unpause');
  }

  /** Writes the record with `patch` applied to its State, then applies it in memory. */
  private async saveState(c: Container, patch: Partial<Container['State']>): Promise<void> {
    await this.o.store.save({ ...c, State: { ...c.State, ...patch } });
    Object.assign(c.State, patch);
  }

  commitPausedMarker(id: string): string {
    return path.join(this.runDir(id), 'commit-paused');
  }

  /**
   * `commit`'s pause: the container is frozen for the time its layer is read, and the record is
   * not rewritten (the pause is not a state the container keeps, and a full data root must not
   * make it stick). A marker in the exec root says so: a daemon that crashes while it holds the
   * pause finds the marker at start and thaws the container (recover()).
   */
  async pauseForCommit(ref: string): Promise<boolean> {
    const c = this.get(ref);
    return this.locks.run(c.ID, async () => {
      if (!c.State.Running || c.State.Paused) return false;
      const marker = this.commitPausedMarker(c.ID);
      await fs.writeFile(marker, '');
      try {
        await this.o.runc.pause(c.ID);
      } catch (err) {
        await fs.rm(marker, { force: true });
        throw err;
      }
      Object.assign(c.State, { Paused: true, Status: 'paused' });
      this.event(c, 'pause');
      return true;
    });
  }

  async unpauseAfterCommit(ref: string): Promise<void> {
    const c = this.get(ref);
    await this.locks.run(c.ID, async () => {
      const marker = this.commitPausedMarker(c.ID);
      if (!(await fs.stat(marker).then(() => true, () => false))) return; // unpaused meanwhile
      if (c.State.Running && c.State.Paused) {
        await this.o.runc.resume(c.ID);
        Object.assign(c.State, { Paused: false, Status: 'running' });
        this.event(c, 'unpause');
      }
      await fs.rm(marker, { force: true });
    });
  }

  /* ------------------------------------------------------------------ remove */

  /** Names that legacy links give containers (`/<parent>/<alias>`): child ID → names. */
  linkNames(): Map<string, string[]> {
    return linkNames(this.o.store.list(), (name) => this.o.store.find(name));
  }

  /**
   * `DELETE /containers/<parent>/<alias>?link=true`: removes the link `alias` of `parent`
   * (dockerd's rmLink); the containers stay.
   */
  async removeLink(ref: string): Promise<void> {
    const name = ref.startsWith('/') ? ref : `/${ref}`;
    const i = name.lastIndexOf('/');
    const parentName = name.slice(0, i);
    const alias = name.slice(i + 1);
    const parent = parentName === '' ? undefined : this.o.store.find(parentName.slice(1));
    const entry = parent ? linkEntry(parent, alias) : undefined;
    if (!parent || !entry) {
      if (parentName === '' && this.o.store.find(alias)) throw system('Conflict, cannot remove the default link name of the container');
      throw notFound(`No such container: ${ref}`);
    }
    await this.locks.run(parent.ID, async () => {
      parent.HostConfig.Links = (parent.HostConfig.Links ?? []).filter((l) => l !== entry);
      if (parent.HostConfig.Links.length === 0) parent.HostConfig.Links = null;
      await this.o.store.save(parent);
    });
  }

  async remove(ref: string, opts: { force?: boolean; removeVolumes?: boolean }): Promise<void> {
    const c = this.get(ref);
    if (c.State.Running && !opts.force) {
      if (c.State.Paused) {
        throw conflict(`cannot remove container "${c.Name}": container is paused and must be unpaused first`);
      }
      throw conflict(`cannot remove container "${c.Name}": container is running: stop the container before removing or force remove`);
    }
    // Between an exit and the policy's restart dockerd counts the container as running too.
    if (c.State.Restarting && !opts.force) {
      throw conflict(`cannot remove container "${c.Name}": container is restarting: stop the container before removing or force remove`);
    }
    if (c.State.Running) {
      c.HasBeenManuallyStopped = true;
      const exited = this.wait(c.ID, 'not-running');
      await this.signalProcess(c, 9);
      if (c.State.Paused) await this.o.runc.resume(c.ID).catch(() => undefined);
      if (!(await raceTimeout(exited, 15000))) throw system(`could not kill running container ${c.ID}, cannot remove`);
    }
    await this.locks.run(c.ID, async () => {
      if (c.State.Status === 'removing' && !this.o.store.find(c.ID)) return;
      this.restarts.cancel(c.ID);
      // With anonymous volumes to remove, the intent is written first, so a crash part-way is
      // finished at the next start (recover()), volumes included. (Without, a crash leaves the
      // record whole: the record goes first in removeDir.) When the intent cannot be written (a
      // full disk) the removal goes on: it writes nothing else, and it frees space.
      const removeVolumes = opts.removeVolumes === true || c.RemoveVolumes === true;
      if (removeVolumes && Object.values(c.MountPoints ?? {}).some((m) => m.Type === 'volume' && m.Anonymous) && !c.RemoveVolumes) {
        await this.o.store
          .save({ ...c, State: { ...c.State, Status: 'removing' }, RemoveVolumes: true })
          .catch((err: unknown) => process.emitWarning(`container ${c.ID.slice(0, 12)}: removal intent not recorded: ${messageOf(err)}`));
      }
      c.State.Status = 'removing';
      await this.o.runc.delete(c.ID, true).catch(() => undefined);
      await this.killMonitor(c);
      const image = this.o.images.byId(c.Image);
      const target = image ? this.rootfsLayout(c, image).target : path.join(this.runDir(c.ID), 'rootfs');
      await this.o.mounts.forceRelease(c.ID, target);
      await fs.rm(this.runDir(c.ID), { recursive: true, force: true });
      // conmon's short attach-socket link (sock/<short-id> -> the bundle dir just removed)
      await fs.rm(path.join(this.socketDir, c.ID.slice(0, 12)), { force: true });
      await this.o.exits.consume(c.ID);
      await this.o.network.removed(c).catch(() => undefined);
      // Out of the indexes first (its volumes are then no longer in use), volumes next, the record last.
      this.o.store.detach(c);
      this.volatileRoots.delete(c.ID);
      await this.o.volumeMounts.removed(c, { removeVolumes });
      await this.o.store.removeDir(c.ID);
      this.event(c, 'destroy');
      this.waiters.notify(c, ['removed', 'not-running', 'next-exit']);
    });
  }

  /**
   * `docker container prune`: removes every container that is not running (nor paused or
   * restarting), with dockerd's filters — `until` (created before), `label` (every one matches)
   * and `label!` (skipped when every one matches). SpaceReclaimed sums the removed containers'
   * writable layers, measured before removal. A container that cannot be removed is left out.
   */
  async prune(filters: Map<string, string[]>): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    for (const k of filters.keys()) if (!['until', 'label', 'label!'].includes(k)) throw invalid(`Invalid filter '${k}'`);
    const untilValues = filters.get('until') ?? [];
    // dockerd answers these two with 500; they are the client's errors, so 400 here (issue 14)
    if (untilValues.length > 1) throw invalid('more than one until filter specified');
    let until: number | undefined;
    if (untilValues[0] !== undefined) {
      try {
        until = parseTimestampMs(untilValues[0]);
      } catch (err) {
        throw invalid(messageOf(err));
      }
    }
    const labels = filters.get('label') ?? [];
    const notLabels = filters.get('label!') ?? [];
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const c of this.list()) {
      if (c.State.Running || c.State.Restarting || c.State.Paused) continue;
      if (until !== undefined && !(Date.parse(c.Created) < until)) continue;
      const l = c.Config.Labels ?? {};
      if (!matchLabels(l, labels)) continue;
      if (notLabels.length > 0 && matchLabels(l, notLabels)) continue;
      const size = await sizeRw(this.layersOf(c).upper).catch(() => 0);
      try {
        await this.remove(c.ID, {});
      } catch (err) {
        if (isCategory(err, 'NotFound')) continue; // removed meanwhile
        console.error(`berthd: prune: cannot remove container ${c.ID}: ${messageOf(err)}`);
        continue;
      }
      deleted.push(c.ID);
      reclaimed += size;
    }
    this.o.events.publish('container', 'prune', '', { reclaimed: String(reclaimed) });
    return { ContainersDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
  }

  /** Ends a monitor left from an interrupted start (conmon outlives runc's container). */
  async killMonitor(c: Container): Promise<void> {
    const pids = new Set<number>();
    if (c.MonitorPid) pids.add(c.MonitorPid);
    const fromFile = Number.parseInt(await fs.readFile(this.monitorPaths(c).monitorPidFile, 'utf8').catch(() => ''), 10);
    if (fromFile > 0) pids.add(fromFile);
    for (const pid of this.monitorHints?.get(c.ID) ?? []) pids.add(pid);
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

  /* ------------------------------------------------------------------ rename / update */

  async rename(ref: string, newName: string): Promise<void> {
    const c = this.get(ref);
    const name = newName.replace(/^\//, '');
    if (name === '' || !VALID_NAME.test(name)) {
      throw invalid(`Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    if (`/${name}` === c.Name) throw invalid('Renaming a container with the same name as its current name');
    const old = c.Name;
    await this.locks.run(c.ID, () => this.o.store.rename(c, `/${name}`));
    this.event(c, 'rename', { oldName: old });
  }

  async update(ref: string, body: Partial<HostConfig>): Promise<string[]> {
    const c = this.get(ref);
    const warnings: string[] = [];
    await this.locks.run(c.ID, async () => {
      validateResources(body, c.HostConfig);
      const next: HostConfig = { ...c.HostConfig };
      const fields = [
        'Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota',
        'CpusetCpus', 'CpusetMems', 'PidsLimit', 'BlkioWeight',
      ] as const;
      for (const f of fields) {
        if (body[f] !== undefined && body[f] !== null) (next as Record<string, unknown>)[f] = body[f];
      }
      // Raising memory above the old swap limit raises swap too, as dockerd does.
      if (body.Memory && !body.MemorySwap && next.MemorySwap > 0 && next.MemorySwap < body.Memory) next.MemorySwap = -1;
      if (body.RestartPolicy) {
        if (c.HostConfig.AutoRemove && body.RestartPolicy.Name && body.RestartPolicy.Name !== 'no') {
          throw invalid('Restart policy cannot be updated because AutoRemove is enabled for the container');
        }
        next.RestartPolicy = validateRestartPolicy(body.RestartPolicy, false);
      }
      // The record first (a full disk fails here and changes nothing), then the cgroup; when the
      // runtime refuses, the record is put back.
      await this.o.store.save({ ...c, HostConfig: next });
      if (c.State.Running) {
        const resources = resourcesToRuncUpdate(resourcesOf(next), { swapAccounting: swapAccounting() });
        try {
          await this.o.runc.update(c.ID, resources);
        } catch (err) {
          await this.o.store.save(c).catch(() => undefined);
          throw invalid(`Cannot update container ${c.ID}: ${messageOf(err)}`);
        }
      }
      c.HostConfig = next;
    });
    this.event(c, 'update');
    return warnings;
  }

  /* ------------------------------------------------------------------ rootfs access */

  /** Runs `fn` with the container's rootfs mounted (mounting it for a stopped container). */
  async withRootfs<T>(ref: string, fn: (rootfs: string, c: Container) => Promise<T>): Promise<T> {
    const c = this.get(ref);
    const image = this.o.images.byId(c.Image);
    if (!image) throw notFound(`No such image: ${c.Image}`);
    const layout = this.rootfsLayout(c, image);
    const rootfs = await this.o.mounts.acquire(c.ID, layout);
    try {
      return await fn(rootfs, c);
    } finally {
      await this.o.mounts.release(c.ID, layout.target);
    }
  }

  /** Directories of the container's layers, for `diff`. */
  layersOf(c: Container): { upper: string; lowers: string[] } {
    const image = this.o.images.byId(c.Image);
    if (!image) throw notFound(`No such image: ${c.Image}`);
    const l = this.o.mounts.dirs(this.rootfsLayout(c, image));
    return { upper: l.upper, lowers: l.lowers };
  }

  /** Sets the terminal size of a TTY container. */
  async resize(ref: string, height: number, width: number): Promise<void> {
    const c = this.get(ref);
    if (!c.State.Running) throw conflict(`Container ${c.ID} is not running`);
    if (!c.Config.Tty) return;
    await resizeTerminal(this.runDir(c.ID), height, width).catch(() => undefined);
    this.event(c, 'resize', { height: String(height), width: String(width) });
  }

  /** A build step's container the build keeps (`--rm=false`, a failed step): no longer removed at start. */
  async keepBuildStep(id: string): Promise<void> {
    const c = this.o.store.find(id);
    if (!c?.BuildStep) return;
    await this.locks.run(c.ID, async () => {
      const { BuildStep: _drop, ...rest } = c;
      await this.o.store.save(rest);
      delete c.BuildStep;
    });
  }

  /** Saves a record changed outside the life cycle (State.Health), unless it is gone. */
  async saveRecord(c: Container): Promise<void> {
    await this.locks.run(c.ID, async () => {
      if (this.o.store.find(c.ID) === c && c.State.Status !== 'removing') await this.o.store.save(c);
    });
  }

  /* ------------------------------------------------------------------ attach */

  /** The attach socket of a running container. */
  async attachSocket(c: Container): Promise<SeqpacketSocket> {
    return connectAttach(attachSocketPath(this.monitorPaths(c), c.ID.slice(0, 12)));
  }

  /* ------------------------------------------------------------------ recovery support (recovery.ts) */

  /** Starts a container under its lock (a restart policy applied at daemon start). */
  async startFromRecovery(c: Container): Promise<void> {
    await this.locks.run(c.ID, () => this.startLocked(c));
  }

  setMonitorHints(monitors: Map<string, number[]> | undefined): void {
    this.monitorHints = monitors;
  }

  /** The mount point of the container's rootfs. */
  rootfsTarget(c: Container): string {
    return path.join(this.runDir(c.ID), 'rootfs');
  }

  monitorPidFile(c: Container): string {
    return this.monitorPaths(c).monitorPidFile;
  }

  /** Stops restart timers (daemon shutdown). Containers keep running. */
  shutdown(): void {
    this.restarts.cancelAll();
  }

  private event(c: Container, action: string, extra: Record<string, string> = {}): void {
    publishContainerEvent(this.o.events, c, action, extra);
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


const isContainerMode = (c: Container): boolean => c.HostConfig.NetworkMode.startsWith('container:');

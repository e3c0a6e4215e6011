/**
 * The container service: the life cycle of containers (create, start, stop, kill, wait, remove,
 * restart policies, live restore). It owns state transitions; the API layer only translates.
 *
 * Every transition of one container runs under that container's lock, so a stop racing an exit
 * or a remove racing a start sees one consistent record.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { SeqpacketSocket } from 'node-unix-socket';
import type { EventBus } from '../events/bus.js';
import { linkEntry, linkNames } from '../network/links.js';
import { conflict, invalid, isCategory, messageOf, notFound, notModified, system } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { mkdirAll } from '../lib/atomic.js';
import { span } from '../lib/trace.js';
import { generateName, VALID_NAME } from '../lib/names.js';
import type { ImageStore } from '../images/store.js';
import type { Image } from '../images/types.js';
import { familiarName, parseReference } from '../images/reference.js';
import type { ActiveSnapshot, Snapshotter } from '../snapshots/snapshotter.js';
import { resourcesToRuncUpdate } from '../runtime/cgroups.js';
import type { ExitWatcher } from '../runtime/monitor.js';
import type { Runc } from '../runtime/runc.js';
import { resolveLogConfig, type LogConfig } from '../runtime/logconfig.js';
import type { MountManager } from '../volumes/mounts.js';
import { buildContainer, updatedHostConfig, type CreateRequest } from './create.js';
import { writeEtcFiles } from './etcfiles.js';
import { publishContainerEvent } from './events.js';
import type { KeyedLock } from './locks.js';
import { startContainer, type PreStartHook } from './start.js';
import type { ContainerMonitors } from './monitors.js';
import type { ContainerNetworking } from './networking.js';
import { RestartManager } from './restart.js';
import { parseSignal, raceTimeout } from './signals.js';
import { containerCgroupsPath, resourcesOf, swapAccounting, type SpecInputs } from './specinputs.js';
import type { ContainerStore } from './store.js';
import type { Container, HostConfig } from './types.js';
import { Waiters, type WaitCondition, type WaitResult } from './waiters.js';

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
  /** The per-container lock every transition runs under (shared with pause.ts). */
  locks: KeyedLock;
  /** The containers' monitors: launch, attach socket, signals, OOM evidence (containers/monitors.ts). */
  monitors: ContainerMonitors;
  /** The inputs of the containers' OCI specs (containers/specinputs.ts). */
  spec: Pick<SpecInputs, 'specFor' | 'joinNamespaceDonors'>;
  /** Volumes, binds and tmpfs mounts (src/volumes/mounts.ts). */
  volumeMounts: MountManager;
  /** Networks: membership, addresses, interfaces, ports, the /etc files' contents. */
  network: ContainerNetworking;
  /** daemon.json's log-driver/log-opts (runtime/logconfig.ts); Berth's default cap without. */
  logDefaults?: LogConfig;
}

export type { PreStartHook } from './start.js';

export class ContainerService {
  private readonly waiters = new Waiters();
  private readonly preStart = new Map<string, PreStartHook[]>();
  /** Containers whose rootfs mounts `volatile` (build steps; in memory: after a restart they mount normally). */
  private readonly volatileRoots = new Set<string>();
  private readonly restarts: RestartManager;

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
      if (mode?.startsWith('container:') && !this.o.store.find(mode.slice('container:'.length)))
        throw invalid(`No such container: ${mode.slice('container:'.length)}`);
    }
    c.HostConfig.LogConfig = resolveLogConfig(req.HostConfig?.LogConfig, this.o.logDefaults ?? { Type: 'json-file', Config: {} });
    const dir = this.o.store.dir(id);
    await mkdirAll(dir, 0o710);
    t.mark('mkdir');
    try {
      c.LogPath = path.join(dir, 'container.log');
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
      if (l)
        this.preStart.set(
          id,
          l.filter((h) => h !== hook),
        );
    };
  }

  async start(ref: string): Promise<void> {
    const c = this.get(ref);
    await this.o.locks.run(c.ID, async () => {
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
    await startContainer(this.o, c, {
      layout: (image) => this.rootfsLayout(c, image),
      takeHooks: () => {
        const hooks = this.preStart.get(c.ID) ?? [];
        this.preStart.delete(c.ID);
        return hooks;
      },
      started: () => this.event(c, 'start'),
    });
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
    await this.o.locks.run(id, async () => {
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
      const oom = await this.o.monitors.oomKilled(c);
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

  private async restartFromPolicy(id: string): Promise<void> {
    const c = this.o.store.find(id);
    if (!c) return;
    await this.o.locks.run(id, async () => {
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

  /**
   * The container `ref` names, once a transition in flight on it is done when it does not run yet:
   * a start's process runs (and prints) before the record says so, and a client that signals what it
   * just saw running must not be told it is not (dockerd holds the container's lock for this).
   */
  private async settled(ref: string): Promise<Container> {
    const c = this.get(ref);
    if (c.State.Running || c.State.Restarting) return c;
    await this.o.locks.run(c.ID, async () => undefined);
    return this.get(c.ID);
  }

  async stop(ref: string, opts: { signal?: string; timeout?: number }): Promise<void> {
    const c = await this.settled(ref);
    // Decided under the container's lock, so an exit being handled (which takes it) is either
    // complete — the container is restarting or exited — or has not begun, and then sees the
    // manual stop and decides not to restart. The wait is registered before the lock goes, so
    // the exit cannot be missed.
    const what = await this.o.locks.run(c.ID, async () => {
      if (c.State.Restarting) {
        this.restarts.cancel(c.ID);
        c.HasBeenManuallyStopped = true;
        Object.assign(c.State, { Status: 'exited', Restarting: false });
        await this.o.store.save(c);
        return 'cancelled' as const;
      }
      if (!c.State.Running) return 'not-running' as const;
      // Best-effort when the disk is full: the stop goes on (an exit is a fact; it writes again).
      await this.o.store
        .save({ ...c, HasBeenManuallyStopped: true })
        .catch((err: unknown) => process.emitWarning(`container ${c.ID.slice(0, 12)}: stop not recorded: ${messageOf(err)}`));
      c.HasBeenManuallyStopped = true;
      // Wrapped: an async function returning the promise itself would wait for the exit here.
      return { exited: this.waiters.add(c.ID, 'not-running') };
    });
    if (what === 'cancelled') {
      this.event(c, 'stop');
      return;
    }
    if (what === 'not-running') throw notModified();
    const { exited } = what;
    const sig = parseSignal(opts.signal ?? c.Config.StopSignal, 'SIGTERM');
    const timeout = opts.timeout ?? c.Config.StopTimeout ?? 10;
    if (timeout !== 0) {
      await this.o.monitors.signal(c, sig);
      this.event(c, 'kill', { signal: String(sig) });
      if (c.State.Paused) await this.o.runc.resume(c.ID).catch(() => undefined);
    }
    const done = timeout < 0 ? await exited.then(() => true) : await raceTimeout(exited, timeout * 1000);
    if (!done) {
      await this.o.monitors.signal(c, 9);
      this.event(c, 'kill', { signal: '9' });
      if (c.State.Paused) await this.o.runc.resume(c.ID).catch(() => undefined);
      await exited;
    }
    this.event(c, 'stop');
  }

  async kill(ref: string, signal?: string): Promise<void> {
    const c = await this.settled(ref);
    const sig = parseSignal(signal, 'SIGKILL');
    if (!c.State.Running) throw conflict(`Cannot kill container: ${ref}: container ${c.ID} is not running`);
    if (sig === 9) {
      c.HasBeenManuallyStopped = true;
    }
    await this.o.monitors.signal(c, sig);
    this.event(c, 'kill', { signal: String(sig) });
    if (sig === 9) await this.wait(c.ID, 'not-running');
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
    await this.o.locks.run(parent.ID, async () => {
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
      await this.o.monitors.signal(c, 9);
      if (c.State.Paused) await this.o.runc.resume(c.ID).catch(() => undefined);
      if (!(await raceTimeout(exited, 15000))) throw system(`could not kill running container ${c.ID}, cannot remove`);
    }
    await this.o.locks.run(c.ID, async () => {
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
      await this.o.monitors.kill(c);
      const image = this.o.images.byId(c.Image);
      const target = image ? this.rootfsLayout(c, image).target : path.join(this.runDir(c.ID), 'rootfs');
      await this.o.mounts.forceRelease(c.ID, target);
      await fs.rm(this.runDir(c.ID), { recursive: true, force: true });
      // conmon's short attach-socket link (sock/<short-id> -> the bundle dir just removed)
      await fs.rm(path.join(this.o.monitors.socketDir, c.ID.slice(0, 12)), { force: true });
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

  /* ------------------------------------------------------------------ rename / update */

  async rename(ref: string, newName: string): Promise<void> {
    const c = this.get(ref);
    const name = newName.replace(/^\//, '');
    if (name === '' || !VALID_NAME.test(name)) {
      throw invalid(`Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    if (`/${name}` === c.Name) throw invalid('Renaming a container with the same name as its current name');
    const old = c.Name;
    await this.o.locks.run(c.ID, () => this.o.store.rename(c, `/${name}`));
    this.event(c, 'rename', { oldName: old });
  }

  async update(ref: string, body: Partial<HostConfig>): Promise<string[]> {
    const c = this.get(ref);
    const warnings: string[] = [];
    await this.o.locks.run(c.ID, async () => {
      const next = updatedHostConfig(c.HostConfig, body, { id: c.ID });
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
    const c = await this.settled(ref);
    if (!c.State.Running) throw conflict(`Container ${c.ID} is not running`);
    if (!c.Config.Tty) return;
    await this.o.monitors.resize(c, height, width);
    this.event(c, 'resize', { height: String(height), width: String(width) });
  }

  /** A build step's container the build keeps (`--rm=false`, a failed step): no longer removed at start. */
  async keepBuildStep(id: string): Promise<void> {
    const c = this.o.store.find(id);
    if (!c?.BuildStep) return;
    await this.o.locks.run(c.ID, async () => {
      const { BuildStep: _drop, ...rest } = c;
      await this.o.store.save(rest);
      delete c.BuildStep;
    });
  }

  /** Saves a record changed outside the life cycle (State.Health), unless it is gone. */
  async saveRecord(c: Container): Promise<void> {
    await this.o.locks.run(c.ID, async () => {
      if (this.o.store.find(c.ID) === c && c.State.Status !== 'removing') await this.o.store.save(c);
    });
  }

  /* ------------------------------------------------------------------ attach */

  /** The attach socket of a running container. */
  async attachSocket(c: Container): Promise<SeqpacketSocket> {
    return this.o.monitors.attachSocket(c);
  }

  /* ------------------------------------------------------------------ recovery support (recovery.ts) */

  /** Starts a container under its lock (a restart policy applied at daemon start). */
  async startFromRecovery(c: Container): Promise<void> {
    await this.o.locks.run(c.ID, () => this.startLocked(c));
  }

  /** The mount point of the container's rootfs. */
  rootfsTarget(c: Container): string {
    return path.join(this.runDir(c.ID), 'rootfs');
  }

  /** Stops restart timers (daemon shutdown). Containers keep running. */
  shutdown(): void {
    this.restarts.cancelAll();
  }

  private event(c: Container, action: string, extra: Record<string, string> = {}): void {
    publishContainerEvent(this.o.events, c, action, extra);
  }
}

const isContainerMode = (c: Container): boolean => c.HostConfig.NetworkMode.startsWith('container:');

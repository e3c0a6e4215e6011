/**
 * The start sequence of a container, under its lock (the life cycle calls it): runtime leftovers
 * cleared, rootfs mounted, namespace donors checked, networking prepared, /etc files and the OCI
 * bundle written, the monitor launched (`runc create`), interfaces attached, attach hooks
 * connected, `runc start`, and the record saved as running. A start that fails is undone whole
 * (network, mount, volumes), its error and exit code recorded as dockerd records them.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { SeqpacketSocket } from 'node-unix-socket';
import type { ImageStore } from '../images/store.js';
import type { Image } from '../images/types.js';
import { BerthError, messageOf, notFound } from '../lib/errors.js';
import { span } from '../lib/trace.js';
import type { ExitWatcher } from '../runtime/monitor.js';
import type { Runc } from '../runtime/runc.js';
import type { ActiveSnapshot, Snapshotter } from '../snapshots/snapshotter.js';
import type { MountManager } from '../volumes/mounts.js';
import { writeEtcFiles } from './etcfiles.js';
import type { ContainerMonitors } from './monitors.js';
import type { ContainerNetworking } from './networking.js';
import { diskFullError, startError, startFailureExitCode } from './runcerrors.js';
import type { SpecInputs } from './specinputs.js';
import type { ContainerStore } from './store.js';
import type { Container } from './types.js';

/** Called at start, after `runc create` and before `runc start`: connect attach streams here. */
export type PreStartHook = (socket: SeqpacketSocket | undefined) => void;

/** What a start needs (ContainerService's options satisfy it). */
export interface StartDeps {
  store: Pick<ContainerStore, 'save' | 'dir'>;
  images: Pick<ImageStore, 'byId'>;
  runc: Pick<Runc, 'hasState' | 'delete' | 'start'>;
  exits: Pick<ExitWatcher, 'consume'>;
  mounts: Pick<Snapshotter, 'acquire' | 'release'>;
  network: Pick<ContainerNetworking, 'prepare' | 'attach' | 'release' | 'etcInfo'>;
  volumeMounts: Pick<MountManager, 'setup' | 'teardown'>;
  spec: Pick<SpecInputs, 'specFor' | 'joinNamespaceDonors'>;
  monitors: Pick<ContainerMonitors, 'launch' | 'attachSocket' | 'kill' | 'runDir' | 'socketDir'>;
}

/** The life cycle's part of one start. */
export interface StartRequest {
  /** The container's rootfs layout on its image. */
  layout(image: Image): ActiveSnapshot;
  /** The attach hooks registered for this start (taken: each runs once). */
  takeHooks(): PreStartHook[];
  /** Called once the record says it runs (the `start` event). */
  started(): void;
}

export async function startContainer(d: StartDeps, c: Container, r: StartRequest): Promise<void> {
  const image = d.images.byId(c.Image);
  if (!image) throw notFound(`No such image: ${c.Image}`);
  const t = span('start');
  const run = d.monitors.runDir(c.ID);
  await fs.rm(path.join(run, 'persist'), { recursive: true, force: true });
  await fs.mkdir(path.join(run, 'persist'), { recursive: true });
  await fs.mkdir(d.monitors.socketDir, { recursive: true });
  await d.exits.consume(c.ID);
  // A previous run's runtime state (e.g. after a crash) would make `runc create` fail.
  if (await d.runc.hasState(c.ID)) await d.runc.delete(c.ID, true).catch(() => undefined);
  t.mark('prep');
  const layout = r.layout(image);
  const rootfs = await d.mounts.acquire(c.ID, layout);
  t.mark('mount');
  let started = false;
  try {
    d.spec.joinNamespaceDonors(c);
    await d.network.prepare(c);
    t.mark('net');
    await writeEtcFiles(c, d.network);
    const volumeMounts = await d.volumeMounts.setup(c, rootfs);
    const spec = d.spec.specFor(c, rootfs, volumeMounts);
    t.mark('spec');
    // The bundle is derived from the record and rewritten at every start: no fsync needed.
    await fs.writeFile(path.join(run, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
    t.mark('write');
    const mon = await d.monitors.launch(c);
    t.mark('monitor');
    try {
      await d.network.attach(c, mon.pid);
    } catch (err) {
      await d.runc.delete(c.ID, true).catch(() => undefined);
      throw err;
    }
    t.mark('net-attach');
    const hooks = r.takeHooks();
    if (hooks.length > 0) {
      for (const hook of hooks) {
        try {
          hook(await d.monitors.attachSocket(c));
        } catch (err) {
          process.emitWarning(`attach to ${c.ID.slice(0, 12)} failed: ${messageOf(err)}`);
        }
      }
    }
    try {
      await d.runc.start(c.ID);
    } catch (err) {
      await d.runc.delete(c.ID, true).catch(() => undefined);
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
      await d.store.save({ ...c, State: state, MonitorPid: mon.monitorPid, HasBeenStartedBefore: true });
    } catch (err) {
      // The record cannot say it runs (a full disk): the start is undone, so it fails whole.
      await d.monitors.kill(c);
      await d.runc.delete(c.ID, true).catch(() => undefined);
      await d.exits.consume(c.ID);
      throw err;
    }
    started = true;
    Object.assign(c.State, state);
    c.MonitorPid = mon.monitorPid;
    c.HasBeenStartedBefore = true;
    t.mark('save');
    t.end();
    r.started();
  } catch (caught) {
    let err = caught;
    if (!started) {
      err = await diskFullError(caught, d.store.dir(c.ID));
      await d.network.release(c).catch(() => undefined);
      await d.mounts.release(c.ID, layout.target).catch(() => undefined);
      await d.volumeMounts.teardown(c).catch(() => undefined);
      if (err instanceof BerthError) {
        c.State.Error = err.message;
        c.State.ExitCode = startFailureExitCode(err.message);
        await d.store.save(c).catch(() => undefined);
      }
    }
    throw err;
  }
}

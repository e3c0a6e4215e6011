/**
 * `up` / `create`: converge the engine on a project. Networks and volumes first, then images,
 * then services level by level in dependency order (a level's services in parallel): for each,
 * the containers it should have (replicas or --scale) — kept when their config hash matches,
 * recreated when it differs (or --force-recreate; never with --no-recreate), created for missing
 * numbers, removed from the highest number down when scaled down — then its depends_on
 * conditions waited for and its containers started. Orphans are removed on request, and
 * `--wait` polls until everything is running and healthy.
 */
import * as tarStream from 'tar-stream';
import type { EngineClient } from '../../client/client.js';
import type { ContainerSummary, MountRequest } from '../../engine-api/types.js';
import { invalid, system } from '../../lib/errors.js';
import type { Project, Service } from '../model/types.js';
import { archivePath, imageName, toContainer, type ContainerPlan, type ConvertOptions } from './convert.js';
import { nameOf, projectContainers, serviceOf, waitCompleted, waitHealthy, waitRunningHealthy } from './containers.js';
import { serviceHash } from './hash.js';
import { ensureImages, type RegistryAuth } from './images.js';
import * as L from './labels.js';
import { levels, withDependencies } from './plan.js';
import { silentProgress, type ProgressSink } from './progress.js';
import { ensureNetworks, ensureVolumes, usedNetworks, usedVolumes } from './resources.js';

export interface UpOptions {
  /** the services asked for (with their dependencies unless noDeps); all when empty */
  services?: string[];
  noDeps?: boolean;
  build?: boolean;
  noBuild?: boolean;
  pull?: 'always' | 'missing' | 'never';
  forceRecreate?: boolean;
  noRecreate?: boolean;
  /** service → replicas, overriding the model */
  scale?: Record<string, number>;
  removeOrphans?: boolean;
  /** create only (`compose create`, `up --no-start`) */
  noStart?: boolean;
  /** wait for running/healthy after start */
  wait?: boolean;
  /** ms for --wait */
  waitTimeout?: number;
  /** stop timeout (seconds) when recreating or scaling down */
  timeout?: number;
  /** recreate anonymous volumes instead of carrying the old containers' over (-V) */
  renewAnonVolumes?: boolean;
  registryAuth?: RegistryAuth;
  progress?: ProgressSink;
  warn?: (msg: string) => void;
  onBuildOutput?: (service: string, line: string) => void;
}

export interface UpResult {
  /** the containers of the converged services, by service, in number order */
  containers: Record<string, string[]>;
}

type Ctx = {
  client: EngineClient;
  project: Project;
  o: UpOptions;
  progress: ProgressSink;
  images: Map<string, string>;
  /** service → its containers' names after convergence */
  done: Map<string, string[]>;
  /** services whose containers were created or recreated in this run (depends_on restart: true) */
  changed: Set<string>;
};

export async function up(client: EngineClient, project: Project, o: UpOptions = {}): Promise<UpResult> {
  const progress = o.progress ?? silentProgress;
  const warn = o.warn ?? (() => undefined);
  for (const n of o.services ?? []) if (!project.services[n]) throw invalid(`no such service: ${n}`);
  const selected = o.noDeps ? (o.services?.length ? o.services : Object.keys(project.services)) : withDependencies(project, o.services ?? []);
  const order = levels(project.services, selected);
  for (const n of selected) {
    const other = Object.keys(project.services[n]?.other ?? {});
    if (other.length > 0) warn(`services.${n}: ${other.sort().join(', ')} not supported by berth compose yet: ignored`);
  }
  for (const [svc, n] of Object.entries(o.scale ?? {})) {
    if (!project.services[svc]) throw invalid(`no such service: ${svc}`);
    if (n > 1 && project.services[svc]?.container_name)
      throw invalid(`services.${svc}: can't set container_name and ${svc} as container name must be unique: invalid compose project`);
  }
  await ensureNetworks(client, project, usedNetworks(project, selected), { progress, warn });
  await ensureVolumes(client, project, usedVolumes(project, selected), { progress, warn });
  const images = await ensureImages(client, project, selected, {
    ...(o.build !== undefined ? { build: o.build } : {}),
    ...(o.noBuild !== undefined ? { noBuild: o.noBuild } : {}),
    ...(o.pull ? { pull: o.pull } : {}),
    progress,
    ...(o.onBuildOutput ? { onBuildOutput: o.onBuildOutput } : {}),
    ...(o.registryAuth ? { registryAuth: o.registryAuth } : {}),
  });
  const all = await projectContainers(client, project.name);
  const orphans = all.filter((c) => !(serviceOf(c) in project.services) && !(serviceOf(c) in project.disabledServices));
  if (orphans.length > 0) {
    if (o.removeOrphans) {
      await Promise.all(orphans.map((c) => removeContainer(client, c, progress, o.timeout)));
    } else {
      warn(
        `Found orphan containers ([${orphans.map(nameOf).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`,
      );
    }
  }
  const ctx: Ctx = { client, project, o, progress, images, done: new Map(), changed: new Set() };
  for (const level of order) {
    await Promise.all(
      level.map((name) =>
        convergeService(
          ctx,
          project.services[name] as Service,
          all.filter((c) => serviceOf(c) === name),
        ),
      ),
    );
  }
  if (o.wait && !o.noStart) {
    const ids = [...ctx.done.values()].flat();
    await Promise.all(
      ids.map(async (name) => {
        progress({ kind: 'Container', name, status: 'Waiting', done: false });
        try {
          const c = await waitRunningHealthy(client, name, { timeout: o.waitTimeout });
          progress({ kind: 'Container', name, status: c.State.Health ? 'Healthy' : c.State.Running ? 'Running' : 'Exited', done: true });
        } catch (e) {
          progress({ kind: 'Container', name, status: 'Error', done: true, error: true, text: (e as Error).message });
          throw e;
        }
      }),
    );
  }
  return { containers: Object.fromEntries(ctx.done) };
}

export async function removeContainer(client: EngineClient, c: ContainerSummary, progress: ProgressSink, timeout?: number): Promise<void> {
  const name = nameOf(c);
  if (c.State === 'running' || c.State === 'paused' || c.State === 'restarting') {
    progress({ kind: 'Container', name, status: 'Stopping', done: false });
    await client.containerStop(c.Id, { timeout });
    progress({ kind: 'Container', name, status: 'Stopped', done: false });
  }
  progress({ kind: 'Container', name, status: 'Removing', done: false });
  await client.containerRemove(c.Id, { force: true });
  progress({ kind: 'Container', name, status: 'Removed', done: true });
}

function expectedReplicas(ctx: Ctx, s: Service): number {
  return ctx.o.scale?.[s.name] ?? s.replicas ?? 1;
}

/** The engine name of replica n: container_name, else `<project>-<service>-<n>`. */
export function replicaName(project: Project, s: Service, n: number): string {
  return s.container_name ?? L.containerName(project.name, s.name, n);
}

async function convergeService(ctx: Ctx, s: Service, existing: ContainerSummary[]): Promise<void> {
  const { client, project, o, progress } = ctx;
  const want = expectedReplicas(ctx, s);
  const hash = serviceHash(s);
  const sorted = [...existing].sort((a, b) => L.containerNumber(a.Labels) - L.containerNumber(b.Labels));
  // scale down: the highest numbers go first
  const keep = sorted.slice(0, want);
  const extra = sorted.slice(want).reverse();
  await Promise.all(extra.map((c) => removeContainer(client, c, progress, o.timeout)));
  const names: string[] = [];
  const toStart: string[] = [];
  const toRestart: string[] = [];
  const restartOnDeps = Object.entries(s.depends_on ?? {}).some(([dep, d]) => d.restart && ctx.changed.has(dep));
  const used = new Set(keep.map((c) => L.containerNumber(c.Labels)));
  await Promise.all(
    keep.map(async (c) => {
      let name = nameOf(c);
      const stale =
        c.Labels?.[L.CONFIG_HASH] !== hash ||
        (ctx.images.get(s.name) !== undefined && c.Labels?.[L.IMAGE] !== undefined && c.Labels[L.IMAGE] !== ctx.images.get(s.name));
      if (!o.noRecreate && (o.forceRecreate || stale)) {
        name = await recreate(ctx, s, c, hash);
        ctx.changed.add(s.name);
        toStart.push(name);
      } else if (c.State !== 'running') toStart.push(name);
      else if (restartOnDeps) toRestart.push(name);
      else progress({ kind: 'Container', name, status: 'Running', done: true });
      names.push(name);
    }),
  );
  let next = 1;
  const created: Promise<void>[] = [];
  while (names.length < want) {
    while (used.has(next)) next++;
    const n = next;
    used.add(n);
    const name = replicaName(project, s, n);
    names.push(name);
    toStart.push(name);
    created.push(createReplica(ctx, s, n, name, hash).then(() => undefined));
  }
  await Promise.all(created);
  if (created.length > 0) ctx.changed.add(s.name);
  names.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  ctx.done.set(s.name, names);
  if (o.noStart) return;
  await waitDependencies(ctx, s);
  await Promise.all(
    toStart.map(async (name) => {
      progress({ kind: 'Container', name, status: 'Starting', done: false });
      try {
        await client.containerStart(name);
      } catch (e) {
        progress({ kind: 'Container', name, status: 'Error', done: true, error: true, text: (e as Error).message });
        throw e;
      }
      progress({ kind: 'Container', name, status: 'Started', done: true });
    }),
  );
  // depends_on restart: true — a dependency changed under these running containers
  await Promise.all(
    toRestart.map(async (name) => {
      progress({ kind: 'Container', name, status: 'Restarting', done: false });
      await client.containerRestart(name, { timeout: o.timeout });
      progress({ kind: 'Container', name, status: 'Restarted', done: true });
    }),
  );
  if (toRestart.length > 0) ctx.changed.add(s.name);
}

async function waitDependencies(ctx: Ctx, s: Service): Promise<void> {
  const { client, progress } = ctx;
  await Promise.all(
    Object.entries(s.depends_on ?? {}).map(async ([dep, d]) => {
      if (d.condition === 'service_started') return;
      const names = ctx.done.get(dep) ?? (await projectContainers(client, ctx.project.name, { services: [dep] })).map(nameOf);
      if (names.length === 0 && d.required !== false) throw system(`service "${dep}" has no container to wait for`);
      await Promise.all(
        names.map(async (name) => {
          progress({ kind: 'Container', name, status: 'Waiting', done: false });
          try {
            if (d.condition === 'service_healthy') await waitHealthy(client, name);
            else await waitCompleted(client, name, dep);
          } catch (e) {
            progress({ kind: 'Container', name, status: 'Error', done: true, error: true, text: (e as Error).message });
            throw e;
          }
          progress({ kind: 'Container', name, status: d.condition === 'service_healthy' ? 'Healthy' : 'Exited', done: true });
        }),
      );
    }),
  );
}

function convertOptions(ctx: Ctx, s: Service, n: number, name: string, hash: string): ConvertOptions {
  return {
    number: n,
    name,
    hash,
    imageId: ctx.images.get(s.name),
    serviceContainer: (svc) => ctx.done.get(svc)?.[0],
  };
}

/** Creates a container from a plan: create, connect its other networks, copy its file secrets/configs. */
export async function createFromPlan(client: EngineClient, plan: ContainerPlan, name = plan.name): Promise<string> {
  const { Id } = await client.containerCreate(plan.body, { name, platform: plan.platform });
  for (const c of plan.connect) await client.networkConnect(c.network, Id, c.endpoint);
  for (const f of plan.files) {
    const { dir, base } = archivePath(f.target);
    const p = tarStream.pack();
    p.entry({ name: base, mode: f.mode, mtime: new Date() }, f.content);
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
    await client.containerPutArchive(Id, dir, Buffer.concat(chunks));
  }
  return Id;
}

async function createReplica(ctx: Ctx, s: Service, n: number, name: string, hash: string, inherit: MountRequest[] = [], tmpName?: string): Promise<string> {
  const plan = toContainer(ctx.project, s, convertOptions(ctx, s, n, name, hash));
  if (inherit.length > 0) {
    const targets = new Set((plan.body.HostConfig?.Mounts ?? []).filter((m) => m.Source).map((m) => m.Target));
    const mounts = (plan.body.HostConfig?.Mounts ?? []).filter((m) => !(m.Type === 'volume' && !m.Source && inherit.some((i) => i.Target === m.Target)));
    for (const m of inherit) if (!targets.has(m.Target)) mounts.push(m);
    if (plan.body.HostConfig) plan.body.HostConfig.Mounts = mounts;
  }
  if (tmpName && plan.body.Labels) plan.body.Labels[L.REPLACE] = name;
  const label = tmpName ? 'Recreate' : 'Creating';
  if (!tmpName) ctx.progress({ kind: 'Container', name, status: label, done: false });
  const id = await createFromPlan(ctx.client, plan, tmpName ?? name);
  if (!tmpName) ctx.progress({ kind: 'Container', name, status: 'Created', done: false });
  return id;
}

/**
 * v2's recreate: the new container is created under `<old id 12>_<name>`, the old one stopped
 * and removed, the new one renamed into place; anonymous volumes (the image's VOLUMEs and the
 * service's unnamed ones) carry over by name.
 */
async function recreate(ctx: Ctx, s: Service, old: ContainerSummary, hash: string): Promise<string> {
  const { client, progress } = ctx;
  const name = replicaName(ctx.project, s, L.containerNumber(old.Labels) || 1);
  progress({ kind: 'Container', name, status: 'Recreate', done: false });
  const named = new Set(s.volumes.filter((v) => v.source).map((v) => v.target));
  const inherit: MountRequest[] = (ctx.o.renewAnonVolumes ? [] : (old.Mounts ?? []))
    .filter((m) => m.Type === 'volume' && m.Name && m.Destination && !named.has(m.Destination) && /^[0-9a-f]{64}$/.test(m.Name))
    .map((m) => ({ Type: 'volume', Source: m.Name as string, Target: m.Destination as string }));
  const tmp = `${old.Id.slice(0, 12)}_${name}`;
  await createReplica(ctx, s, L.containerNumber(old.Labels) || 1, name, hash, inherit, tmp);
  if (old.State === 'running' || old.State === 'paused' || old.State === 'restarting') await client.containerStop(old.Id, { timeout: ctx.o.timeout });
  await client.containerRemove(old.Id, { force: true });
  await client.containerRename(tmp, name);
  progress({ kind: 'Container', name, status: 'Recreated', done: false });
  return name;
}

/** The image references a project's services run (for `pull`, `push`, `down --rmi`). */
export function projectImages(project: Project): Map<string, string> {
  return new Map(Object.values(project.services).map((s) => [s.name, imageName(project, s)]));
}

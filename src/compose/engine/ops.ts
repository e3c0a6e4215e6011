/**
 * The per-container commands over a project's services: start, stop, restart, kill, pause,
 * unpause, rm, wait, top, port, and the listings ps, ls and images — each finds the containers by
 * label and acts on them in parallel, reporting one progress line per container.
 */
import type { EngineClient } from '../../client/client.js';
import type { ContainerSummary, ContainerTop } from '../../engine-api/types.js';
import { invalid, notFound } from '../../lib/errors.js';
import type { Project } from '../model/types.js';
import { nameOf, projectContainers, serviceOf } from './containers.js';
import * as L from './labels.js';
import { dependents, levels, withDependencies } from './plan.js';
import { silentProgress, type ProgressSink } from './progress.js';

export interface Target {
  project: string;
  /** the model when loaded (start order); optional for commands that work from labels */
  model?: Project | undefined;
  services?: string[];
  progress?: ProgressSink;
}

type Action = { verb: string; done: string; run: (c: ContainerSummary) => Promise<void>; filter?: (c: ContainerSummary) => boolean };

async function each(client: EngineClient, t: Target, a: Action, o: { reverse?: boolean; all?: boolean } = {}): Promise<ContainerSummary[]> {
  const progress = t.progress ?? silentProgress;
  const list = (await projectContainers(client, t.project, { ...(t.services?.length ? { services: t.services } : {}), all: o.all ?? true })).filter(
    a.filter ?? (() => true),
  );
  if (t.services?.length && t.model) for (const s of t.services) if (!t.model.services[s]) throw notFound(`no such service: ${s}`);
  let order: string[][] = [[...new Set(list.map(serviceOf))]];
  if (t.model) {
    const known = levels(t.model.services);
    const rest = list.map(serviceOf).filter((s) => !known.flat().includes(s));
    order = [...known, [...new Set(rest)]];
    if (o.reverse) order.reverse();
  }
  for (const level of order) {
    await Promise.all(
      list
        .filter((c) => level.includes(serviceOf(c)))
        .map(async (c) => {
          const name = nameOf(c);
          progress({ kind: 'Container', name, status: a.verb, done: false });
          try {
            await a.run(c);
          } catch (e) {
            progress({ kind: 'Container', name, status: 'Error', done: true, error: true, text: (e as Error).message });
            throw e;
          }
          progress({ kind: 'Container', name, status: a.done, done: true });
        }),
    );
  }
  return list;
}

const running = (c: ContainerSummary): boolean => c.State === 'running' || c.State === 'restarting' || c.State === 'paused';

export async function start(client: EngineClient, t: Target): Promise<void> {
  const found = await each(client, t, { verb: 'Starting', done: 'Started', run: (c) => client.containerStart(c.Id), filter: (c) => !running(c) });
  if (found.length === 0 && (await projectContainers(client, t.project)).length === 0)
    throw notFound(`service "${t.services?.[0] ?? ''}" has no container to start`);
}

export async function stop(client: EngineClient, t: Target, o: { timeout?: number | undefined } = {}): Promise<void> {
  await each(
    client,
    t,
    { verb: 'Stopping', done: 'Stopped', run: (c) => client.containerStop(c.Id, { timeout: o.timeout }), filter: running },
    { reverse: true },
  );
}

export async function restart(client: EngineClient, t: Target, o: { timeout?: number | undefined; noDeps?: boolean } = {}): Promise<void> {
  await each(client, t, { verb: 'Restarting', done: 'Started', run: (c) => client.containerRestart(c.Id, { timeout: o.timeout }) });
}

export async function kill(client: EngineClient, t: Target, o: { signal?: string | undefined } = {}): Promise<void> {
  await each(client, t, { verb: 'Killing', done: 'Killed', run: (c) => client.containerKill(c.Id, { signal: o.signal }), filter: running });
}

export async function pause(client: EngineClient, t: Target): Promise<void> {
  await each(client, t, { verb: 'Pausing', done: 'Paused', run: (c) => client.containerPause(c.Id), filter: (c) => c.State === 'running' });
}

export async function unpause(client: EngineClient, t: Target): Promise<void> {
  await each(client, t, { verb: 'Unpausing', done: 'Unpaused', run: (c) => client.containerUnpause(c.Id), filter: (c) => c.State === 'paused' });
}

/** `rm`: stopped containers (with stop: running ones stopped first); resolves with the removed names. */
export async function rm(client: EngineClient, t: Target, o: { stop?: boolean; volumes?: boolean } = {}): Promise<string[]> {
  const list = await each(client, t, {
    verb: 'Removing',
    done: 'Removed',
    run: async (c) => {
      if (running(c)) await client.containerStop(c.Id);
      await client.containerRemove(c.Id, { force: true, volumes: o.volumes ?? false });
    },
    filter: (c) => o.stop === true || !running(c),
  });
  return list.map(nameOf);
}

/** `wait`: every container's exit code, in order. */
export async function wait(client: EngineClient, t: Target): Promise<Array<{ name: string; code: number }>> {
  const list = await projectContainers(client, t.project, { ...(t.services?.length ? { services: t.services } : {}) });
  return Promise.all(
    list.map(async (c) => {
      const h = await client.containerWait(c.Id, { condition: 'not-running' });
      return { name: nameOf(c), code: (await h.result).StatusCode };
    }),
  );
}

export async function top(client: EngineClient, t: Target): Promise<Array<{ name: string; top: ContainerTop }>> {
  const list = (await projectContainers(client, t.project, { ...(t.services?.length ? { services: t.services } : {}) })).filter((c) => c.State === 'running');
  return Promise.all(list.map(async (c) => ({ name: nameOf(c), top: await client.containerTop(c.Id) })));
}

/** The container of `service` with number `index` (1 when not given); one-offs are not considered. */
export async function serviceContainer(client: EngineClient, project: string, service: string, index = 1): Promise<ContainerSummary> {
  const list = await projectContainers(client, project, { services: [service] });
  const c = list.find((x) => L.containerNumber(x.Labels) === index) ?? (index === 1 ? list[0] : undefined);
  if (!c) throw notFound(index === 1 ? `service "${service}" is not running` : `service "${service}" is not running container #${index}`);
  return c;
}

export async function port(
  client: EngineClient,
  project: string,
  service: string,
  privatePort: number,
  o: { protocol?: string; index?: number } = {},
): Promise<string> {
  const c = await serviceContainer(client, project, service, o.index);
  const proto = o.protocol ?? 'tcp';
  const p = c.Ports.find((x) => x.PrivatePort === privatePort && x.Type === proto && x.PublicPort);
  if (!p) throw invalid(`no port ${privatePort}/${proto} for container ${nameOf(c)}: ${c.Ports.map((x) => `${x.PrivatePort}/${x.Type}`).join(', ')}`);
  return `${p.IP && p.IP !== '' ? p.IP : '0.0.0.0'}:${p.PublicPort}`;
}

export interface PsRow {
  ID: string;
  Name: string;
  Image: string;
  Command: string;
  Project: string;
  Service: string;
  Created: number;
  State: string;
  Status: string;
  Health: string;
  ExitCode: number;
  Publishers: Array<{ URL: string; TargetPort: number; PublishedPort: number; Protocol: string }>;
  Labels: Record<string, string>;
}

function healthOf(status: string): string {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status);
  return m ? (m[1] === 'health: starting' ? 'starting' : (m[1] as string)) : '';
}

export async function ps(client: EngineClient, t: Target, o: { all?: boolean; status?: string[] } = {}): Promise<PsRow[]> {
  const list = await projectContainers(client, t.project, {
    ...(t.services?.length ? { services: t.services } : {}),
    all: o.all ?? false,
    includeOneoff: o.all ?? false,
  });
  return list
    .filter((c) => !o.status?.length || o.status.includes(c.State))
    .map((c) => {
      const exit = /^Exited \((-?\d+)\)/.exec(c.Status);
      return {
        ID: c.Id,
        Name: nameOf(c),
        Image: c.Image,
        Command: c.Command,
        Project: t.project,
        Service: serviceOf(c),
        Created: c.Created,
        State: c.State,
        Status: c.Status,
        Health: healthOf(c.Status),
        ExitCode: exit ? Number(exit[1]) : 0,
        Publishers: (c.Ports ?? []).map((p) => ({ URL: p.IP ?? '', TargetPort: p.PrivatePort, PublishedPort: p.PublicPort ?? 0, Protocol: p.Type })),
        Labels: c.Labels ?? {},
      };
    });
}

export interface ProjectRow {
  Name: string;
  Status: string;
  ConfigFiles: string;
}

/** `ls`: the projects on the engine, from the labels of their containers. */
export async function ls(client: EngineClient, o: { all?: boolean } = {}): Promise<ProjectRow[]> {
  const list = await client.containerList({ all: true, filters: { label: [L.PROJECT] } });
  const by = new Map<string, ContainerSummary[]>();
  for (const c of list) {
    const p = c.Labels?.[L.PROJECT] ?? '';
    by.set(p, [...(by.get(p) ?? []), c]);
  }
  const rows: ProjectRow[] = [];
  for (const [name, cs] of [...by].sort((a, b) => a[0].localeCompare(b[0]))) {
    const counts = new Map<string, number>();
    for (const c of cs) counts.set(c.State, (counts.get(c.State) ?? 0) + 1);
    if (!o.all && !counts.has('running')) continue;
    const status = [...counts]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([s, n]) => `${s}(${n})`)
      .join(', ');
    const files = new Set(cs.map((c) => c.Labels?.[L.CONFIG_FILES] ?? '').filter(Boolean));
    rows.push({ Name: name, Status: status, ConfigFiles: [...files].join(',') });
  }
  return rows;
}

export interface ImageRow {
  ContainerName: string;
  Repository: string;
  Tag: string;
  ID: string;
  Size: number;
}

export async function images(client: EngineClient, t: Target): Promise<ImageRow[]> {
  const list = await projectContainers(client, t.project, { ...(t.services?.length ? { services: t.services } : {}) });
  return Promise.all(
    list.map(async (c) => {
      const img = await client.imageInspect(c.ImageID || c.Image).catch(() => undefined);
      const tagged = img?.RepoTags?.[0] ?? c.Image;
      const colon = tagged.lastIndexOf(':');
      const slash = tagged.lastIndexOf('/');
      return {
        ContainerName: nameOf(c),
        Repository: colon > slash ? tagged.slice(0, colon) : tagged,
        Tag: colon > slash ? tagged.slice(colon + 1) : 'latest',
        ID: img?.Id ?? c.ImageID,
        Size: img?.Size ?? 0,
      };
    }),
  );
}

/** Services to act on for `up svc`: with their dependencies, or the dependents for restarts. */
export { withDependencies, dependents };

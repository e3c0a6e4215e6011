/**
 * A project's containers as the engine has them (found by label), their order, and the state
 * waits `depends_on` conditions and `--wait` need: running, healthy, exited with 0.
 */
import type { EngineClient } from '../../client/client.js';
import type { ContainerInspect, ContainerSummary } from '../../engine-api/types.js';
import { system } from '../../lib/errors.js';
import * as L from './labels.js';

export interface ListOptions {
  services?: string[];
  all?: boolean;
  /** true: one-offs only; false: no one-offs (default); undefined with includeOneoff: both */
  oneoff?: boolean;
  includeOneoff?: boolean;
}

export async function projectContainers(client: EngineClient, project: string, o: ListOptions = {}): Promise<ContainerSummary[]> {
  const list = await client.containerList({
    all: o.all ?? true,
    filters: L.projectFilter(project, { ...(o.includeOneoff ? {} : { oneoff: o.oneoff ?? false }), ...(o.services ? { services: o.services } : {}) }),
  });
  const wanted = o.services?.length ? new Set(o.services) : undefined;
  return list.filter((c) => !wanted || wanted.has(c.Labels?.[L.SERVICE] ?? '')).sort(byServiceAndNumber);
}

export function serviceOf(c: ContainerSummary): string {
  return c.Labels?.[L.SERVICE] ?? '';
}

export function nameOf(c: ContainerSummary): string {
  return (c.Names[0] ?? c.Id).replace(/^\//, '');
}

export function byServiceAndNumber(a: ContainerSummary, b: ContainerSummary): number {
  return serviceOf(a).localeCompare(serviceOf(b)) || L.containerNumber(a.Labels) - L.containerNumber(b.Labels) || nameOf(a).localeCompare(nameOf(b));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface WaitStateOptions {
  /** ms; undefined: no deadline */
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Polls inspect until `check` says done (true) or fails (a string). */
export async function pollContainer(
  client: EngineClient,
  id: string,
  check: (c: ContainerInspect) => boolean | string,
  o: WaitStateOptions = {},
): Promise<ContainerInspect> {
  const deadline = o.timeout !== undefined ? Date.now() + o.timeout : Infinity;
  let delay = 50;
  for (;;) {
    const c = await client.containerInspect(id);
    const r = check(c);
    if (r === true) return c;
    if (typeof r === 'string') throw system(r);
    if (Date.now() > deadline) throw system(`timeout waiting for container ${c.Name.replace(/^\//, '')}`);
    if (o.signal?.aborted) throw system('aborted');
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
}

export function waitHealthy(client: EngineClient, id: string, o: WaitStateOptions = {}): Promise<ContainerInspect> {
  return pollContainer(
    client,
    id,
    (c) => {
      const name = c.Name.replace(/^\//, '');
      const health = c.State.Health?.Status;
      if (health === 'healthy') return true;
      if (health === 'unhealthy') return `dependency failed to start: container ${name} is unhealthy`;
      if (!health)
        return c.State.Running
          ? `dependency failed to start: container ${name} has no healthcheck configured`
          : `dependency failed to start: container ${name} exited (${c.State.ExitCode})`;
      if (!c.State.Running && !c.State.Restarting) return `dependency failed to start: container ${name} exited (${c.State.ExitCode})`;
      return false;
    },
    o,
  );
}

export function waitCompleted(client: EngineClient, id: string, service: string, o: WaitStateOptions = {}): Promise<ContainerInspect> {
  return pollContainer(
    client,
    id,
    (c) => {
      if (c.State.Running || c.State.Restarting || c.State.Status === 'created') return false;
      if (c.State.ExitCode === 0) return true;
      return `service "${service}" didn't complete successfully: exit ${c.State.ExitCode}`;
    },
    o,
  );
}

/** --wait: running, and healthy when it has a healthcheck; a one-shot that exited 0 counts too. */
export function waitRunningHealthy(client: EngineClient, id: string, o: WaitStateOptions = {}): Promise<ContainerInspect> {
  return pollContainer(
    client,
    id,
    (c) => {
      const name = c.Name.replace(/^\//, '');
      const health = c.State.Health?.Status;
      if (health === 'unhealthy') return `container ${name} is unhealthy`;
      if (c.State.Running) return health === undefined || health === 'healthy' || health === '';
      if (c.State.Status === 'exited') return c.State.ExitCode === 0 ? true : `container ${name} exited (${c.State.ExitCode})`;
      return false;
    },
    o,
  );
}

/**
 * `run`: a one-off container of a service (`<project>-<service>-run-<12 hex>`, oneoff label
 * True), its dependencies brought up first unless --no-deps; the caller starts and attaches it.
 */
import { randomBytes } from 'node:crypto';
import type { EngineClient } from '../../client/client.js';
import { notFound } from '../../lib/errors.js';
import type { Project } from '../model/types.js';
import { toContainer } from './convert.js';
import { nameOf, projectContainers, serviceOf } from './containers.js';
import { serviceHash } from './hash.js';
import { ensureImages } from './images.js';
import { dependencies } from './plan.js';
import { silentProgress, type ProgressSink } from './progress.js';
import { ensureNetworks, ensureVolumes, usedNetworks, usedVolumes } from './resources.js';
import { createFromPlan, up } from './up.js';

export interface RunOptions {
  command?: string[] | undefined;
  entrypoint?: string[] | undefined;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  name?: string | undefined;
  servicePorts?: boolean;
  rm?: boolean;
  noDeps?: boolean;
  tty?: boolean;
  interactive?: boolean;
  user?: string | undefined;
  workdir?: string | undefined;
  build?: boolean;
  progress?: ProgressSink;
  warn?: (msg: string) => void;
}

export async function createOneoff(client: EngineClient, project: Project, service: string, o: RunOptions = {}): Promise<{ id: string; name: string }> {
  const s = project.services[service];
  if (!s) throw notFound(`no such service: ${service}`);
  const progress = o.progress ?? silentProgress;
  const warn = o.warn ?? (() => undefined);
  const deps = dependencies(s, project.services);
  if (!o.noDeps && deps.length > 0) await up(client, project, { services: deps, progress, warn });
  await ensureNetworks(client, project, usedNetworks(project, [service]), { progress, warn });
  await ensureVolumes(client, project, usedVolumes(project, [service]), { progress, warn });
  const images = await ensureImages(client, project, [service], { ...(o.build ? { build: true } : {}), progress });
  const name = o.name ?? `${project.name}-${service}-run-${randomBytes(6).toString('hex')}`;
  // network_mode/ipc/pid `service:x` and links name the dependencies' first containers
  const first = new Map<string, string>();
  for (const c of await projectContainers(client, project.name, { services: deps })) if (!first.has(serviceOf(c))) first.set(serviceOf(c), nameOf(c));
  const plan = toContainer(project, s, {
    number: 1,
    name,
    hash: serviceHash(s),
    imageId: images.get(service),
    oneoff: true,
    command: o.command,
    entrypoint: o.entrypoint,
    ...(o.env ? { env: o.env } : {}),
    ...(o.labels ? { labels: o.labels } : {}),
    ports: o.servicePorts ?? false,
    autoRemove: o.rm ?? false,
    tty: o.tty ?? false,
    interactive: o.interactive ?? false,
    user: o.user,
    workdir: o.workdir,
    serviceContainer: (svc) => first.get(svc),
  });
  const id = await createFromPlan(client, plan, name);
  return { id, name };
}

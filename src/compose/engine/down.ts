/**
 * `down`: stop and remove the project's containers (one-offs too; orphans with --remove-orphans),
 * then its networks, with -v its volumes, with --rmi its images. Works from the project name
 * alone (the labels) when no model is at hand, as `docker compose -p NAME down` does.
 */
import { ApiError } from '../../client/errors.js';
import type { EngineClient } from '../../client/client.js';
import type { Project } from '../model/types.js';
import { nameOf, projectContainers, serviceOf } from './containers.js';
import { levels } from './plan.js';
import { silentProgress, type ProgressSink } from './progress.js';
import { removeNetworks, removeVolumes } from './resources.js';
import { projectImages, removeContainer } from './up.js';

export interface DownOptions {
  /** the model, when loaded: its networks/volumes by name, its services for orphan detection and order */
  project?: Project | undefined;
  removeOrphans?: boolean;
  volumes?: boolean;
  rmi?: 'local' | 'all' | undefined;
  timeout?: number | undefined;
  progress?: ProgressSink;
  warn?: (msg: string) => void;
}

export async function down(client: EngineClient, projectName: string, o: DownOptions = {}): Promise<void> {
  const progress = o.progress ?? silentProgress;
  const p = o.project;
  let containers = await projectContainers(client, projectName, { includeOneoff: true });
  if (p && !o.removeOrphans) {
    const orphans = containers.filter((c) => !(serviceOf(c) in p.services) && !(serviceOf(c) in p.disabledServices));
    if (orphans.length > 0) {
      o.warn?.(
        `Found orphan containers ([${orphans.map(nameOf).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`,
      );
      containers = containers.filter((c) => !orphans.includes(c));
    }
  }
  // dependents stop before what they depend on: reverse start order, unknown services first
  const order = p ? levels(p.services).reverse() : [];
  const rank = new Map<string, number>();
  order.forEach((lvl, i) => lvl.forEach((s) => rank.set(s, i + 1)));
  const groups = new Map<number, typeof containers>();
  for (const c of containers) {
    const r = rank.get(serviceOf(c)) ?? 0;
    groups.set(r, [...(groups.get(r) ?? []), c]);
  }
  for (const r of [...groups.keys()].sort((a, b) => a - b)) {
    await Promise.all((groups.get(r) ?? []).map((c) => removeContainer(client, c, progress, o.timeout)));
  }
  const modelNets = p
    ? Object.values(p.networks)
        .filter((n) => !n.external)
        .map((n) => n.name)
    : [];
  await removeNetworks(client, projectName, modelNets, { progress, warn: o.warn ?? (() => undefined) });
  if (o.volumes) {
    const modelVols = p
      ? Object.values(p.volumes)
          .filter((v) => !v.external)
          .map((v) => v.name)
      : [];
    await removeVolumes(client, projectName, modelVols, { progress, warn: o.warn ?? (() => undefined) });
  }
  if (o.rmi) {
    const refs = new Set<string>();
    if (p) {
      for (const [svc, ref] of projectImages(p)) if (o.rmi === 'all' || !p.services[svc]?.image) refs.add(ref);
    } else {
      for (const c of containers) if (o.rmi === 'all' || c.Image.startsWith(`${projectName}-`)) refs.add(c.Image);
    }
    for (const ref of refs) {
      try {
        await client.imageRemove(ref);
        progress({ kind: 'Image', name: ref, status: 'Removed', done: true });
      } catch (e) {
        if (!(e instanceof ApiError && e.statusCode === 404)) throw e;
      }
    }
  }
}

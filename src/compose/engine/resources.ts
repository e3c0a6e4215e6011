/**
 * A project's networks and volumes on the engine: created with v2's labels when missing, reused
 * when they carry the project's labels (a warning otherwise, as v2 prints it), external ones
 * required to exist; and removed by `down`.
 */
import { ApiError } from '../../client/errors.js';
import type { EngineClient } from '../../client/client.js';
import type { NetworkCreateRequest } from '../../engine-api/types.js';
import { conflict, notFound } from '../../lib/errors.js';
import type { Project } from '../model/types.js';
import * as L from './labels.js';
import type { ProgressSink } from './progress.js';

const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.statusCode === 404;

export interface ResourceOptions {
  progress: ProgressSink;
  warn: (msg: string) => void;
}

/** Networks the given services use (plus `default` when any service is on it). */
export function usedNetworks(project: Project, services: string[]): string[] {
  const keys = new Set<string>();
  for (const n of services) for (const k of Object.keys(project.services[n]?.networks ?? {})) keys.add(k);
  return [...keys].filter((k) => k in project.networks);
}

export async function ensureNetworks(client: EngineClient, project: Project, keys: string[], o: ResourceOptions): Promise<void> {
  await Promise.all(
    keys.map(async (key) => {
      const net = project.networks[key];
      if (!net) return;
      let existing;
      try {
        existing = await client.networkInspect(net.name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (net.external) {
        if (!existing) throw notFound(`network ${net.name} declared as external, but could not be found`);
        return;
      }
      if (existing) {
        const labels = existing.Labels ?? {};
        if (labels[L.PROJECT] === undefined) {
          o.warn(`a network with name ${net.name} exists but was not created by compose.\nSet \`external: true\` to use an existing network`);
        } else if (labels[L.PROJECT] !== project.name) {
          o.warn(
            `a network with name ${net.name} exists but was not created for project "${project.name}".\nSet \`external: true\` to use an existing network`,
          );
        } else if (labels[L.NETWORK] !== undefined && labels[L.NETWORK] !== key) {
          throw conflict(`network ${net.name} was found but has incorrect label ${L.NETWORK} set to "${labels[L.NETWORK]}"`);
        }
        return;
      }
      o.progress({ kind: 'Network', name: net.name, status: 'Creating', done: false });
      const body: NetworkCreateRequest = {
        Name: net.name,
        Driver: net.driver ?? 'bridge',
        Labels: { ...net.labels, [L.NETWORK]: key, [L.PROJECT]: project.name, [L.VERSION]: L.COMPOSE_VERSION },
        CheckDuplicate: true,
      };
      if (net.driver_opts) body.Options = net.driver_opts;
      if (net.internal) body.Internal = true;
      if (net.attachable) body.Attachable = true;
      if (net.enable_ipv6) body.EnableIPv6 = true;
      if (net.ipam) {
        body.IPAM = {
          Driver: net.ipam.driver ?? 'default',
          Config: (net.ipam.config ?? []).map((c) => ({
            ...(c.subnet ? { Subnet: c.subnet } : {}),
            ...(c.ip_range ? { IPRange: c.ip_range } : {}),
            ...(c.gateway ? { Gateway: c.gateway } : {}),
          })),
          ...(net.ipam.options ? { Options: net.ipam.options } : {}),
        };
      }
      await client.networkCreate(body);
      o.progress({ kind: 'Network', name: net.name, status: 'Created', done: true });
    }),
  );
}

/** Named volumes the given services mount (project-level keys). */
export function usedVolumes(project: Project, services: string[]): string[] {
  const keys = new Set<string>();
  for (const n of services) {
    for (const v of project.services[n]?.volumes ?? []) if (v.type === 'volume' && v.source && v.source in project.volumes) keys.add(v.source);
  }
  return [...keys];
}

export async function ensureVolumes(client: EngineClient, project: Project, keys: string[], o: ResourceOptions): Promise<void> {
  await Promise.all(
    keys.map(async (key) => {
      const vol = project.volumes[key];
      if (!vol) return;
      let existing;
      try {
        existing = await client.volumeInspect(vol.name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (vol.external) {
        if (!existing) throw notFound(`external volume "${vol.name}" not found`);
        return;
      }
      if (existing) {
        const labels = existing.Labels ?? {};
        if (labels[L.PROJECT] !== project.name) {
          o.warn(`volume "${vol.name}" already exists but was not created by Docker Compose. Use \`external: true\` to use an existing volume`);
        }
        return;
      }
      o.progress({ kind: 'Volume', name: `"${vol.name}"`, status: 'Creating', done: false });
      await client.volumeCreate({
        Name: vol.name,
        Driver: vol.driver ?? 'local',
        ...(vol.driver_opts ? { DriverOpts: vol.driver_opts } : {}),
        Labels: { ...vol.labels, [L.PROJECT]: project.name, [L.VERSION]: L.COMPOSE_VERSION, [L.VOLUME]: key },
      });
      o.progress({ kind: 'Volume', name: `"${vol.name}"`, status: 'Created', done: true });
    }),
  );
}

/** The project's networks on the engine, by label (what `down` removes), plus the model's non-external ones. */
export async function removeNetworks(client: EngineClient, projectName: string, modelNames: string[], o: ResourceOptions): Promise<void> {
  const labelled = await client.networkList({ filters: { label: [`${L.PROJECT}=${projectName}`] } });
  const names = new Set([...labelled.map((n) => n.Name), ...modelNames]);
  await Promise.all(
    [...names].map(async (name) => {
      o.progress({ kind: 'Network', name, status: 'Removing', done: false });
      try {
        await client.networkRemove(name);
        o.progress({ kind: 'Network', name, status: 'Removed', done: true });
      } catch (e) {
        if (isNotFound(e)) return;
        o.progress({ kind: 'Network', name, status: 'Error', done: true, error: true, text: (e as Error).message });
        throw e;
      }
    }),
  );
}

export async function removeVolumes(client: EngineClient, projectName: string, modelNames: string[], o: ResourceOptions): Promise<void> {
  const labelled = await client.volumeList({ filters: { label: [`${L.PROJECT}=${projectName}`] } });
  const names = new Set([...labelled.map((v) => v.Name), ...modelNames]);
  await Promise.all(
    [...names].map(async (name) => {
      try {
        await client.volumeRemove(name);
        o.progress({ kind: 'Volume', name, status: 'Removed', done: true });
      } catch (e) {
        if (isNotFound(e)) return;
        o.progress({ kind: 'Volume', name, status: 'Error', done: true, error: true, text: (e as Error).message });
        throw e;
      }
    }),
  );
}

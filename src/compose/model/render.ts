// What `docker compose config` prints: the normalised model with compose v2's key names (top level
// name, services, networks, volumes, secrets, configs; services and their keys sorted, long syntax,
// empty values left out; `command`/`entrypoint` null in JSON as v2 prints them), and the lists its
// --services/--volumes/--profiles/--images/--networks flags print.
import { stringify } from 'yaml';
import type { DependsOn, Port, Project, Service, ServiceVolume } from './types.js';

const empty = (v: unknown): boolean =>
  v === undefined || (Array.isArray(v) && v.length === 0) || (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);

function sortedObject(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) if (!empty(o[k])) out[k] = o[k];
  return out;
}

function sortedKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}

function ordered<T extends object>(o: T, keys: Array<keyof T>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k as string] = o[k];
  for (const [k, v] of Object.entries(o)) if (!(k in out) && v !== undefined) out[k] = v;
  return out;
}

const portOut = (p: Port): Record<string, unknown> => ordered(p, ['mode', 'host_ip', 'target', 'published', 'protocol', 'name', 'app_protocol']);
const volumeOut = (v: ServiceVolume): Record<string, unknown> =>
  ordered(v, ['type', 'source', 'target', 'read_only', 'consistency', 'bind', 'volume', 'tmpfs']);

function dependsOut(d: DependsOn): Record<string, unknown> {
  return { condition: d.condition, ...(d.restart ? { restart: true } : {}), required: d.required };
}

/** one service as `config` prints it; `json` keeps the null command/entrypoint v2 prints there */
export function serviceDocument(s: Service, json: boolean): Record<string, unknown> {
  const { name: _n, replicas: _r, extensions, other, env_file: _e, label_file: _l, ...fields } = s;
  void [_n, _r, _e, _l];
  const doc: Record<string, unknown> = { ...fields, ...(other ?? {}), ...extensions };
  if (s.build !== undefined) {
    const { other: more, ...build } = s.build;
    doc.build = sortedObject({ ...build, ...(more ?? {}) });
  }
  if (s.deploy !== undefined) {
    const { other: more, ...deploy } = s.deploy;
    doc.deploy = sortedObject({ ...deploy, ...(more ?? {}) });
  }
  doc.ports = s.ports.map(portOut);
  doc.volumes = s.volumes.map(volumeOut);
  doc.depends_on = Object.fromEntries(Object.entries(s.depends_on).map(([k, d]) => [k, dependsOut(d)]));
  // maps print with sorted keys, as Go marshals them
  for (const k of ['environment', 'labels', 'sysctls', 'depends_on', 'annotations', 'ulimits']) {
    if (doc[k] !== null && typeof doc[k] === 'object' && !Array.isArray(doc[k])) doc[k] = sortedKeys(doc[k] as Record<string, unknown>);
  }
  const out = sortedObject(doc);
  if (!empty(s.networks)) out.networks = sortedKeys(s.networks); // `default: null` is printed
  if (json) {
    out.command = s.command ?? null;
    out.entrypoint = s.entrypoint ?? null;
  } else {
    if (s.command === null) delete out.command;
    if (s.entrypoint === null) delete out.entrypoint;
  }
  // v2's service struct is in alphabetical order except `profiles`, which comes first
  const sorted = sortedObject(out);
  return 'profiles' in sorted ? { profiles: sorted.profiles, ...sorted } : sorted;
}

/** the whole `config` document */
export function configDocument(project: Project, json = false): Record<string, unknown> {
  const doc: Record<string, unknown> = { name: project.name };
  const services: Record<string, unknown> = {};
  for (const name of Object.keys(project.services).sort()) services[name] = serviceDocument(project.services[name] as Service, json);
  doc.services = services;
  for (const k of ['networks', 'volumes', 'secrets', 'configs'] as const) {
    const section = project[k] as Record<string, object>;
    if (Object.keys(section).length === 0) continue;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(section).sort()) {
      const { name, ...rest } = section[key] as Record<string, unknown>;
      out[key] = { name, ...sortedObject(rest) }; // the engine name first, as v2 prints it
    }
    doc[k] = out;
  }
  for (const [k, v] of Object.entries(project.extensions)) doc[k] = v;
  return doc;
}

/** the text `docker compose config [--format json]` prints */
export function renderConfig(project: Project, format: 'yaml' | 'json' = 'yaml'): string {
  if (format === 'json') return `${JSON.stringify(configDocument(project, true), null, 2)}\n`;
  // compose v2 keeps `default: null` under networks and null environment values visible
  return stringify(configDocument(project, false), { indent: 2, indentSeq: true, lineWidth: 0, nullStr: 'null' });
}

/** `config --services`: the enabled services, sorted by name (compose v2 prints a stable order, not the dependency order) */
export function configServices(project: Project): string[] {
  return Object.keys(project.services).sort();
}

/** `config --volumes`: the top-level volume keys, sorted */
export function configVolumes(project: Project): string[] {
  return Object.keys(project.volumes).sort();
}

/** `config --networks`: the top-level network keys, sorted */
export function configNetworks(project: Project): string[] {
  return Object.keys(project.networks).sort();
}

/** `config --profiles`: every profile named by any service (enabled or not), sorted, once each */
export function configProfiles(project: Project): string[] {
  const all = new Set<string>();
  for (const s of [...Object.values(project.services), ...Object.values(project.disabledServices)]) for (const p of s.profiles ?? []) all.add(p);
  return [...all].sort();
}

/** the image a service runs: `image:`, else the one compose v2 builds, `<project>-<service>` */
export function serviceImage(project: Project, s: Service): string {
  return s.image ?? `${project.name}-${s.name}`;
}

/** `config --images`: one image per enabled service, in service-name order */
export function configImages(project: Project): string[] {
  return configServices(project).map((n) => serviceImage(project, project.services[n] as Service));
}

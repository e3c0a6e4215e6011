// One file's tree in the canonical (long) syntax, before merging, as docker compose v2 transforms
// each file: ports/volumes/secrets/configs as objects, depends_on/environment/labels/networks as maps,
// build/extends/env_file/include as their long forms. Values keep their YAML types (the normaliser
// coerces). `fail(path, what)` raises the caller's located error.
import { parsePortShort, parseVolumeShort } from './syntax.js';

export type Tree = Record<string, unknown>;
export type Fail = (path: Array<string | number>, what: string) => never;

export const isMap = (v: unknown): v is Tree => v !== null && typeof v === 'object' && !Array.isArray(v);

/** "K=V" list or map → map of strings (null for a bare key when `bare` is null) */
export function toMap(v: unknown, sep: string, bare: '' | null): Record<string, unknown> {
  if (isMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = x === null || x === undefined ? bare : typeof x === 'object' ? x : String(x);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const item of Array.isArray(v) ? v : []) {
    const s = String(item);
    const i = s.indexOf(sep);
    if (i < 0) out[s] = bare;
    else out[s.slice(0, i)] = s.slice(i + 1);
  }
  return out;
}

const list = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** the whole file */
export function canonicalFile(data: Tree, fail: Fail): Tree {
  const out: Tree = { ...data };
  if (isMap(data.services)) {
    const services: Tree = {};
    for (const [name, svc] of Object.entries(data.services)) {
      services[name] = isMap(svc) ? canonicalService(svc, ['services', name], fail) : svc;
    }
    out.services = services;
  }
  for (const kind of ['networks', 'volumes', 'secrets', 'configs']) {
    const section = data[kind];
    if (!isMap(section)) continue;
    const objs: Tree = {};
    for (const [k, v] of Object.entries(section)) {
      const o = isMap(v) ? { ...v } : {};
      if (o.labels !== undefined) o.labels = toMap(o.labels, '=', '');
      if (isMap(o.external)) {
        // the legacy `external: {name: x}` form
        if (o.name === undefined && typeof o.external.name === 'string') o.name = o.external.name;
        o.external = true;
      }
      objs[k] = o;
    }
    out[kind] = objs;
  }
  if (data.include !== undefined) {
    out.include = list(data.include).map((e) => {
      const o: Tree = isMap(e) ? { ...e } : { path: e };
      o.path = list(o.path).map(String);
      if (o.env_file !== undefined) o.env_file = list(o.env_file).map(String);
      return o;
    });
  }
  return out;
}

/** one service */
export function canonicalService(svc: Tree, at: Array<string | number>, fail: Fail): Tree {
  const s: Tree = { ...svc };
  if (typeof s.build === 'string') s.build = { context: s.build };
  if (isMap(s.build) && s.build.args !== undefined) s.build = { ...s.build, args: toMap(s.build.args, '=', null) };
  if (isMap(s.build) && s.build.labels !== undefined) s.build = { ...s.build, labels: toMap(s.build.labels, '=', '') };
  if (typeof s.extends === 'string') s.extends = { service: s.extends };
  if (s.environment !== undefined) s.environment = toMap(s.environment, '=', null);
  if (s.labels !== undefined) s.labels = toMap(s.labels, '=', '');
  if (s.annotations !== undefined) s.annotations = toMap(s.annotations, '=', '');
  if (s.sysctls !== undefined) s.sysctls = toMap(s.sysctls, '=', '');
  if (s.env_file !== undefined) {
    s.env_file = list(s.env_file).map((e) => (isMap(e) ? { required: true, ...e } : { path: String(e), required: true }));
  }
  for (const k of ['dns', 'dns_search', 'tmpfs', 'label_file']) if (typeof s[k] === 'string') s[k] = [s[k]];
  if (s.depends_on !== undefined) {
    const deps: Tree = {};
    if (Array.isArray(s.depends_on)) {
      for (const d of s.depends_on) deps[String(d)] = { condition: 'service_started', required: true };
    } else if (isMap(s.depends_on)) {
      for (const [k, v] of Object.entries(s.depends_on)) deps[k] = { condition: 'service_started', required: true, ...(isMap(v) ? v : {}) };
    }
    s.depends_on = deps;
  }
  if (Array.isArray(s.networks)) {
    const nets: Tree = {};
    for (const n of s.networks) nets[String(n)] = null;
    s.networks = nets;
  }
  if (Array.isArray(s.ports)) {
    s.ports = s.ports.flatMap((p, i): unknown[] => {
      if (isMap(p)) return [{ ...p }];
      const r = parsePortShort(p as string | number);
      if (typeof r === 'string') return fail([...at, 'ports', i], r);
      return r;
    });
  }
  if (Array.isArray(s.volumes)) {
    s.volumes = s.volumes.map((v, i) => {
      if (isMap(v)) return { ...v };
      const r = parseVolumeShort(String(v));
      if (typeof r === 'string') return fail([...at, 'volumes', i], r);
      return r;
    });
  }
  for (const k of ['secrets', 'configs']) {
    if (Array.isArray(s[k])) s[k] = (s[k] as unknown[]).map((r) => (isMap(r) ? { ...r } : { source: String(r) }));
  }
  if (isMap(s.healthcheck) && typeof s.healthcheck.test === 'string') {
    s.healthcheck = { ...s.healthcheck, test: ['CMD-SHELL', s.healthcheck.test] };
  }
  if (isMap(s.extra_hosts)) {
    s.extra_hosts = Object.entries(s.extra_hosts).flatMap(([h, ip]) => list(ip).map((x) => `${h}:${String(x)}`));
  } else if (Array.isArray(s.extra_hosts)) {
    s.extra_hosts = s.extra_hosts.map((e) => String(e).replace(/^([^=:]+)=/, '$1:'));
  }
  if (isMap(s.ulimits)) {
    const u: Tree = {};
    for (const [k, v] of Object.entries(s.ulimits)) u[k] = isMap(v) ? v : { soft: v, hard: v };
    s.ulimits = u;
  }
  if (isMap(s.logging) && s.logging.options !== undefined) s.logging = { ...s.logging, options: toMap(s.logging.options, '=', '') };
  if (isMap(s.deploy) && s.deploy.labels !== undefined) s.deploy = { ...s.deploy, labels: toMap(s.deploy.labels, '=', '') };
  return s;
}

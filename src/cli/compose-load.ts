/**
 * INTERIM project loader for `berth compose` until src/compose/model/load.ts (loadProject) lands:
 * finds the files, reads .env, parses and interpolates with the model's parse.ts/interpolate.ts,
 * and normalises the subset of the Compose Specification the engine's tests use (image, build,
 * command/entrypoint, environment, ports, volumes, networks with aliases, depends_on,
 * healthcheck, deploy, scale, restart, labels; top-level networks/volumes/secrets/configs;
 * several -f files merged shallowly per service). Replaced by the real loader on merge.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { invalid } from '../lib/errors.js';
import { parseEnvFile } from '../compose/model/envfile.js';
import { interpolateTree } from '../compose/model/interpolate.js';
import { parseComposeText } from '../compose/model/parse.js';
import type { LoadOptions, Port, Project, Service, ServiceVolume } from '../compose/model/types.js';

type Obj = Record<string, unknown>;
const NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

function findFiles(cwd: string): string[] {
  for (let dir = cwd; ; dir = nodePath.dirname(dir)) {
    for (const n of NAMES) {
      const f = nodePath.join(dir, n);
      if (existsSync(f)) {
        const over = ['compose.override.yaml', 'compose.override.yml', 'docker-compose.override.yaml', 'docker-compose.override.yml']
          .map((o) => nodePath.join(dir, o))
          .find(existsSync);
        return over ? [f, over] : [f];
      }
    }
    if (dir === nodePath.dirname(dir)) throw invalid('no configuration file provided: not found');
  }
}

const normName = (s: string): string => s.toLowerCase().replace(/[^a-z0-9_-]/g, '');
const asList = (v: unknown): string[] | undefined => (v === undefined || v === null ? undefined : Array.isArray(v) ? v.map(String) : [String(v)]);

function kv(v: unknown): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(v)) {
    for (const e of v.map(String)) {
      const i = e.indexOf('=');
      out[i < 0 ? e : e.slice(0, i)] = i < 0 ? null : e.slice(i + 1);
    }
  } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out[k] = x === null ? null : String(x);
  return out;
}

function shellSplit(s: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(s)) !== null) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

function bytes(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(String(v).trim());
  if (!m) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * mult);
}

function ports(v: unknown): Port[] {
  const out: Port[] = [];
  for (const p of (v as unknown[]) ?? []) {
    if (p && typeof p === 'object') {
      const o = p as Obj;
      out.push({
        target: Number(o['target']),
        ...(o['published'] !== undefined ? { published: String(o['published']) } : {}),
        ...(o['host_ip'] ? { host_ip: String(o['host_ip']) } : {}),
        protocol: String(o['protocol'] ?? 'tcp'),
        mode: String(o['mode'] ?? 'ingress'),
      });
      continue;
    }
    let s = String(p);
    let protocol = 'tcp';
    const slash = s.lastIndexOf('/');
    if (slash >= 0) {
      protocol = s.slice(slash + 1);
      s = s.slice(0, slash);
    }
    const parts = s.split(':');
    const target = Number(parts.pop());
    const published = parts.pop();
    const host_ip = parts.join(':');
    out.push({ target, ...(published ? { published } : {}), ...(host_ip ? { host_ip } : {}), protocol, mode: 'ingress' });
  }
  return out;
}

function volumes(v: unknown, dir: string): ServiceVolume[] {
  const out: ServiceVolume[] = [];
  for (const x of (v as unknown[]) ?? []) {
    if (x && typeof x === 'object') {
      const o = x as Obj;
      const type = String(o['type'] ?? 'volume') as ServiceVolume['type'];
      const src = o['source'] !== undefined ? String(o['source']) : undefined;
      out.push({
        type,
        target: String(o['target']),
        ...(src ? { source: type === 'bind' ? nodePath.resolve(dir, src) : src } : {}),
        ...(o['read_only'] ? { read_only: true } : {}),
      });
      continue;
    }
    const [a, b, mode] = String(x).split(':');
    if (b === undefined) {
      out.push({ type: 'volume', target: a as string });
      continue;
    }
    const bind = /^[./~]/.test(a as string);
    out.push({
      type: bind ? 'bind' : 'volume',
      source: bind ? nodePath.resolve(dir, a as string) : a,
      target: b,
      ...(mode?.includes('ro') ? { read_only: true } : {}),
      ...(bind ? { bind: { create_host_path: true } } : {}),
    });
  }
  return out;
}

function service(name: string, o: Obj, dir: string): Service {
  const nets: Service['networks'] = {};
  const n = o['networks'];
  if (Array.isArray(n)) for (const k of n) nets[String(k)] = null;
  else if (n && typeof n === 'object') for (const [k, x] of Object.entries(n)) nets[k] = (x as Service['networks'][string]) ?? null;
  if (!o['network_mode'] && Object.keys(nets).length === 0) nets['default'] = null;
  const deps: Service['depends_on'] = {};
  const d = o['depends_on'];
  if (Array.isArray(d)) for (const k of d) deps[String(k)] = { condition: 'service_started', restart: false, required: true };
  else if (d && typeof d === 'object')
    for (const [k, x] of Object.entries(d))
      deps[k] = {
        condition: ((x as Obj)['condition'] as Service['depends_on'][string]['condition']) ?? 'service_started',
        restart: (x as Obj)['restart'] === true,
        required: (x as Obj)['required'] !== false,
      };
  const hc = o['healthcheck'] as Obj | undefined;
  const deploy = o['deploy'] as Service['deploy'] | undefined;
  const b = o['build'];
  const build =
    b === undefined
      ? undefined
      : typeof b === 'string'
        ? { context: nodePath.resolve(dir, b), args: {} }
        : { ...(b as Obj), context: nodePath.resolve(dir, String((b as Obj)['context'] ?? '.')), args: kv((b as Obj)['args']) };
  const c = o['command'];
  const env = kv(o['environment']);
  for (const f of asList(o['env_file']) ?? []) Object.assign(env, parseEnvFile(f, readFileSync(nodePath.resolve(dir, f), 'utf8')));
  const s: Service = {
    ...(o as Partial<Service>),
    name,
    environment: env,
    labels: kv(o['labels']) as Record<string, string>,
    ports: ports(o['ports']),
    volumes: volumes(o['volumes'], dir),
    networks: nets,
    depends_on: deps,
    replicas: Number(o['scale'] ?? deploy?.replicas ?? 1),
    secrets: ((o['secrets'] as unknown[]) ?? []).map((x) => (typeof x === 'string' ? { source: x } : (x as { source: string }))),
    configs: ((o['configs'] as unknown[]) ?? []).map((x) => (typeof x === 'string' ? { source: x } : (x as { source: string }))),
    extensions: {},
    command: c === undefined ? null : Array.isArray(c) ? c.map(String) : shellSplit(String(c)),
    entrypoint:
      o['entrypoint'] === undefined ? null : Array.isArray(o['entrypoint']) ? (o['entrypoint'] as unknown[]).map(String) : shellSplit(String(o['entrypoint'])),
  };
  if (build) s.build = build;
  else delete s.build;
  if (hc) s.healthcheck = { ...(hc as Service['healthcheck']), ...(typeof hc['test'] === 'string' ? { test: ['CMD-SHELL', hc['test']] } : {}) };
  for (const k of ['mem_limit', 'mem_reservation', 'shm_size'] as const) {
    const v = bytes(o[k]);
    if (v !== undefined) s[k] = v;
  }
  if (o['expose']) s.expose = asList(o['expose']);
  if (o['tmpfs']) s.tmpfs = asList(o['tmpfs']);
  if (deploy?.resources?.limits?.memory !== undefined) (deploy.resources.limits as { memory?: number }).memory = bytes(deploy.resources.limits.memory);
  return s;
}

export async function loadProject(opts: LoadOptions = {}): Promise<Project> {
  const env = { ...(opts.environment ?? process.env) } as Record<string, string | undefined>;
  const cwd = opts.cwd ?? process.cwd();
  const files = (opts.files?.length ? opts.files.map((f) => nodePath.resolve(cwd, f)) : findFiles(cwd)).map((f) => f);
  const dir = nodePath.resolve(cwd, opts.projectDirectory ?? nodePath.dirname(files[0] as string));
  for (const f of opts.envFiles ?? [nodePath.join(dir, '.env')]) {
    if (!existsSync(f)) continue;
    for (const [k, v] of Object.entries(parseEnvFile(f, readFileSync(f, 'utf8')))) if (env[k] === undefined) env[k] = v;
  }
  const merged: Obj = {};
  for (const f of files) {
    const parsed = parseComposeText(f, readFileSync(f, 'utf8'));
    const data = interpolateTree(parsed.data, (n) => env[n]) as Obj;
    for (const [k, v] of Object.entries(data)) {
      if (v && typeof v === 'object' && !Array.isArray(v) && merged[k] && typeof merged[k] === 'object') {
        const into = merged[k] as Obj;
        for (const [kk, vv] of Object.entries(v)) into[kk] = k === 'services' && into[kk] ? { ...(into[kk] as Obj), ...(vv as Obj) } : vv;
      } else merged[k] = v;
    }
  }
  const name = normName(opts.projectName ?? env['COMPOSE_PROJECT_NAME'] ?? (merged['name'] as string | undefined) ?? nodePath.basename(dir));
  const profiles = opts.profiles ?? (env['COMPOSE_PROFILES'] ? env['COMPOSE_PROFILES'].split(',') : []);
  const p: Project = { name, workingDir: dir, files, services: {}, networks: {}, volumes: {}, configs: {}, secrets: {}, disabledServices: {}, extensions: {} };
  for (const [n, o] of Object.entries((merged['services'] as Obj) ?? {})) {
    const s = service(n, (o as Obj) ?? {}, dir);
    if (s.profiles?.length && !s.profiles.some((x) => profiles.includes(x))) p.disabledServices[n] = s;
    else p.services[n] = s;
  }
  const nets = { ...((merged['networks'] as Obj) ?? {}) };
  if (Object.values(p.services).some((s) => 'default' in s.networks) && !('default' in nets)) nets['default'] = {};
  for (const [k, v] of Object.entries(nets)) {
    const o = (v as Obj) ?? {};
    const ext = o['external'] === true;
    p.networks[k] = {
      ...(o as object),
      name: String(o['name'] ?? (ext ? k : `${name}_${k}`)),
      labels: kv(o['labels']) as Record<string, string>,
      ...(ext ? { external: true } : {}),
    };
  }
  for (const [k, v] of Object.entries((merged['volumes'] as Obj) ?? {})) {
    const o = (v as Obj) ?? {};
    const ext = o['external'] === true;
    p.volumes[k] = {
      ...(o as object),
      name: String(o['name'] ?? (ext ? k : `${name}_${k}`)),
      labels: kv(o['labels']) as Record<string, string>,
      ...(ext ? { external: true } : {}),
    };
  }
  for (const kind of ['secrets', 'configs'] as const) {
    for (const [k, v] of Object.entries((merged[kind] as Obj) ?? {})) {
      const o = (v as Obj) ?? {};
      p[kind][k] = { ...(o as object), name: String(o['name'] ?? `${name}_${k}`), ...(o['file'] ? { file: nodePath.resolve(dir, String(o['file'])) } : {}) };
    }
  }
  return p;
}

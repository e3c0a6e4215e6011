// The merged canonical tree → the typed `Project` (types.ts): values coerced to their types (sizes to
// bytes, "true" to booleans), defaults filled as docker compose v2 fills them (port protocol/mode,
// the `default` network, engine names of networks/volumes/configs/secrets, replicas), commands split
// into words, env_file contents merged under `environment`, unset bare variables resolved.
import { existsSync, readFileSync } from 'node:fs';
import { isMap, toMap, type Tree } from './canonical.js';
import { parseEnvFile } from './envfile.js';
import { fieldPath } from './errors.js';
import { interpolateString, type Lookup } from './interpolate.js';
import { parseSize, splitShellWords } from './syntax.js';
import type {
  Build,
  Deploy,
  DependsOn,
  FileObject,
  Healthcheck,
  Network,
  Port,
  Service,
  ServiceFileRef,
  ServiceNetwork,
  ServiceVolume,
  Volume,
} from './types.js';

/** how the normaliser reports a bad value: the path in the merged model and what is wrong */
export type NormFail = (at: Array<string | number>, what: string) => never;

export interface NormalizeContext {
  project: string;
  lookup: Lookup;
  fail: NormFail;
  /** false for services disabled by profiles: their env_file/label_file are not read (a missing one is no error) */
  readFiles?: boolean;
}

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
const num = (v: unknown): number | undefined => (v === undefined || v === null || v === '' ? undefined : Number(v));
const bool = (v: unknown): boolean | undefined => (v === undefined || v === null ? undefined : v === true || v === 'true' || v === 'yes' || v === 'on');
const strs = (v: unknown): string[] | undefined => (v === undefined || v === null ? undefined : (Array.isArray(v) ? v : [v]).map(String));
const strMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(toMap(v, '=', ''))) out[k] = String(x ?? '');
  return out;
};

function prune<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

function size(v: unknown, at: Array<string | number>, fail: NormFail): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = parseSize(v);
  if (n === undefined) return fail(at, `invalid size: ${JSON.stringify(v)}`);
  return n;
}

function words(v: unknown, at: Array<string | number>, fail: NormFail): string[] | null {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map(String);
  const r = splitShellWords(String(v));
  if (typeof r === 'string') return fail(at, r);
  return r;
}

/** the fields handled below; anything else that is not x-* lands in `other` */
const TYPED = new Set([
  'image', 'build', 'command', 'entrypoint', 'environment', 'env_file', 'working_dir', 'user', 'hostname', 'domainname', 'container_name',
  'labels', 'label_file', 'ports', 'expose', 'volumes', 'tmpfs', 'networks', 'network_mode', 'depends_on', 'healthcheck', 'restart', 'deploy',
  'scale', 'secrets', 'configs', 'profiles', 'pull_policy', 'stop_signal', 'stop_grace_period', 'init', 'privileged', 'read_only', 'stdin_open',
  'tty', 'cap_add', 'cap_drop', 'dns', 'dns_search', 'extra_hosts', 'sysctls', 'ulimits', 'mem_limit', 'mem_reservation', 'memswap_limit',
  'cpus', 'cpu_shares', 'pids_limit', 'shm_size', 'logging', 'ipc', 'pid', 'security_opt', 'devices', 'group_add', 'links', 'external_links',
  'platform', 'extends',
]); // prettier-ignore

/** one service */
export function normalizeService(name: string, s: Tree, ctx: NormalizeContext): Service {
  const at = (...p: Array<string | number>): Array<string | number> => ['services', name, ...p];
  const { fail } = ctx;
  const deploy = normalizeDeploy(s.deploy, at('deploy'), fail);
  const scale = num(s.scale);
  const svc: Service = {
    name,
    image: str(s.image),
    build: isMap(s.build) ? normalizeBuild(s.build, ctx, at('build')) : undefined,
    command: words(s.command, at('command'), fail),
    entrypoint: words(s.entrypoint, at('entrypoint'), fail),
    environment: environment(s, ctx, at),
    env_file: Array.isArray(s.env_file) ? s.env_file.map((e) => String(isMap(e) ? e.path : e)) : undefined,
    working_dir: str(s.working_dir),
    user: str(s.user),
    hostname: str(s.hostname),
    domainname: str(s.domainname),
    container_name: str(s.container_name),
    labels: labels(s, at, ctx.readFiles === false ? [] : s.label_file, fail),
    label_file: strs(s.label_file),
    ports: (Array.isArray(s.ports) ? s.ports : []).map((p, i) => port(p, at('ports', i), fail)),
    expose: strs(s.expose),
    volumes: (Array.isArray(s.volumes) ? s.volumes : []).map((v, i) => volume(v, at('volumes', i), fail)),
    tmpfs: strs(s.tmpfs),
    networks: serviceNetworks(s),
    network_mode: str(s.network_mode),
    depends_on: dependsOn(s.depends_on),
    healthcheck: isMap(s.healthcheck) ? healthcheck(s.healthcheck) : undefined,
    restart: str(s.restart),
    deploy,
    scale,
    replicas: scale ?? deploy?.replicas ?? 1,
    secrets: fileRefs(s.secrets),
    configs: fileRefs(s.configs),
    profiles: strs(s.profiles),
    pull_policy: str(s.pull_policy),
    stop_signal: str(s.stop_signal),
    stop_grace_period: str(s.stop_grace_period),
    init: bool(s.init),
    privileged: bool(s.privileged),
    read_only: bool(s.read_only),
    stdin_open: bool(s.stdin_open),
    tty: bool(s.tty),
    cap_add: strs(s.cap_add),
    cap_drop: strs(s.cap_drop),
    dns: strs(s.dns),
    dns_search: strs(s.dns_search),
    extra_hosts: strs(s.extra_hosts),
    sysctls: s.sysctls === undefined ? undefined : strMap(s.sysctls),
    ulimits: ulimits(s.ulimits),
    mem_limit: size(s.mem_limit, at('mem_limit'), fail),
    mem_reservation: size(s.mem_reservation, at('mem_reservation'), fail),
    memswap_limit: size(s.memswap_limit, at('memswap_limit'), fail),
    cpus: num(s.cpus),
    cpu_shares: num(s.cpu_shares),
    pids_limit: num(s.pids_limit),
    shm_size: size(s.shm_size, at('shm_size'), fail),
    logging: isMap(s.logging)
      ? prune({ driver: str(s.logging.driver), options: s.logging.options === undefined ? undefined : strMap(s.logging.options) })
      : undefined,
    ipc: str(s.ipc),
    pid: str(s.pid),
    security_opt: strs(s.security_opt),
    devices: Array.isArray(s.devices)
      ? s.devices.map((d) => (isMap(d) ? `${String(d.source)}:${String(d.target ?? d.source)}:${String(d.permissions ?? 'rwm')}` : String(d)))
      : undefined,
    group_add: strs(s.group_add),
    links: strs(s.links),
    external_links: strs(s.external_links),
    platform: str(s.platform),
    extensions: {},
  };
  const other: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-')) svc.extensions[k] = v;
    else if (!TYPED.has(k)) other[k] = v;
  }
  if (Object.keys(other).length > 0) svc.other = other;
  return prune(svc);
}

function environment(s: Tree, ctx: NormalizeContext, at: (...p: Array<string | number>) => Array<string | number>): Record<string, string | null> {
  const env: Record<string, string | null> = {};
  (Array.isArray(s.env_file) && ctx.readFiles !== false ? (s.env_file as unknown[]) : []).forEach((e, i) => {
    const ref: Tree = isMap(e) ? e : { path: e, required: true };
    const file = String(ref.path);
    if (!existsSync(file)) {
      if (bool(ref.required) === false) return;
      ctx.fail(at('env_file', i), `env file ${file} not found: stat ${file}: no such file or directory`);
    }
    // values are interpolated with the project's variables, then the file's earlier ones; `format: raw` is taken as written
    const expand =
      ref.format === 'raw' ? undefined : (v: string, soFar: Readonly<Record<string, string>>): string => interpolateString(v, (n) => ctx.lookup(n) ?? soFar[n]);
    Object.assign(env, parseEnvFile(file, readFileSync(file, 'utf8'), ctx.lookup, expand));
  });
  for (const [k, v] of Object.entries(isMap(s.environment) ? s.environment : {})) {
    env[k] = v === null || v === undefined ? (ctx.lookup(k) ?? null) : String(v);
  }
  return env;
}

function labels(s: Tree, at: (...p: Array<string | number>) => Array<string | number>, files: unknown, fail: NormFail): Record<string, string> {
  const out: Record<string, string> = {};
  (Array.isArray(files) ? files : []).forEach((f, i) => {
    const file = String(f);
    if (!existsSync(file)) fail(at('label_file', i), `label file ${file} not found: stat ${file}: no such file or directory`);
    Object.assign(out, parseEnvFile(file, readFileSync(file, 'utf8')));
  });
  return Object.assign(out, s.labels === undefined ? {} : strMap(s.labels));
}

const BUILD_TYPED = new Set([
  'context', 'dockerfile', 'dockerfile_inline', 'args', 'target', 'labels', 'cache_from', 'cache_to', 'network', 'shm_size', 'extra_hosts',
  'secrets', 'tags', 'platforms', 'no_cache', 'pull',
]); // prettier-ignore

/** the entries of `o` whose keys are not in `typed`, or undefined when none */
function others(o: Tree, typed: Set<string>): Record<string, unknown> | undefined {
  const rest = Object.entries(o).filter(([k]) => !typed.has(k));
  return rest.length === 0 ? undefined : Object.fromEntries(rest);
}

function normalizeBuild(b: Tree, ctx: NormalizeContext, at: Array<string | number>): Build {
  const args: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(isMap(b.args) ? b.args : {})) args[k] = v === null || v === undefined ? (ctx.lookup(k) ?? null) : String(v);
  return prune({
    context: String(b.context ?? '.'),
    dockerfile: str(b.dockerfile) ?? (b.dockerfile_inline === undefined ? 'Dockerfile' : undefined), // v2 fills the default
    dockerfile_inline: str(b.dockerfile_inline),
    args,
    target: str(b.target),
    labels: b.labels === undefined ? undefined : strMap(b.labels),
    cache_from: strs(b.cache_from),
    cache_to: strs(b.cache_to),
    network: str(b.network),
    shm_size: size(b.shm_size, [...at, 'shm_size'], ctx.fail),
    extra_hosts: isMap(b.extra_hosts)
      ? Object.entries(b.extra_hosts).map(([h, ip]) => `${h}:${String(ip)}`)
      : strs(b.extra_hosts)?.map((e) => e.replace(/^([^=:]+)=/, '$1:')),
    secrets: b.secrets === undefined ? undefined : fileRefs(b.secrets),
    tags: strs(b.tags),
    platforms: strs(b.platforms),
    no_cache: bool(b.no_cache),
    pull: bool(b.pull),
    other: others(b, BUILD_TYPED),
  });
}

function port(p: unknown, at: Array<string | number>, fail: NormFail): Port {
  if (!isMap(p)) return fail(at, 'invalid port');
  const target = Number(p.target);
  if (!Number.isInteger(target) || target < 0 || target > 65535) fail(at, `invalid containerPort: ${String(p.target)}`);
  return prune({
    target,
    published: p.published === undefined || p.published === null || p.published === '' ? undefined : String(p.published),
    host_ip: str(p.host_ip),
    protocol: str(p.protocol) ?? 'tcp',
    mode: str(p.mode) ?? 'ingress',
    name: str(p.name),
    app_protocol: str(p.app_protocol),
  });
}

function volume(v: unknown, at: Array<string | number>, fail: NormFail): ServiceVolume {
  if (!isMap(v)) return fail(at, 'invalid volume');
  const type = String(v.type ?? 'volume') as ServiceVolume['type'];
  const out: ServiceVolume = prune({ type, source: str(v.source), target: String(v.target ?? '') });
  if (out.source === '') delete out.source;
  if (bool(v.read_only) === true) out.read_only = true;
  if (v.consistency !== undefined) out.consistency = String(v.consistency);
  if (isMap(v.bind)) out.bind = prune({ propagation: str(v.bind.propagation), create_host_path: bool(v.bind.create_host_path), selinux: str(v.bind.selinux) });
  if (isMap(v.volume)) out.volume = prune({ nocopy: bool(v.volume.nocopy), subpath: str(v.volume.subpath) });
  if (isMap(v.tmpfs)) out.tmpfs = prune({ size: size(v.tmpfs.size, [...at, 'tmpfs', 'size'], fail), mode: num(v.tmpfs.mode) });
  if (type === 'bind' && out.source === undefined) fail(at, 'invalid mount config for type "bind": field Source must not be empty');
  return out;
}

function serviceNetworks(s: Tree): Record<string, ServiceNetwork | null> {
  const out: Record<string, ServiceNetwork | null> = {};
  if (!isMap(s.networks)) return s.network_mode === undefined ? { default: null } : out;
  for (const [k, v] of Object.entries(s.networks)) {
    out[k] = isMap(v)
      ? prune({
          aliases: strs(v.aliases),
          ipv4_address: str(v.ipv4_address),
          ipv6_address: str(v.ipv6_address),
          priority: num(v.priority),
          gw_priority: num(v.gw_priority),
          mac_address: str(v.mac_address),
          link_local_ips: strs(v.link_local_ips),
          interface_name: str(v.interface_name),
          driver_opts: v.driver_opts === undefined ? undefined : strMap(v.driver_opts),
        })
      : null;
  }
  return out;
}

function dependsOn(v: unknown): Record<string, DependsOn> {
  const out: Record<string, DependsOn> = {};
  for (const [k, d] of Object.entries(isMap(v) ? v : {})) {
    const o = isMap(d) ? d : {};
    out[k] = {
      condition: (str(o.condition) ?? 'service_started') as DependsOn['condition'],
      restart: bool(o.restart) ?? false,
      required: bool(o.required) ?? true,
    };
  }
  return out;
}

function healthcheck(h: Tree): Healthcheck {
  return prune({
    test: strs(h.test),
    interval: str(h.interval),
    timeout: str(h.timeout),
    retries: num(h.retries),
    start_period: str(h.start_period),
    start_interval: str(h.start_interval),
    disable: bool(h.disable),
  });
}

function normalizeDeploy(d: unknown, at: Array<string | number>, fail: NormFail): Deploy | undefined {
  if (!isMap(d)) return undefined;
  const r = isMap(d.resources) ? d.resources : undefined;
  const lim = r !== undefined && isMap(r.limits) ? r.limits : undefined;
  const res = r !== undefined && isMap(r.reservations) ? r.reservations : undefined;
  const rp = isMap(d.restart_policy) ? d.restart_policy : undefined;
  return prune({
    replicas: num(d.replicas),
    resources:
      r === undefined
        ? undefined
        : prune({
            limits:
              lim === undefined
                ? undefined
                : prune({ cpus: str(lim.cpus), memory: size(lim.memory, [...at, 'resources', 'limits', 'memory'], fail), pids: num(lim.pids) }),
            reservations:
              res === undefined
                ? undefined
                : prune({
                    cpus: str(res.cpus),
                    memory: size(res.memory, [...at, 'resources', 'reservations', 'memory'], fail),
                    devices: Array.isArray(res.devices) ? (res.devices as Array<Record<string, unknown>>) : undefined,
                  }),
          }),
    restart_policy:
      rp === undefined ? undefined : prune({ condition: str(rp.condition), delay: str(rp.delay), max_attempts: num(rp.max_attempts), window: str(rp.window) }),
    labels: d.labels === undefined ? undefined : strMap(d.labels),
    other: others(d, new Set(['replicas', 'resources', 'restart_policy', 'labels'])),
  });
}

function fileRefs(v: unknown): ServiceFileRef[] {
  return (Array.isArray(v) ? v : []).map((r) => {
    const o: Tree = isMap(r) ? r : { source: r };
    const mode = typeof o.mode === 'string' ? parseInt(o.mode, 8) : num(o.mode);
    return prune({ source: String(o.source), target: str(o.target), uid: str(o.uid), gid: str(o.gid), mode });
  });
}

function ulimits(v: unknown): Record<string, { soft: number; hard: number }> | undefined {
  if (!isMap(v)) return undefined;
  const out: Record<string, { soft: number; hard: number }> = {};
  for (const [k, u] of Object.entries(v)) {
    const o = isMap(u) ? u : { soft: u, hard: u };
    out[k] = { soft: Number(o.soft), hard: Number(o.hard) };
  }
  return out;
}

const engineName = (project: string, key: string, o: Tree): string =>
  typeof o.name === 'string' ? o.name : bool(o.external) === true ? key : `${project}_${key}`;

/** a top-level network */
export function normalizeNetwork(project: string, key: string, o: Tree): Network {
  const ipam = isMap(o.ipam) ? o.ipam : undefined;
  return prune({
    name: engineName(project, key, o),
    driver: str(o.driver),
    driver_opts: o.driver_opts === undefined ? undefined : strMap(o.driver_opts),
    ipam:
      ipam === undefined
        ? undefined
        : prune({
            driver: str(ipam.driver),
            config: Array.isArray(ipam.config)
              ? ipam.config.map((c) => (isMap(c) ? prune({ subnet: str(c.subnet), ip_range: str(c.ip_range), gateway: str(c.gateway) }) : {}))
              : undefined,
            options: ipam.options === undefined ? undefined : strMap(ipam.options),
          }),
    external: bool(o.external),
    internal: bool(o.internal),
    attachable: bool(o.attachable),
    enable_ipv6: bool(o.enable_ipv6),
    labels: o.labels === undefined ? {} : strMap(o.labels),
  });
}

/** a top-level volume */
export function normalizeVolume(project: string, key: string, o: Tree): Volume {
  return prune({
    name: engineName(project, key, o),
    driver: str(o.driver),
    driver_opts: o.driver_opts === undefined ? undefined : strMap(o.driver_opts),
    external: bool(o.external),
    labels: o.labels === undefined ? {} : strMap(o.labels),
  });
}

/** a top-level config or secret */
export function normalizeFileObject(project: string, key: string, o: Tree): FileObject {
  return prune({
    name: engineName(project, key, o),
    file: str(o.file),
    environment: str(o.environment),
    content: str(o.content),
    external: bool(o.external),
    labels: o.labels === undefined ? undefined : strMap(o.labels),
  });
}

/** a located failure for the normaliser from a Locator-like function */
export function failWith(locate: (at: Array<string | number>, what: string, field: string) => Error): NormFail {
  return (at, what) => {
    throw locate(at, what, fieldPath(at));
  };
}

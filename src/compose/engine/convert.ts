/**
 * A compose service as an Engine API container: the create request (Config, HostConfig,
 * NetworkingConfig) docker compose v2 sends for replica `number` — the compose labels, ports as
 * ExposedPorts/PortBindings, volumes as Mounts (bind mounts that may create their host path as
 * Binds, as v2 does), healthcheck durations in nanoseconds, restart policy, resource limits from
 * deploy.resources and the service's own fields, file secrets and configs as read-only binds —
 * and the extra networks to connect before start.
 */
import * as nodePath from 'node:path';
import { invalid } from '../../lib/errors.js';
import type { ContainerCreateRequest, HostConfig, MountRequest, PortMap } from '../../engine-api/types.js';
import type { Project, Service, ServiceFileRef } from '../model/types.js';
import { durationNs, durationSeconds } from './duration.js';
import * as L from './labels.js';

export interface ContainerPlan {
  name: string;
  /** the create request's platform query (the service's `platform`) */
  platform?: string | undefined;
  body: ContainerCreateRequest;
  /** networks (engine names) to connect after create, with their endpoint configs */
  connect: Array<{ network: string; endpoint: object }>;
  /** secrets/configs whose content is copied in after create (environment/content sources) */
  files: Array<{ target: string; content: string; mode: number }>;
}

export interface ConvertOptions {
  number: number;
  name: string;
  hash: string;
  /** com.docker.compose.image: the image ID the container is created from */
  imageId?: string | undefined;
  oneoff?: boolean;
  /** one-off (`run`) overrides */
  command?: string[] | undefined;
  entrypoint?: string[] | undefined;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** publish the service's ports (run without --service-ports does not) */
  ports?: boolean;
  autoRemove?: boolean;
  tty?: boolean;
  interactive?: boolean;
  user?: string | undefined;
  workdir?: string | undefined;
  /** container names/IDs of services referenced by network_mode/ipc/pid `service:x` */
  serviceContainer?: (service: string) => string | undefined;
}

/** The image a service runs: its `image`, else the v2 build name `<project>-<service>`. */
export function imageName(project: Project, s: Service): string {
  return s.image ?? `${project.name}-${s.name}`;
}

export function composeLabels(
  project: Project,
  s: Service,
  o: { number: number; hash: string; oneoff?: boolean; imageId?: string | undefined },
): Record<string, string> {
  const deps = Object.entries(s.depends_on ?? {}).map(([n, d]) => `${n}:${d.condition}:${d.restart ? 'true' : 'false'}`);
  const out: Record<string, string> = {
    [L.PROJECT]: project.name,
    [L.SERVICE]: s.name,
    [L.CONTAINER_NUMBER]: String(o.number),
    [L.ONEOFF]: o.oneoff ? 'True' : 'False',
    [L.CONFIG_HASH]: o.hash,
    [L.CONFIG_FILES]: project.files.join(','),
    [L.WORKING_DIR]: project.workingDir,
    [L.VERSION]: L.COMPOSE_VERSION,
    [L.DEPENDS_ON]: deps.join(','),
  };
  if (o.imageId) out[L.IMAGE] = o.imageId;
  return out;
}

function envList(env: Record<string, string | null>, extra: Record<string, string> = {}): string[] {
  const merged: Record<string, string | null> = { ...env, ...extra };
  return Object.entries(merged)
    .filter((e): e is [string, string] => e[1] !== null && e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
}

function portKey(spec: string): string {
  return spec.includes('/') ? spec : `${spec}/tcp`;
}

function ports(s: Service, publish: boolean): { exposed: Record<string, object>; bindings: PortMap } {
  const exposed: Record<string, object> = {};
  const bindings: PortMap = {};
  for (const e of s.expose ?? []) exposed[portKey(e)] = {};
  for (const p of s.ports) {
    const key = `${p.target}/${p.protocol || 'tcp'}`;
    exposed[key] = {};
    if (!publish) continue;
    const list = bindings[key] ?? [];
    list.push({ HostIp: p.host_ip ?? '', HostPort: p.published ?? '' });
    bindings[key] = list;
  }
  return { exposed, bindings };
}

function mounts(project: Project, s: Service): { mounts: MountRequest[]; binds: string[] } {
  const out: MountRequest[] = [];
  const binds: string[] = [];
  for (const v of s.volumes) {
    if (v.type === 'bind' && v.source && v.bind?.create_host_path !== false && !v.bind?.propagation && !v.bind?.selinux) {
      binds.push(`${v.source}:${v.target}${v.read_only ? ':ro' : ':rw'}`);
      continue;
    }
    const m: MountRequest = { Type: v.type, Target: v.target };
    if (v.read_only) m.ReadOnly = true;
    if (v.consistency) m.Consistency = v.consistency;
    if (v.type === 'volume') {
      if (v.source) {
        const top = project.volumes[v.source];
        m.Source = top ? top.name : v.source;
      }
      if (v.volume?.nocopy || v.volume?.subpath)
        m.VolumeOptions = { ...(v.volume.nocopy ? { NoCopy: true } : {}), ...(v.volume.subpath ? { Subpath: v.volume.subpath } : {}) };
    } else if (v.type === 'bind') {
      if (v.source) m.Source = v.source;
      m.BindOptions = { ...(v.bind?.propagation ? { Propagation: v.bind.propagation } : {}), ...(v.bind?.create_host_path ? { CreateMountpoint: true } : {}) };
    } else if (v.type === 'tmpfs') {
      if (v.tmpfs) m.TmpfsOptions = { ...(v.tmpfs.size ? { SizeBytes: v.tmpfs.size } : {}), ...(v.tmpfs.mode ? { Mode: v.tmpfs.mode } : {}) };
    } else if (v.source) m.Source = v.source;
    out.push(m);
  }
  return { mounts: out, binds };
}

function fileTarget(kind: 'secret' | 'config', ref: ServiceFileRef): string {
  if (kind === 'secret') {
    const t = ref.target ?? ref.source;
    return t.startsWith('/') ? t : `/run/secrets/${t}`;
  }
  return ref.target ?? `/${ref.source}`;
}

function fileRefs(project: Project, s: Service, binds: MountRequest[], files: ContainerPlan['files']): void {
  for (const [kind, refs, tops] of [
    ['secret', s.secrets, project.secrets],
    ['config', s.configs, project.configs],
  ] as const) {
    for (const ref of refs) {
      const top = tops[ref.source];
      if (!top) throw invalid(`service "${s.name}" refers to undefined ${kind} ${ref.source}: invalid compose project`);
      if (top.external) throw invalid(`unsupported external ${kind} ${top.name}`);
      const target = fileTarget(kind, ref);
      if (top.file) binds.push({ Type: 'bind', Source: top.file, Target: target, ReadOnly: true });
      else if (top.environment !== undefined)
        files.push({ target, content: (project.environment ?? process.env)[top.environment] ?? '', mode: ref.mode ?? 0o444 });
      else if (top.content !== undefined) files.push({ target, content: top.content, mode: ref.mode ?? 0o444 });
    }
  }
}

function restartPolicy(s: Service): HostConfig['RestartPolicy'] {
  let r = s.restart;
  const rp = s.deploy?.restart_policy;
  if (!r && rp?.condition) r = rp.condition === 'any' ? 'always' : rp.condition === 'none' ? 'no' : rp.condition;
  if (!r) return { Name: 'no', MaximumRetryCount: 0 };
  const [name, count] = r.split(':');
  const max = count !== undefined ? Number(count) : rp?.max_attempts;
  return { Name: name ?? 'no', MaximumRetryCount: name === 'on-failure' ? (max ?? 0) : 0 };
}

function modeRef(mode: string | undefined, o: ConvertOptions): string | undefined {
  if (!mode?.startsWith('service:')) return mode;
  const svc = mode.slice('service:'.length);
  const ref = o.serviceContainer?.(svc);
  if (!ref) throw invalid(`service "${svc}" has no container to share its namespace`);
  return `container:${ref}`;
}

/** Networks of a service sorted as v2 attaches them: priority (highest first), then name. */
export function serviceNetworks(s: Service): string[] {
  return Object.keys(s.networks).sort((a, b) => (s.networks[b]?.priority ?? 0) - (s.networks[a]?.priority ?? 0) || a.localeCompare(b));
}

function endpoint(project: Project, s: Service, key: string, name: string): object {
  const cfg = s.networks[key];
  const aliases = [name, s.name, ...(cfg?.aliases ?? [])];
  const ep: Record<string, unknown> = { Aliases: [...new Set(aliases)] };
  if (cfg?.ipv4_address || cfg?.ipv6_address) {
    ep['IPAMConfig'] = { ...(cfg.ipv4_address ? { IPv4Address: cfg.ipv4_address } : {}), ...(cfg.ipv6_address ? { IPv6Address: cfg.ipv6_address } : {}) };
  }
  if (!project.networks[key]) throw invalid(`service "${s.name}" refers to undefined network ${key}: invalid compose project`);
  return ep;
}

function num(v: string | number | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export function toContainer(project: Project, s: Service, o: ConvertOptions): ContainerPlan {
  const labels = { ...s.labels, ...(o.labels ?? {}), ...composeLabels(project, s, o) };
  const { exposed, bindings } = ports(s, o.ports ?? true);
  const { mounts: mountList, binds } = mounts(project, s);
  const files: ContainerPlan['files'] = [];
  fileRefs(project, s, mountList, files);
  const limits = s.deploy?.resources?.limits;
  const reservations = s.deploy?.resources?.reservations;
  const cpus = num(limits?.cpus) ?? s.cpus;
  const host: HostConfig = {
    Binds: binds.length ? binds : null,
    Mounts: mountList.length ? mountList : null,
    PortBindings: bindings,
    RestartPolicy: restartPolicy(s),
    AutoRemove: o.autoRemove ?? false,
    Privileged: s.privileged ?? false,
    ReadonlyRootfs: s.read_only ?? false,
    CapAdd: s.cap_add ?? null,
    CapDrop: s.cap_drop ?? null,
    Dns: s.dns ?? null,
    DnsSearch: s.dns_search ?? null,
    ExtraHosts: s.extra_hosts ?? null,
    SecurityOpt: s.security_opt ?? null,
    GroupAdd: s.group_add ?? null,
    Sysctls: s.sysctls ?? null,
    Memory: limits?.memory ?? s.mem_limit ?? 0,
    MemoryReservation: reservations?.memory ?? s.mem_reservation ?? 0,
    NanoCpus: cpus ? Math.round(cpus * 1e9) : 0,
    CpuShares: s.cpu_shares ?? 0,
    PidsLimit: limits?.pids ?? s.pids_limit ?? null,
  };
  if (s.memswap_limit !== undefined) host.MemorySwap = s.memswap_limit;
  if (s.shm_size !== undefined) host.ShmSize = s.shm_size;
  if (s.init !== undefined) host.Init = s.init;
  if (s.tmpfs?.length) host.Tmpfs = Object.fromEntries(s.tmpfs.map((t) => [t.split(':')[0] as string, t.split(':').slice(1).join(':')]));
  if (s.ulimits) host.Ulimits = Object.entries(s.ulimits).map(([Name, u]) => ({ Name, Soft: u.soft, Hard: u.hard }));
  if (s.logging?.driver || s.logging?.options) host.LogConfig = { Type: s.logging.driver ?? '', Config: s.logging.options ?? {} };
  const ipc = modeRef(s.ipc, o);
  if (ipc) host.IpcMode = ipc;
  const pid = modeRef(s.pid, o);
  if (pid) host.PidMode = pid;
  if (s.devices?.length) {
    host.Devices = s.devices.map((d) => {
      const [p, c, perm] = d.split(':');
      return { PathOnHost: p, PathInContainer: c ?? p, CgroupPermissions: perm ?? 'rwm' };
    });
  }
  const links: string[] = [];
  for (const l of s.links ?? []) {
    const [svc, alias] = l.split(':') as [string, string | undefined];
    const target = o.serviceContainer?.(svc);
    if (target) links.push(`${target}:${alias ?? svc}`);
  }
  for (const l of s.external_links ?? []) links.push(l.includes(':') ? l : `${l}:${l}`);
  if (links.length > 0) host.Links = links;
  const nets = serviceNetworks(s);
  const connect: ContainerPlan['connect'] = [];
  let endpoints: Record<string, object> | undefined;
  if (s.network_mode) host.NetworkMode = modeRef(s.network_mode, o);
  else if (nets.length > 0) {
    const [first, ...rest] = nets as [string, ...string[]];
    const engineName = (key: string): string => project.networks[key]?.name ?? key;
    host.NetworkMode = engineName(first);
    endpoints = { [engineName(first)]: endpoint(project, s, first, o.name) };
    for (const key of rest) connect.push({ network: engineName(key), endpoint: endpoint(project, s, key, o.name) });
  }
  const hc = s.healthcheck;
  const body: ContainerCreateRequest = {
    Image: imageName(project, s),
    Cmd: o.command ?? s.command ?? null,
    Entrypoint: o.entrypoint ?? s.entrypoint ?? null,
    Env: envList(s.environment, o.env),
    Labels: labels,
    ExposedPorts: Object.keys(exposed).length ? exposed : null,
    Tty: o.tty ?? s.tty ?? false,
    OpenStdin: o.interactive ?? s.stdin_open ?? false,
    StdinOnce: o.interactive ?? false,
    AttachStdin: o.interactive ?? false,
    AttachStdout: o.oneoff ?? false,
    AttachStderr: o.oneoff ?? false,
    HostConfig: host,
  };
  const hostname = s.hostname;
  if (hostname) body.Hostname = hostname;
  if (s.domainname) body.Domainname = s.domainname;
  const user = o.user ?? s.user;
  if (user) body.User = user;
  const wd = o.workdir ?? s.working_dir;
  if (wd) body.WorkingDir = wd;
  if (s.stop_signal) body.StopSignal = s.stop_signal;
  const grace = durationSeconds(s.stop_grace_period);
  if (grace !== undefined) body.StopTimeout = grace;
  if (hc) {
    body.Healthcheck = hc.disable
      ? { Test: ['NONE'] }
      : {
          ...(hc.test ? { Test: hc.test } : {}),
          ...(hc.interval ? { Interval: durationNs(hc.interval) as number } : {}),
          ...(hc.timeout ? { Timeout: durationNs(hc.timeout) as number } : {}),
          ...(hc.start_period ? { StartPeriod: durationNs(hc.start_period) as number } : {}),
          ...(hc.start_interval ? { StartInterval: durationNs(hc.start_interval) as number } : {}),
          ...(hc.retries !== undefined ? { Retries: hc.retries } : {}),
        };
  }
  if (endpoints) body.NetworkingConfig = { EndpointsConfig: endpoints };
  return { name: o.name, platform: s.platform, body, connect, files };
}

/** Absolute target paths for file copies are made relative for the archive PUT at `/`. */
export function archivePath(target: string): { dir: string; base: string } {
  return { dir: nodePath.posix.dirname(target), base: nodePath.posix.basename(target) };
}

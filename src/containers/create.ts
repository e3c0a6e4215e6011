/**
 * Turns a create request (Docker's Config + HostConfig) into a validated container record,
 * with the image's defaults merged as dockerd merges them. Pure apart from the clock.
 */
import type { EndpointsConfig } from './networking.js';
import { cpus, hostname as osHostname } from 'node:os';
import { conflict, invalid } from '../lib/errors.js';
import type { Image } from '../images/types.js';
import { initialState, type Container, type ContainerConfig, type HostConfig, type RestartPolicy } from './types.js';
import { mergeHealthcheck, validateHealthcheck } from './health.js';
import { validateNetMode } from './netmode.js';
import { validateResources as checkLimits, type Resources } from '../runtime/resources.js';

export interface CreateRequest {
  Config: Partial<ContainerConfig> & Record<string, unknown>;
  HostConfig: Partial<HostConfig>;
  NetworkingConfig?: { EndpointsConfig?: EndpointsConfig | null } | null;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Docker accepts Cmd/Entrypoint as a string too (shell words, no shell). */
function strslice(v: unknown, field: string): string[] | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return [v];
  if (isStringArray(v)) return v;
  throw invalid(`json: cannot unmarshal ${typeof v} into Go struct field ContainerConfig.${field} of type strslice.StrSlice`);
}

export function validateRestartPolicy(p: Partial<RestartPolicy> | undefined, autoRemove: boolean): RestartPolicy {
  const name = (p?.Name ?? '') as string;
  const max = p?.MaximumRetryCount ?? 0;
  // dockerd 20.10's validateRestartPolicy and its messages (no name: nothing checked).
  if (name === '' && !autoRemove) return { Name: '', MaximumRetryCount: max };
  if (!['', 'no', 'always', 'on-failure', 'unless-stopped'].includes(name)) throw invalid(`invalid restart policy '${name}'`);
  if (max !== 0 && name !== 'on-failure' && name !== '') throw invalid(`maximum retry count cannot be used with restart policy '${name}'`);
  if (max < 0) throw invalid('maximum retry count cannot be negative');
  if (autoRemove && name !== '' && name !== 'no') {
    throw invalid(`can't create 'AutoRemove' container with restart policy`);
  }
  return { Name: name as RestartPolicy['Name'], MaximumRetryCount: max };
}

/**
 * Checks the limits a create or update request asks for by the one rule set
 * (runtime/resources.ts), with the host's CPU count. The request's values alone, as dockerd
 * checks them: an update's memory and swap are not merged with the container's here (that is
 * updatedHostConfig's), and an update may set swap without memory (the memory is the container's).
 */
export function validateResources(h: Partial<HostConfig>, o: { update?: boolean } = {}): void {
  const memory = h.Memory ?? 0;
  const swap = h.MemorySwap ?? 0;
  const r: Resources = { memory };
  if (!(o.update && memory === 0)) r.memorySwap = swap;
  if (h.MemoryReservation !== undefined) r.memoryReservation = h.MemoryReservation;
  if (h.MemorySwappiness !== undefined && h.MemorySwappiness !== null) r.memorySwappiness = h.MemorySwappiness;
  if (h.NanoCpus !== undefined) r.nanoCpus = h.NanoCpus;
  if (h.CpuShares !== undefined) r.cpuShares = h.CpuShares;
  if (h.CpuPeriod !== undefined) r.cpuPeriod = h.CpuPeriod;
  if (h.CpuQuota !== undefined) r.cpuQuota = h.CpuQuota;
  if (h.CpusetCpus !== undefined) r.cpusetCpus = h.CpusetCpus;
  if (h.PidsLimit !== undefined && h.PidsLimit !== null) r.pidsLimit = h.PidsLimit;
  if (h.BlkioWeight !== undefined) r.blkioWeight = h.BlkioWeight;
  checkLimits(r, { ncpu: cpus().length });
}

export function defaultHostConfig(): HostConfig {
  return {
    Binds: null,
    ContainerIDFile: '',
    LogConfig: { Type: 'json-file', Config: {} },
    NetworkMode: 'default',
    PortBindings: {},
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    AutoRemove: false,
    VolumeDriver: '',
    VolumesFrom: null,
    CapAdd: null,
    CapDrop: null,
    CgroupnsMode: 'private',
    Dns: [],
    DnsOptions: [],
    DnsSearch: [],
    ExtraHosts: null,
    GroupAdd: null,
    IpcMode: 'private',
    Cgroup: '',
    Links: null,
    OomScoreAdj: 0,
    PidMode: '',
    Privileged: false,
    PublishAllPorts: false,
    ReadonlyRootfs: false,
    SecurityOpt: null,
    UTSMode: '',
    UsernsMode: '',
    ShmSize: 67108864,
    Runtime: 'runc',
    Isolation: '',
    CpuShares: 0,
    Memory: 0,
    NanoCpus: 0,
    CgroupParent: '',
    BlkioWeight: 0,
    CpuPeriod: 0,
    CpuQuota: 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: '',
    CpusetMems: '',
    Devices: [],
    DeviceCgroupRules: null,
    MemoryReservation: 0,
    MemorySwap: 0,
    MemorySwappiness: null,
    OomKillDisable: null,
    PidsLimit: null,
    Ulimits: null,
    Init: null,
    MaskedPaths: null,
    ReadonlyPaths: null,
  };
}

function envKey(e: string): string {
  const i = e.indexOf('=');
  return i < 0 ? e : e.slice(0, i);
}

/** Image env first, request env overriding by key (dockerd's merge). */
export function mergeEnv(imageEnv: string[], env: string[]): string[] {
  const out = [...imageEnv];
  for (const e of env) {
    const k = envKey(e);
    const i = out.findIndex((x) => envKey(x) === k);
    if (i >= 0) out[i] = e;
    else out.push(e);
  }
  return out;
}

export interface NewContainer {
  id: string;
  name: string;
  image: Image;
  imageRef: string;
  request: CreateRequest;
}

export function buildContainer(n: NewContainer): Container {
  const cfg = n.request.Config;
  const hc = n.request.HostConfig;
  const img = n.image.config.config ?? {};
  if (cfg.Env !== undefined && cfg.Env !== null && !isStringArray(cfg.Env)) throw invalid('invalid environment: Env must be a list of strings');
  for (const e of cfg.Env ?? []) {
    if (e === '' || e.startsWith('=')) throw invalid(`invalid environment variable: ${e}`);
  }
  const entrypointGiven = cfg.Entrypoint !== undefined && cfg.Entrypoint !== null;
  const entrypoint = entrypointGiven ? strslice(cfg.Entrypoint, 'Entrypoint') : (img.Entrypoint ?? null);
  let cmd = strslice(cfg.Cmd, 'Cmd');
  // An explicit entrypoint (even empty) resets the image's CMD, as in dockerd.
  if (cmd === null || cmd.length === 0) cmd = entrypointGiven ? cmd : (img.Cmd ?? null);
  const ep = entrypoint && entrypoint.length > 0 && !(entrypoint.length === 1 && entrypoint[0] === '') ? entrypoint : [];
  const argv = [...ep, ...(cmd ?? [])];
  if (argv.length === 0) throw invalid('no command specified');

  const mode = hc.NetworkMode || 'default';
  const eps = n.request.NetworkingConfig?.EndpointsConfig ?? {};
  validateNetMode(cfg, hc, eps[mode]?.MacAddress);
  const hostConfig: HostConfig = { ...defaultHostConfig(), ...hc };
  hostConfig.RestartPolicy = validateRestartPolicy(hc.RestartPolicy, hostConfig.AutoRemove === true);
  validateResources(hc);
  // As dockerd's create: a memory limit without a swap limit gets twice the memory as swap.
  if (hostConfig.Memory > 0 && !hostConfig.MemorySwap) hostConfig.MemorySwap = hostConfig.Memory * 2;
  if (!hostConfig.NetworkMode) hostConfig.NetworkMode = 'default';
  if (!hostConfig.LogConfig?.Type) hostConfig.LogConfig = { Type: 'json-file', Config: hostConfig.LogConfig?.Config ?? {} };
  if (!hostConfig.ShmSize) hostConfig.ShmSize = 67108864;
  if (!hostConfig.IpcMode) hostConfig.IpcMode = 'private';
  if (!hostConfig.CgroupnsMode) hostConfig.CgroupnsMode = 'private';
  if (!hostConfig.Runtime) hostConfig.Runtime = 'runc';

  const labels = { ...(img.Labels ?? {}), ...(cfg.Labels ?? {}) };
  const config: ContainerConfig = {
    // --network host: the host's name (dockerd's create), in a UTS namespace of its own.
    Hostname: cfg.Hostname || (mode === 'host' ? osHostname() : n.id.slice(0, 12)),
    Domainname: cfg.Domainname ?? '',
    User: cfg.User || img.User || '',
    AttachStdin: cfg.AttachStdin === true,
    AttachStdout: cfg.AttachStdout === true,
    AttachStderr: cfg.AttachStderr === true,
    Tty: cfg.Tty === true,
    OpenStdin: cfg.OpenStdin === true,
    StdinOnce: cfg.StdinOnce === true,
    Env: mergeEnv(img.Env ?? [], cfg.Env ?? []),
    Cmd: cmd,
    Image: n.imageRef,
    Volumes: (cfg.Volumes as Record<string, object> | undefined) ?? img.Volumes ?? null,
    WorkingDir: cfg.WorkingDir || img.WorkingDir || '',
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: labels,
  };
  if (config.WorkingDir !== '' && !config.WorkingDir.startsWith('/')) {
    throw invalid(`the working directory '${config.WorkingDir}' is invalid, it needs to be an absolute path`);
  }
  const exposed = { ...(img.ExposedPorts ?? {}), ...(cfg.ExposedPorts ?? {}) };
  if (Object.keys(exposed).length > 0) config.ExposedPorts = exposed;
  const stopSignal = cfg.StopSignal || img.StopSignal;
  if (stopSignal) config.StopSignal = stopSignal;
  if (typeof cfg.StopTimeout === 'number') config.StopTimeout = cfg.StopTimeout;
  validateHealthcheck(cfg.Healthcheck);
  const health = mergeHealthcheck(cfg.Healthcheck, img.Healthcheck);
  if (health) config.Healthcheck = health;

  return {
    ID: n.id,
    Created: new Date().toISOString(),
    Path: argv[0] as string,
    Args: argv.slice(1),
    Name: `/${n.name}`,
    Image: n.image.id,
    Config: config,
    HostConfig: hostConfig,
    State: initialState(),
    RestartCount: 0,
    HasBeenStartedBefore: false,
    HasBeenManuallyStopped: false,
    MonitorPid: 0,
    LogPath: '',
    HostnamePath: '',
    HostsPath: '',
    ResolvConfPath: '',
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
  };
}

/** The resource fields `docker update` changes when the request's value is not zero (or ''). */
const UPDATED_WHEN_SET = [
  'Memory',
  'MemorySwap',
  'MemoryReservation',
  'NanoCpus',
  'CpuShares',
  'CpuPeriod',
  'CpuQuota',
  'CpusetCpus',
  'CpusetMems',
  'BlkioWeight',
] as const;

/**
 * `docker update` (POST /containers/{id}/update) as dockerd 20.10 applies it. The docker CLI
 * sends every resource field, zeros included, so a zero (an empty cpuset) leaves the current
 * value, and a restart policy without a name leaves the policy; PidsLimit is a pointer there:
 * null leaves it, 0 or below means unlimited (0). The request's values are checked alone
 * (validateResources), then against the container's, with dockerd's 409s: Nano CPUs against a
 * set CPU period or quota and the other way round, memory above a set swap limit without a new
 * swap, a restart policy on an AutoRemove container. Where dockerd refuses memory above a
 * current swap of 0 (no memory limit yet) or -1 (unlimited swap), Berth takes the memory (there
 * is no swap limit for it to exceed), the swap then twice the memory as at create.
 * A swap below the memory that results is refused here (dockerd passes it to runc, which fails).
 */
export function updatedHostConfig(current: HostConfig, body: Partial<HostConfig>, o: { id: string }): HostConfig {
  validateResources(body, { update: true });
  const cannot = (msg: string): Error => conflict(`Cannot update container ${o.id}: ${msg}`);
  const set = (v: number | null | undefined): boolean => v !== undefined && v !== null && v !== 0;
  if (set(body.NanoCpus) && set(current.CpuPeriod)) throw cannot('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
  if (set(body.NanoCpus) && set(current.CpuQuota)) throw cannot('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
  if (set(body.CpuPeriod) && set(current.NanoCpus)) throw cannot('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if (set(body.CpuQuota) && set(current.NanoCpus)) throw cannot('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
  const next: HostConfig = { ...current };
  for (const f of UPDATED_WHEN_SET) {
    const v = body[f];
    if (v !== undefined && v !== null && v !== 0 && v !== '') (next as Record<string, unknown>)[f] = v;
  }
  if (set(body.Memory) && !set(body.MemorySwap)) {
    const memory = body.Memory as number;
    if (current.MemorySwap > 0 && memory > current.MemorySwap) {
      throw cannot('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    if (current.MemorySwap === 0) next.MemorySwap = memory * 2;
  }
  if (next.Memory > 0 && next.MemorySwap > 0 && next.MemorySwap < next.Memory) {
    throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (body.PidsLimit !== undefined && body.PidsLimit !== null) next.PidsLimit = Math.max(0, body.PidsLimit);
  if (body.RestartPolicy?.Name) {
    if (current.AutoRemove && body.RestartPolicy.Name !== 'no') {
      throw cannot('Restart policy cannot be updated because AutoRemove is enabled for the container');
    }
    next.RestartPolicy = validateRestartPolicy(body.RestartPolicy, false);
  }
  return next;
}

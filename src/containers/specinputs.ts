/**
 * The inputs of a container's OCI spec (runtime/spec.ts builds it): the record's process, user,
 * namespaces (with `container:<X>` donors checked as dockerd checks them), resources, security
 * options, devices and mounts, composed into buildSpec's options; the process part of an exec.
 */
import * as path from 'node:path';
import { conflict, notFound, system } from '../lib/errors.js';
import { swapAccountingEnabled } from '../runtime/cgroups.js';
import { deviceCgroupRule, devicesFromHostConfig } from '../runtime/devices.js';
import { buildSpec, type NamespaceMode } from '../runtime/spec.js';
import { hostBoundingCapabilities } from '../runtime/capabilities.js';
import { listHostDevices, type Resources } from '../runtime/resources.js';
import type { OciMount, OciProcess } from '../runtime/oci.js';
import { resolveUser } from '../runtime/user.js';
import type { MountSetup } from '../volumes/mounts.js';
import { mergeEnv } from './create.js';
import type { Container, HostConfig } from './types.js';

/** What the spec inputs need from the rest of the engine. */
export interface SpecInputDeps {
  /** A container by reference (a namespace donor); throws NotFound. */
  get(ref: string): Container;
  /** A container by reference, undefined when there is none. */
  find(ref: string): Container | undefined;
  /** Legacy links' environment variables (before the container's Env, as dockerd). */
  linkEnv(c: Container): string[];
  /** Parent of every container cgroup (daemon default; a container's CgroupParent wins). */
  cgroupParent: string;
  /** The container's exec-root dir (its rootfs is mounted at `rootfs` in it). */
  runDir(id: string): string;
  /** tini-static, for `--init` (absent when the host has none). */
  initBinary?: string;
}

/** The container's cgroup path: `<its CgroupParent, else the daemon's>/<id>`. */
export function containerCgroupsPath(c: Container, defaultParent: string): string {
  const parent = c.HostConfig.CgroupParent || defaultParent;
  return `${parent.replace(/\/$/, '')}/${c.ID}`;
}

export class SpecInputs {
  constructor(private readonly d: SpecInputDeps) {}
  /** The OCI spec of the container's own process, its rootfs at `rootfs`, with the volume mounts. */
  specFor(c: Container, rootfs: string, extra?: MountSetup): ReturnType<typeof buildSpec> {
    const spec = this.baseSpecFor(c, rootfs, extra?.mounts ?? []);
    if (extra?.rootfsPropagation) spec.linux.rootfsPropagation = extra.rootfsPropagation;
    const size = consoleSize(c.HostConfig.ConsoleSize);
    if (c.Config.Tty && size) spec.process.consoleSize = size;
    return spec;
  }

  private baseSpecFor(c: Container, rootfs: string, mounts: OciMount[]): ReturnType<typeof buildSpec> {
    const h = c.HostConfig;
    const user = resolveUser({ rootfs, user: c.Config.User, groupAdd: h.GroupAdd ?? [] });
    const resources: Resources = resourcesOf(h);
    const env = [...this.d.linkEnv(c), ...c.Config.Env];
    const hasHome = env.some((e) => e.startsWith('HOME='));
    return buildSpec({
      id: c.ID,
      rootfsPath: rootfs,
      readonlyRootfs: h.ReadonlyRootfs,
      args: [c.Path, ...c.Args],
      env: hasHome ? env : [...env, `HOME=${user.home}`],
      cwd: c.Config.WorkingDir || '/',
      user,
      hostname: c.Config.Hostname,
      domainname: c.Config.Domainname,
      tty: c.Config.Tty,
      etcFiles: { hostnamePath: c.HostnamePath, hostsPath: c.HostsPath, resolvConfPath: c.ResolvConfPath },
      privileged: h.Privileged,
      hostCapabilities: hostCaps(),
      swapAccounting: swapAccounting(),
      capAdd: h.CapAdd ?? [],
      capDrop: h.CapDrop ?? [],
      securityOpt: h.SecurityOpt ?? [],
      resources,
      cgroupsPath: containerCgroupsPath(c, this.d.cgroupParent),
      network: this.namespaceFor(h.NetworkMode, 'net'),
      ipc: this.namespaceFor(h.IpcMode, 'ipc'),
      pid: this.namespaceFor(h.PidMode, 'pid'),
      uts: h.UTSMode === 'host' ? { kind: 'host' } : { kind: 'private' },
      cgroupns: h.CgroupnsMode === 'host' ? 'host' : 'private',
      shmSize: h.ShmSize,
      ...(h.Tmpfs ? { tmpfs: h.Tmpfs } : {}),
      mounts,
      ...(h.Sysctls ? { sysctls: h.Sysctls } : {}),
      ulimits: (h.Ulimits ?? []).map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard })),
      oomScoreAdj: h.OomScoreAdj,
      ...(h.Init === true && this.d.initBinary ? { init: this.d.initBinary } : {}),
      ...(h.MaskedPaths ? { maskedPaths: h.MaskedPaths } : {}),
      ...(h.ReadonlyPaths ? { readonlyPaths: h.ReadonlyPaths } : {}),
      // As dockerd: --device nodes from the host, --device-cgroup-rule entries, and every host
      // device for a privileged container.
      devices: devicesFromHostConfig(h.Devices),
      deviceCgroupRules: (h.DeviceCgroupRules ?? []).map(deviceCgroupRule),
      ...(h.Privileged ? { privilegedDevices: listHostDevices() } : {}),
    });
  }

  /**
   * Start: the donors of `container:<X>` namespaces must run (dockerd's errors and statuses);
   * a network donor also lends its hostname and /etc files, as dockerd's initializeNetworking.
   */
  joinNamespaceDonors(c: Container): void {
    const h = c.HostConfig;
    if (h.NetworkMode.startsWith('container:')) {
      const donor = this.d.get(h.NetworkMode.slice('container:'.length));
      if (!donor.State.Running || donor.State.Restarting) throw conflict(`cannot join network of a non running container: ${donor.ID}`);
      c.Config.Hostname = donor.Config.Hostname;
      c.Config.Domainname = donor.Config.Domainname;
      c.HostnamePath = donor.HostnamePath;
      c.HostsPath = donor.HostsPath;
      c.ResolvConfPath = donor.ResolvConfPath;
    }
    if (h.IpcMode?.startsWith('container:')) {
      const ref = h.IpcMode.slice('container:'.length);
      const donor = this.d.find(ref);
      if (!donor) throw notFound(`can't join IPC of container ${ref}: No such container: ${ref}`);
      const msg = `can't join IPC of container ${donor.ID}`;
      if (!donor.State.Running || donor.State.Restarting) throw system(`${msg}: container ${donor.ID} is not running`);
      if (donor.HostConfig.IpcMode !== 'shareable') throw system(`${msg}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
    }
    if (h.PidMode?.startsWith('container:')) {
      const donor = this.d.get(h.PidMode.slice('container:'.length));
      if (!donor.State.Running || donor.State.Restarting) throw system(`container ${donor.ID} is not running`);
    }
  }

  /** `host`, `container:<ref>`, or a namespace of its own (donors checked by joinNamespaceDonors). */
  private namespaceFor(mode: string, ns: 'net' | 'ipc' | 'pid'): NamespaceMode {
    if (mode === 'host') return { kind: 'host' };
    if (mode.startsWith('container:')) {
      const other = this.d.get(mode.slice('container:'.length));
      if (!other.State.Running) throw conflict(`cannot join network of a non running container: ${other.ID}`);
      return { kind: 'path', path: `/proc/${other.State.Pid}/ns/${ns}` };
    }
    return { kind: 'private' };
  }

  /** The process part of the container's spec, for a process started inside it by exec. */
  execProcess(
    c: Container,
    o: { args: string[]; env: string[]; user: string; cwd: string; tty: boolean; privileged: boolean; consoleSize?: unknown },
  ): OciProcess {
    const rootfs = path.join(this.d.runDir(c.ID), 'rootfs');
    const h = c.HostConfig;
    const user = resolveUser({ rootfs, user: o.user || c.Config.User, groupAdd: h.GroupAdd ?? [] });
    const env = mergeEnv(c.Config.Env, o.env);
    const spec = buildSpec({
      id: c.ID,
      rootfsPath: rootfs,
      args: o.args,
      env: env.some((e) => e.startsWith('HOME=')) ? env : [...env, `HOME=${user.home}`],
      cwd: o.cwd || c.Config.WorkingDir || '/',
      user,
      hostname: c.Config.Hostname,
      tty: o.tty,
      privileged: h.Privileged || o.privileged,
      hostCapabilities: hostCaps(),
      capAdd: h.CapAdd ?? [],
      capDrop: h.CapDrop ?? [],
      securityOpt: h.SecurityOpt ?? [],
    });
    const size = consoleSize(o.consoleSize);
    if (o.tty && size) spec.process.consoleSize = size;
    return spec.process;
  }
}

/** Docker's ConsoleSize `[height, width]`, when given and sane. */
export function consoleSize(v: unknown): { height: number; width: number } | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [height, width] = v as unknown[];
  if (typeof height !== 'number' || typeof width !== 'number' || height <= 0 || width <= 0) return undefined;
  return { height: Math.floor(height), width: Math.floor(width) };
}

let hostCapsCache: string[] | undefined;
/** The capabilities berthd itself holds: the most a privileged container can get. */
export function hostCaps(): string[] {
  hostCapsCache ??= hostBoundingCapabilities();
  return hostCapsCache;
}

let swapCache: boolean | undefined;
export function swapAccounting(): boolean {
  swapCache ??= swapAccountingEnabled();
  return swapCache;
}

/** The record's resource limits in the spec's terms (for the spec and for `runc update`). */
export function resourcesOf(h: HostConfig): Resources {
  const r: Resources = {};
  if (h.Memory) r.memory = h.Memory;
  if (h.MemorySwap) r.memorySwap = h.MemorySwap;
  if (h.MemoryReservation) r.memoryReservation = h.MemoryReservation;
  if (h.MemorySwappiness !== null && h.MemorySwappiness !== undefined && h.MemorySwappiness >= 0) r.memorySwappiness = h.MemorySwappiness;
  if (h.NanoCpus) r.nanoCpus = h.NanoCpus;
  if (h.CpuShares) r.cpuShares = h.CpuShares;
  if (h.CpuPeriod) r.cpuPeriod = h.CpuPeriod;
  if (h.CpuQuota) r.cpuQuota = h.CpuQuota;
  if (h.CpusetCpus) r.cpusetCpus = h.CpusetCpus;
  if (h.CpusetMems) r.cpusetMems = h.CpusetMems;
  if (h.PidsLimit !== null && h.PidsLimit !== undefined && h.PidsLimit !== 0) r.pidsLimit = h.PidsLimit;
  if (h.BlkioWeight) r.blkioWeight = h.BlkioWeight;
  if (h.OomKillDisable) r.oomKillDisable = true;
  return r;
}

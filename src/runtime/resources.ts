/**
 * Resources: Docker's HostConfig limits (memory, CPU, pids, block IO, ulimits), dockerd's
 * validation of them, their OCI `linux.resources` form (swap = 2 × memory, NanoCpus → CFS quota),
 * and devices: the default device cgroup allow-list, --device nodes and rules, and a privileged
 * container's host devices.
 */
import { readdirSync, statSync } from 'node:fs';
import { invalid } from '../lib/errors.js';
import type { OciDevice, OciDeviceCgroup, OciResources } from './oci.js';

/** Resource limits in Docker's HostConfig terms (bytes, nano-CPUs, CFS microseconds). */
export interface Resources {
  /** Memory limit in bytes (0 = none). */
  memory?: number;
  /** Memory + swap limit in bytes; -1 unlimited; unset → 2 × memory when memory is set. */
  memorySwap?: number;
  /** Soft limit in bytes. */
  memoryReservation?: number;
  /** 0–100; -1 or unset leaves the kernel's. */
  memorySwappiness?: number;
  /** CPUs in units of 1e-9 (1.5 CPUs = 1_500_000_000); becomes quota over a 100 ms period. */
  nanoCpus?: number;
  /** Relative CPU weight (cgroup v1 cpu.shares). */
  cpuShares?: number;
  /** CFS period in microseconds. */
  cpuPeriod?: number;
  /** CFS quota in microseconds (-1 unlimited). */
  cpuQuota?: number;
  cpuRealtimePeriod?: number;
  cpuRealtimeRuntime?: number;
  /** CPUs allowed, e.g. "0-1,3". */
  cpusetCpus?: string;
  /** Memory nodes allowed. */
  cpusetMems?: string;
  /** Maximum number of processes; 0 or -1 unlimited. */
  pidsLimit?: number;
  /** Block IO weight 10–1000 (0 = unset). */
  blkioWeight?: number;
  oomKillDisable?: boolean;
}

/** A ulimit as Docker's HostConfig gives it (`nofile`, `nproc`, …). */
export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/** An extra device node for the container (`--device`). */
export interface DeviceMapping {
  /** The node to create in the container. */
  device: OciDevice;
  /** Cgroup permissions: some of "rwm" (default "rwm"). */
  access?: string;
}

/** The character devices every container may use (runc creates the nodes itself). */
const DEFAULT_DEVICE_RULES: readonly OciDeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' }, // mknod of any char device
  { allow: true, type: 'b', access: 'm' }, // mknod of any block device
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // /dev/full
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // /dev/random
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // /dev/urandom
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // /dev/tty
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // /dev/console
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // /dev/net/tun (dockerd allows it; no node)
];

/**
 * The device nodes under /dev for a privileged container (as runc's GetDevices: skipping
 * pts, shm, mqueue, fd and hidden udev/lxc dirs, and /dev/console). Not pure.
 */
export function listHostDevices(dir = '/dev'): OciDevice[] {
  const out: OciDevice[] = [];
  const skipDirs = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) {
        if (!skipDirs.has(e.name)) walk(p);
        continue;
      }
      if (p === '/dev/console' || !(e.isCharacterDevice() || e.isBlockDevice())) continue;
      let st;
      try {
        st = statSync(p, { bigint: true });
      } catch {
        continue;
      }
      const rdev = st.rdev;
      const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
      const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
      out.push({
        path: p,
        type: e.isCharacterDevice() ? 'c' : 'b',
        major,
        minor,
        fileMode: Number(st.mode & 0o777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
      });
    }
  };
  walk(dir);
  return out;
}

const MIN_MEMORY = 6 * 1024 * 1024;
/** cgroup v1 cpu.shares' maximum (runc maps v2 weights from the same range). */
const MAX_CPU_SHARES = 262144;
/** PID_MAX_LIMIT on 64-bit kernels: pids.max refuses more. */
const MAX_PIDS = 4 * 1024 * 1024;
/** The scheduler's bandwidth limit for cpu.cfs_quota_us (2^44 − 1 µs). */
const MAX_CFS_QUOTA = 2 ** 44 - 1;

/** Facts of the host some rules need; a rule whose fact is not given is not checked. */
export interface HostLimits {
  /** CPUs online (NanoCpus' range, the CPUs of a cpuset). */
  ncpu?: number;
}

/**
 * The one rule set for resource limits, with dockerd's messages (and, for the values the kernel
 * refuses that dockerd passes on to fail at start, Berth's own). Create and update check a
 * request's values with it (containers/create.ts, with the host's CPU count), the spec builder
 * a record's before it reaches runc.
 */
export function validateResources(r: Resources, host: HostLimits = {}): void {
  const mem = r.memory ?? 0;
  const swap = r.memorySwap ?? 0;
  if (mem !== 0 && mem < MIN_MEMORY) throw invalid('Minimum memory limit allowed is 6MB');
  if (mem > 0 && swap > 0 && swap < mem) {
    throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (mem === 0 && swap > 0) {
    throw invalid('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  const resv = r.memoryReservation ?? 0;
  if (mem > 0 && resv > 0 && mem < resv) {
    throw invalid('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  if (resv !== 0 && resv < MIN_MEMORY) throw invalid('Minimum memory reservation allowed is 6MB');
  const sw = r.memorySwappiness;
  if (sw !== undefined && sw !== -1 && (sw < 0 || sw > 100)) {
    throw invalid(`Invalid value: ${sw}, valid memory swappiness range is 0-100`);
  }
  const nano = r.nanoCpus ?? 0;
  if (nano > 0 && (r.cpuPeriod ?? 0) > 0) {
    throw invalid('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  }
  if (nano > 0 && (r.cpuQuota ?? 0) > 0) {
    throw invalid('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  }
  const ncpu = host.ncpu;
  if (nano < 0 || (ncpu !== undefined && nano > ncpu * 1e9)) {
    throw invalid(
      ncpu !== undefined
        ? `Range of CPUs is from 0.01 to ${ncpu.toFixed(2)}, as there are only ${ncpu} CPUs available`
        : 'Range of CPUs is from 0.01 to the number of CPUs available',
    );
  }
  const shares = r.cpuShares ?? 0;
  if (shares < 0) throw invalid('invalid CPU shares');
  // Values the kernel refuses: dockerd takes them and fails at start (a 500); refused at once.
  if (shares > MAX_CPU_SHARES) throw invalid(`invalid CPU shares: the maximum allowed cpu-shares is ${MAX_CPU_SHARES}`);
  if ((r.pidsLimit ?? 0) > MAX_PIDS) throw invalid(`invalid pids limit ${r.pidsLimit}: the kernel's maximum is ${MAX_PIDS}`);
  const period = r.cpuPeriod ?? 0;
  if (period !== 0 && (period < 1000 || period > 1000000)) {
    throw invalid('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  const quota = r.cpuQuota ?? 0;
  if (quota > 0 && quota < 1000) throw invalid('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if (quota > MAX_CFS_QUOTA) throw invalid(`CPU cfs quota can not be larger than ${MAX_CFS_QUOTA}`);
  const cpuset = r.cpusetCpus ?? '';
  if (cpuset !== '' && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(cpuset)) throw invalid(`Invalid value ${cpuset} for cpuset cpus`);
  if (cpuset !== '' && ncpu !== undefined) {
    for (const part of cpuset.split(',')) {
      for (const n of part.split('-')) {
        if (Number(n) >= ncpu) throw invalid(`Requested CPUs are not available - requested ${cpuset}, available: 0-${ncpu - 1}`);
      }
    }
  }
  const w = r.blkioWeight ?? 0;
  if (w > 0 && (w < 10 || w > 1000)) throw invalid('Range of blkio weight is from 10 to 1000');
}

/**
 * The largest double below 2^63. JSON numbers are doubles here: 2^63 − 1 from a client arrives as
 * 2^63, which would reach runc as a literal that overflows Go's int64; clamped, a limit that large
 * means what it means to dockerd (the kernel caps it, the container starts).
 */
const INT64_MAX_DOUBLE = 9223372036854774784;
const i64 = (n: number): number => (n > INT64_MAX_DOUBLE ? INT64_MAX_DOUBLE : n < -INT64_MAX_DOUBLE ? -INT64_MAX_DOUBLE : n);

/** Convert Docker resources to OCI `linux.resources` (without devices). */
export function toOciResources(r: Resources, opts: { swapAccounting?: boolean } = {}): OciResources {
  const out: OciResources = {};
  const memory: NonNullable<OciResources['memory']> = {};
  const mem = i64(r.memory ?? 0);
  if (mem > 0) memory.limit = mem;
  if ((r.memoryReservation ?? 0) > 0) memory.reservation = i64(r.memoryReservation ?? 0);
  if (opts.swapAccounting !== false) {
    let swap = i64(r.memorySwap ?? 0);
    if (swap === 0 && mem > 0) swap = i64(mem * 2);
    if (swap !== 0) memory.swap = swap;
  }
  if (r.memorySwappiness !== undefined && r.memorySwappiness >= 0) memory.swappiness = r.memorySwappiness;
  if (r.oomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length > 0) out.memory = memory;

  const cpu: NonNullable<OciResources['cpu']> = {};
  if ((r.cpuShares ?? 0) > 0) cpu.shares = r.cpuShares;
  if ((r.nanoCpus ?? 0) > 0) {
    cpu.period = 100000;
    cpu.quota = Math.floor(((r.nanoCpus ?? 0) * 100000) / 1e9);
  }
  if ((r.cpuPeriod ?? 0) !== 0) cpu.period = r.cpuPeriod;
  if ((r.cpuQuota ?? 0) !== 0) cpu.quota = i64(r.cpuQuota ?? 0);
  if ((r.cpuRealtimePeriod ?? 0) !== 0) cpu.realtimePeriod = i64(r.cpuRealtimePeriod ?? 0);
  if ((r.cpuRealtimeRuntime ?? 0) !== 0) cpu.realtimeRuntime = i64(r.cpuRealtimeRuntime ?? 0);
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  if ((r.pidsLimit ?? 0) > 0) out.pids = { limit: i64(r.pidsLimit ?? 0) };
  if ((r.blkioWeight ?? 0) > 0) out.blockIO = { weight: r.blkioWeight ?? 0 };
  return out;
}

/**
 * The device part of the spec: cgroup rules (everything for a privileged container, else the
 * default allow-list, each --device's entry, then the --device-cgroup-rule entries) and the nodes
 * to create (a privileged container's host devices, then the --device nodes).
 */
export function deviceSpec(opts: {
  privileged: boolean;
  devices?: readonly DeviceMapping[];
  deviceCgroupRules?: readonly OciDeviceCgroup[];
  privilegedDevices?: readonly OciDevice[];
}): { rules: OciDeviceCgroup[]; nodes: OciDevice[] } {
  const { privileged } = opts;
  const nodes: OciDevice[] = [];
  let rules: OciDeviceCgroup[];
  if (privileged) {
    rules = [{ allow: true, access: 'rwm' }];
    nodes.push(...(opts.privilegedDevices ?? []));
  } else {
    rules = DEFAULT_DEVICE_RULES.map((d) => ({ ...d }));
  }
  for (const d of opts.devices ?? []) {
    nodes.push({ ...d.device });
    if (!privileged) {
      rules.push({
        allow: true,
        type: d.device.type === 'b' ? 'b' : 'c',
        major: d.device.major,
        minor: d.device.minor,
        access: d.access ?? 'rwm',
      });
    }
  }
  if (!privileged) rules.push(...(opts.deviceCgroupRules ?? []).map((d) => ({ ...d })));
  return { rules, nodes };
}

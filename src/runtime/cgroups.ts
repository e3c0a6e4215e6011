/**
 * Cgroup reads for containers: which cgroup layout the host has (v1, v1 + empty v2 "hybrid",
 * or unified v2), and a container's limits, usage and OOM kills, normalized across versions.
 * Pure reads: runc applies limits from the spec and `runc update`; nothing here writes.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as posixPath from 'node:path/posix';
import type { OciResources } from './oci.js';
import type { Resources } from './resources.js';

/** The cgroup layout of the host. */
export interface CgroupLayout {
  /** 2 when /sys/fs/cgroup (or the given root) is a unified cgroup2 mount; else 1. */
  version: 1 | 2;
  /** v1: controller name → mount point (e.g. memory → /sys/fs/cgroup/memory). */
  controllers: Record<string, string>;
  /** The cgroup2 mount: the root on v2, /sys/fs/cgroup/unified on hybrid hosts, else undefined. */
  unified?: string;
}

/** Parse /proc/self/mountinfo text into a {@link CgroupLayout}. */
export function parseCgroupLayout(mountinfo: string): CgroupLayout {
  const controllers: Record<string, string> = {};
  let unified: string | undefined;
  let v2Root = false;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const mountPoint = unescapeMount(left[4] ?? '');
    const fstype = right[0];
    if (fstype === 'cgroup2') {
      if (unified === undefined || mountPoint === '/sys/fs/cgroup') unified = mountPoint;
      if (mountPoint === '/sys/fs/cgroup') v2Root = true;
    } else if (fstype === 'cgroup') {
      for (const opt of (right[2] ?? '').split(',')) {
        if (['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec', 'clone_children'].includes(opt)) continue;
        if (opt.startsWith('release_agent=')) continue;
        if (!(opt in controllers)) controllers[opt] = mountPoint;
      }
    }
  }
  const layout: CgroupLayout = { version: v2Root || Object.keys(controllers).length === 0 ? 2 : 1, controllers };
  if (unified !== undefined) layout.unified = unified;
  if (layout.version === 2) layout.controllers = {};
  return layout;
}

const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

let cachedLayout: CgroupLayout | undefined;

/** Detect this host's cgroup layout (read once from /proc/self/mountinfo, then cached). */
export function detectCgroups(): CgroupLayout {
  cachedLayout ??= parseCgroupLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
  return cachedLayout;
}

/** Whether the host accounts swap (v1: memory.memsw.* exist; v2: memory.swap.max at the root's children). */
export function swapAccountingEnabled(layout: CgroupLayout = detectCgroups()): boolean {
  if (layout.version === 1) {
    const mem = layout.controllers['memory'];
    return mem !== undefined && existsSync(posixPath.join(mem, 'memory.memsw.limit_in_bytes'));
  }
  const root = layout.unified ?? '/sys/fs/cgroup';
  try {
    // The root has no memory.swap.max; any child cgroup with the memory controller does.
    return readdirSync(root, { withFileTypes: true }).some((e) => e.isDirectory() && existsSync(posixPath.join(root, e.name, 'memory.swap.max')));
  } catch {
    return false;
  }
}

/** Host directory of a container cgroup for a controller (v1) or the unified tree (v2). */
export function cgroupDir(cgroupsPath: string, controller: string, layout: CgroupLayout = detectCgroups()): string | undefined {
  const rel = posixPath.join('/', cgroupsPath);
  if (layout.version === 2) return posixPath.join(layout.unified ?? '/sys/fs/cgroup', rel);
  const mount = layout.controllers[controller];
  return mount === undefined ? undefined : posixPath.join(mount, rel);
}

/** All host directories runc creates for a cgroupfs path (v1 controllers, plus unified on hybrid hosts). */
export function cgroupDirs(cgroupsPath: string, layout: CgroupLayout = detectCgroups()): string[] {
  const rel = posixPath.join('/', cgroupsPath);
  if (layout.version === 2) return [posixPath.join(layout.unified ?? '/sys/fs/cgroup', rel)];
  const dirs = [...new Set(Object.values(layout.controllers))].map((m) => posixPath.join(m, rel));
  if (layout.unified !== undefined) dirs.push(posixPath.join(layout.unified, rel));
  return dirs;
}

function readText(dir: string | undefined, file: string): string | undefined {
  if (dir === undefined) return undefined;
  try {
    return readFileSync(posixPath.join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Values at or above this are "no limit" in v1 (the kernel reports page-aligned LLONG_MAX). */
const V1_UNLIMITED = 2n ** 62n;

/** A v1 byte/count value: null = unlimited, undefined = unreadable. */
function v1Limit(text: string | undefined): number | null | undefined {
  if (text === undefined || text === '') return undefined;
  if (text === 'max' || text === '-1') return null;
  try {
    const n = BigInt(text);
    return n >= V1_UNLIMITED ? null : Number(n);
  } catch {
    return undefined;
  }
}

/** A v2 value: "max" = null. */
function v2Limit(text: string | undefined): number | null | undefined {
  if (text === undefined || text === '') return undefined;
  if (text === 'max') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function parseKeyed(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k !== undefined && v !== undefined && v !== '') {
      const n = Number(v);
      if (Number.isFinite(n)) out[k] = n;
    }
  }
  return out;
}

/**
 * A container's limits, normalized: bytes, microseconds, counts; `null` means unlimited,
 * an absent field means the file could not be read (controller missing, cgroup gone).
 */
export interface CgroupLimits {
  /** Memory limit in bytes. */
  memory?: number | null;
  /** Memory + swap limit in bytes (Docker's MemorySwap meaning). */
  memorySwap?: number | null;
  /** Soft limit in bytes. */
  memoryReservation?: number | null;
  /** CFS quota in µs (null = no quota). */
  cpuQuota?: number | null;
  /** CFS period in µs. */
  cpuPeriod?: number;
  /** cpu.shares (v1); on v2 approximated from cpu.weight, absent at the default weight 100. */
  cpuShares?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  /** Maximum pids (null = unlimited). */
  pidsMax?: number | null;
}

/** Read a container's current limits from its cgroup. */
export function readLimits(cgroupsPath: string, layout: CgroupLayout = detectCgroups()): CgroupLimits {
  const out: CgroupLimits = {};
  const set = <K extends keyof CgroupLimits>(k: K, v: CgroupLimits[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  if (layout.version === 1) {
    const mem = cgroupDir(cgroupsPath, 'memory', layout);
    const cpu = cgroupDir(cgroupsPath, 'cpu', layout);
    const cpuset = cgroupDir(cgroupsPath, 'cpuset', layout);
    const pids = cgroupDir(cgroupsPath, 'pids', layout);
    set('memory', v1Limit(readText(mem, 'memory.limit_in_bytes')));
    set('memorySwap', v1Limit(readText(mem, 'memory.memsw.limit_in_bytes')));
    set('memoryReservation', v1Limit(readText(mem, 'memory.soft_limit_in_bytes')));
    set('cpuQuota', v1Limit(readText(cpu, 'cpu.cfs_quota_us')));
    const period = v1Limit(readText(cpu, 'cpu.cfs_period_us'));
    if (typeof period === 'number') out.cpuPeriod = period;
    const shares = v1Limit(readText(cpu, 'cpu.shares'));
    if (typeof shares === 'number') out.cpuShares = shares;
    set('cpusetCpus', readText(cpuset, 'cpuset.cpus'));
    set('cpusetMems', readText(cpuset, 'cpuset.mems'));
    set('pidsMax', v1Limit(readText(pids, 'pids.max')));
    return out;
  }
  const dir = cgroupDir(cgroupsPath, '', layout);
  const memMax = v2Limit(readText(dir, 'memory.max'));
  set('memory', memMax);
  const swapMax = v2Limit(readText(dir, 'memory.swap.max'));
  if (swapMax !== undefined && memMax !== undefined) {
    out.memorySwap = memMax === null || swapMax === null ? null : memMax + swapMax;
  }
  set('memoryReservation', v2Limit(readText(dir, 'memory.low')));
  const cpuMax = readText(dir, 'cpu.max');
  if (cpuMax !== undefined) {
    const [q, p] = cpuMax.split(/\s+/);
    out.cpuQuota = q === 'max' || q === undefined ? null : Number(q);
    if (p !== undefined) out.cpuPeriod = Number(p);
  }
  const weight = readText(dir, 'cpu.weight');
  // 100 is the kernel's default weight: no shares were set.
  if (weight !== undefined && weight !== '' && weight !== '100') out.cpuShares = weightToShares(Number(weight));
  set('cpusetCpus', readText(dir, 'cpuset.cpus'));
  set('cpusetMems', readText(dir, 'cpuset.mems'));
  set('pidsMax', v2Limit(readText(dir, 'pids.max')));
  return out;
}

/** runc's shares → weight conversion (1 + (shares-2)·9999/262142), inverted; approximate (1024 → 39 → 998). */
function weightToShares(weight: number): number {
  if (!Number.isFinite(weight) || weight <= 0) return 0;
  return Math.round(((weight - 1) * 262142) / 9999 + 2);
}

/** A container's resource usage. */
export interface CgroupStats {
  /** Memory in use, bytes (v1 memory.usage_in_bytes, v2 memory.current). */
  memoryUsage?: number;
  /** Peak memory, bytes (v1 memory.max_usage_in_bytes, v2 memory.peak where the kernel has it). */
  memoryMaxUsage?: number;
  /** Current memory limit (null = unlimited). */
  memoryLimit?: number | null;
  /** memory.stat counters (cache, rss, … on v1; anon, file, … on v2). */
  memoryStat: Record<string, number>;
  /** Number of tasks. */
  pidsCurrent?: number;
  pidsLimit?: number | null;
  /** Total CPU time, nanoseconds. */
  cpuUsageNs?: number;
  /** Per-CPU totals, nanoseconds (v1 only). */
  cpuPerCpuNs?: number[];
  /** Time in user and kernel mode, nanoseconds. */
  cpuUserNs?: number;
  cpuSystemNs?: number;
  /** CFS throttling counters. */
  throttling?: { periods: number; throttledPeriods: number; throttledTimeNs: number };
}

/** Clock ticks per second for cpuacct.stat (USER_HZ is 100 on every Linux Docker runs on). */
const USER_HZ = 100;

/** Read a container's usage counters (for `docker stats`). */
export function readStats(cgroupsPath: string, layout: CgroupLayout = detectCgroups()): CgroupStats {
  if (layout.version === 1) {
    const mem = cgroupDir(cgroupsPath, 'memory', layout);
    const acct = cgroupDir(cgroupsPath, 'cpuacct', layout);
    const cpu = cgroupDir(cgroupsPath, 'cpu', layout);
    const pids = cgroupDir(cgroupsPath, 'pids', layout);
    const out: CgroupStats = { memoryStat: parseKeyed(readText(mem, 'memory.stat')) };
    const num = (v: number | null | undefined): number | undefined => (typeof v === 'number' ? v : undefined);
    const usage = num(v1Limit(readText(mem, 'memory.usage_in_bytes')));
    if (usage !== undefined) out.memoryUsage = usage;
    const max = num(v1Limit(readText(mem, 'memory.max_usage_in_bytes')));
    if (max !== undefined) out.memoryMaxUsage = max;
    const limit = v1Limit(readText(mem, 'memory.limit_in_bytes'));
    if (limit !== undefined) out.memoryLimit = limit;
    const cur = num(v1Limit(readText(pids, 'pids.current')));
    if (cur !== undefined) out.pidsCurrent = cur;
    const pmax = v1Limit(readText(pids, 'pids.max'));
    if (pmax !== undefined) out.pidsLimit = pmax;
    const cpuUsage = readText(acct, 'cpuacct.usage');
    if (cpuUsage !== undefined && cpuUsage !== '') out.cpuUsageNs = Number(cpuUsage);
    const percpu = readText(acct, 'cpuacct.usage_percpu');
    if (percpu !== undefined && percpu !== '') out.cpuPerCpuNs = percpu.split(/\s+/).map(Number);
    const st = parseKeyed(readText(acct, 'cpuacct.stat'));
    if (st['user'] !== undefined) out.cpuUserNs = (st['user'] * 1e9) / USER_HZ;
    if (st['system'] !== undefined) out.cpuSystemNs = (st['system'] * 1e9) / USER_HZ;
    const thr = parseKeyed(readText(cpu, 'cpu.stat'));
    if (thr['nr_periods'] !== undefined) {
      out.throttling = {
        periods: thr['nr_periods'],
        throttledPeriods: thr['nr_throttled'] ?? 0,
        throttledTimeNs: thr['throttled_time'] ?? 0,
      };
    }
    return out;
  }
  const dir = cgroupDir(cgroupsPath, '', layout);
  const out: CgroupStats = { memoryStat: parseKeyed(readText(dir, 'memory.stat')) };
  const cur = v2Limit(readText(dir, 'memory.current'));
  if (typeof cur === 'number') out.memoryUsage = cur;
  const peak = v2Limit(readText(dir, 'memory.peak'));
  if (typeof peak === 'number') out.memoryMaxUsage = peak;
  const limit = v2Limit(readText(dir, 'memory.max'));
  if (limit !== undefined) out.memoryLimit = limit;
  const pc = v2Limit(readText(dir, 'pids.current'));
  if (typeof pc === 'number') out.pidsCurrent = pc;
  const pm = v2Limit(readText(dir, 'pids.max'));
  if (pm !== undefined) out.pidsLimit = pm;
  const cs = parseKeyed(readText(dir, 'cpu.stat'));
  if (cs['usage_usec'] !== undefined) out.cpuUsageNs = cs['usage_usec'] * 1000;
  if (cs['user_usec'] !== undefined) out.cpuUserNs = cs['user_usec'] * 1000;
  if (cs['system_usec'] !== undefined) out.cpuSystemNs = cs['system_usec'] * 1000;
  if (cs['nr_periods'] !== undefined) {
    out.throttling = {
      periods: cs['nr_periods'],
      throttledPeriods: cs['nr_throttled'] ?? 0,
      throttledTimeNs: (cs['throttled_usec'] ?? 0) * 1000,
    };
  }
  return out;
}

/**
 * How many processes of the container the kernel's OOM killer has killed (v1: the `oom_kill`
 * line of memory.oom_control; v2: memory.events). 0 when unknown or the cgroup is gone, so
 * read it before the cgroup is removed (i.e. before `runc delete`).
 */
export function readOomKilled(cgroupsPath: string, layout: CgroupLayout = detectCgroups()): number {
  if (layout.version === 1) {
    const mem = cgroupDir(cgroupsPath, 'memory', layout);
    return parseKeyed(readText(mem, 'memory.oom_control'))['oom_kill'] ?? 0;
  }
  const dir = cgroupDir(cgroupsPath, '', layout);
  return parseKeyed(readText(dir, 'memory.events'))['oom_kill'] ?? 0;
}

/** Options of {@link resourcesToRuncUpdate}. */
export interface RuncUpdateOptions {
  /** Without swap accounting, swap values are left out (runc would fail to write them). Default true. */
  swapAccounting?: boolean;
}

/**
 * The JSON `runc update --resources -` reads (OCI linux resources) for a `docker update`.
 * Only the given fields are set: runc leaves zero/absent values unchanged. Unlimited values
 * are written as -1 (memory, swap, quota, pids). Unlike container creation, swap is not
 * derived from memory here; the caller applies Docker's update rules (e.g. "Memory limit should
 * be smaller than already set memoryswap limit") before calling.
 */
export function resourcesToRuncUpdate(r: Resources, opts: RuncUpdateOptions = {}): OciResources {
  const out: OciResources = {};
  const memory: NonNullable<OciResources['memory']> = {};
  if (r.memory !== undefined && r.memory !== 0) memory.limit = r.memory;
  if (r.memoryReservation !== undefined && r.memoryReservation !== 0) memory.reservation = r.memoryReservation;
  if (opts.swapAccounting !== false && r.memorySwap !== undefined && r.memorySwap !== 0) memory.swap = r.memorySwap;
  if (Object.keys(memory).length > 0) out.memory = memory;
  const cpu: NonNullable<OciResources['cpu']> = {};
  if (r.cpuShares !== undefined && r.cpuShares !== 0) cpu.shares = r.cpuShares;
  if (r.nanoCpus !== undefined && r.nanoCpus !== 0) {
    cpu.period = 100000;
    cpu.quota = r.nanoCpus > 0 ? Math.floor((r.nanoCpus * 100000) / 1e9) : -1;
  }
  if (r.cpuPeriod !== undefined && r.cpuPeriod !== 0) cpu.period = r.cpuPeriod;
  if (r.cpuQuota !== undefined && r.cpuQuota !== 0) cpu.quota = r.cpuQuota;
  if (r.cpuRealtimePeriod !== undefined && r.cpuRealtimePeriod !== 0) cpu.realtimePeriod = r.cpuRealtimePeriod;
  if (r.cpuRealtimeRuntime !== undefined && r.cpuRealtimeRuntime !== 0) cpu.realtimeRuntime = r.cpuRealtimeRuntime;
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  if (r.pidsLimit !== undefined) out.pids = { limit: r.pidsLimit > 0 ? r.pidsLimit : -1 };
  if (r.blkioWeight !== undefined && r.blkioWeight !== 0) out.blockIO = { weight: r.blkioWeight };
  return out;
}

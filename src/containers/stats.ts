/**
 * `docker stats`: a container's usage read from its cgroups (v1 or v2) in the JSON shape dockerd
 * sends (types.StatsJSON): cpu with the host's system time for percentages, memory, pids, blkio.
 * There is no collector goroutine: each stream reads its container's files once a second.
 */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { cgroupDir, detectCgroups, readStats, type CgroupLayout } from '../runtime/cgroups.js';
import type { Container } from './types.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';
/** USER_HZ: clock ticks per second in /proc/stat. */
const CLOCK_TICKS = 100;

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface StatsDoc {
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: Record<string, BlkioEntry[] | null>;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; stats?: Record<string, number>; limit?: number };
  /** Per interface of the container's own network namespace (dockerd omits it when there is none). */
  networks?: Record<string, NetIfStats>;
  name: string;
  id: string;
}

export interface NetIfStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** /proc/<pid>/net/dev → per-interface counters, loopback left out (as dockerd's). */
export function parseNetDev(text: string): Record<string, NetIfStats> {
  const out: Record<string, NetIfStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    if (name === 'lo' || name === '') continue;
    const f = line
      .slice(i + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 16) continue;
    out[name] = {
      rx_bytes: f[0] as number,
      rx_packets: f[1] as number,
      rx_errors: f[2] as number,
      rx_dropped: f[3] as number,
      tx_bytes: f[8] as number,
      tx_packets: f[9] as number,
      tx_errors: f[10] as number,
      tx_dropped: f[11] as number,
    };
  }
  return out;
}

function networkStats(c: Container): Record<string, NetIfStats> | undefined {
  const mode = c.HostConfig?.NetworkMode ?? '';
  if (mode === 'host' || mode.startsWith('container:') || !c.State?.Pid) return undefined;
  try {
    const nets = parseNetDev(readFileSync(`/proc/${c.State.Pid}/net/dev`, 'utf8'));
    return Object.keys(nets).length > 0 ? nets : undefined;
  } catch {
    return undefined;
  }
}

const BLKIO_KEYS = [
  'io_service_bytes_recursive',
  'io_serviced_recursive',
  'io_queue_recursive',
  'io_service_time_recursive',
  'io_wait_time_recursive',
  'io_merged_recursive',
  'io_time_recursive',
  'sectors_recursive',
];

const emptyCpu = (): CpuStats => ({
  cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
  throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
});

/** The document dockerd sends for a container that is not running. */
export function emptyStats(c: Container): StatsDoc {
  return {
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: Object.fromEntries(BLKIO_KEYS.map((k) => [k, null])),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: emptyCpu(),
    precpu_stats: emptyCpu(),
    memory_stats: {},
    name: c.Name,
    id: c.ID,
  };
}

/** The host's CPU time in ns, as dockerd computes system_cpu_usage (first 7 fields of /proc/stat's cpu line). */
export function systemCpuUsage(stat = readFileSync('/proc/stat', 'utf8')): number {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line
    .trim()
    .split(/\s+/)
    .slice(1, 8)
    .reduce((a, b) => a + Number(b), 0);
  return (ticks * 1e9) / CLOCK_TICKS;
}

function readLines(file: string | undefined): string[] {
  if (!file) return [];
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** v1 `blkio.*_recursive` lines ("8:0 Read 4096"), "Total" lines left out. */
export function parseBlkioV1(lines: string[]): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const l of lines) {
    const [dev, op, value] = l.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m || op === undefined || value === undefined) continue;
    out.push({ major: Number(m[1]), minor: Number(m[2]), op, value: Number(value) });
  }
  return out;
}

/** v2 `io.stat` ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 …") as dockerd maps it. */
export function parseIoStatV2(lines: string[]): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const l of lines) {
    const [dev, ...kvs] = l.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const major = Number(m[1]);
    const minor = Number(m[2]);
    for (const kv of kvs) {
      const [k, v] = kv.split('=');
      const value = Number(v);
      if (k === 'rbytes') bytes.push({ major, minor, op: 'read', value });
      else if (k === 'wbytes') bytes.push({ major, minor, op: 'write', value });
      else if (k === 'rios') ios.push({ major, minor, op: 'read', value });
      else if (k === 'wios') ios.push({ major, minor, op: 'write', value });
    }
  }
  return { bytes, ios };
}

function blkio(cgroupsPath: string, layout: CgroupLayout): Record<string, BlkioEntry[] | null> {
  const out: Record<string, BlkioEntry[] | null> = Object.fromEntries(BLKIO_KEYS.map((k) => [k, [] as BlkioEntry[]]));
  if (layout.version === 2) {
    const dir = cgroupDir(cgroupsPath, '', layout);
    const { bytes, ios } = parseIoStatV2(readLines(dir ? `${dir}/io.stat` : undefined));
    out.io_service_bytes_recursive = bytes;
    out.io_serviced_recursive = ios;
    for (const k of BLKIO_KEYS.slice(2)) out[k] = null;
    return out;
  }
  const dir = cgroupDir(cgroupsPath, 'blkio', layout);
  const read = (name: string): BlkioEntry[] => {
    if (!dir) return [];
    // Without the CFQ scheduler these are empty; the throttle files always count.
    const own = parseBlkioV1(readLines(`${dir}/blkio.${name}`));
    return own.length > 0 ? own : parseBlkioV1(readLines(`${dir}/blkio.throttle.${name}`));
  };
  out.io_service_bytes_recursive = read('io_service_bytes_recursive');
  out.io_serviced_recursive = read('io_serviced_recursive');
  for (const k of BLKIO_KEYS.slice(2)) out[k] = parseBlkioV1(readLines(dir ? `${dir}/blkio.${k}` : undefined));
  return out;
}

/** One sample of a running container; `prev` fills precpu_stats/preread. */
export function sampleStats(c: Container, cgroupsPath: string, prev?: StatsDoc, layout: CgroupLayout = detectCgroups()): StatsDoc {
  const s = readStats(cgroupsPath, layout);
  const online = s.cpuPerCpuNs?.length ?? cpus().length;
  const cpu: CpuStats = {
    cpu_usage: {
      total_usage: s.cpuUsageNs ?? 0,
      ...(s.cpuPerCpuNs ? { percpu_usage: s.cpuPerCpuNs } : {}),
      usage_in_kernelmode: s.cpuSystemNs ?? 0,
      usage_in_usermode: s.cpuUserNs ?? 0,
    },
    system_cpu_usage: systemCpuUsage(),
    online_cpus: online,
    throttling_data: {
      periods: s.throttling?.periods ?? 0,
      throttled_periods: s.throttling?.throttledPeriods ?? 0,
      throttled_time: s.throttling?.throttledTimeNs ?? 0,
    },
  };
  const machine = totalmem();
  const limit = s.memoryLimit === null || s.memoryLimit === undefined || s.memoryLimit > machine ? machine : s.memoryLimit;
  const memory: StatsDoc['memory_stats'] = { ...(s.memoryUsage !== undefined ? { usage: s.memoryUsage } : {}) };
  if (s.memoryMaxUsage !== undefined) memory.max_usage = s.memoryMaxUsage;
  memory.stats = s.memoryStat;
  memory.limit = limit;
  const pids: StatsDoc['pids_stats'] = {};
  if (s.pidsCurrent !== undefined) pids.current = s.pidsCurrent;
  if (typeof s.pidsLimit === 'number' && s.pidsLimit > 0) pids.limit = s.pidsLimit;
  const nets = networkStats(c);
  return {
    read: new Date().toISOString().replace('Z', `${String(process.hrtime()[1] % 1e6).padStart(6, '0')}Z`),
    preread: prev?.read ?? ZERO_TIME,
    pids_stats: pids,
    blkio_stats: blkio(cgroupsPath, layout),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpu,
    precpu_stats: prev?.cpu_stats ?? emptyCpu(),
    memory_stats: memory,
    ...(nets ? { networks: nets } : {}),
    name: c.Name,
    id: c.ID,
  };
}

export interface StatsSource {
  /** The current record, undefined once removed. */
  find: (id: string) => Container | undefined;
  cgroupsPath: (c: Container) => string;
}

/**
 * Yields stats documents: one (`stream: false`; without `oneShot` after a second sample so
 * precpu_stats is filled, as dockerd does), or one a second until the container is removed or
 * the signal aborts.
 */
export async function* statsStream(
  src: StatsSource,
  id: string,
  o: { stream: boolean; oneShot: boolean; signal?: AbortSignal; intervalMs?: number },
): AsyncGenerator<StatsDoc> {
  const interval = o.intervalMs ?? 1000;
  const take = (prev?: StatsDoc): StatsDoc | undefined => {
    const c = src.find(id);
    if (!c) return undefined;
    if (!c.State.Running || c.State.Restarting) return emptyStats(c);
    try {
      return sampleStats(c, src.cgroupsPath(c), prev);
    } catch {
      return emptyStats(c);
    }
  };
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      o.signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  let prev = take();
  if (!prev) return;
  if (!o.stream) {
    if (!o.oneShot && prev.read !== ZERO_TIME) {
      await sleep(interval);
      prev = take(prev) ?? prev;
    }
    yield prev;
    return;
  }
  for (;;) {
    yield prev;
    await sleep(interval);
    if (o.signal?.aborted) return;
    const next = take(prev.read === ZERO_TIME ? undefined : prev);
    if (!next) return;
    prev = next;
  }
}

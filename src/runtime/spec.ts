/**
 * OCI runtime spec (config.json) generation: a pure function from a container's settings
 * to the runtime-spec object runc 1.1 runs, giving Docker's default isolation.
 *
 * What it reproduces of dockerd (checked against the config.json dockerd 20.10 writes):
 * namespaces, default capability set, masked and read-only /proc and /sys paths, the default
 * mounts (/proc, /dev, /dev/pts, /sys, /sys/fs/cgroup, /dev/mqueue, /dev/shm), the device cgroup
 * allow-list, the default seccomp profile resolved for the effective capabilities, the
 * environment defaults (PATH, HOSTNAME, TERM), the network sysctls dockerd sets for a private
 * network namespace, privileged mode, and Docker's resource semantics (swap = 2 × memory,
 * NanoCpus → CFS quota).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { invalid } from '../lib/errors.js';
import { parseDockerProfile, resolveSeccomp, type OciSeccomp, type SeccompPolicy } from './seccomp.js';

/* ------------------------------------------------------------------------------------------ */
/* OCI types (the subset Berth writes)                                                         */
/* ------------------------------------------------------------------------------------------ */

/** An OCI mount (`mounts[]`). */
export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** An OCI POSIX rlimit. */
export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

/** OCI process capabilities. */
export interface OciCapabilities {
  bounding?: string[];
  effective?: string[];
  permitted?: string[];
  inheritable?: string[];
  ambient?: string[];
}

/** The OCI `process` object. */
export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: { uid: number; gid: number; umask?: number; additionalGids?: number[] };
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

/** An OCI Linux namespace entry. */
export interface OciNamespace {
  type: 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';
  path?: string;
}

/** An OCI device cgroup rule. */
export interface OciDeviceCgroup {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}

/** An OCI device node to create in the container (`linux.devices[]`). */
export interface OciDevice {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** OCI `linux.resources`. */
export interface OciResources {
  devices?: OciDeviceCgroup[];
  memory?: {
    limit?: number;
    reservation?: number;
    swap?: number;
    swappiness?: number;
    disableOOMKiller?: boolean;
  };
  cpu?: {
    shares?: number;
    quota?: number;
    period?: number;
    realtimeRuntime?: number;
    realtimePeriod?: number;
    cpus?: string;
    mems?: string;
  };
  pids?: { limit: number };
  blockIO?: { weight?: number };
}

/** The OCI `linux` object. */
export interface OciLinux {
  namespaces: OciNamespace[];
  devices?: OciDevice[];
  cgroupsPath?: string;
  resources?: OciResources;
  sysctl?: Record<string, string>;
  seccomp?: OciSeccomp;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  rootfsPropagation?: string;
}

/** An OCI runtime config.json. */
export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts: OciMount[];
  linux: OciLinux;
  annotations?: Record<string, string>;
}

/* ------------------------------------------------------------------------------------------ */
/* Options                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/** How a container gets one kind of namespace. */
export type NamespaceMode =
  /** A new namespace of its own. */
  | { kind: 'private' }
  /** The host's (no namespace entry). */
  | { kind: 'host' }
  /** Join an existing one: /proc/PID/ns/net, /var/run/netns/NAME, … */
  | { kind: 'path'; path: string };

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

/** Everything {@link buildSpec} needs to know about one container. */
export interface SpecOptions {
  /** Container id (used for the default cgroups path). */
  id: string;
  /** Absolute path of the container's (already mounted) root filesystem. */
  rootfsPath: string;
  readonlyRootfs?: boolean;
  /** Command and arguments (entrypoint + cmd, already combined). */
  args: string[];
  /** K=V entries (image env + user env, user's win). PATH, HOSTNAME and TERM defaults are added. */
  env?: string[];
  /** Working directory (default "/"). */
  cwd?: string;
  /** The resolved user (see user.ts); default root. */
  user?: { uid: number; gid: number; additionalGids?: number[]; umask?: number };
  hostname?: string;
  domainname?: string;
  tty?: boolean;
  /** Files bind-mounted over /etc/hostname, /etc/hosts, /etc/resolv.conf (skipped when absent). */
  etcFiles?: { hostnamePath?: string; hostsPath?: string; resolvConfPath?: string };
  privileged?: boolean;
  /** `NET_ADMIN`, `CAP_NET_ADMIN`, `ALL`; case-insensitive. */
  capAdd?: string[];
  capDrop?: string[];
  /** Docker's --security-opt values. */
  securityOpt?: string[];
  /** Force no_new_privs (also settable through securityOpt). */
  noNewPrivileges?: boolean;
  resources?: Resources;
  /** Whether the host has swap accounting (memory.memsw.*); without it swap limits are left out. Default true. */
  swapAccounting?: boolean;
  /** cgroup path; default `/berth/<id>`. */
  cgroupsPath?: string;
  /** Cgroup namespace: private (default) or host. */
  cgroupns?: 'private' | 'host';
  network?: NamespaceMode;
  ipc?: NamespaceMode;
  pid?: NamespaceMode;
  uts?: NamespaceMode;
  /** Size of the /dev/shm tmpfs in bytes (default 64 MiB). */
  shmSize?: number;
  /** Bind this host directory at /dev/shm instead of a tmpfs (ipc host / shared ipc). Default for ipc host: /dev/shm. */
  shmPath?: string;
  /** Extra OCI mounts (volumes, binds), after the defaults; with the etc files, init and tmpfs mounts they are stably sorted by path depth. */
  mounts?: OciMount[];
  /** tmpfs mounts: destination → mount options ("rw,size=64m"), as HostConfig.Tmpfs. */
  tmpfs?: Record<string, string>;
  sysctls?: Record<string, string>;
  ulimits?: Ulimit[];
  oomScoreAdj?: number;
  /** Path of an init binary (tini-static) to bind at /sbin/docker-init and run as PID 1. */
  init?: string;
  /** Extra device nodes (`--device`). */
  devices?: DeviceMapping[];
  /** Extra device cgroup rules (`--device-cgroup-rule`). */
  deviceCgroupRules?: OciDeviceCgroup[];
  /**
   * Capabilities the host (the daemon's bounding set) can grant; `privileged` and `--cap-add ALL`
   * get ALL ∩ these. Default: every capability, as dockerd (which then fails on hosts, such as
   * nested containers, whose bounding set lacks some). See {@link hostBoundingCapabilities}.
   */
  hostCapabilities?: readonly string[];
  /** Host device nodes given to a privileged container (see {@link listHostDevices}). */
  privilegedDevices?: OciDevice[];
  /** Masked paths in addition to the defaults (`--security-opt` has no equivalent; API MaskedPaths). */
  maskedPaths?: string[];
  readonlyPaths?: string[];
  annotations?: Record<string, string>;
  /** Architecture and kernel for seccomp resolution (default: this machine's). */
  seccompArch?: string;
  kernelRelease?: string;
}

/* ------------------------------------------------------------------------------------------ */
/* Docker's defaults                                                                           */
/* ------------------------------------------------------------------------------------------ */

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's default capability set (order as dockerd writes it). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability Linux defines (through CAP_CHECKPOINT_RESTORE = 40), by number. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** The kernel's capability bit mask (as /proc/PID/status CapBnd shows it) of a capability list. */
export function capabilityMask(caps: readonly string[]): bigint {
  let mask = 0n;
  for (const c of caps) {
    const bit = ALL_CAPABILITIES.indexOf(c);
    if (bit >= 0) mask |= 1n << BigInt(bit);
  }
  return mask;
}

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const DEFAULT_READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

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

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/** The capabilities in this process's bounding set (from /proc/self/status CapBnd). Not pure. */
export function hostBoundingCapabilities(): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m?.[1]) return [...ALL_CAPABILITIES];
  const mask = BigInt('0x' + m[1]);
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

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

/** Normalize a capability name as Docker does: upper case, `CAP_` prefix; `ALL` stays. */
export function normalizeCapability(name: string): string {
  const up = name.trim().toUpperCase();
  if (up === 'ALL') return 'ALL';
  const full = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (!ALL_CAPABILITIES.includes(full)) throw invalid(`unknown capability: "${full}"`);
  return full;
}

/** Docker's capability arithmetic (TweakCapabilities). */
export function effectiveCapabilities(opts: {
  privileged?: boolean;
  capAdd?: readonly string[];
  capDrop?: readonly string[];
  /** What "all" means on this host (default {@link ALL_CAPABILITIES}). */
  hostCapabilities?: readonly string[];
}): string[] {
  const adds = (opts.capAdd ?? []).map(normalizeCapability);
  const drops = (opts.capDrop ?? []).map(normalizeCapability);
  const host = opts.hostCapabilities;
  const everything = host ? ALL_CAPABILITIES.filter((c) => host.includes(c)) : [...ALL_CAPABILITIES];
  if (opts.privileged) return everything;
  if (adds.length === 0 && drops.length === 0) return [...DEFAULT_CAPABILITIES];
  let caps: string[];
  if (adds.includes('ALL')) {
    caps = everything.filter((c) => !drops.includes(c));
  } else if (drops.includes('ALL')) {
    caps = [...adds];
  } else {
    caps = DEFAULT_CAPABILITIES.filter((c) => !drops.includes(c));
    caps.push(...adds);
  }
  return [...new Set(caps.filter((c) => c !== 'ALL'))];
}

/** Security options parsed from Docker's `--security-opt` list. */
export interface SecurityOptions {
  noNewPrivileges?: boolean;
  /** 'unconfined', 'default' or a custom policy. */
  seccomp: 'default' | 'unconfined' | SeccompPolicy;
  apparmor?: string;
  labels: string[];
  /** `systempaths=unconfined`: no masked / read-only paths. */
  unconfinedSystemPaths: boolean;
}

/** Parse Docker's --security-opt values; errors carry dockerd's messages. */
export function parseSecurityOpt(list: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { seccomp: 'default', labels: [], unconfinedSystemPaths: false };
  for (const opt of list) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') {
      out.labels.push('disable');
      continue;
    }
    let key: string;
    let value: string;
    const eq = opt.indexOf('=');
    const colon = opt.indexOf(':');
    if (eq >= 0) {
      key = opt.slice(0, eq);
      value = opt.slice(eq + 1);
    } else if (colon >= 0) {
      key = opt.slice(0, colon);
      value = opt.slice(colon + 1);
    } else {
      throw invalid(`invalid --security-opt 1: "${opt}"`);
    }
    switch (key) {
      case 'label':
        out.labels.push(value);
        break;
      case 'apparmor':
        out.apparmor = value;
        break;
      case 'seccomp':
        if (value === 'unconfined') out.seccomp = 'unconfined';
        else if (value === '' || value === 'builtin' || value === 'default') out.seccomp = 'default';
        else out.seccomp = parseDockerProfile(value);
        break;
      case 'no-new-privileges': {
        const b = parseBool(value);
        if (b === undefined) throw invalid(`invalid --security-opt 2: "${opt}"`);
        out.noNewPrivileges = b;
        break;
      }
      case 'systempaths':
        if (value !== 'unconfined') throw invalid(`invalid --security-opt 2: "${opt}"`);
        out.unconfinedSystemPaths = true;
        break;
      default:
        throw invalid(`invalid --security-opt 2: "${opt}"`);
    }
  }
  return out;
}

function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/**
 * Docker's env assembly: defaults first (PATH, HOSTNAME, TERM when tty), then the container's
 * entries replace a default with the same key or append; a bare `KEY` removes the key.
 */
export function buildEnv(opts: { env?: readonly string[]; hostname?: string; tty?: boolean }): string[] {
  const out: string[] = [`PATH=${DEFAULT_PATH}`];
  if (opts.hostname !== undefined) out.push(`HOSTNAME=${opts.hostname}`);
  if (opts.tty) out.push('TERM=xterm');
  const keyOf = (kv: string): string => {
    const i = kv.indexOf('=');
    return i < 0 ? kv : kv.slice(0, i);
  };
  for (const kv of opts.env ?? []) {
    const key = keyOf(kv);
    const idx = out.findIndex((e) => keyOf(e) === key);
    if (!kv.includes('=')) {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = kv;
    else out.push(kv);
  }
  return out;
}

/** Merge tmpfs options the way Docker's MergeTmpfsOptions does: later flags win over their opposites. */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const flagPairs: Record<string, string> = {
    rw: 'ro',
    ro: 'rw',
    exec: 'noexec',
    noexec: 'exec',
    suid: 'nosuid',
    nosuid: 'suid',
    dev: 'nodev',
    nodev: 'dev',
    atime: 'noatime',
    noatime: 'atime',
    diratime: 'nodiratime',
    nodiratime: 'diratime',
  };
  const out: string[] = [];
  const seenKeys = new Set<string>();
  const seenFlags = new Set<string>();
  // Walk from the end: the last occurrence of a flag or key wins.
  for (let i = options.length - 1; i >= 0; i--) {
    const opt = options[i];
    if (opt === undefined || opt === '') continue;
    const eq = opt.indexOf('=');
    if (eq >= 0) {
      const key = opt.slice(0, eq);
      if (seenKeys.has(key)) continue;
      seenKeys.add(key);
      out.unshift(opt);
      continue;
    }
    const opposite = flagPairs[opt];
    if (seenFlags.has(opt) || (opposite !== undefined && seenFlags.has(opposite))) continue;
    seenFlags.add(opt);
    out.unshift(opt);
  }
  return out;
}

/** Docker's validation of resource settings (dockerd messages). */
export function validateResources(r: Resources): void {
  const mem = r.memory ?? 0;
  const swap = r.memorySwap ?? 0;
  if (mem !== 0 && mem < 6 * 1024 * 1024) throw invalid('Minimum memory limit allowed is 6MB');
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
  if (resv !== 0 && resv < 6 * 1024 * 1024) throw invalid('Minimum memory reservation allowed is 6MB');
  const sw = r.memorySwappiness;
  if (sw !== undefined && sw !== -1 && (sw < 0 || sw > 100)) {
    throw invalid(`Invalid value: ${sw}, valid memory swappiness range is 0-100`);
  }
  if ((r.nanoCpus ?? 0) > 0 && (r.cpuPeriod ?? 0) > 0) {
    throw invalid('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  }
  if ((r.nanoCpus ?? 0) > 0 && (r.cpuQuota ?? 0) > 0) {
    throw invalid('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  }
  if ((r.nanoCpus ?? 0) < 0) throw invalid('Range of CPUs is from 0.01 to the number of CPUs available');
  const period = r.cpuPeriod ?? 0;
  if (period !== 0 && (period < 1000 || period > 1000000)) {
    throw invalid('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  const quota = r.cpuQuota ?? 0;
  if (quota > 0 && quota < 1000) throw invalid('CPU cfs quota can not be less than 1ms (i.e. 1000)');
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

function namespaceEntry(type: OciNamespace['type'], mode: NamespaceMode | undefined): OciNamespace | undefined {
  const m = mode ?? { kind: 'private' };
  switch (m.kind) {
    case 'private':
      return { type };
    case 'host':
      return undefined;
    case 'path':
      if (!m.path.startsWith('/')) throw invalid(`invalid ${type} namespace path: ${m.path}`);
      return { type, path: m.path };
  }
}

const cleanDest = (p: string): string => {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
};

/* ------------------------------------------------------------------------------------------ */
/* The generator                                                                               */
/* ------------------------------------------------------------------------------------------ */

/** Build the OCI runtime config for a container. Pure: reads nothing, writes nothing. */
export function buildSpec(opts: SpecOptions): OciSpec {
  if (!opts.rootfsPath.startsWith('/')) throw invalid(`rootfs path must be absolute: ${opts.rootfsPath}`);
  if (opts.args.length === 0) throw invalid('No command specified');
  const privileged = opts.privileged ?? false;
  const sec = parseSecurityOpt(opts.securityOpt ?? []);
  const resources = opts.resources ?? {};
  validateResources(resources);

  const caps = effectiveCapabilities({
    privileged,
    ...(opts.capAdd ? { capAdd: opts.capAdd } : {}),
    ...(opts.capDrop ? { capDrop: opts.capDrop } : {}),
    ...(opts.hostCapabilities ? { hostCapabilities: opts.hostCapabilities } : {}),
  });

  // Namespaces.
  const namespaces: OciNamespace[] = [{ type: 'mount' }];
  for (const [type, mode] of [
    ['network', opts.network],
    ['uts', opts.uts],
    ['pid', opts.pid],
    ['ipc', opts.ipc],
  ] as const) {
    const ns = namespaceEntry(type, mode);
    if (ns) namespaces.push(ns);
  }
  if ((opts.cgroupns ?? 'private') === 'private') namespaces.push({ type: 'cgroup' });
  const utsHost = opts.uts?.kind === 'host';
  const ipcHost = opts.ipc?.kind === 'host';
  const netPrivate = (opts.network ?? { kind: 'private' }).kind === 'private';

  // Process.
  const args = opts.init ? ['/sbin/docker-init', '--', ...opts.args] : [...opts.args];
  const user = opts.user ?? { uid: 0, gid: 0 };
  const processUser: OciProcess['user'] = {
    uid: user.uid,
    gid: user.gid,
    additionalGids: user.additionalGids ? [...user.additionalGids] : [user.gid],
  };
  if (user.umask !== undefined) processUser.umask = user.umask;
  const process: OciProcess = {
    terminal: opts.tty ?? false,
    user: processUser,
    args,
    env: buildEnv({
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.hostname !== undefined ? { hostname: opts.hostname } : {}),
      tty: opts.tty ?? false,
    }),
    cwd: opts.cwd && opts.cwd !== '' ? opts.cwd : '/',
    capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
  };
  if (sec.noNewPrivileges ?? opts.noNewPrivileges) process.noNewPrivileges = true;
  if (opts.oomScoreAdj !== undefined && opts.oomScoreAdj !== 0) process.oomScoreAdj = opts.oomScoreAdj;
  if (opts.ulimits && opts.ulimits.length > 0) {
    process.rlimits = opts.ulimits.map((u) => ({
      type: `RLIMIT_${u.name.toUpperCase()}`,
      hard: u.hard,
      soft: u.soft,
    }));
  }

  // Mounts: defaults, then etc files, init, tmpfs and the caller's; a caller's mount at the
  // same destination replaces a default one (and everything beneath a replaced /dev).
  const userMounts: OciMount[] = [];
  for (const [dest, data] of Object.entries(opts.tmpfs ?? {})) {
    const options = mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', ...data.split(',')]);
    userMounts.push({ destination: cleanDest(dest), type: 'tmpfs', source: 'tmpfs', options });
  }
  for (const m of opts.mounts ?? []) userMounts.push({ ...m, destination: cleanDest(m.destination) });
  const userDests = new Set(userMounts.map((m) => m.destination));

  const shmSize = opts.shmSize && opts.shmSize > 0 ? opts.shmSize : DEFAULT_SHM_SIZE;
  const shmPath = opts.shmPath ?? (ipcHost ? '/dev/shm' : undefined);
  const defaults: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: privileged ? ['nosuid', 'noexec', 'nodev'] : ['nosuid', 'noexec', 'nodev', 'ro'],
    },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: privileged ? ['nosuid', 'noexec', 'nodev'] : ['ro', 'nosuid', 'noexec', 'nodev'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    shmPath !== undefined
      ? { destination: '/dev/shm', type: 'bind', source: shmPath, options: ['rbind', 'rprivate'] }
      : {
          destination: '/dev/shm',
          type: 'tmpfs',
          source: 'shm',
          options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`],
        },
  ];
  const replaced = (dest: string): boolean =>
    userDests.has(dest) || (userDests.has('/dev') && dest.startsWith('/dev/'));
  const mounts: OciMount[] = defaults.filter((m) => !replaced(m.destination));

  const etcOptions = opts.readonlyRootfs ? ['rbind', 'ro', 'rprivate'] : ['rbind', 'rprivate'];
  // After the defaults: etc files, init, tmpfs and the caller's mounts, stably sorted by depth
  // (as dockerd does) so a parent directory is always mounted before what is mounted inside it.
  const extra: OciMount[] = [];
  const etc = opts.etcFiles ?? {};
  for (const [dest, src] of [
    ['/etc/resolv.conf', etc.resolvConfPath],
    ['/etc/hostname', etc.hostnamePath],
    ['/etc/hosts', etc.hostsPath],
  ] as const) {
    if (src !== undefined && !userDests.has(dest)) {
      extra.push({ destination: dest, type: 'bind', source: src, options: [...etcOptions] });
    }
  }
  if (opts.init) {
    extra.push({ destination: '/sbin/docker-init', type: 'bind', source: opts.init, options: ['bind', 'ro'] });
  }
  extra.push(...userMounts);
  const depth = (m: OciMount): number => m.destination.split('/').filter((p) => p !== '').length;
  mounts.push(...extra.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i).map((x) => x.m));

  // Linux.
  const linux: OciLinux = {
    namespaces,
    cgroupsPath: opts.cgroupsPath ?? `/berth/${opts.id}`,
  };
  const ociResources = toOciResources(resources, { swapAccounting: opts.swapAccounting ?? true });
  const devices: OciDevice[] = [];
  if (privileged) {
    ociResources.devices = [{ allow: true, access: 'rwm' }];
    devices.push(...(opts.privilegedDevices ?? []));
  } else {
    ociResources.devices = DEFAULT_DEVICE_RULES.map((d) => ({ ...d }));
  }
  for (const d of opts.devices ?? []) {
    devices.push({ ...d.device });
    if (!privileged) {
      ociResources.devices.push({
        allow: true,
        type: d.device.type === 'b' ? 'b' : 'c',
        major: d.device.major,
        minor: d.device.minor,
        access: d.access ?? 'rwm',
      });
    }
  }
  if (!privileged) ociResources.devices.push(...(opts.deviceCgroupRules ?? []).map((d) => ({ ...d })));
  if (devices.length > 0) linux.devices = devices;
  linux.resources = ociResources;

  const sysctl: Record<string, string> = {};
  if (netPrivate) {
    sysctl['net.ipv4.ip_unprivileged_port_start'] = '0';
    sysctl['net.ipv4.ping_group_range'] = '0 2147483647';
  }
  Object.assign(sysctl, opts.sysctls ?? {});
  if (Object.keys(sysctl).length > 0) linux.sysctl = sysctl;

  if (!privileged && sec.seccomp !== 'unconfined') {
    linux.seccomp = resolveSeccomp({
      capabilities: caps,
      ...(sec.seccomp !== 'default' ? { policy: sec.seccomp } : {}),
      ...(opts.seccompArch ? { arch: opts.seccompArch } : {}),
      ...(opts.kernelRelease ? { kernel: opts.kernelRelease } : {}),
    });
  }
  if (!privileged && !sec.unconfinedSystemPaths) {
    linux.maskedPaths = [...DEFAULT_MASKED_PATHS, ...(opts.maskedPaths ?? [])];
    linux.readonlyPaths = [...DEFAULT_READONLY_PATHS, ...(opts.readonlyPaths ?? [])];
  }

  const spec: OciSpec = {
    ociVersion: '1.0.2-dev',
    process,
    root: { path: opts.rootfsPath, ...(opts.readonlyRootfs ? { readonly: true } : {}) },
    mounts,
    linux,
  };
  if (!utsHost) {
    if (opts.hostname !== undefined && opts.hostname !== '') spec.hostname = opts.hostname;
    if (opts.domainname !== undefined && opts.domainname !== '') spec.domainname = opts.domainname;
  }
  if (opts.annotations && Object.keys(opts.annotations).length > 0) spec.annotations = { ...opts.annotations };
  return spec;
}

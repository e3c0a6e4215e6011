/**
 * The builder of the OCI runtime spec (config.json): a pure function from a container's settings
 * to the runtime-spec object runc 1.1 runs, giving Docker's default isolation. It composes
 * capabilities.ts (the capability set), security.ts (seccomp, no-new-privileges, masked and
 * read-only paths), resources.ts (cgroup limits, devices) and owns what is left: namespaces, the
 * process (args, env, user, rlimits) and the mounts. The types are in oci.ts.
 *
 * What it reproduces of dockerd (checked against the config.json dockerd 20.10 writes):
 * namespaces, default capability set, masked and read-only /proc and /sys paths, the default
 * mounts (/proc, /dev, /dev/pts, /sys, /sys/fs/cgroup, /dev/mqueue, /dev/shm), the device cgroup
 * allow-list, the default seccomp profile resolved for the effective capabilities, the
 * environment defaults (PATH, HOSTNAME, TERM), the network sysctls dockerd sets for a private
 * network namespace, privileged mode, and Docker's resource semantics (swap = 2 × memory,
 * NanoCpus → CFS quota).
 */
import { invalid } from '../lib/errors.js';
import { effectiveCapabilities } from './capabilities.js';
import { parseSecurityOpt, securityLinux } from './security.js';
import { deviceSpec, toOciResources, validateResources, type DeviceMapping, type Resources, type Ulimit } from './resources.js';
import type { OciDevice, OciDeviceCgroup, OciLinux, OciMount, OciNamespace, OciProcess, OciSpec } from './oci.js';

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

const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/* ------------------------------------------------------------------------------------------ */
/* Process and mounts                                                                        */
/* ------------------------------------------------------------------------------------------ */

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
  const replaced = (dest: string): boolean => userDests.has(dest) || (userDests.has('/dev') && dest.startsWith('/dev/'));
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
  mounts.push(
    ...extra
      .map((m, i) => ({ m, i }))
      .sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i)
      .map((x) => x.m),
  );

  // Linux.
  const linux: OciLinux = {
    namespaces,
    cgroupsPath: opts.cgroupsPath ?? `/berth/${opts.id}`,
  };
  const ociResources = toOciResources(resources, { swapAccounting: opts.swapAccounting ?? true });
  const device = deviceSpec({
    privileged,
    ...(opts.devices ? { devices: opts.devices } : {}),
    ...(opts.deviceCgroupRules ? { deviceCgroupRules: opts.deviceCgroupRules } : {}),
    ...(opts.privilegedDevices ? { privilegedDevices: opts.privilegedDevices } : {}),
  });
  ociResources.devices = device.rules;
  if (device.nodes.length > 0) linux.devices = device.nodes;
  linux.resources = ociResources;

  const sysctl: Record<string, string> = {};
  if (netPrivate) {
    sysctl['net.ipv4.ip_unprivileged_port_start'] = '0';
    sysctl['net.ipv4.ping_group_range'] = '0 2147483647';
  }
  Object.assign(sysctl, opts.sysctls ?? {});
  if (Object.keys(sysctl).length > 0) linux.sysctl = sysctl;

  Object.assign(
    linux,
    securityLinux({
      privileged,
      security: sec,
      capabilities: caps,
      ...(opts.maskedPaths ? { maskedPaths: opts.maskedPaths } : {}),
      ...(opts.readonlyPaths ? { readonlyPaths: opts.readonlyPaths } : {}),
      ...(opts.seccompArch ? { seccompArch: opts.seccompArch } : {}),
      ...(opts.kernelRelease ? { kernelRelease: opts.kernelRelease } : {}),
    }),
  );

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

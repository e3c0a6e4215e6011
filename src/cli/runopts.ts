/**
 * `run` / `create` flags and their translation into a POST /containers/create body,
 * following the docker CLI's opts parsing.
 */
import { readFileSync } from 'node:fs';
import type { ContainerCreateRequest, HostConfig, RestartPolicy } from '../client/types.js';
import { FlagError, type FlagSpec, type ParsedFlags } from './flags.js';
import { parseMemory } from './format.js';
import { parseVolumeFlags } from './mountopts.js';
import { HEALTH_FLAGS, healthcheckFromFlags } from './healthopts.js';

export const CREATE_FLAGS: FlagSpec[] = [
  { long: 'attach', short: 'a', type: 'list', description: 'Attach to STDIN, STDOUT or STDERR' },
  { long: 'cap-add', type: 'list', description: 'Add Linux capabilities' },
  { long: 'cap-drop', type: 'list', description: 'Drop Linux capabilities' },
  { long: 'cpu-shares', short: 'c', type: 'int', description: 'CPU shares (relative weight)' },
  { long: 'cpus', type: 'string', valueName: 'decimal', description: 'Number of CPUs' },
  { long: 'cpuset-cpus', type: 'string', description: 'CPUs in which to allow execution (0-3, 0,1)' },
  { long: 'device', type: 'list', description: 'Add a host device to the container' },
  { long: 'device-cgroup-rule', type: 'list', description: 'Add a rule to the cgroup allowed devices list' },
  { long: 'entrypoint', type: 'string', description: 'Overwrite the default ENTRYPOINT of the image' },
  { long: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
  { long: 'env-file', type: 'list', description: 'Read in a file of environment variables' },
  { long: 'hostname', short: 'h', type: 'string', description: 'Container host name' },
  { long: 'init', type: 'bool', description: 'Run an init inside the container that forwards signals and reaps processes' },
  { long: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' },
  { long: 'label', short: 'l', type: 'list', description: 'Set meta data on a container' },
  { long: 'log-driver', type: 'string', description: 'Logging driver for the container' },
  { long: 'log-opt', type: 'list', description: 'Log driver options' },
  ...HEALTH_FLAGS,
  { long: 'memory', short: 'm', type: 'string', valueName: 'bytes', description: 'Memory limit' },
  { long: 'mount', type: 'list', description: 'Attach a filesystem mount to the container' },
  { long: 'memory-swap', type: 'string', valueName: 'bytes', description: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
  { long: 'name', type: 'string', description: 'Assign a name to the container' },
  { long: 'network', type: 'string', valueName: 'network', description: 'Connect a container to a network' },
  { long: 'net', type: 'string', hidden: true },
  { long: 'network-alias', type: 'list', description: 'Add network-scoped alias for the container' },
  { long: 'ip', type: 'string', description: 'IPv4 address (e.g., 172.30.100.104)' },
  { long: 'ip6', type: 'string', description: 'IPv6 address (e.g., 2001:db8::33)' },
  { long: 'mac-address', type: 'string', description: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)' },
  { long: 'link', type: 'list', description: 'Add link to another container' },
  { long: 'publish-all', short: 'P', type: 'bool', description: 'Publish all exposed ports to random ports' },
  { long: 'expose', type: 'list', description: 'Expose a port or a range of ports' },
  { long: 'dns', type: 'list', description: 'Set custom DNS servers' },
  { long: 'dns-search', type: 'list', description: 'Set custom DNS search domains' },
  { long: 'dns-option', type: 'list', description: 'Set DNS options' },
  { long: 'add-host', type: 'list', description: 'Add a custom host-to-IP mapping (host:ip)' },
  { long: 'ipc', type: 'string', description: 'IPC mode to use' },
  { long: 'pid', type: 'string', description: 'PID namespace to use' },
  { long: 'uts', type: 'string', description: 'UTS namespace to use' },
  { long: 'pids-limit', type: 'int', description: 'Tune container pids limit (set -1 for unlimited)' },
  { long: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
  { long: 'privileged', type: 'bool', description: 'Give extended privileges to this container' },
  { long: 'publish', short: 'p', type: 'list', description: "Publish a container's port(s) to the host" },
  { long: 'pull', type: 'string', description: 'Pull image before running ("always", "missing", "never")', defaultValue: 'missing' },
  { long: 'quiet', short: 'q', type: 'bool', description: 'Suppress the pull output' },
  { long: 'read-only', type: 'bool', description: "Mount the container's root filesystem as read only" },
  { long: 'restart', type: 'string', description: 'Restart policy to apply when a container exits', defaultValue: 'no' },
  { long: 'rm', type: 'bool', description: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  { long: 'stop-signal', type: 'string', description: 'Signal to stop the container' },
  { long: 'stop-timeout', type: 'int', description: 'Timeout (in seconds) to stop a container' },
  { long: 'tmpfs', type: 'list', description: 'Mount a tmpfs directory' },
  { long: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
  { long: 'user', short: 'u', type: 'string', description: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { long: 'volume', short: 'v', type: 'list', description: 'Bind mount a volume' },
  { long: 'volumes-from', type: 'list', description: 'Mount volumes from the specified container(s)' },
  { long: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
];

const EXTRA_RUN_FLAGS: FlagSpec[] = [
  { long: 'detach', short: 'd', type: 'bool', description: 'Run container in background and print container ID' },
  { long: 'detach-keys', type: 'string', description: 'Override the key sequence for detaching a container' },
  { long: 'sig-proxy', type: 'bool', description: 'Proxy received signals to the process', defaultValue: true },
];

export const RUN_FLAGS: FlagSpec[] = [...CREATE_FLAGS, ...EXTRA_RUN_FLAGS].sort((a, b) => a.long.localeCompare(b.long));

CREATE_FLAGS.sort((a, b) => a.long.localeCompare(b.long));

export interface CreatePlan {
  body: ContainerCreateRequest;
  name: string | undefined;
  platform: string | undefined;
  image: string;
}

/** Parses KEY=VALUE env entries; a bare KEY takes the value from this process's environment. */
export function parseEnvEntry(entry: string, env: NodeJS.ProcessEnv = process.env): string {
  if (entry.includes('=')) {
    if (entry.startsWith('=')) throw new Error(`invalid environment variable: ${entry}`);
    return entry;
  }
  const v = env[entry];
  return v === undefined ? entry : `${entry}=${v}`;
}

export function readEnvFile(path: string, env: NodeJS.ProcessEnv = process.env): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new Error(`open ${path}: no such file or directory`);
    throw e;
  }
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    out.push(parseEnvEntry(line, env));
  }
  return out;
}

export function parseRestartPolicy(s: string): RestartPolicy {
  const [name = '', count] = s.split(':');
  switch (name) {
    case '':
    case 'no':
      if (count !== undefined) throw new Error(`invalid restart policy format: maximum retry count cannot be used with restart policy '${name}'`);
      return { Name: name === '' ? '' : 'no' };
    case 'always':
    case 'unless-stopped':
      if (count !== undefined) throw new Error(`invalid restart policy format: maximum retry count cannot be used with restart policy '${name}'`);
      return { Name: name };
    case 'on-failure': {
      if (count === undefined) return { Name: name };
      if (!/^\d+$/.test(count)) throw new Error(`invalid restart policy format: maximum retry count must be an integer`);
      return { Name: name, MaximumRetryCount: Number(count) };
    }
    default:
      throw new Error(`invalid restart policy format: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
}

export function parseCpus(s: string): number {
  const n = Number(s);
  if (!Number.isFinite(n) || s.trim() === '') throw new Error(`invalid argument "${s}" for "--cpus" flag: failed to parse ${s} as a rational number`);
  return Math.round(n * 1e9);
}

export function parseMemorySwap(s: string): number {
  return s === '-1' ? -1 : parseMemory(s);
}

function parseLabels(list: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf('=');
    if (i < 0) labels[l] = '';
    else labels[l.slice(0, i)] = l.slice(i + 1);
  }
  return labels;
}

/** -p [ip:][hostPort:]containerPort[/proto] → ExposedPorts and PortBindings. */
function parsePublish(list: string[]): { exposed: Record<string, object>; bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> } {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const spec of list) {
    let [rest = '', proto = 'tcp'] = spec.split('/') as [string, string | undefined];
    proto = proto || 'tcp';
    const parts = rest.split(':');
    let ip = '';
    let hostPort = '';
    let containerPort = '';
    if (parts.length === 1) containerPort = parts[0] ?? '';
    else if (parts.length === 2) [hostPort = '', containerPort = ''] = parts;
    else {
      containerPort = parts.pop() ?? '';
      hostPort = parts.pop() ?? '';
      ip = parts.join(':').replace(/^\[|\]$/g, '');
    }
    if (!/^\d+(-\d+)?$/.test(containerPort)) throw new Error(`invalid containerPort: ${containerPort}`);
    // Ranges expand to one binding per port, as the docker CLI does.
    const [cFirst = 0, cLast = cFirst] = containerPort.split('-').map(Number);
    const hr = /^(\d+)-(\d+)$/.exec(hostPort);
    const n = cLast - cFirst + 1;
    if (hr && n > 1 && Number(hr[2]) - Number(hr[1]) + 1 !== n)
      throw new Error(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    for (let i = 0; i < n; i++) {
      const key = `${cFirst + i}/${proto}`;
      const hp = hr && n > 1 ? String(Number(hr[1]) + i) : hostPort;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: ip, HostPort: hp });
    }
  }
  return { exposed, bindings };
}

/**
 * Builds the create request from run/create flags. `args` are the positionals:
 * IMAGE [COMMAND] [ARG...].
 */
export function buildCreatePlan(flags: ParsedFlags, options: { forRun: boolean; env?: NodeJS.ProcessEnv }): CreatePlan {
  const [image = '', ...cmd] = flags.args;
  const env = options.env ?? process.env;
  const attach = flags.list('attach').map((s) => s.toLowerCase());
  for (const a of attach) {
    if (a !== 'stdin' && a !== 'stdout' && a !== 'stderr')
      throw new Error(`invalid argument "${a}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
  }
  const interactive = flags.bool('interactive');
  let attachStdin = attach.includes('stdin');
  let attachStdout = attach.includes('stdout');
  let attachStderr = attach.includes('stderr');
  if (interactive) attachStdin = true;
  if (attach.length === 0) {
    attachStdout = true;
    attachStderr = true;
  }
  const detach = options.forRun && flags.bool('detach');
  if (detach) {
    if (attach.length) throw new Error('Conflicting options: -a and -d');
    attachStdin = attachStdout = attachStderr = false;
  }

  const envList: string[] = [];
  for (const f of flags.list('env-file')) envList.push(...readEnvFile(f, env));
  for (const e of flags.list('env')) envList.push(parseEnvEntry(e, env));

  const host: HostConfig = {};
  const flagValue = <T>(name: string, display: string, parse: (v: string) => T): T => {
    const v = flags.string(name) ?? '';
    try {
      return parse(v);
    } catch (e) {
      const msg = (e as Error).message;
      throw new FlagError(msg.startsWith('invalid argument') ? msg : `invalid argument "${v}" for "${display}" flag: ${msg}`);
    }
  };
  if (flags.has('memory')) host.Memory = flagValue('memory', '-m, --memory', parseMemory);
  if (flags.has('memory-swap')) host.MemorySwap = flagValue('memory-swap', '--memory-swap', parseMemorySwap);
  if (flags.has('cpus')) host.NanoCpus = flagValue('cpus', '--cpus', parseCpus);
  if (flags.has('cpu-shares')) host.CpuShares = flags.int('cpu-shares') ?? 0;
  if (flags.has('cpuset-cpus')) host.CpusetCpus = flags.string('cpuset-cpus') ?? '';
  if (flags.has('pids-limit')) host.PidsLimit = flags.int('pids-limit') ?? 0;
  const restart = parseRestartPolicy(flags.string('restart') ?? 'no');
  host.RestartPolicy = restart;
  const autoRemove = flags.bool('rm');
  if (autoRemove && restart.Name !== 'no' && restart.Name !== '') throw new Error('conflicting options: cannot specify both --restart and --rm');
  host.AutoRemove = autoRemove;
  host.NetworkMode = flags.string('network') ?? flags.string('net') ?? 'default';
  if (flags.has('ipc')) host.IpcMode = flags.string('ipc') ?? '';
  if (flags.has('pid')) host.PidMode = flags.string('pid') ?? '';
  if (flags.has('uts')) host.UTSMode = flags.string('uts') ?? '';
  host.Privileged = flags.bool('privileged');
  host.ReadonlyRootfs = flags.bool('read-only');
  const capAdd = flags.list('cap-add');
  const capDrop = flags.list('cap-drop');
  if (capAdd.length) host.CapAdd = capAdd;
  if (capDrop.length) host.CapDrop = capDrop;
  if (flags.has('init')) host.Init = flags.bool('init');
  const devices = flags.list('device').map(parseDevice);
  if (devices.length) host.Devices = devices;
  const rules = flags.list('device-cgroup-rule');
  for (const r of rules)
    if (!/^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.test(r))
      throw new Error(`invalid argument "${r}" for "--device-cgroup-rule" flag: invalid device cgroup format '${r}'`);
  if (rules.length) host.DeviceCgroupRules = rules;
  const volumeFlags = parseVolumeFlags({
    volumes: flags.list('volume'),
    mounts: flags.list('mount'),
    tmpfs: flags.list('tmpfs'),
    volumesFrom: flags.list('volumes-from'),
  });
  if (volumeFlags.binds.length) host.Binds = volumeFlags.binds;
  if (volumeFlags.mounts.length) (host as Record<string, unknown>).Mounts = volumeFlags.mounts;
  if (Object.keys(volumeFlags.tmpfs).length) (host as Record<string, unknown>).Tmpfs = volumeFlags.tmpfs;
  if (volumeFlags.volumesFrom.length) (host as Record<string, unknown>).VolumesFrom = volumeFlags.volumesFrom;
  const logOpts = flags.list('log-opt');
  if (flags.has('log-driver') || logOpts.length > 0) {
    const config: Record<string, string> = {};
    for (const o of logOpts) {
      const eq = o.indexOf('=');
      if (eq <= 0) throw new Error(`invalid key value pair format in driver options`);
      config[o.slice(0, eq)] = o.slice(eq + 1);
    }
    if (flags.string('log-driver') === 'none' && logOpts.length > 0) throw new Error('invalid logging opts for driver none');
    host.LogConfig = { Type: flags.string('log-driver') ?? '', Config: config };
  }
  const healthcheck = healthcheckFromFlags(flags);
  const binds = flags.list('volume');
  if (binds.length) host.Binds = binds;

  const body: ContainerCreateRequest = {
    Hostname: flags.string('hostname') ?? '',
    User: flags.string('user') ?? '',
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    Tty: flags.bool('tty'),
    OpenStdin: interactive,
    StdinOnce: interactive && attachStdin && !detach,
    Env: envList,
    Cmd: cmd.length ? cmd : null,
    Image: image,
    WorkingDir: flags.string('workdir') ?? '',
    Entrypoint: null,
    Labels: parseLabels(flags.list('label')),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
  };
  if (flags.has('entrypoint')) {
    const ep = flags.string('entrypoint') ?? '';
    body.Entrypoint = ep === '' ? [''] : [ep];
  }
  if (flags.has('stop-signal')) body.StopSignal = flags.string('stop-signal') ?? '';
  if (flags.has('stop-timeout')) body.StopTimeout = flags.int('stop-timeout') ?? 0;
  const publish = flags.list('publish');
  if (publish.length) {
    const { exposed, bindings } = parsePublish(publish);
    body.ExposedPorts = { ...(body.ExposedPorts ?? {}), ...exposed };
    (host as HostConfig & { PortBindings?: unknown }).PortBindings = bindings;
  }
  if (Object.keys(volumeFlags.anonymous).length) body.Volumes = volumeFlags.anonymous;
  applyNetworkFlags(flags, body, host);
  body.HostConfig = host;
  return { body, name: flags.string('name'), platform: flags.string('platform'), image };
}

/** --network-alias, --ip, -P, --expose, --dns*, --add-host → the create body. */
function applyNetworkFlags(flags: ParsedFlags, body: ContainerCreateRequest, host: HostConfig): void {
  const h = host as HostConfig & Record<string, unknown>;
  const listFlag = (name: string, key: string): void => {
    const v = flags.list(name);
    if (v.length) h[key] = v;
  };
  listFlag('dns', 'Dns');
  listFlag('dns-search', 'DnsSearch');
  listFlag('dns-option', 'DnsOptions');
  const extra = flags.list('add-host').map((e) => {
    const i = e.indexOf(':') >= 0 ? e.indexOf(':') : e.indexOf('=');
    if (i <= 0) throw new FlagError(`invalid argument "${e}" for "--add-host" flag: bad format for add-host: "${e}"`);
    return `${e.slice(0, i)}:${e.slice(i + 1)}`;
  });
  if (extra.length) h.ExtraHosts = extra;
  if (flags.bool('publish-all')) h.PublishAllPorts = true;
  for (const e of flags.list('expose')) {
    const [port = '', proto = 'tcp'] = e.split('/');
    const m = /^(\d+)(?:-(\d+))?$/.exec(port);
    if (!m) throw new FlagError(`invalid range format for --expose: ${e}`);
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    body.ExposedPorts = body.ExposedPorts ?? {};
    for (let p = a; p <= b; p++) body.ExposedPorts[`${p}/${proto}`] = {};
  }
  const network = String(h.NetworkMode ?? 'default');
  const aliases = flags.list('network-alias');
  const ip = flags.string('ip');
  const endpoint: Record<string, unknown> = {};
  if (aliases.length) endpoint.Aliases = aliases;
  const ip6 = flags.string('ip6');
  if (ip || ip6) endpoint.IPAMConfig = { ...(ip ? { IPv4Address: ip } : {}), ...(ip6 ? { IPv6Address: ip6 } : {}) };
  const mac = flags.string('mac-address');
  if (mac) endpoint.MacAddress = mac;
  // --link name[:alias] (the docker CLI sends name:alias, the alias defaulting to the name).
  const links = flags.list('link').map((l) => (l.includes(':') ? l : `${l}:${l}`));
  if (links.length > 0) h.Links = links;
  body.NetworkingConfig = { EndpointsConfig: Object.keys(endpoint).length > 0 ? { [network]: endpoint } : {} };
}

/** `--device SRC[:DST][:PERMS]`, as the docker CLI parses it (DST defaults to SRC, PERMS to rwm). */
export function parseDevice(spec: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = spec.split(':');
  const validMode = (m: string): boolean => m.length > 0 && m.length <= 3 && /^[rwm]+$/.test(m);
  let src = parts[0] ?? '';
  let dst = '';
  let perms = 'rwm';
  if (parts.length === 3) {
    dst = parts[1] as string;
    perms = parts[2] as string;
    if (!validMode(perms)) throw new Error(`invalid argument "${spec}" for "--device" flag: invalid device mode: ${perms}`);
  } else if (parts.length === 2) {
    if (validMode(parts[1] as string)) perms = parts[1] as string;
    else dst = parts[1] as string;
  } else if (parts.length !== 1) throw new Error(`invalid argument "${spec}" for "--device" flag: invalid device specification: ${spec}`);
  if (!src.startsWith('/')) throw new Error(`invalid argument "${spec}" for "--device" flag: ${src} is not an absolute path`);
  src = src.replace(/\/+$/, '') || '/';
  return { PathOnHost: src, PathInContainer: dst || src, CgroupPermissions: perms };
}

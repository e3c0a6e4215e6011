/** berthd's configuration: dockerd's flag names, and daemon.json for the same settings. */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface DaemonConfig {
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  configFile?: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  cgroupParent: string;
  runtime: string;
  /** Mirrors for docker.io pulls, tried in order. */
  registryMirrors: string[];
  /** Registries spoken to over plain HTTP (host[:port] or CIDR). */
  insecureRegistries: string[];
  /** The default bridge network's Linux bridge (`none`: no default bridge network). */
  bridge: string;
  /** The default bridge's gateway address with prefix. */
  bip: string;
  /** Build cache cap (`builder.gc.defaultKeepStorage` in daemon.json, e.g. "10GB"; "0": no cap). */
  builderKeepStorage?: string;
  /** Default log driver and options of new containers (`log-driver`, `log-opts`; runtime/logconfig.ts). */
  logDriver?: string;
  logOpts?: Record<string, string>;
  /** `--tls`: serve TCP hosts over TLS (implied by `--tlsverify`); undefined: not said either way. */
  tls?: boolean;
  /** `--tlsverify`: require client certificates signed by `tlsCaCert` (dockerd: on whenever TLS is, unless `--tlsverify=false`). */
  tlsVerify?: boolean;
  tlsCaCert?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** `--cri`: serve CRI (runtime.v1) on `criSocket` (default true; `--cri=false` turns it off). */
  cri: boolean;
  /** `--cri-socket`: the CRI server's UNIX socket ('' = `<exec-root>/cri.sock`, /run/berth/cri.sock by default). */
  criSocket: string;
  /** `--cni-conf-dir`: CNI network configurations for pod sandboxes. */
  cniConfDir: string;
  /** `--cni-bin-dir`: CNI plugin binaries. */
  cniBinDir: string;
  /** `--cri-registry-mirror host=URL`: CRI pulls of images on `host` go to URL instead (docs/cri.md). */
  criRegistryMirrors: string[];
  /** `--cri-stream-address host:port`: where the CRI streaming server (Exec/Attach/PortForward URLs) listens; port 0: ephemeral. */
  criStreamAddress: string;
}

export const DEFAULTS: DaemonConfig = {
  hosts: ['unix:///run/berth.sock'],
  dataRoot: '/var/lib/berth',
  execRoot: '/run/berth',
  pidfile: '/run/berth.pid',
  logLevel: 'info',
  cgroupParent: '/berth',
  runtime: '/usr/sbin/runc',
  registryMirrors: [],
  insecureRegistries: [],
  bridge: 'berth0',
  bip: '172.18.0.1/16',
  cri: true,
  criSocket: '',
  cniConfDir: '/etc/cni/net.d',
  cniBinDir: '/usr/lib/cni',
  criRegistryMirrors: [],
  criStreamAddress: '127.0.0.1:0',
};

const DEFAULT_CONFIG_FILE = '/etc/berth/daemon.json';

export class UsageError extends Error {}

const USAGE = `Usage:	berthd [OPTIONS]

A container engine that speaks the Docker Engine API

Options:
      --cgroup-parent string   Parent cgroup for all containers (default "/berth")
      --config-file string     Daemon configuration file (default "${DEFAULT_CONFIG_FILE}")
      --data-root string       Root directory of persistent Berth state (default "/var/lib/berth")
  -D, --debug                  Enable debug mode
      --exec-root string       Root directory for execution state files (default "/run/berth")
  -b, --bridge string           Attach containers to a network bridge (default "berth0"; "none" disables the default bridge network)
      --bip string             Specify default-bridge IPv4 network (default "172.18.0.1/16")
  -H, --host list              Daemon socket(s) to connect to (default unix:///run/berth.sock)
  -l, --log-level string       Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")
  -p, --pidfile string         Path to use for daemon PID file (default "/run/berth.pid")
      --runtime string         Path of the OCI runtime (default "/usr/sbin/runc")
      --registry-mirror list   Preferred registry mirror for docker.io
      --insecure-registry list Enable insecure registry communication
      --log-driver string      Default driver for container logs (default "json-file")
      --log-opt map            Default log driver options for containers (default max-size=20m, max-file=5)
      --tls                    Use TLS; implied by --tlsverify
      --tlscacert string       Trust certs signed only by this CA (default "~/.docker/ca.pem")
      --tlscert string         Path to TLS certificate file (default "~/.docker/cert.pem")
      --tlskey string          Path to TLS key file (default "~/.docker/key.pem")
      --tlsverify              Use TLS and verify the remote
      --cri                    Serve the Kubernetes CRI (default true; --cri=false disables it)
      --cri-socket string      The CRI server's UNIX socket (default "<exec-root>/cri.sock": "/run/berth/cri.sock")
      --cri-registry-mirror list  host=URL: CRI pulls from host go to URL (e.g. registry.k8s.io=http://127.0.0.1:5000)
      --cni-conf-dir string    CNI network configurations of pod sandboxes (default "/etc/cni/net.d")
      --cni-bin-dir string     CNI plugin binaries (default "/usr/lib/cni")
      --cri-stream-address string  host:port of the CRI streaming server (default "127.0.0.1:0": an ephemeral port)
  -h, --help                   Print usage
  -v, --version                Print version information and quit
`;

type Key = keyof DaemonConfig;
const FLAGS: Record<string, { key: Key; json: string }> = {
  '-H': { key: 'hosts', json: 'hosts' },
  '--host': { key: 'hosts', json: 'hosts' },
  '--data-root': { key: 'dataRoot', json: 'data-root' },
  '--exec-root': { key: 'execRoot', json: 'exec-root' },
  '-p': { key: 'pidfile', json: 'pidfile' },
  '--pidfile': { key: 'pidfile', json: 'pidfile' },
  '--config-file': { key: 'configFile', json: 'config-file' },
  '-l': { key: 'logLevel', json: 'log-level' },
  '--log-level': { key: 'logLevel', json: 'log-level' },
  '--cgroup-parent': { key: 'cgroupParent', json: 'cgroup-parent' },
  '--runtime': { key: 'runtime', json: 'runtime' },
  '--registry-mirror': { key: 'registryMirrors', json: 'registry-mirrors' },
  '--insecure-registry': { key: 'insecureRegistries', json: 'insecure-registries' },
  '-b': { key: 'bridge', json: 'bridge' },
  '--bridge': { key: 'bridge', json: 'bridge' },
  '--bip': { key: 'bip', json: 'bip' },
  '--log-driver': { key: 'logDriver', json: 'log-driver' },
  '--log-opt': { key: 'logOpts', json: 'log-opts' },
  '--tlscacert': { key: 'tlsCaCert', json: 'tlscacert' },
  '--tlscert': { key: 'tlsCert', json: 'tlscert' },
  '--tlskey': { key: 'tlsKey', json: 'tlskey' },
  '--cri-socket': { key: 'criSocket', json: 'cri-socket' },
  '--cri-registry-mirror': { key: 'criRegistryMirrors', json: 'cri-registry-mirrors' },
  '--cni-conf-dir': { key: 'cniConfDir', json: 'cni-conf-dir' },
  '--cni-bin-dir': { key: 'cniBinDir', json: 'cni-bin-dir' },
  '--cri-stream-address': { key: 'criStreamAddress', json: 'cri-stream-address' },
};

/** Boolean flags: `--tls`, `--tls=false` (never a separate value, as pflag has it). */
const BOOL_FLAGS: Record<string, { key: Key; json: string }> = {
  '--tls': { key: 'tls', json: 'tls' },
  '--tlsverify': { key: 'tlsVerify', json: 'tlsverify' },
  '--cri': { key: 'cri', json: 'cri' },
};
const BOOL_KEYS = new Set<Key>(['tls', 'tlsVerify', 'cri']);
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Flags that may be given several times and collect into a list. */
const LIST_KEYS = new Set<Key>(['hosts', 'registryMirrors', 'insecureRegistries', 'logOpts', 'criRegistryMirrors']);

const JSON_KEYS: Record<string, Key> = {
  hosts: 'hosts',
  'data-root': 'dataRoot',
  'exec-root': 'execRoot',
  pidfile: 'pidfile',
  'log-level': 'logLevel',
  'cgroup-parent': 'cgroupParent',
  runtime: 'runtime',
  'registry-mirrors': 'registryMirrors',
  'insecure-registries': 'insecureRegistries',
  bridge: 'bridge',
  bip: 'bip',
  'log-driver': 'logDriver',
  'log-opts': 'logOpts',
  tls: 'tls',
  tlsverify: 'tlsVerify',
  tlscacert: 'tlsCaCert',
  tlscert: 'tlsCert',
  tlskey: 'tlsKey',
  cri: 'cri',
  'cri-socket': 'criSocket',
  'cri-registry-mirrors': 'criRegistryMirrors',
  'cni-conf-dir': 'cniConfDir',
  'cni-bin-dir': 'cniBinDir',
  'cri-stream-address': 'criStreamAddress',
};

const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'];

export type ParseResult = { kind: 'run'; config: DaemonConfig } | { kind: 'help'; text: string } | { kind: 'version' };

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ParseResult {
  const set: Partial<Record<Key, unknown>> = {};
  const lists: Partial<Record<Key, string[]>> = {};
  let debug = false;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') return { kind: 'help', text: USAGE };
    if (arg === '-v' || arg === '--version') return { kind: 'version' };
    if (arg === '-D' || arg === '--debug' || arg === '--debug=true') {
      debug = true;
      continue;
    }
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    } else if (/^-[Hlp]./.test(arg)) {
      value = arg.slice(2);
      arg = arg.slice(0, 2);
    }
    const boolFlag = BOOL_FLAGS[arg];
    if (boolFlag) {
      if (value !== undefined && !TRUE.has(value) && !FALSE.has(value)) {
        throw new UsageError(`invalid argument "${value}" for "${arg}" flag: strconv.ParseBool: parsing "${value}": invalid syntax\nSee 'berthd --help'.`);
      }
      set[boolFlag.key] = value === undefined || TRUE.has(value);
      continue;
    }
    const flag = FLAGS[arg];
    if (!flag) throw new UsageError(`unknown flag: ${arg}\nSee 'berthd --help'.`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`flag needs an argument: ${arg}\nSee 'berthd --help'.`);
    }
    if (LIST_KEYS.has(flag.key)) (lists[flag.key] ??= []).push(value);
    else set[flag.key] = value;
  }
  Object.assign(set, lists);
  if (lists.logOpts) set.logOpts = keyValues(lists.logOpts);
  if (debug) set.logLevel = 'debug';

  const config: DaemonConfig = { ...DEFAULTS };
  const configFile = (set.configFile as string | undefined) ?? DEFAULT_CONFIG_FILE;
  let fileValues: Partial<Record<Key, unknown>> = {};
  let text: string | undefined;
  try {
    text = readFileSync(configFile, 'utf8');
  } catch (err) {
    if (set.configFile !== undefined) throw new UsageError(`unable to configure the Berth daemon with file ${configFile}: ${(err as Error).message}`);
  }
  if (text !== undefined) {
    fileValues = parseConfigFile(text, configFile);
    const both = Object.keys(fileValues).filter((k) => set[k as Key] !== undefined);
    if (both.length > 0) {
      const names = both.map((k) => Object.entries(JSON_KEYS).find(([, v]) => v === k)?.[0] ?? k);
      throw new UsageError(
        `unable to configure the Berth daemon with file ${configFile}: the following directives are specified both as a flag and in the configuration file: ${names.join(', ')}`,
      );
    }
  }
  const hostsGiven = set.hosts !== undefined || fileValues.hosts !== undefined;
  Object.assign(config, fileValues, set);
  if (!LEVELS.includes(config.logLevel)) throw new UsageError(`unable to parse logging level: ${config.logLevel}`);
  // dockerd: saying --tlsverify at all (true or false) turns TLS on; TLS on verifies clients
  // unless --tlsverify=false.
  if (config.tlsVerify !== undefined) config.tls = true;
  if (config.tls === true && config.tlsVerify === undefined) config.tlsVerify = true;
  if (config.tls === true) {
    const dir = defaultCertDir(env);
    config.tlsCaCert ??= path.join(dir, 'ca.pem');
    config.tlsCert ??= path.join(dir, 'cert.pem');
    config.tlsKey ??= path.join(dir, 'key.pem');
  }
  // With TLS and no host at all, dockerd listens on tcp://localhost:2376 instead of its socket.
  if (!hostsGiven && config.tls === true) config.hosts = [`tcp://localhost:${DEFAULT_TLS_PORT}`];
  config.hosts = config.hosts.map(normalizeHost);
  return { kind: 'run', config };
}

/** IANA's Docker ports: plain HTTP and TLS (the latter only for the no-host default, as dockerd). */
export const DEFAULT_TCP_PORT = 2375;
export const DEFAULT_TLS_PORT = 2376;

/** dockerd's default certificate directory: $DOCKER_CERT_PATH, else $DOCKER_CONFIG, else ~/.docker. */
export function defaultCertDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['DOCKER_CERT_PATH'] || env['DOCKER_CONFIG'] || path.join(env['HOME'] || os.homedir(), '.docker');
}

/**
 * A -H value as dockerd normalises it: `tcp://host:port` with localhost and 2375 filled in when
 * left out (also with TLS: dockerd's ParseTCPAddr defaults to 2375 either way), unix and fd as given.
 */
export function normalizeHost(raw: string): string {
  const h = raw.trim();
  if (/^unix:\/\/\/.+$/.test(h) || /^fd:\/\/.*$/.test(h)) return h;
  const m = /^tcp:\/\/(\[[^\]]*\]|[^:/[\]]*)(?::(\d*))?\/?$/.exec(h);
  if (!m) throw new UsageError(`invalid host: ${raw}`);
  const host = m[1] === '' || m[1] === undefined ? 'localhost' : m[1];
  const portText = m[2];
  if (portText !== undefined && portText !== '' && (!/^\d+$/.test(portText) || Number(portText) === 0 || Number(portText) > 65535)) {
    throw new UsageError(`invalid bind address (${raw}): invalid port: ${portText}`);
  }
  const port = portText === undefined || portText === '' ? DEFAULT_TCP_PORT : Number(portText);
  return `tcp://${host}:${port}`;
}

/** `--log-opt k=v` flags as an object. */
function keyValues(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid log-opt: ${kv} (expected key=value)`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

function parseConfigFile(text: string, file: string): Partial<Record<Key, unknown>> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`unable to configure the Berth daemon with file ${file}: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError(`unable to configure the Berth daemon with file ${file}: not a JSON object`);
  }
  const out: Partial<Record<Key, unknown>> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (k === 'debug') {
      if (v === true) out.logLevel = 'debug';
      continue;
    }
    if (k === 'builder') {
      // dockerd's {"builder": {"gc": {"enabled": bool, "defaultKeepStorage": "10GB"}}}
      const gc = (v as { gc?: { enabled?: unknown; defaultKeepStorage?: unknown } } | null)?.gc;
      if (gc?.defaultKeepStorage !== undefined) {
        if (typeof gc.defaultKeepStorage !== 'string') throw new UsageError(`invalid builder.gc.defaultKeepStorage in ${file}`);
        out.builderKeepStorage = gc.enabled === false ? '0' : gc.defaultKeepStorage;
      }
      continue;
    }
    const key = JSON_KEYS[k];
    if (!key)
      throw new UsageError(`unable to configure the Berth daemon with file ${file}: the following directives don't match any configuration option: ${k}`);
    if (key === 'logOpts') {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
        throw new UsageError(`invalid log-opts in ${file}: expected an object of strings`);
      }
    } else if (LIST_KEYS.has(key)) {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new UsageError(`invalid ${k} in ${file}: expected a list of strings`);
    } else if (BOOL_KEYS.has(key)) {
      if (typeof v !== 'boolean') throw new UsageError(`invalid value for ${k} in ${file}: expected true or false`);
    } else if (typeof v !== 'string') throw new UsageError(`invalid value for ${k} in ${file}`);
    out[key] = v;
  }
  return out;
}

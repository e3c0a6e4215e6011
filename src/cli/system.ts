/**
 * System commands: version, info, and the generic inspect (containers, then images).
 */
import { ApiError } from '../client/errors.js';
import type { SystemInfo, SystemVersion } from '../client/types.js';
import { MAX_API_VERSION } from '../client/client.js';
import { CLI_VERSION, StatusError, describeError, parseFormatTemplate, printFormatTemplate, type Cli, type CommandDef } from './common.js';
import type { ParsedFlags } from './flags.js';
import { bytesSize, tabwrite } from './format.js';
import { runInspect } from './inspect.js';
import { TYPE_NAME, Template } from './template.js';

function goArch(): string {
  const a = process.arch;
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

/** Go's time.ANSIC layout: "Mon Jan _2 15:04:05 2006" (UTC). */
function ansic(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

const VERSION_TEMPLATE = `{{with .Client -}}
Client:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 Version:\t{{.Version}}
 API version:\t{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}
 Node version:\t{{.NodeVersion}}
 OS/Arch:\t{{.Os}}/{{.Arch}}
 Context:\t{{.Context}}
{{- end}}

{{- if .ServerOK}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:\t{{.Version}}
  API version:\t{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:\t{{index .Details "GoVersion"}}
  Git commit:\t{{index .Details "GitCommit"}}
  Built:\t{{index .Details "BuildTime"}}
  OS/Arch:\t{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:\t{{index .Details "Experimental"}}
  {{- else }}
  Version:\t{{$component.Version}}
  {{- range $key := detailsOrder $component}}
  {{$key}}:\t{{index $component.Details $key}}
   {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}`;

async function versionCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  let server: (SystemVersion & { Components: NonNullable<SystemVersion['Components']> }) | undefined;
  let serverErr: unknown;
  let apiVersion = MAX_API_VERSION;
  try {
    apiVersion = await cli.client.apiVersion();
    const v = await cli.client.version();
    const components = v.Components ?? [
      {
        Name: 'Engine',
        Version: v.Version,
        Details: {
          ApiVersion: v.ApiVersion,
          MinAPIVersion: v.MinAPIVersion ?? '',
          GoVersion: v.GoVersion,
          GitCommit: v.GitCommit,
          BuildTime: v.BuildTime ?? '',
          Os: v.Os,
          Arch: v.Arch,
          KernelVersion: v.KernelVersion ?? '',
          Experimental: String(v.Experimental ?? false),
        },
      },
    ];
    for (const c of components) {
      if (c.Details?.['BuildTime']) c.Details['BuildTime'] = ansic(c.Details['BuildTime']);
    }
    if (v.BuildTime) v.BuildTime = ansic(v.BuildTime);
    server = { ...v, Platform: v.Platform ?? { Name: '' }, Components: components };
  } catch (e) {
    serverErr = e;
  }
  const data = {
    Client: {
      Platform: { Name: '' },
      Version: CLI_VERSION,
      ApiVersion: apiVersion,
      APIVersion: apiVersion,
      DefaultAPIVersion: MAX_API_VERSION,
      NodeVersion: process.version,
      Os: process.platform,
      Arch: goArch(),
      Context: 'default',
    },
    Server: server ?? null,
    ServerOK: server !== undefined,
  };
  const format = flags.string('format');
  const funcs = {
    detailsOrder: (c: unknown) => Object.keys((c as { Details?: Record<string, string> }).Details ?? {}).sort(),
  };
  if (format === 'json') {
    cli.println(JSON.stringify({ Client: data.Client, Server: data.Server }));
  } else if (format) {
    printFormatTemplate(cli, parseFormatTemplate(format, { funcs, name: 'version' }), { [TYPE_NAME]: 'system.versionInfo', ...data });
  } else {
    const text = new Template(VERSION_TEMPLATE, { funcs }).execute(data);
    cli.print(tabwrite(`${text}\n`, { minWidth: 20, padding: 1 }));
  }
  if (serverErr !== undefined) throw serverErr;
}

// ---------- info ----------

function str(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

export function formatInfo(info: SystemInfo): string {
  const lines: string[] = [];
  const has = (k: string): boolean => info[k] !== undefined && info[k] !== null;
  const kv = (label: string, key: string, indent = ' '): void => {
    if (has(key)) lines.push(`${indent}${label}: ${str(info[key])}`);
  };
  lines.push(`Server:`);
  lines.push(` Containers: ${num(info['Containers'])}`);
  lines.push(`  Running: ${num(info['ContainersRunning'])}`);
  lines.push(`  Paused: ${num(info['ContainersPaused'])}`);
  lines.push(`  Stopped: ${num(info['ContainersStopped'])}`);
  lines.push(` Images: ${num(info['Images'])}`);
  kv('Server Version', 'ServerVersion');
  kv('Storage Driver', 'Driver');
  for (const pair of (info['DriverStatus'] as Array<[string, string]> | null | undefined) ?? []) lines.push(`  ${pair[0]}: ${pair[1]}`);
  kv('Logging Driver', 'LoggingDriver');
  kv('Cgroup Driver', 'CgroupDriver');
  kv('Cgroup Version', 'CgroupVersion');
  const plugins = info['Plugins'] as Record<string, string[] | null> | undefined;
  if (plugins) {
    lines.push(' Plugins:');
    for (const [label, key] of [
      ['Volume', 'Volume'],
      ['Network', 'Network'],
      ['Authorization', 'Authorization'],
      ['Log', 'Log'],
    ] as const) {
      const list = plugins[key];
      if (list && list.length) lines.push(`  ${label}: ${list.join(' ')}`);
    }
  }
  const swarm = info['Swarm'] as { LocalNodeState?: string } | undefined;
  lines.push(` Swarm: ${swarm?.LocalNodeState || 'inactive'}`);
  const runtimes = info['Runtimes'] as Record<string, unknown> | undefined;
  if (runtimes) lines.push(` Runtimes: ${Object.keys(runtimes).sort().join(' ')}`);
  kv('Default Runtime', 'DefaultRuntime');
  kv('Init Binary', 'InitBinary');
  const commit = (k: string): string => str((info[k] as { ID?: string } | undefined)?.ID);
  if (has('ContainerdCommit')) lines.push(` containerd version: ${commit('ContainerdCommit')}`);
  if (has('RuncCommit')) lines.push(` runc version: ${commit('RuncCommit')}`);
  if (has('InitCommit')) lines.push(` init version: ${commit('InitCommit')}`);
  const sec = (info['SecurityOptions'] as string[] | undefined) ?? [];
  if (sec.length) {
    lines.push(' Security Options:');
    for (const o of sec) {
      const kvs = o.split(',').map((p) => p.split('=') as [string, string | undefined]);
      const name = kvs.find(([k]) => k === 'name')?.[1] ?? o;
      lines.push(`  ${name}`);
      for (const [k, v] of kvs) {
        if (k === 'name') continue;
        lines.push(`   ${k.charAt(0).toUpperCase()}${k.slice(1)}: ${v ?? ''}`);
      }
    }
  }
  kv('Kernel Version', 'KernelVersion');
  kv('Operating System', 'OperatingSystem');
  kv('OSType', 'OSType');
  kv('Architecture', 'Architecture');
  kv('CPUs', 'NCPU');
  if (has('MemTotal')) lines.push(` Total Memory: ${bytesSize(num(info['MemTotal']))}`);
  kv('Name', 'Name');
  kv('ID', 'ID');
  kv('Docker Root Dir', 'DockerRootDir');
  lines.push(` Debug Mode: ${str(info['Debug'] ?? false)}`);
  for (const [label, key] of [
    ['HTTP Proxy', 'HttpProxy'],
    ['HTTPS Proxy', 'HttpsProxy'],
    ['No Proxy', 'NoProxy'],
  ] as const) {
    if (str(info[key]) !== '') lines.push(` ${label}: ${str(info[key])}`);
  }
  const labels = (info['Labels'] as string[] | undefined) ?? [];
  if (labels.length) {
    lines.push(' Labels:');
    for (const l of labels) lines.push(`  ${l}`);
  }
  lines.push(` Experimental: ${str(info['ExperimentalBuild'] ?? false)}`);
  const reg = info['RegistryConfig'] as
    { InsecureRegistryCIDRs?: string[]; IndexConfigs?: Record<string, { Name: string; Secure: boolean }>; Mirrors?: string[] } | undefined;
  if (reg) {
    const insecure = [
      ...Object.values(reg.IndexConfigs ?? {})
        .filter((c) => !c.Secure)
        .map((c) => c.Name),
      ...(reg.InsecureRegistryCIDRs ?? []),
    ];
    if (insecure.length) {
      lines.push(' Insecure Registries:');
      for (const i of insecure) lines.push(`  ${i}`);
    }
    if (reg.Mirrors?.length) {
      lines.push(' Registry Mirrors:');
      for (const m of reg.Mirrors) lines.push(`  ${m}`);
    }
  }
  lines.push(` Live Restore Enabled: ${str(info['LiveRestoreEnabled'] ?? false)}`);
  return `${lines.join('\n')}\n`;
}

async function infoCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const format = flags.string('format');
  let info: SystemInfo | undefined;
  let err: unknown;
  try {
    info = await cli.client.info();
  } catch (e) {
    err = e;
  }
  if (format) {
    if (err) throw err;
    if (format === 'json') cli.println(JSON.stringify(info));
    else {
      printFormatTemplate(cli, parseFormatTemplate(format), { [TYPE_NAME]: 'system.dockerInfo', ...info });
    }
    return;
  }
  cli.print('Client:\n');
  cli.print(tabwrite(` Version:\t${CLI_VERSION}\n Context:\tdefault\n Debug Mode:\t${String(cli.debug)}\n`, { minWidth: 0, padding: 1 }));
  cli.println();
  if (err || !info) {
    cli.println('Server:');
    throw new StatusError(1, describeError(err));
  }
  cli.print(formatInfo(info));
  cli.println();
  for (const w of (info['Warnings'] as string[] | null | undefined) ?? []) cli.eprintln(w);
}

// ---------- inspect ----------

async function readText(res: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

async function inspectCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const type = flags.string('type') ?? '';
  if (type !== '' && type !== 'container' && type !== 'image') {
    throw new Error(`"${type}" is not a valid value for --type`);
  }
  const get = async (path: string, query?: Record<string, boolean>): Promise<string> =>
    readText(await cli.client.request({ path, ...(query ? { query } : {}) }));
  const fetch = async (name: string): Promise<string> => {
    if (type === 'container') return get(`/containers/${encodeURIComponent(name)}/json`, { size: flags.bool('size') });
    if (type === 'image') return get(`/images/${encodeURIComponent(name)}/json`);
    try {
      return await get(`/containers/${encodeURIComponent(name)}/json`, { size: flags.bool('size') });
    } catch (e) {
      if (!(e instanceof ApiError && e.statusCode === 404)) throw e;
    }
    try {
      return await get(`/images/${encodeURIComponent(name)}/json`);
    } catch (e) {
      if (e instanceof ApiError && e.statusCode === 404) throw new NoSuchObject(name);
      throw e;
    }
  };
  await runInspect(cli, flags.args, fetch, {
    format: flags.string('format'),
    notFound: (_name, err) => (err instanceof NoSuchObject ? `Error: No such object: ${err.object}` : describeError(err)),
  });
}

class NoSuchObject extends Error {
  readonly object: string;
  constructor(object: string) {
    super(`No such object: ${object}`);
    this.object = object;
  }
}

const def = (d: CommandDef): CommandDef => d;

export const commands: Record<string, CommandDef> = {
  df: def({
    name: 'df',
    usage: '[OPTIONS]',
    description: 'Show docker disk usage',
    aliases: ['system df'],
    flags: [
      { long: 'format', type: 'string', description: 'Format output using a custom template' },
      { long: 'verbose', short: 'v', type: 'bool', description: 'Show detailed information on space usage' },
    ],
    args: { max: 0 },
    run: async (cli, f) => (await import('./imageops.js')).systemDfCommand(cli, f),
  }),
  prune: def({
    name: 'prune',
    usage: '[OPTIONS]',
    description: 'Remove unused data',
    aliases: ['system prune'],
    flags: [
      { long: 'all', short: 'a', type: 'bool', description: 'Remove all unused images not just dangling ones' },
      { long: 'filter', type: 'list', valueName: 'filter', description: 'Provide filter values (e.g. "label=<key>=<value>")' },
      { long: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
      { long: 'volumes', type: 'bool', description: 'Prune anonymous volumes' },
    ],
    args: { max: 0 },
    run: async (cli, f) => (await import('./imageops.js')).systemPruneCommand(cli, f),
  }),
  version: def({
    name: 'version',
    usage: '[OPTIONS]',
    description: 'Show the Berth version information',
    aliases: ['system version', 'version'],
    flags: [{ long: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
    args: { max: 0 },
    run: (cli, f) => versionCommand(cli, f),
  }),
  info: def({
    name: 'info',
    usage: '[OPTIONS]',
    description: 'Display system-wide information',
    aliases: ['system info', 'info'],
    flags: [{ long: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
    args: { max: 0 },
    run: (cli, f) => infoCommand(cli, f),
  }),
  inspect: def({
    name: 'inspect',
    usage: '[OPTIONS] NAME|ID [NAME|ID...]',
    description: 'Return low-level information on Berth objects',
    flags: [
      { long: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' },
      { long: 'size', short: 's', type: 'bool', description: 'Display total file sizes if the type is container' },
      { long: 'type', type: 'string', description: 'Only inspect objects of the given type' },
    ],
    args: { min: 1 },
    run: (cli, f) => inspectCommand(cli, f),
  }),
};

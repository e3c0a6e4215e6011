/**
 * `berth compose` commands over the engine that need no streams of their own: down, create,
 * start/stop/restart/kill/pause/unpause/rm, ps/ls/images/top/port (docker compose v2's tables),
 * wait, pull/push/build, events, config, version, install-plugin.
 */
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildService, down, ops, pullImage, pushImage, up, imageName } from '../compose/engine/index.js';
import { readJsonStream } from '../client/stream.js';
import { COMPOSE_VERSION, PROJECT, SERVICE } from '../compose/engine/labels.js';
import { StatusError, withFormatErrors } from './common.js';
import type { FlagSpec } from './flags.js';
import { registryAuthHeader } from './image.js';
import { displayablePorts, ellipsis, humanSize, renderRows, tabwrite, timeAgo } from './format.js';
import type { ComposeCommand, ComposeContext } from './compose.js';

const TIMEOUT: FlagSpec = { long: 'timeout', short: 't', type: 'int', description: 'Specify a shutdown timeout in seconds' };

async function target(ctx: ComposeContext, services = ctx.flags.args): Promise<ops.Target & { stop: () => void }> {
  const model = await ctx.maybeProject();
  const { sink, stop } = ctx.progress();
  return { project: model?.name ?? (await ctx.projectName()), model, services, progress: sink, stop };
}

/** Runs a per-container operation with a progress view. */
function simple(description: string, flags: FlagSpec[], fn: (ctx: ComposeContext, t: ops.Target) => Promise<void>): ComposeCommand {
  return {
    usage: '[SERVICE...]',
    description,
    flags,
    run: async (ctx) => {
      const t = await target(ctx);
      try {
        await fn(ctx, t);
      } finally {
        t.stop();
      }
    },
  };
}

function table(rows: string[][]): string {
  const text = tabwrite(rows.map((r) => `${r.join('\t')}\t`).join('\n') + '\n', { minWidth: 0, padding: 3 }).replace(/ +$/gm, '');
  return text.endsWith('\n') ? text : `${text}\n`;
}

const PS_FLAGS: FlagSpec[] = [
  { long: 'all', short: 'a', type: 'bool', description: 'Show all stopped containers (including those created by the run command)' },
  { long: 'quiet', short: 'q', type: 'bool', description: 'Only display IDs' },
  { long: 'services', type: 'bool', description: 'Display services' },
  { long: 'format', type: 'string', description: 'Format output using a custom template: table, json', defaultValue: 'table' },
  { long: 'status', type: 'list', description: 'Filter services by status' },
  { long: 'filter', type: 'string', description: 'Filter services by a property (supported filters: status)' },
  { long: 'no-trunc', type: 'bool', description: "Don't truncate output" },
  { long: 'orphans', type: 'bool', description: 'Include orphaned services (not declared by project)', defaultValue: true },
];

const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Name: 'NAME',
  Names: 'NAMES',
  Image: 'IMAGE',
  Command: 'COMMAND',
  Service: 'SERVICE',
  Project: 'PROJECT',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  State: 'STATE',
  Status: 'STATUS',
  Health: 'HEALTH',
  ExitCode: 'EXIT CODE',
  Ports: 'PORTS',
  Labels: 'LABELS',
};

/** A ps row as `docker compose ps --format json` prints it (and templates see it). */
function psJson(r: ops.PsRow): Record<string, unknown> {
  return {
    Command: `"${r.Command}"`,
    CreatedAt: new Date(r.Created * 1000).toISOString(),
    ExitCode: r.ExitCode,
    Health: r.Health,
    ID: r.ID,
    Image: r.Image,
    Labels: Object.entries(r.Labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Name: r.Name,
    Names: r.Name,
    Ports: displayablePorts(
      r.Publishers.map((p) => ({
        ...(p.URL ? { IP: p.URL } : {}),
        PrivatePort: p.TargetPort,
        ...(p.PublishedPort ? { PublicPort: p.PublishedPort } : {}),
        Type: p.Protocol,
      })),
    ),
    Project: r.Project,
    Publishers: r.Publishers,
    RunningFor: timeAgo(r.Created),
    Service: r.Service,
    State: r.State,
    Status: r.Status,
  };
}

async function psCommand(ctx: ComposeContext): Promise<void> {
  const f = ctx.flags;
  const t = await target(ctx);
  t.stop();
  const status = [...f.list('status'), ...(f.string('filter')?.startsWith('status=') ? [f.string('filter')?.slice(7) as string] : [])];
  const rows = await ops.ps(ctx.client, t, { all: f.bool('all') || status.length > 0, status });
  if (f.bool('services')) {
    for (const s of [...new Set(rows.map((r) => r.Service))].sort()) ctx.cli.println(s);
    return;
  }
  if (f.bool('quiet')) {
    for (const r of rows) ctx.cli.println(r.ID);
    return;
  }
  const format = f.string('format') ?? 'table';
  if (format === 'json') {
    for (const r of rows) ctx.cli.println(JSON.stringify(psJson(r)));
    return;
  }
  if (format !== 'table') {
    ctx.cli.print(withFormatErrors(() => renderRows(rows, format, { toContext: psJson, headers: PS_HEADERS })));
    return;
  }
  const noTrunc = f.bool('no-trunc');
  const out = [['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'CREATED', 'STATUS', 'PORTS']];
  for (const r of rows) {
    const ports = displayablePorts(
      r.Publishers.map((p) => ({
        ...(p.URL ? { IP: p.URL } : {}),
        PrivatePort: p.TargetPort,
        ...(p.PublishedPort ? { PublicPort: p.PublishedPort } : {}),
        Type: p.Protocol,
      })),
    );
    out.push([r.Name, r.Image, `"${noTrunc ? r.Command : ellipsis(r.Command, 20)}"`, r.Service, timeAgo(r.Created), r.Status, ports]);
  }
  ctx.cli.print(table(out));
}

async function lsCommand(ctx: ComposeContext): Promise<void> {
  const rows = await ops.ls(ctx.client, { all: ctx.flags.bool('all') });
  const filter = ctx.flags.string('filter');
  const shown = filter?.startsWith('name=') ? rows.filter((r) => r.Name.includes(filter.slice(5))) : rows;
  if (ctx.flags.bool('quiet')) {
    for (const r of shown) ctx.cli.println(r.Name);
    return;
  }
  const format = ctx.flags.string('format') ?? 'table';
  if (format === 'json') {
    ctx.cli.println(JSON.stringify(shown));
    return;
  }
  if (format !== 'table') {
    ctx.cli.print(
      withFormatErrors(() =>
        renderRows(shown, format, { toContext: (r) => ({ ...r }), headers: { Name: 'NAME', Status: 'STATUS', ConfigFiles: 'CONFIG FILES' } }),
      ),
    );
    return;
  }
  ctx.cli.print(table([['NAME', 'STATUS', 'CONFIG FILES'], ...shown.map((r) => [r.Name, r.Status, r.ConfigFiles])]));
}

async function imagesCommand(ctx: ComposeContext): Promise<void> {
  const t = await target(ctx);
  t.stop();
  const rows = await ops.images(ctx.client, t);
  if (ctx.flags.bool('quiet')) {
    for (const id of new Set(rows.map((r) => r.ID))) ctx.cli.println(id);
    return;
  }
  if (ctx.flags.string('format') === 'json') {
    ctx.cli.println(JSON.stringify(rows));
    return;
  }
  const out = [['CONTAINER', 'REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE']];
  for (const r of rows) out.push([r.ContainerName, r.Repository, r.Tag, r.ID.replace(/^sha256:/, '').slice(0, 12), humanSize(r.Size)]);
  ctx.cli.print(table(out));
}

async function topCommand(ctx: ComposeContext): Promise<void> {
  const t = await target(ctx);
  t.stop();
  const list = await ops.top(ctx.client, t);
  list.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  for (const { name, top } of list) {
    ctx.cli.println(name);
    ctx.cli.print(table([top.Titles, ...top.Processes]));
    ctx.cli.println();
  }
}

async function portCommand(ctx: ComposeContext): Promise<void> {
  const [service, privatePort] = ctx.flags.args as [string, string];
  const p = privatePort.split('/');
  const out = await ops.port(ctx.client, await ctx.projectName(), service, Number(p[0]), {
    protocol: ctx.flags.string('protocol') ?? p[1] ?? 'tcp',
    index: ctx.flags.int('index') ?? 1,
  });
  ctx.cli.println(out);
}

async function downCommand(ctx: ComposeContext): Promise<void> {
  const f = ctx.flags;
  const model = await ctx.maybeProject();
  const name = model?.name ?? (await ctx.projectName());
  const rmi = f.string('rmi');
  if (rmi !== undefined && rmi !== 'local' && rmi !== 'all') throw new StatusError(1, `invalid --rmi flag value "${rmi}", must be "local" or "all"`);
  const { sink, stop } = ctx.progress();
  try {
    await down(ctx.client, name, {
      project: model,
      removeOrphans: f.bool('remove-orphans'),
      volumes: f.bool('volumes'),
      rmi,
      timeout: f.int('timeout'),
      progress: sink,
      warn: ctx.warn,
    });
  } finally {
    stop();
  }
}

async function createCommand(ctx: ComposeContext): Promise<void> {
  const f = ctx.flags;
  const p = await ctx.project();
  const { sink, stop } = ctx.progress();
  try {
    await up(ctx.client, p, {
      services: f.args,
      noStart: true,
      build: f.bool('build'),
      noBuild: f.bool('no-build'),
      forceRecreate: f.bool('force-recreate'),
      noRecreate: f.bool('no-recreate'),
      removeOrphans: f.bool('remove-orphans'),
      ...(f.string('pull') ? { pull: f.string('pull') as 'always' } : {}),
      scale: parseScale(f.list('scale')),
      progress: sink,
      warn: ctx.warn,
    });
  } finally {
    stop();
  }
}

export function parseScale(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) {
    const [svc, n] = s.split('=');
    if (!svc || n === undefined || !/^\d+$/.test(n)) throw new StatusError(1, `invalid --scale option ${JSON.stringify(s)}. Should be SERVICE=NUM`);
    out[svc] = Number(n);
  }
  return out;
}

async function pullCommand(ctx: ComposeContext): Promise<void> {
  const p = await ctx.project();
  const { sink, stop } = ctx.progress('Pulling');
  try {
    const names = ctx.flags.args.length ? ctx.flags.args : Object.keys(p.services);
    const refs = new Set(
      names
        .map((n) => p.services[n])
        .filter((s) => s?.image)
        .map((s) => s?.image as string),
    );
    await Promise.all(
      [...refs].map(async (ref) => {
        sink({ kind: 'Image', name: ref, status: 'Pulling', done: false });
        try {
          await pullImage(ctx.client, ref, undefined, registryAuthHeader);
          sink({ kind: 'Image', name: ref, status: 'Pulled', done: true });
        } catch (e) {
          sink({ kind: 'Image', name: ref, status: 'Error', done: true, error: true, text: (e as Error).message });
          if (!ctx.flags.bool('ignore-pull-failures')) throw e;
        }
      }),
    );
  } finally {
    stop();
  }
}

async function pushCommand(ctx: ComposeContext): Promise<void> {
  const p = await ctx.project();
  const names = ctx.flags.args.length ? ctx.flags.args : Object.keys(p.services);
  for (const n of names) {
    const s = p.services[n];
    if (!s?.image) continue;
    try {
      await pushImage(ctx.client, s.image, await registryAuthHeader(s.image));
      ctx.cli.eprintln(` Pushed ${s.image}`);
    } catch (e) {
      if (!ctx.flags.bool('ignore-push-failures')) throw e;
    }
  }
}

async function buildCommand(ctx: ComposeContext): Promise<void> {
  const p = await ctx.project();
  const names = (ctx.flags.args.length ? ctx.flags.args : Object.keys(p.services)).filter((n) => p.services[n]?.build);
  const args: Record<string, string> = {};
  for (const a of ctx.flags.list('build-arg')) {
    const i = a.indexOf('=');
    if (i < 0) {
      if (process.env[a] !== undefined) args[a] = process.env[a];
    } else args[a.slice(0, i)] = a.slice(i + 1);
  }
  for (const n of names) {
    const s = p.services[n] as NonNullable<(typeof p.services)[string]>;
    ctx.cli.eprintln(` Service ${n}  Building`);
    const id = await buildService(ctx.client, p, s, {
      noCache: ctx.flags.bool('no-cache'),
      pull: ctx.flags.bool('pull'),
      args,
      onOutput: (l) => {
        if (!ctx.flags.bool('quiet')) ctx.cli.eprintln(`#${n} ${l}`);
      },
    });
    ctx.cli.eprintln(` Service ${n}  Built ${imageName(p, s)} ${id.replace(/^sha256:/, '').slice(0, 12)}`);
  }
}

async function waitCommand(ctx: ComposeContext): Promise<number> {
  const t = await target(ctx);
  t.stop();
  const res = await ops.wait(ctx.client, t);
  for (const r of res) ctx.cli.println(String(r.code));
  return res.find((r) => r.code !== 0)?.code ?? 0;
}

async function eventsCommand(ctx: ComposeContext): Promise<void> {
  const name = await ctx.projectName();
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  const filters = { label: [`${PROJECT}=${name}`], type: ['container'] };
  const res = await ctx.client.events({ filters, signal: ac.signal });
  const wanted = new Set(ctx.flags.args);
  type Event = { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> }; timeNano: number };
  try {
    for await (const e of readJsonStream<Event>(res)) {
      const service = e.Actor.Attributes[SERVICE] ?? '';
      if (wanted.size && !wanted.has(service)) continue;
      const attrs = Object.fromEntries(Object.entries(e.Actor.Attributes).filter(([k]) => !k.startsWith('com.docker.compose.')));
      const time = new Date(Number(BigInt(e.timeNano) / 1_000_000n));
      if (ctx.flags.bool('json')) {
        ctx.cli.println(JSON.stringify({ action: e.Action, attributes: attrs, id: e.Actor.ID, service, time: time.toISOString(), type: e.Type }));
      } else {
        const a = Object.entries(attrs)
          .sort((x, y) => x[0].localeCompare(y[0]))
          .map(([k, v]) => `${k}=${v}`)
          .join(', ');
        ctx.cli.println(`${time.toISOString().replace('T', ' ').replace('Z', '')} ${e.Type} ${e.Action} ${e.Actor.ID} (${a})`);
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  }
}

async function configCommand(ctx: ComposeContext): Promise<void> {
  const p = await ctx.project();
  const f = ctx.flags;
  const r = await import('../compose/model/render.js');
  const list = f.bool('services')
    ? r.configServices(p)
    : f.bool('volumes')
      ? r.configVolumes(p)
      : f.bool('networks')
        ? r.configNetworks(p)
        : f.bool('images')
          ? r.configImages(p)
          : f.bool('profiles')
            ? r.configProfiles(p)
            : undefined;
  if (list) return void list.forEach((s) => ctx.cli.println(s));
  if (f.bool('quiet')) return;
  const format = f.string('format') ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') throw new StatusError(1, `unsupported format "${format}"`);
  ctx.cli.print(r.renderConfig(p, format));
}

/** bin/docker-compose of this installation: next to the bundle (dist/…) or up the tree. */
export function pluginPath(): string {
  let dir = nodePath.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = nodePath.join(dir, 'bin', 'docker-compose');
    if (existsSync(candidate)) return candidate;
    if (dir === nodePath.dirname(dir)) throw new StatusError(1, 'bin/docker-compose not found next to this berth');
    dir = nodePath.dirname(dir);
  }
}

async function installPluginCommand(ctx: ComposeContext): Promise<void> {
  const config = process.env['DOCKER_CONFIG'] ?? nodePath.join(os.homedir(), '.docker');
  const dir = nodePath.join(config, 'cli-plugins');
  mkdirSync(dir, { recursive: true });
  const link = nodePath.join(dir, 'docker-compose');
  rmSync(link, { force: true });
  symlinkSync(pluginPath(), link);
  ctx.cli.println(`installed ${link} -> ${pluginPath()}`);
}

export const composeCommands: Record<string, ComposeCommand> = {
  down: {
    usage: '[OPTIONS] [SERVICES]',
    description: 'Stop and remove containers, networks',
    flags: [
      {
        long: 'volumes',
        short: 'v',
        type: 'bool',
        description: 'Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers',
      },
      { long: 'rmi', type: 'string', description: 'Remove images used by services. "local" remove only images that don\'t have a custom tag ("local"|"all")' },
      { long: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
      TIMEOUT,
    ],
    run: downCommand,
  },
  create: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Creates containers for a service',
    flags: [
      { long: 'build', type: 'bool', description: 'Build images before starting containers' },
      { long: 'no-build', type: 'bool', description: "Don't build an image, even if it's policy" },
      { long: 'force-recreate', type: 'bool', description: "Recreate containers even if their configuration and image haven't changed" },
      { long: 'no-recreate', type: 'bool', description: "If containers already exist, don't recreate them" },
      { long: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
      { long: 'pull', type: 'string', description: 'Pull image before running ("always"|"missing"|"never"|"build")' },
      { long: 'scale', type: 'list', description: 'Scale SERVICE to NUM instances' },
    ],
    run: createCommand,
  },
  start: simple('Start services', [], (ctx, t) => ops.start(ctx.client, t)),
  stop: simple('Stop services', [TIMEOUT], (ctx, t) => ops.stop(ctx.client, t, { timeout: ctx.flags.int('timeout') })),
  restart: simple('Restart service containers', [TIMEOUT, { long: 'no-deps', type: 'bool', description: "Don't restart dependent services" }], (ctx, t) =>
    ops.restart(ctx.client, t, { timeout: ctx.flags.int('timeout') }),
  ),
  kill: simple(
    'Force stop service containers',
    [
      { long: 'signal', short: 's', type: 'string', description: 'SIGNAL to send to the container', defaultValue: 'SIGKILL' },
      { long: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
    ],
    (ctx, t) => ops.kill(ctx.client, t, { signal: ctx.flags.string('signal') }),
  ),
  pause: simple('Pause services', [], (ctx, t) => ops.pause(ctx.client, t)),
  unpause: simple('Unpause services', [], (ctx, t) => ops.unpause(ctx.client, t)),
  rm: simple(
    'Removes stopped service containers',
    [
      { long: 'force', short: 'f', type: 'bool', description: "Don't ask to confirm removal" },
      { long: 'stop', short: 's', type: 'bool', description: 'Stop the containers, if required, before removing' },
      { long: 'volumes', short: 'v', type: 'bool', description: 'Remove any anonymous volumes attached to containers' },
    ],
    async (ctx, t) => {
      const removed = await ops.rm(ctx.client, t, { stop: ctx.flags.bool('stop'), volumes: ctx.flags.bool('volumes') });
      if (removed.length === 0) ctx.cli.eprintln('No stopped containers');
    },
  ),
  ps: { usage: '[OPTIONS] [SERVICE...]', description: 'List containers', flags: PS_FLAGS, run: psCommand },
  ls: {
    usage: '[OPTIONS]',
    description: 'List running compose projects',
    flags: [
      { long: 'all', short: 'a', type: 'bool', description: 'Show all stopped Compose projects' },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Only display project names' },
      { long: 'format', type: 'string', description: 'Format the output. Values: [table | json]', defaultValue: 'table' },
      { long: 'filter', type: 'string', description: 'Filter output based on conditions provided' },
    ],
    run: lsCommand,
  },
  images: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'List images used by the created containers',
    flags: [
      { long: 'quiet', short: 'q', type: 'bool', description: 'Only display IDs' },
      { long: 'format', type: 'string', description: 'Format the output. Values: [table | json]', defaultValue: 'table' },
    ],
    run: imagesCommand,
  },
  top: { usage: '[SERVICES...]', description: 'Display the running processes', flags: [], run: topCommand },
  port: {
    usage: '[OPTIONS] SERVICE PRIVATE_PORT',
    description: 'Print the public port for a port binding',
    flags: [
      { long: 'protocol', type: 'string', description: 'tcp or udp', defaultValue: 'tcp' },
      { long: 'index', type: 'int', description: 'Index of the container if service has multiple replicas', defaultValue: 1 },
    ],
    args: { min: 2, max: 2 },
    run: portCommand,
  },
  wait: {
    usage: 'SERVICE [SERVICE...] [OPTIONS]',
    description: 'Block until the first service container stops',
    flags: [{ long: 'down-project', type: 'bool', description: 'Drops project when the first container stops' }],
    args: { min: 1 },
    run: waitCommand,
  },
  pull: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Pull service images',
    flags: [
      { long: 'ignore-pull-failures', type: 'bool', description: 'Pull what it can and ignores images with pull failures' },
      { long: 'include-deps', type: 'bool', description: 'Also pull services declared as dependencies' },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Pull without printing progress information' },
    ],
    run: pullCommand,
  },
  push: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Push service images',
    flags: [
      { long: 'ignore-push-failures', type: 'bool', description: 'Push what it can and ignores images with push failures' },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Push without printing progress information' },
    ],
    run: pushCommand,
  },
  build: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Build or rebuild services',
    flags: [
      { long: 'build-arg', type: 'list', description: 'Set build-time variables for services' },
      { long: 'no-cache', type: 'bool', description: 'Do not use cache when building the image' },
      { long: 'pull', type: 'bool', description: 'Always attempt to pull a newer version of the image' },
      { long: 'quiet', short: 'q', type: 'bool', description: "Don't print anything to STDOUT" },
    ],
    run: buildCommand,
  },
  events: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Receive real time events from containers',
    flags: [{ long: 'json', type: 'bool', description: 'Output events as a stream of json objects' }],
    run: eventsCommand,
  },
  config: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Parse, resolve and render compose file in canonical format',
    flags: [
      { long: 'format', type: 'string', description: 'Format the output. Values: [yaml | json]', defaultValue: 'yaml' },
      { long: 'services', type: 'bool', description: 'Print the service names, one per line.' },
      { long: 'volumes', type: 'bool', description: 'Print the volume names, one per line.' },
      { long: 'networks', type: 'bool', description: 'Print the network names, one per line.' },
      { long: 'images', type: 'bool', description: 'Print the image names, one per line.' },
      { long: 'profiles', type: 'bool', description: 'Print the profile names, one per line.' },
      { long: 'quiet', short: 'q', type: 'bool', description: "Only validate the configuration, don't print anything." },
    ],
    run: configCommand,
  },
  version: {
    usage: '[OPTIONS]',
    description: 'Show the Docker Compose version information',
    flags: [
      { long: 'short', type: 'bool', description: "Shows only Compose's version number." },
      { long: 'format', short: 'f', type: 'string', description: 'Format the output. Values: [pretty | json]' },
    ],
    run: async (ctx) => {
      if (ctx.flags.bool('short')) ctx.cli.println(COMPOSE_VERSION);
      else if (ctx.flags.string('format') === 'json') ctx.cli.println(JSON.stringify({ version: `v${COMPOSE_VERSION}` }));
      else ctx.cli.println(`Docker Compose version v${COMPOSE_VERSION}`);
    },
  },
  'install-plugin': {
    usage: '',
    description: 'Link bin/docker-compose into the docker CLI plugins directory ($DOCKER_CONFIG/cli-plugins)',
    flags: [],
    run: installPluginCommand,
  },
};

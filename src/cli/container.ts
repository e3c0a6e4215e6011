/**
 * Container commands: run, create, start, stop, kill, restart, rm, ps, logs, inspect, wait,
 * rename, pause, unpause, top, diff, export, cp, update, attach.
 */
import { createWriteStream } from 'node:fs';
import { ApiError } from '../client/errors.js';
import { copyStream, demuxStream } from '../client/stream.js';
import { encodeFilters, type HijackedStream } from '../client/client.js';
import type { ContainerSummary, Resources, RestartPolicy } from '../client/types.js';
import { parseFilterFlags } from '../lib/filters.js';
import { toUnixTimestamp } from '../lib/timestamp.js';
import { Cli, StatusError, confirm, describeError, forEachTarget, isNotFound, type CommandDef } from './common.js';
import { FlagError, type FlagSpec, type ParsedFlags } from './flags.js';
import {
  displayablePorts,
  ellipsis,
  goQuote,
  goTimeString,
  humanDuration,
  humanSize,
  parseMemory,
  FormatError,
  JSON_EXTRA,
  renderRows,
  tabwrite,
  truncateId,
} from './format.js';
import { runInspect } from './inspect.js';
import { parseReference, familiarWithDefaultTag } from './reference.js';
import { CREATE_FLAGS, RUN_FLAGS, buildCreatePlan, parseCpus, parseMemorySwap, parseRestartPolicy, type CreatePlan } from './runopts.js';
import { TYPE_NAME } from './template.js';
import { EXEC_FLAGS, execCommand } from './exec.js';
import { checkTty, consoleSize, proxySignals, runSession } from './session.js';

// ---------- create / run ----------

async function pullImage(cli: Cli, image: string, options: { quiet: boolean }): Promise<void> {
  const { displayJsonMessages } = await import('./progress.js');
  const ref = parseReference(image);
  const res = await cli.client.imagePull({ image: ref.name, tag: ref.digest ?? ref.tag ?? 'latest' });
  const out = options.quiet ? new (await import('node:stream')).PassThrough().resume() : cli.err;
  await displayJsonMessages(res, out);
}

/** Creates the container, pulling the image when it is missing (docker's --pull=missing). */
async function createContainer(cli: Cli, plan: CreatePlan, options: { pull: string; quiet: boolean }): Promise<string> {
  const create = (): ReturnType<typeof cli.client.containerCreate> => cli.client.containerCreate(plan.body, { name: plan.name, platform: plan.platform });
  if (options.pull === 'always') await pullImage(cli, plan.image, options);
  let resp;
  try {
    resp = await create();
  } catch (e) {
    if (isNotFound(e) && options.pull !== 'never' && /image/i.test((e as ApiError).message)) {
      if (!options.quiet) cli.eprintln(`Unable to find image '${familiarWithDefaultTag(plan.image)}' locally`);
      await pullImage(cli, plan.image, options);
      resp = await create();
    } else throw e;
  }
  for (const w of resp.Warnings ?? []) cli.eprintln(`WARNING: ${w}`);
  return resp.Id;
}

/** docker's runStartContainerErr: which exit code a create/start failure maps to. */
export function startErrorExitCode(message: string): number {
  const m = message.replace(/^Error response from daemon: /, '');
  if (m.includes('executable file not found') || m.includes('no such file or directory') || m.includes('system cannot find the file specified')) return 127;
  if (m.includes('permission denied') || m.includes('is a directory')) return 126;
  return 125;
}

/** docker 28's reportError: "docker: <error>" and a pointer to --help. */
function reportRunError(cli: Cli, err: unknown): void {
  cli.eprintln(`berth: ${describeError(err)}\n\nRun 'berth run --help' for more information`);
}

async function runCommand(cli: Cli, flags: ParsedFlags): Promise<number> {
  let plan: CreatePlan;
  try {
    plan = buildCreatePlan(flags, { forRun: true });
  } catch (e) {
    if (e instanceof FlagError) throw e;
    reportRunError(cli, e);
    return 125;
  }
  const detach = flags.bool('detach');
  const tty = plan.body.Tty === true;
  const attachStdin = plan.body.AttachStdin === true;
  if (!detach) checkTty(attachStdin, tty);
  const size = consoleSize(tty);
  if (size && plan.body.HostConfig) plan.body.HostConfig.ConsoleSize = size;
  let id: string;
  try {
    id = await createContainer(cli, plan, { pull: flags.string('pull') ?? 'missing', quiet: flags.bool('quiet') });
  } catch (e) {
    reportRunError(cli, e);
    return startErrorExitCode(describeError(e));
  }
  const client = cli.client;
  if (detach) {
    try {
      await client.containerStart(id);
    } catch (e) {
      reportRunError(cli, e);
      return startErrorExitCode(describeError(e));
    }
    cli.println(id);
    return 0;
  }
  const attachOut = plan.body.AttachStdout === true || plan.body.AttachStderr === true;
  const detachKeys = flags.string('detach-keys');
  let hijacked: HijackedStream | undefined;
  if (attachOut || attachStdin) {
    hijacked = await client.containerAttach(id, {
      stream: true,
      stdin: attachStdin,
      stdout: plan.body.AttachStdout === true,
      stderr: plan.body.AttachStderr === true,
      detachKeys,
    });
  }
  const autoRemove = plan.body.HostConfig?.AutoRemove === true;
  const wait = await client.containerWait(id, { condition: autoRemove ? 'removed' : 'next-exit' });
  // docker forwards signals only for attached runs without a TTY
  const unproxy = !tty && flags.bool('sig-proxy') && hijacked ? proxySignals(cli, id) : () => undefined;
  try {
    try {
      await client.containerStart(id);
    } catch (e) {
      hijacked?.socket.destroy();
      reportRunError(cli, e);
      if (autoRemove) await wait.result.catch(() => undefined);
      return startErrorExitCode(describeError(e));
    }
    if (hijacked) {
      const session = await runSession(cli, hijacked, {
        tty,
        stdin: attachStdin,
        detachKeys,
        resize: tty ? (s) => client.containerResize(id, s) : undefined,
      });
      // the caller typed the detach sequence: the container keeps running, docker says nothing
      if (session.detached) return 0;
    }
    if (!attachOut) {
      // only stdin attached: behave like docker, print the ID
      cli.println(id);
      return 0;
    }
    const res = await wait.result;
    if (res.Error?.Message) {
      cli.eprintln(`Error waiting for container: ${res.Error.Message}`);
      return 125;
    }
    return res.StatusCode;
  } finally {
    unproxy();
  }
}

async function createCommand(cli: Cli, flags: ParsedFlags): Promise<number> {
  const plan = buildCreatePlan(flags, { forRun: false });
  const id = await createContainer(cli, plan, { pull: flags.string('pull') ?? 'missing', quiet: flags.bool('quiet') });
  cli.println(id);
  return 0;
}

// ---------- start / attach ----------

interface AttachOptions {
  stdin: boolean;
  /** start the container after attaching (start -a) */
  start: boolean;
  detachKeys?: string | undefined;
  sigProxy: boolean;
}

/**
 * attach and start -a: attach (stdin only when the container keeps it open), register the wait,
 * start if asked, pump the session, and return the container's exit code. A detach returns
 * 'detached'.
 */
async function attachAndWait(cli: Cli, id: string, options: AttachOptions): Promise<number | 'detached'> {
  const client = cli.client;
  const info = await client.containerInspect(id);
  const tty = info.Config.Tty === true;
  const stdin = options.stdin && info.Config.OpenStdin === true;
  if (!options.start) {
    if (!info.State.Running) throw new Error('You cannot attach to a stopped container, start it first');
    if (info.State.Paused) throw new Error('You cannot attach to a paused container, unpause it first');
    if (info.State.Restarting) throw new Error('You cannot attach to a restarting container, wait until it is running');
  }
  if (options.stdin) checkTty(true, tty);
  const cid = info.Id;
  const hijacked = await client.containerAttach(cid, { stream: true, stdin, stdout: true, stderr: true, detachKeys: options.detachKeys });
  const wait = await client.containerWait(cid, { condition: options.start && info.HostConfig.AutoRemove ? 'removed' : options.start ? 'next-exit' : 'not-running' });
  const unproxy = !tty && options.sigProxy ? proxySignals(cli, cid) : () => undefined;
  try {
    if (options.start) {
      try {
        await client.containerStart(cid);
      } catch (e) {
        hijacked.socket.destroy();
        if (info.HostConfig.AutoRemove) await wait.result.catch(() => undefined);
        throw e;
      }
    }
    const session = await runSession(cli, hijacked, {
      tty,
      stdin,
      detachKeys: options.detachKeys,
      resize: tty ? (s) => client.containerResize(cid, s) : undefined,
      nudgeSize: !options.start,
    });
    if (session.detached) return 'detached';
    const res = await wait.result;
    if (res.Error?.Message) throw new Error(res.Error.Message);
    return res.StatusCode;
  } finally {
    unproxy();
  }
}

async function startCommand(cli: Cli, flags: ParsedFlags): Promise<number> {
  const attach = flags.bool('attach') || flags.bool('interactive');
  if (attach) {
    if (flags.args.length > 1) throw new Error('you cannot start and attach multiple containers at once');
    const code = await attachAndWait(cli, flags.args[0] as string, {
      stdin: flags.bool('interactive'),
      start: true,
      detachKeys: flags.string('detach-keys'),
      sigProxy: true,
    });
    // docker: the detach sequence ends `start -a` quietly
    if (code === 'detached') return 0;
    if (code !== 0) throw new StatusError(code);
    return 0;
  }
  const failed: string[] = [];
  for (const name of flags.args) {
    try {
      await cli.client.containerStart(name, flags.has('detach-keys') ? { detachKeys: flags.string('detach-keys') ?? '' } : {});
      cli.println(name);
    } catch (e) {
      cli.eprintln(describeError(e));
      failed.push(name);
    }
  }
  if (failed.length) throw new Error(`Error: failed to start containers: ${failed.join(', ')}`);
  return 0;
}

async function attachCommand(cli: Cli, flags: ParsedFlags): Promise<number> {
  const id = flags.args[0] as string;
  const code = await attachAndWait(cli, id, {
    stdin: !flags.bool('no-stdin'),
    start: false,
    detachKeys: flags.string('detach-keys'),
    sigProxy: flags.bool('sig-proxy'),
  });
  // docker's attach reports the detach as an error
  if (code === 'detached') throw new StatusError(1, 'read escape sequence');
  if (code !== 0) throw new StatusError(code);
  return 0;
}

// ---------- simple multi-target commands ----------

async function stopCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const timeout = flags.has('timeout') ? flags.int('timeout') : flags.has('time') ? flags.int('time') : undefined;
  const signal = flags.string('signal');
  await forEachTarget(cli, flags.args, (n) => cli.client.containerStop(n, { signal, timeout }));
}

async function restartCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const timeout = flags.has('timeout') ? flags.int('timeout') : flags.has('time') ? flags.int('time') : undefined;
  const signal = flags.string('signal');
  await forEachTarget(cli, flags.args, (n) => cli.client.containerRestart(n, { signal, timeout }));
}

async function killCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  await forEachTarget(cli, flags.args, (n) => cli.client.containerKill(n, { signal: flags.string('signal') }));
}

/** `container prune`: the docker CLI's prompt, list of deleted IDs and reclaimed total. */
async function pruneCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const filters = parseFilterFlags(flags.list('filter'));
  if (!flags.bool('force') && !(await confirm(cli, 'WARNING! This will remove all stopped containers.'))) return;
  const res = await cli.client.json<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>({
    method: 'POST',
    path: '/containers/prune',
    query: { filters: encodeFilters(filters) },
  });
  const deleted = res.ContainersDeleted ?? [];
  if (deleted.length > 0) cli.println(['Deleted Containers:', ...deleted, ''].join('\n'));
  cli.println(`Total reclaimed space: ${humanSize(res.SpaceReclaimed, 4)}`);
}

async function rmCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const force = flags.bool('force');
  const errors: unknown[] = [];
  const results = await Promise.allSettled(
    flags.args.map((n) => {
      const name = n.replace(/^\/+/, '');
      if (name === '') return Promise.reject(new Error('Container name cannot be empty'));
      return cli.client.containerRemove(name, { force, volumes: flags.bool('volumes'), link: flags.bool('link') });
    }),
  );
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') cli.println(flags.args[i]);
    else if (force && isNotFound(r.reason)) cli.eprintln(describeError(r.reason));
    else errors.push(r.reason);
  });
  if (errors.length) throw new StatusError(1, errors.map(describeError).join('\n'));
}

async function pauseCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  await forEachTarget(cli, flags.args, (n) => cli.client.containerPause(n));
}

async function unpauseCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  await forEachTarget(cli, flags.args, (n) => cli.client.containerUnpause(n));
}

async function waitCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const errors: string[] = [];
  for (const n of flags.args) {
    try {
      const h = await cli.client.containerWait(n, { condition: 'not-running' });
      const r = await h.result;
      cli.println(String(r.StatusCode));
    } catch (e) {
      errors.push(describeError(e));
    }
  }
  if (errors.length) throw new StatusError(1, errors.join('\n'));
}

async function renameCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const [oldName = '', newName = ''] = flags.args.map((s) => s.trim());
  if (oldName === '' || newName === '') throw new Error('Error: Neither old nor new names may be empty');
  try {
    await cli.client.containerRename(oldName, newName);
  } catch (e) {
    throw new Error(`${describeError(e)}\nError: failed to rename container named ${oldName}`);
  }
}

async function topCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const [id = '', ...psArgs] = flags.args;
  const top = await cli.client.containerTop(id, { psArgs: psArgs.length ? psArgs.join(' ') : undefined });
  let text = `${top.Titles.join('\t')}\n`;
  for (const p of top.Processes ?? []) text += `${p.join('\t')}\n`;
  cli.print(tabwrite(text, { minWidth: 20, padding: 3 }));
}

async function diffCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const changes = await cli.client.containerChanges(flags.args[0] as string);
  for (const c of changes) {
    const kind = c.Kind === 0 ? 'C' : c.Kind === 1 ? 'A' : c.Kind === 2 ? 'D' : '?';
    cli.println(`${kind} ${c.Path}`);
  }
}

async function exportCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const output = flags.string('output');
  if (!output && process.stdout.isTTY) throw new Error('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  const res = await cli.client.containerExport(flags.args[0] as string);
  if (output) {
    const { pipeline } = await import('node:stream/promises');
    await pipeline(res, createWriteStream(output, { mode: 0o600 }));
  } else {
    await copyStream(res, cli.out);
  }
}

async function updateCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const update: Resources & { RestartPolicy?: RestartPolicy } = {};
  let any = false;
  if (flags.has('memory')) {
    update.Memory = parseMemory(flags.string('memory') ?? '0');
    any = true;
  }
  if (flags.has('memory-swap')) {
    update.MemorySwap = parseMemorySwap(flags.string('memory-swap') ?? '0');
    any = true;
  }
  if (flags.has('cpus')) {
    update.NanoCpus = parseCpus(flags.string('cpus') ?? '0');
    any = true;
  }
  if (flags.has('cpu-shares')) {
    update.CpuShares = flags.int('cpu-shares') ?? 0;
    any = true;
  }
  if (flags.has('cpuset-cpus')) {
    update.CpusetCpus = flags.string('cpuset-cpus') ?? '';
    any = true;
  }
  if (flags.has('pids-limit')) {
    update.PidsLimit = flags.int('pids-limit') ?? 0;
    any = true;
  }
  if (flags.has('restart')) {
    update.RestartPolicy = parseRestartPolicy(flags.string('restart') ?? '');
    any = true;
  }
  if (!any) throw new Error('you must provide one or more flags when using this command');
  const warnings: string[] = [];
  await forEachTarget(cli, flags.args, async (n) => {
    const r = await cli.client.containerUpdate(n, update);
    warnings.push(...(r?.Warnings ?? []));
  });
  for (const w of warnings) cli.eprintln(w);
}

// ---------- logs ----------

async function logsCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const id = flags.args[0] as string;
  const info = await cli.client.containerInspect(id);
  const since = flags.string('since');
  const until = flags.string('until');
  const res = await cli.client.containerLogs(id, {
    follow: flags.bool('follow'),
    timestamps: flags.bool('timestamps'),
    details: flags.bool('details'),
    since: since ? toUnixTimestamp(since) : undefined,
    until: until ? toUnixTimestamp(until) : undefined,
    tail: flags.string('tail') ?? 'all',
  });
  if (info.Config.Tty) await copyStream(res, cli.out);
  else await demuxStream(res, { stdout: cli.out, stderr: cli.err });
}

// ---------- ps ----------

const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  Networks: 'NETWORKS',
  LocalVolumes: 'LOCAL VOLUMES',
};

/** The object `ps --format` templates see for one container (docker's ContainerContext). */
export function containerContext(c: ContainerSummary, options: { trunc: boolean; now?: number }): Record<string, unknown> {
  const trunc = options.trunc;
  const now = options.now ?? Date.now();
  const labels = c.Labels ?? {};
  return {
    [TYPE_NAME]: '*formatter.ContainerContext',
    [JSON_EXTRA]: { Platform: null },
    ID: () => (trunc ? truncateId(c.Id) : c.Id),
    Names: () => {
      let names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
      if (trunc) {
        const plain = names.find((n) => !n.includes('/'));
        if (plain !== undefined) names = [plain];
      }
      return names.join(',');
    },
    Image: () => {
      if (!c.Image) return '<no image>';
      if (trunc) {
        if (truncateId(c.ImageID ?? '') === truncateId(c.Image)) return truncateId(c.Image);
        const r = parseReference(c.Image);
        if (!/^(sha256:)?[0-9a-f]{64}$/.test(c.Image)) return r.tag ? `${r.name}:${r.tag}` : r.name;
      }
      return c.Image;
    },
    Command: () => goQuote(trunc ? ellipsis(c.Command ?? '', 20) : (c.Command ?? '')),
    CreatedAt: () => goTimeString(new Date(c.Created * 1000)),
    RunningFor: () => `${humanDuration(now - c.Created * 1000)} ago`,
    Ports: () => displayablePorts(c.Ports ?? []),
    State: () => c.State,
    Status: () => c.Status,
    Size: () => {
      const srw = humanSize(c.SizeRw ?? 0);
      return c.SizeRootFs && c.SizeRootFs > 0 ? `${srw} (virtual ${humanSize(c.SizeRootFs)})` : srw;
    },
    Labels: () =>
      Object.keys(labels)
        .sort()
        .map((k) => `${k}=${labels[k] ?? ''}`)
        .join(','),
    Label: (name: unknown) => labels[String(name)] ?? '',
    Mounts: () =>
      (c.Mounts ?? [])
        .map((m) => {
          const name = m.Name ? m.Name : (m.Source ?? '');
          return trunc ? ellipsis(name, 15) : name;
        })
        .join(','),
    LocalVolumes: () => String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Networks: () => Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(','),
  };
}

const PS_DEFAULT = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

async function psCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  let format = flags.string('format') ?? '';
  const quiet = flags.bool('quiet');
  let size = flags.bool('size');
  if (format === '' || format === 'table') {
    format = quiet ? '{{.ID}}' : size ? `${PS_DEFAULT}\t{{.Size}}` : PS_DEFAULT;
  } else if (format === 'raw') {
    format = quiet ? 'container_id: {{.ID}}' : 'container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n';
  }
  if (format.includes('.Size') || format === 'json') size = size || format.includes('.Size');
  let limit = flags.int('last') ?? -1;
  if (flags.bool('latest')) limit = 1;
  const all = flags.bool('all') || limit > 0;
  const list = await cli.client.containerList({ all, limit: limit > 0 ? limit : undefined, size, filters: parseFilterFlags(flags.list('filter')) });
  const trunc = !flags.bool('no-trunc');
  try {
    cli.print(
      renderRows(list, format, {
        toContext: (c) => containerContext(c, { trunc }),
        headers: PS_HEADERS,
      }),
    );
  } catch (e) {
    if (e instanceof FormatError) throw new StatusError(1, `failed to ${e.phase === 'parse' ? 'parse' : 'execute'} template: ${e.message}`);
    throw e;
  }
}

// ---------- inspect ----------

async function inspectCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  await runInspect(
    cli,
    flags.args,
    async (name) => {
      const res = await cli.client.request({ path: `/containers/${encodeURIComponent(name)}/json`, query: { size: flags.bool('size') } });
      const chunks: Buffer[] = [];
      for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks).toString('utf8');
    },
    { format: flags.string('format') },
  );
}

// ---------- cp ----------

async function cpCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const { copyCommand } = await import('./cp.js');
  await copyCommand(cli, flags.args[0] as string, flags.args[1] as string, {
    archive: flags.bool('archive'),
    followLink: flags.bool('follow-link'),
    quiet: flags.bool('quiet'),
  });
}

// ---------- definitions ----------

const TIMEOUT_FLAGS: FlagSpec[] = [
  { long: 'signal', short: 's', type: 'string', description: 'Signal to send to the container' },
  { long: 'timeout', short: 't', type: 'int', description: 'Seconds to wait before killing the container' },
  { long: 'time', type: 'int', hidden: true, description: 'Seconds to wait before killing the container (deprecated: use --timeout)' },
];

const UPDATE_FLAGS: FlagSpec[] = [
  { long: 'cpu-shares', short: 'c', type: 'int', description: 'CPU shares (relative weight)' },
  { long: 'cpus', type: 'string', valueName: 'decimal', description: 'Number of CPUs' },
  { long: 'cpuset-cpus', type: 'string', description: 'CPUs in which to allow execution (0-3, 0,1)' },
  { long: 'memory', short: 'm', type: 'string', valueName: 'bytes', description: 'Memory limit' },
  { long: 'memory-swap', type: 'string', valueName: 'bytes', description: "Swap limit equal to memory plus swap: -1 to enable unlimited swap" },
  { long: 'pids-limit', type: 'int', description: 'Tune container pids limit (set -1 for unlimited)' },
  { long: 'restart', type: 'string', description: 'Restart policy to apply when a container exits' },
];

const def = (d: CommandDef): CommandDef => d;

export const commands: Record<string, CommandDef> = {
  run: def({
    name: 'run',
    usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
    description: 'Create and run a new container from an image',
    aliases: ['container run', 'run'],
    flags: RUN_FLAGS,
    interspersed: false,
    args: { min: 1 },
    run: (cli, f) => runCommand(cli, f),
  }),
  create: def({
    name: 'create',
    usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
    description: 'Create a new container',
    aliases: ['container create', 'create'],
    flags: CREATE_FLAGS,
    interspersed: false,
    args: { min: 1 },
    run: (cli, f) => createCommand(cli, f),
  }),
  start: def({
    name: 'start',
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Start one or more stopped containers',
    aliases: ['container start', 'start'],
    flags: [
      { long: 'attach', short: 'a', type: 'bool', description: 'Attach STDOUT/STDERR and forward signals' },
      { long: 'detach-keys', type: 'string', description: 'Override the key sequence for detaching a container' },
      { long: 'interactive', short: 'i', type: 'bool', description: "Attach container's STDIN" },
    ],
    args: { min: 1 },
    run: (cli, f) => startCommand(cli, f),
  }),
  attach: def({
    name: 'attach',
    usage: '[OPTIONS] CONTAINER',
    description: 'Attach local standard input, output, and error streams to a running container',
    aliases: ['container attach', 'attach'],
    flags: [
      { long: 'detach-keys', type: 'string', description: 'Override the key sequence for detaching a container' },
      { long: 'no-stdin', type: 'bool', description: 'Do not attach STDIN' },
      { long: 'sig-proxy', type: 'bool', description: 'Proxy all received signals to the process', defaultValue: true },
    ],
    args: { min: 1, max: 1 },
    run: (cli, f) => attachCommand(cli, f),
  }),
  exec: def({
    name: 'exec',
    usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
    description: 'Execute a command in a running container',
    aliases: ['container exec', 'exec'],
    flags: EXEC_FLAGS,
    interspersed: false,
    args: { min: 2 },
    run: (cli, f) => execCommand(cli, f),
  }),
  stop: def({
    name: 'stop',
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Stop one or more running containers',
    aliases: ['container stop', 'stop'],
    flags: TIMEOUT_FLAGS,
    args: { min: 1 },
    run: (cli, f) => stopCommand(cli, f),
  }),
  restart: def({
    name: 'restart',
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Restart one or more containers',
    aliases: ['container restart', 'restart'],
    flags: TIMEOUT_FLAGS,
    args: { min: 1 },
    run: (cli, f) => restartCommand(cli, f),
  }),
  kill: def({
    name: 'kill',
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Kill one or more running containers',
    aliases: ['container kill', 'kill'],
    flags: [{ long: 'signal', short: 's', type: 'string', description: 'Signal to send to the container' }],
    args: { min: 1 },
    run: (cli, f) => killCommand(cli, f),
  }),
  prune: def({
    name: 'prune',
    usage: '[OPTIONS]',
    description: 'Remove all stopped containers',
    aliases: ['container prune'],
    flags: [
      { long: 'filter', type: 'list', valueName: 'filter', description: 'Provide filter values (e.g. "until=<timestamp>")' },
      { long: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
    ],
    args: { max: 0 },
    run: (cli, f) => pruneCommand(cli, f),
  }),
  rm: def({
    name: 'rm',
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Remove one or more containers',
    aliases: ['container rm', 'container remove', 'rm'],
    flags: [
      { long: 'force', short: 'f', type: 'bool', description: 'Force the removal of a running container (uses SIGKILL)' },
      { long: 'link', short: 'l', type: 'bool', description: 'Remove the specified link' },
      { long: 'volumes', short: 'v', type: 'bool', description: 'Remove anonymous volumes associated with the container' },
    ],
    args: { min: 1 },
    run: (cli, f) => rmCommand(cli, f),
  }),
  ps: def({
    name: 'ps',
    usage: '[OPTIONS]',
    description: 'List containers',
    aliases: ['container ls', 'container list', 'container ps', 'ps'],
    flags: [
      { long: 'all', short: 'a', type: 'bool', description: 'Show all containers (default shows just running)' },
      { long: 'filter', short: 'f', type: 'list', valueName: 'filter', description: 'Filter output based on conditions provided' },
      { long: 'format', type: 'string', description: 'Format output using a custom template' },
      { long: 'last', short: 'n', type: 'int', description: 'Show n last created containers (includes all states)', defaultValue: -1 },
      { long: 'latest', short: 'l', type: 'bool', description: 'Show the latest created container (includes all states)' },
      { long: 'no-trunc', type: 'bool', description: "Don't truncate output" },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Only display container IDs' },
      { long: 'size', short: 's', type: 'bool', description: 'Display total file sizes' },
    ],
    args: { max: 0 },
    run: (cli, f) => psCommand(cli, f),
  }),
  logs: def({
    name: 'logs',
    usage: '[OPTIONS] CONTAINER',
    description: 'Fetch the logs of a container',
    aliases: ['container logs', 'logs'],
    flags: [
      { long: 'details', type: 'bool', description: 'Show extra details provided to logs' },
      { long: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
      { long: 'since', type: 'string', description: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
      { long: 'tail', short: 'n', type: 'string', description: 'Number of lines to show from the end of the logs', defaultValue: 'all' },
      { long: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
      { long: 'until', type: 'string', description: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    ],
    args: { min: 1, max: 1 },
    run: (cli, f) => logsCommand(cli, f),
  }),
  inspect: def({
    name: 'inspect',
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Display detailed information on one or more containers',
    flags: [
      { long: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' },
      { long: 'size', short: 's', type: 'bool', description: 'Display total file sizes' },
    ],
    args: { min: 1 },
    run: (cli, f) => inspectCommand(cli, f),
  }),
  wait: def({
    name: 'wait',
    usage: 'CONTAINER [CONTAINER...]',
    description: 'Block until one or more containers stop, then print their exit codes',
    aliases: ['container wait', 'wait'],
    flags: [],
    args: { min: 1 },
    run: (cli, f) => waitCommand(cli, f),
  }),
  rename: def({
    name: 'rename',
    usage: 'CONTAINER NEW_NAME',
    description: 'Rename a container',
    aliases: ['container rename', 'rename'],
    flags: [],
    args: { min: 2, max: 2 },
    run: (cli, f) => renameCommand(cli, f),
  }),
  pause: def({
    name: 'pause',
    usage: 'CONTAINER [CONTAINER...]',
    description: 'Pause all processes within one or more containers',
    aliases: ['container pause', 'pause'],
    flags: [],
    args: { min: 1 },
    run: (cli, f) => pauseCommand(cli, f),
  }),
  unpause: def({
    name: 'unpause',
    usage: 'CONTAINER [CONTAINER...]',
    description: 'Unpause all processes within one or more containers',
    aliases: ['container unpause', 'unpause'],
    flags: [],
    args: { min: 1 },
    run: (cli, f) => unpauseCommand(cli, f),
  }),
  top: def({
    name: 'top',
    usage: 'CONTAINER [ps OPTIONS]',
    description: 'Display the running processes of a container',
    aliases: ['container top', 'top'],
    flags: [],
    interspersed: false,
    args: { min: 1 },
    run: (cli, f) => topCommand(cli, f),
  }),
  diff: def({
    name: 'diff',
    usage: 'CONTAINER',
    description: "Inspect changes to files or directories on a container's filesystem",
    aliases: ['container diff', 'diff'],
    flags: [],
    args: { min: 1, max: 1 },
    run: (cli, f) => diffCommand(cli, f),
  }),
  export: def({
    name: 'export',
    usage: '[OPTIONS] CONTAINER',
    description: "Export a container's filesystem as a tar archive",
    aliases: ['container export', 'export'],
    flags: [{ long: 'output', short: 'o', type: 'string', description: 'Write to a file, instead of STDOUT' }],
    args: { min: 1, max: 1 },
    run: (cli, f) => exportCommand(cli, f),
  }),
  cp: def({
    name: 'cp',
    usage: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
    description: 'Copy files/folders between a container and the local filesystem',
    aliases: ['container cp', 'cp'],
    flags: [
      { long: 'archive', short: 'a', type: 'bool', description: 'Archive mode (copy all uid/gid information)' },
      { long: 'follow-link', short: 'L', type: 'bool', description: 'Always follow symbol link in SRC_PATH' },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Suppress progress output during copy' },
    ],
    args: { min: 2, max: 2 },
    run: (cli, f) => cpCommand(cli, f),
  }),
  update: def({
    name: 'update',
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Update configuration of one or more containers',
    aliases: ['container update', 'update'],
    flags: UPDATE_FLAGS,
    args: { min: 1 },
    run: (cli, f) => updateCommand(cli, f),
  }),
};

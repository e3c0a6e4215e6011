/**
 * `berth compose` commands with streams: up (detached, or attached with prefixed logs, Ctrl-C
 * stopping the project and --abort-on-container-exit), logs, exec, run and cp — the last three
 * resolve the service's container and hand over to berth's own exec/start -a/cp.
 */
import { createOneoff, nameOf, ops, PrefixWriter, projectContainers, streamLogs, up } from '../compose/engine/index.js';
import type { Cli } from './common.js';
import { StatusError } from './common.js';
import { copyCommand } from './cp.js';
import { EXEC_FLAGS, execCommand } from './exec.js';
import { startCommand } from './attach.js';
import { registryAuthHeader } from './image.js';
import { parseFlags, type FlagSpec } from './flags.js';
import type { ComposeCommand, ComposeContext } from './compose.js';
import { parseScale } from './compose-commands.js';

const UP_FLAGS: FlagSpec[] = [
  { long: 'detach', short: 'd', type: 'bool', description: 'Detached mode: Run containers in the background' },
  { long: 'build', type: 'bool', description: 'Build images before starting containers' },
  { long: 'no-build', type: 'bool', description: "Don't build an image, even if it's policy" },
  { long: 'force-recreate', type: 'bool', description: "Recreate containers even if their configuration and image haven't changed" },
  { long: 'no-recreate', type: 'bool', description: "If containers already exist, don't recreate them. Incompatible with --force-recreate." },
  { long: 'no-deps', type: 'bool', description: "Don't start linked services" },
  { long: 'no-start', type: 'bool', description: "Don't start the services after creating them" },
  { long: 'scale', type: 'list', description: 'Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.' },
  { long: 'wait', type: 'bool', description: 'Wait for services to be running|healthy. Implies detached mode.' },
  { long: 'wait-timeout', type: 'int', description: 'Maximum duration in seconds to wait for the project to be running|healthy' },
  { long: 'remove-orphans', type: 'bool', description: 'Remove containers for services not defined in the Compose file' },
  { long: 'abort-on-container-exit', type: 'bool', description: 'Stops all containers if any container was stopped. Incompatible with -d' },
  { long: 'exit-code-from', type: 'string', description: 'Return the exit code of the selected service container. Implies --abort-on-container-exit' },
  {
    long: 'timeout',
    short: 't',
    type: 'int',
    description: 'Use this timeout in seconds for container shutdown when attached or when containers are already running',
  },
  { long: 'pull', type: 'string', description: 'Pull image before running ("always"|"missing"|"never")', defaultValue: 'policy' },
  { long: 'quiet-pull', type: 'bool', description: 'Pull without printing progress information' },
  { long: 'no-color', type: 'bool', description: 'Produce monochrome output' },
  { long: 'no-log-prefix', type: 'bool', description: "Don't print prefix in logs" },
  { long: 'timestamps', type: 'bool', description: 'Show timestamps' },
  { long: 'attach', type: 'list', description: 'Restrict attaching to the specified services. Incompatible with --attach-dependencies.' },
  { long: 'no-attach', type: 'list', description: 'Do not attach (stream logs) to the specified services' },
  { long: 'renew-anon-volumes', short: 'V', type: 'bool', description: 'Recreate anonymous volumes instead of retrieving data from the previous containers' },
];

async function upCommand(ctx: ComposeContext): Promise<number> {
  const f = ctx.flags;
  if (f.bool('detach') && (f.bool('abort-on-container-exit') || f.string('exit-code-from')))
    throw new StatusError(1, '--abort-on-container-exit and --detach are incompatible');
  if (f.bool('force-recreate') && f.bool('no-recreate')) throw new StatusError(1, '--force-recreate and --no-recreate are incompatible');
  const p = await ctx.project();
  const { sink, stop } = ctx.progress();
  const pull = f.string('pull');
  let result;
  try {
    result = await up(ctx.client, p, {
      services: f.args,
      noDeps: f.bool('no-deps'),
      build: f.bool('build'),
      noBuild: f.bool('no-build'),
      forceRecreate: f.bool('force-recreate'),
      noRecreate: f.bool('no-recreate'),
      noStart: f.bool('no-start'),
      removeOrphans: f.bool('remove-orphans'),
      scale: parseScale(f.list('scale')),
      wait: f.bool('wait'),
      ...(f.int('wait-timeout') !== undefined ? { waitTimeout: (f.int('wait-timeout') as number) * 1000 } : {}),
      ...(f.int('timeout') !== undefined ? { timeout: f.int('timeout') as number } : {}),
      ...(pull && pull !== 'policy' ? { pull: pull as 'always' } : {}),
      renewAnonVolumes: f.bool('renew-anon-volumes'),
      registryAuth: registryAuthHeader,
      progress: sink,
      warn: ctx.warn,
      onBuildOutput: (svc, line) => ctx.cli.eprintln(`#${svc} ${line}`),
    });
  } finally {
    stop();
  }
  if (f.bool('detach') || f.bool('wait') || f.bool('no-start')) return 0;
  const attachTo = f.list('attach');
  const skip = new Set(f.list('no-attach'));
  const names = Object.entries(result.containers)
    .filter(([svc]) => (attachTo.length === 0 || attachTo.includes(svc)) && !skip.has(svc))
    .flatMap(([, n]) => n)
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return attached(ctx, p.name, names, {
    abort: f.bool('abort-on-container-exit') || f.string('exit-code-from') !== undefined,
    exitFrom: f.string('exit-code-from'),
    timeout: f.int('timeout'),
  });
}

async function attached(
  ctx: ComposeContext,
  project: string,
  names: string[],
  o: { abort: boolean; exitFrom?: string | undefined; timeout?: number | undefined },
): Promise<number> {
  const writer = new PrefixWriter(ctx.cli.out, { colour: ctx.colour, prefix: !ctx.flags.bool('no-log-prefix'), trimProject: project });
  writer.names(names);
  const display = names.map((n) => (n.startsWith(`${project}-`) ? n.slice(project.length + 1) : n));
  ctx.cli.println(`Attaching to ${display.join(', ')}`);
  const ac = new AbortController();
  let code = 0;
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      const { sink, stop } = ctx.progress('Stopping');
      try {
        await ops.stop(ctx.client, { project, progress: sink }, { timeout: o.timeout });
      } finally {
        stop();
        ac.abort();
      }
    })();
    return stopping;
  };
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) {
      void ops.kill(ctx.client, { project }).finally(() => ac.abort());
      return;
    }
    ctx.cli.eprintln('Gracefully stopping... (press Ctrl+C again to force)');
    code = 130;
    void stopAll();
  };
  process.on('SIGINT', onSigint);
  const list = (await projectContainers(ctx.client, project)).filter((c) => names.includes(nameOf(c)));
  try {
    await Promise.all(
      list.map(async (c) => {
        await streamLogs(ctx.client, c, writer, { follow: true, timestamps: ctx.flags.bool('timestamps'), signal: ac.signal });
        if (ac.signal.aborted && interrupts > 0) return;
        const ins = await ctx.client.containerInspect(c.Id).catch(() => undefined);
        const exit = ins?.State.ExitCode ?? 0;
        writer.status(nameOf(c), `exited with code ${exit}`);
        const svc = c.Labels?.['com.docker.compose.service'];
        if (o.exitFrom ? svc === o.exitFrom : o.abort) {
          if (o.exitFrom || code === 0) code = exit;
        }
        if (o.abort && !stopping) {
          ctx.cli.eprintln('Aborting on container exit...');
          await stopAll();
        }
      }),
    );
    if (stopping) await stopping;
  } finally {
    process.off('SIGINT', onSigint);
  }
  return code;
}

async function logsCommand(ctx: ComposeContext): Promise<void> {
  const f = ctx.flags;
  const name = await ctx.projectName();
  let list = await projectContainers(ctx.client, name, { ...(f.args.length ? { services: f.args } : {}), includeOneoff: true });
  const index = f.int('index');
  if (index !== undefined) list = list.filter((c) => c.Labels?.['com.docker.compose.container-number'] === String(index));
  const writer = new PrefixWriter(ctx.cli.out, { colour: ctx.colour, prefix: !f.bool('no-log-prefix'), trimProject: name });
  writer.names(list.map(nameOf));
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    await Promise.all(
      list.map((c) =>
        streamLogs(ctx.client, c, writer, {
          follow: f.bool('follow'),
          tail: f.string('tail') ?? 'all',
          timestamps: f.bool('timestamps'),
          since: f.string('since'),
          until: f.string('until'),
          signal: ac.signal,
        }),
      ),
    );
  } finally {
    process.off('SIGINT', onSigint);
  }
}

async function execInContainer(cli: Cli, argv: string[]): Promise<number> {
  const specs = [...EXEC_FLAGS, { long: 'help', type: 'bool' as const, hidden: true }];
  return execCommand(cli, parseFlags(argv, specs, { interspersed: false }));
}

async function composeExec(ctx: ComposeContext): Promise<number> {
  const f = ctx.flags;
  const [service, ...cmd] = f.args as [string, ...string[]];
  const c = await ops.serviceContainer(ctx.client, await ctx.projectName(), service, f.int('index') ?? 1);
  const tty = !f.bool('no-TTY') && !f.bool('detach') && process.stdin.isTTY === true;
  const argv: string[] = [];
  if (f.bool('detach')) argv.push('-d');
  else argv.push('-i');
  if (tty) argv.push('-t');
  if (f.bool('privileged')) argv.push('--privileged');
  const user = f.string('user');
  if (user) argv.push('-u', user);
  const wd = f.string('workdir');
  if (wd) argv.push('-w', wd);
  for (const e of f.list('env')) argv.push('-e', e);
  return execInContainer(ctx.cli, [...argv, c.Id, ...cmd]);
}

function envMap(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list) {
    const i = e.indexOf('=');
    if (i < 0) {
      if (process.env[e] !== undefined) out[e] = process.env[e];
    } else out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

async function composeRun(ctx: ComposeContext): Promise<number> {
  const f = ctx.flags;
  const [service, ...cmd] = f.args as [string, ...string[]];
  const p = await ctx.project();
  const tty = !f.bool('no-TTY') && !f.bool('detach') && process.stdin.isTTY === true;
  const labels: Record<string, string> = {};
  for (const l of f.list('label')) {
    const i = l.indexOf('=');
    labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  const ep = f.string('entrypoint');
  const { sink, stop } = ctx.progress();
  let created;
  try {
    created = await createOneoff(ctx.client, p, service, {
      command: cmd.length ? cmd : undefined,
      entrypoint: ep !== undefined ? ep.split(/\s+/).filter(Boolean) : undefined,
      env: envMap(f.list('env')),
      labels,
      name: f.string('name'),
      servicePorts: f.bool('service-ports'),
      rm: f.bool('rm'),
      noDeps: f.bool('no-deps'),
      tty,
      interactive: !f.bool('detach') && f.bool('interactive'),
      user: f.string('user'),
      workdir: f.string('workdir'),
      build: f.bool('build'),
      progress: sink,
      warn: ctx.warn,
    });
  } finally {
    stop();
  }
  if (f.bool('detach')) {
    await ctx.client.containerStart(created.id);
    ctx.cli.println(created.name);
    return 0;
  }
  const specs: FlagSpec[] = [
    { long: 'attach', short: 'a', type: 'bool' },
    { long: 'interactive', short: 'i', type: 'bool' },
    { long: 'detach-keys', type: 'string' },
  ];
  try {
    return await startCommand(ctx.cli, parseFlags(['-a', ...(f.bool('interactive') ? ['-i'] : []), created.id], specs));
  } catch (e) {
    if (e instanceof StatusError) return e.statusCode;
    throw e;
  }
}

async function composeCp(ctx: ComposeContext): Promise<void> {
  const [src, dst] = ctx.flags.args as [string, string];
  const project = await ctx.projectName();
  const resolve = async (arg: string): Promise<string> => {
    if (arg.startsWith('/') || arg.startsWith('.') || arg === '-') return arg;
    const i = arg.indexOf(':');
    if (i < 0) return arg;
    const c = await ops.serviceContainer(ctx.client, project, arg.slice(0, i), ctx.flags.int('index') ?? 1);
    return `${c.Id}:${arg.slice(i + 1)}`;
  };
  await copyCommand(ctx.cli, await resolve(src), await resolve(dst), {
    archive: ctx.flags.bool('archive'),
    followLink: ctx.flags.bool('follow-link'),
    quiet: true,
  });
}

export const composeAttachCommands: Record<string, ComposeCommand> = {
  up: { usage: '[OPTIONS] [SERVICE...]', description: 'Create and start containers', flags: UP_FLAGS, run: upCommand },
  logs: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'View output from containers',
    flags: [
      { long: 'follow', short: 'f', type: 'bool', description: 'Follow log output' },
      { long: 'tail', short: 'n', type: 'string', description: 'Number of lines to show from the end of the logs for each container', defaultValue: 'all' },
      { long: 'timestamps', short: 't', type: 'bool', description: 'Show timestamps' },
      { long: 'since', type: 'string', description: 'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)' },
      { long: 'until', type: 'string', description: 'Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)' },
      { long: 'no-color', type: 'bool', description: 'Produce monochrome output' },
      { long: 'no-log-prefix', type: 'bool', description: "Don't print prefix in logs" },
      { long: 'index', type: 'int', description: 'index of the container if service has multiple replicas' },
    ],
    run: logsCommand,
  },
  exec: {
    usage: '[OPTIONS] SERVICE COMMAND [ARGS...]',
    description: 'Execute a command in a running container',
    interspersed: false,
    args: { min: 2 },
    flags: [
      { long: 'detach', short: 'd', type: 'bool', description: 'Detached mode: Run command in the background' },
      { long: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
      { long: 'index', type: 'int', description: 'Index of the container if service has multiple replicas', defaultValue: 1 },
      { long: 'no-TTY', short: 'T', type: 'bool', description: 'Disable pseudo-TTY allocation. By default `docker compose exec` allocates a TTY.' },
      { long: 'privileged', type: 'bool', description: 'Give extended privileges to the process' },
      { long: 'user', short: 'u', type: 'string', description: 'Run the command as this user' },
      { long: 'workdir', short: 'w', type: 'string', description: 'Path to workdir directory for this command' },
      { long: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached', defaultValue: true, hidden: true },
      { long: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY', hidden: true },
    ],
    run: composeExec,
  },
  run: {
    usage: '[OPTIONS] SERVICE [COMMAND] [ARGS...]',
    description: 'Run a one-off command on a service',
    interspersed: false,
    args: { min: 1 },
    flags: [
      { long: 'detach', short: 'd', type: 'bool', description: 'Run container in background and print container ID' },
      { long: 'rm', type: 'bool', description: 'Automatically remove the container when it exits' },
      { long: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
      { long: 'label', short: 'l', type: 'list', description: 'Add or override a label' },
      { long: 'name', type: 'string', description: 'Assign a name to the container' },
      { long: 'entrypoint', type: 'string', description: 'Override the entrypoint of the image' },
      { long: 'service-ports', short: 'P', type: 'bool', description: "Run command with all service's ports enabled and mapped to the host" },
      { long: 'no-deps', type: 'bool', description: "Don't start linked services" },
      { long: 'no-TTY', short: 'T', type: 'bool', description: 'Disable pseudo-TTY allocation (default: auto-detected)' },
      { long: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached', defaultValue: true },
      { long: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY', hidden: true },
      { long: 'user', short: 'u', type: 'string', description: 'Run as specified username or uid' },
      { long: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
      { long: 'build', type: 'bool', description: 'Build image before starting container' },
      { long: 'quiet-pull', type: 'bool', description: 'Pull without printing progress information' },
    ],
    run: composeRun,
  },
  cp: {
    usage: '[OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n\tdocker compose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH',
    description: 'Copy files/folders between a service container and the local filesystem',
    args: { min: 2, max: 2 },
    flags: [
      { long: 'archive', short: 'a', type: 'bool', description: 'Archive mode (copy all uid/gid information)' },
      { long: 'follow-link', short: 'L', type: 'bool', description: 'Always follow symbol link in SRC_PATH' },
      { long: 'index', type: 'int', description: 'Index of the container if service has multiple replicas' },
    ],
    run: composeCp,
  },
};

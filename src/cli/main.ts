/**
 * berth: the command line. Parses global flags, finds the command (top-level or under
 * `container` / `image` / `system`), loads its module on demand, runs it, and turns errors
 * into docker's messages and exit codes.
 */
import { ApiError, ConnectionError } from '../client/errors.js';
import { CLI_NAME, Cli, MultiError, StatusError, describeError, runEntry, type CommandDef } from './common.js';
import { FlagError, ParsedFlags, formatFlagHelp, parseFlags, type FlagSpec } from './flags.js';

type ModuleName = 'container' | 'image' | 'system' | 'build' | 'volume' | 'network' | 'observe' | 'tls' | 'compose';
type CommandTable = Record<string, CommandDef>;

const loaders: Record<ModuleName, () => Promise<{ commands: CommandTable }>> = {
  container: () => import('./container.js'),
  image: () => import('./image.js'),
  system: () => import('./system.js'),
  build: () => import('./build.js'),
  volume: () => import('./volume.js'),
  network: () => import('./network.js'),
  observe: () => import('./observe.js'),
  tls: () => import('./tls.js'),
  compose: () => import('./compose.js'),
};

/** top-level command → [module, key in its table] */
const TOP: Record<string, [ModuleName, string]> = {
  run: ['container', 'run'],
  create: ['container', 'create'],
  start: ['container', 'start'],
  stop: ['container', 'stop'],
  kill: ['container', 'kill'],
  restart: ['container', 'restart'],
  rm: ['container', 'rm'],
  ps: ['container', 'ps'],
  logs: ['container', 'logs'],
  wait: ['container', 'wait'],
  rename: ['container', 'rename'],
  pause: ['container', 'pause'],
  unpause: ['container', 'unpause'],
  top: ['container', 'top'],
  diff: ['container', 'diff'],
  export: ['container', 'export'],
  cp: ['container', 'cp'],
  update: ['container', 'update'],
  attach: ['container', 'attach'],
  exec: ['container', 'exec'],
  images: ['image', 'ls'],
  import: ['image', 'import'],
  tag: ['image', 'tag'],
  rmi: ['image', 'rm'],
  pull: ['image', 'pull'],
  push: ['image', 'push'],
  login: ['image', 'login'],
  logout: ['image', 'logout'],
  save: ['image', 'save'],
  load: ['image', 'load'],
  history: ['image', 'history'],
  inspect: ['system', 'inspect'],
  version: ['system', 'version'],
  info: ['system', 'info'],
  build: ['build', 'build'],
  port: ['network', 'port'],
  commit: ['observe', 'commit'],
  stats: ['observe', 'stats'],
  events: ['observe', 'events'],
  compose: ['compose', 'compose'],
};

const GROUPS: Record<string, { module: ModuleName; description: string; subs: Record<string, string> }> = {
  container: {
    module: 'container',
    description: 'Manage containers',
    subs: {
      attach: 'attach',
      cp: 'cp',
      create: 'create',
      diff: 'diff',
      exec: 'exec',
      export: 'export',
      inspect: 'inspect',
      kill: 'kill',
      logs: 'logs',
      ls: 'ps',
      list: 'ps',
      ps: 'ps',
      pause: 'pause',
      prune: 'prune',
      rename: 'rename',
      restart: 'restart',
      rm: 'rm',
      remove: 'rm',
      run: 'run',
      start: 'start',
      stop: 'stop',
      top: 'top',
      unpause: 'unpause',
      update: 'update',
      wait: 'wait',
      // "module:key": served by another module than the group's own.
      commit: 'observe:commit',
      stats: 'observe:stats',
    },
  },
  image: {
    module: 'image',
    description: 'Manage images',
    subs: {
      bootstrap: 'bootstrap',
      import: 'import',
      inspect: 'inspect',
      ls: 'ls',
      list: 'ls',
      pull: 'pull',
      push: 'push',
      rm: 'rm',
      remove: 'rm',
      tag: 'tag',
      save: 'save',
      load: 'load',
      history: 'history',
      prune: 'prune',
    },
  },
  network: {
    module: 'network',
    description: 'Manage networks',
    subs: { connect: 'connect', create: 'create', disconnect: 'disconnect', inspect: 'inspect', ls: 'ls', list: 'ls', prune: 'prune', rm: 'rm', remove: 'rm' },
  },
  system: {
    module: 'system',
    description: 'Manage Berth',
    subs: { info: 'info', version: 'version', events: 'observe:events', df: 'df', prune: 'prune' },
  },
  builder: {
    module: 'build',
    description: 'Manage builds',
    subs: { build: 'build', prune: 'prune' },
  },
  tls: {
    module: 'tls',
    description: 'Manage certificates for the remote API',
    subs: { init: 'init' },
  },
  volume: {
    module: 'volume',
    description: 'Manage volumes',
    subs: { create: 'create', inspect: 'inspect', ls: 'ls', list: 'ls', prune: 'prune', rm: 'rm', remove: 'rm' },
  },
};

const DESCRIPTIONS: Record<string, string> = {
  run: 'Create and run a new container from an image',
  ps: 'List containers',
  build: 'Build an image from a Dockerfile',
  images: 'List images',
  version: 'Show the Berth version information',
  info: 'Display system-wide information',
  attach: 'Attach local standard input, output, and error streams to a running container',
  cp: 'Copy files/folders between a container and the local filesystem',
  create: 'Create a new container',
  diff: "Inspect changes to files or directories on a container's filesystem",
  exec: 'Execute a command in a running container',
  export: "Export a container's filesystem as a tar archive",
  import: 'Import the contents from a tarball to create a filesystem image',
  inspect: 'Return low-level information on Berth objects',
  kill: 'Kill one or more running containers',
  logs: 'Fetch the logs of a container',
  pause: 'Pause all processes within one or more containers',
  port: 'List port mappings or a specific mapping for the container',
  pull: 'Download an image from a registry',
  push: 'Upload an image to a registry',
  login: 'Authenticate to a registry',
  logout: 'Log out from a registry',
  rename: 'Rename a container',
  restart: 'Restart one or more containers',
  rm: 'Remove one or more containers',
  rmi: 'Remove one or more images',
  start: 'Start one or more stopped containers',
  stop: 'Stop one or more running containers',
  tag: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  top: 'Display the running processes of a container',
  unpause: 'Unpause all processes within one or more containers',
  update: 'Update configuration of one or more containers',
  wait: 'Block until one or more containers stop, then print their exit codes',
  commit: "Create a new image from a container's changes",
  stats: 'Display a live stream of container(s) resource usage statistics',
  events: 'Get real time events from the server',
  compose: 'Define and run multi-container applications (docker compose v2)',
};

const GLOBAL_FLAGS: FlagSpec[] = [
  { long: 'config', type: 'string', description: 'Location of client config files' },
  { long: 'context', short: 'c', type: 'string', description: 'Name of the context to use (ignored)' },
  { long: 'debug', short: 'D', type: 'bool', description: 'Enable debug mode' },
  { long: 'host', short: 'H', type: 'list', description: 'Daemon socket to connect to' },
  { long: 'log-level', short: 'l', type: 'string', description: 'Set the logging level ("debug", "info", "warn", "error", "fatal")', defaultValue: 'info' },
  { long: 'tls', type: 'bool', description: 'Use TLS; implied by --tlsverify' },
  { long: 'tlscacert', type: 'string', description: 'Trust certs signed only by this CA (default "~/.docker/ca.pem")' },
  { long: 'tlscert', type: 'string', description: 'Path to TLS certificate file (default "~/.docker/cert.pem")' },
  { long: 'tlskey', type: 'string', description: 'Path to TLS key file (default "~/.docker/key.pem")' },
  { long: 'tlsverify', type: 'bool', description: 'Use TLS and verify the remote' },
  { long: 'version', short: 'v', type: 'bool', description: 'Print version information and quit' },
  { long: 'help', short: 'h', type: 'bool', description: 'Print usage', hidden: true },
];

function topHelp(): string {
  const common = ['run', 'exec', 'ps', 'images', 'pull', 'version', 'info'];
  const row = (n: string, d: string): string => `  ${n.padEnd(12)}${d}`;
  const others = Object.keys(TOP)
    .filter((n) => !common.includes(n))
    .sort();
  return [
    `Usage:  ${CLI_NAME} [OPTIONS] COMMAND`,
    '',
    'A container engine that speaks the Docker Engine API',
    '',
    'Common Commands:',
    ...common.map((n) => row(n, DESCRIPTIONS[n] ?? '')),
    '',
    'Management Commands:',
    ...Object.entries(GROUPS).map(([n, g]) => row(n, g.description)),
    '',
    'Commands:',
    ...others.map((n) => row(n, DESCRIPTIONS[n] ?? '')),
    '',
    'Global Options:',
    formatFlagHelp(GLOBAL_FLAGS),
    '',
    `Run '${CLI_NAME} COMMAND --help' for more information on a command.`,
    '',
  ].join('\n');
}

const HIDDEN_SUBS = new Set(['list', 'remove', 'container ps']);
const SUB_DESCRIPTIONS: Record<string, string> = {
  'container ls': 'List containers',
  'container inspect': 'Display detailed information on one or more containers',
  'image ls': 'List images',
  'image rm': 'Remove one or more images',
  'image inspect': 'Display detailed information on one or more images',
  'image bootstrap': 'Build a base image (busybox, or Debian with debootstrap) locally and import it',
  'image import': 'Import the contents from a tarball to create a filesystem image',
  'image tag': 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  'image pull': 'Download an image from a registry',
  'image push': 'Upload an image to a registry',
  'image prune': 'Remove unused images',
  'system df': 'Show docker disk usage',
  'system prune': 'Remove unused data',
  'tls init': 'Make a CA, a server certificate and a client certificate for --tlsverify',
};

function groupHelp(name: string): string {
  const g = GROUPS[name];
  if (!g) return '';
  const rows = Object.keys(g.subs)
    .filter((s) => !HIDDEN_SUBS.has(s) && !HIDDEN_SUBS.has(`${name} ${s}`))
    .sort()
    .map((s) => `  ${s.padEnd(12)}${SUB_DESCRIPTIONS[`${name} ${s}`] ?? DESCRIPTIONS[s] ?? ''}`.trimEnd());
  return [
    `Usage:  ${CLI_NAME} ${name} COMMAND`,
    '',
    g.description,
    '',
    'Commands:',
    ...rows,
    '',
    `Run '${CLI_NAME} ${name} COMMAND --help' for more information on a command.`,
    '',
  ].join('\n');
}

function commandHelp(def: CommandDef, path: string): string {
  const parts = [`Usage:  ${CLI_NAME} ${path} ${def.usage}`.trimEnd(), '', def.description, ''];
  if (def.aliases?.length) parts.push('Aliases:', `  ${def.aliases.map((a) => `${CLI_NAME} ${a}`).join(', ')}`, '');
  if (def.flags.some((f) => !f.hidden)) parts.push('Options:', formatFlagHelp(def.flags));
  return `${parts.join('\n')}\n`;
}

function argsError(def: CommandDef, path: string, n: number): string | undefined {
  const min = def.args?.min ?? 0;
  const max = def.args?.max ?? Infinity;
  if (n >= min && n <= max) return undefined;
  const plural = (k: number): string => `${k} argument${k === 1 ? '' : 's'}`;
  let what: string;
  let verb = 'Run';
  if (max === 0) what = 'accepts no arguments';
  else if (min === max) what = `requires ${plural(min)}`;
  else if (n < min) {
    what = `requires at least ${plural(min)}`;
    verb = 'See';
  } else what = `requires at most ${plural(max)}`;
  return `${CLI_NAME}: '${CLI_NAME} ${path}' ${what}\n\nUsage:  ${CLI_NAME} ${path} ${def.usage}\n\n${verb} '${CLI_NAME} ${path} --help' for more information`;
}

async function resolveCommand(words: string[]): Promise<{ def: CommandDef; path: string; rest: string[] } | { help: string; code: number }> {
  const [first, ...rest] = words;
  if (first === undefined) return { help: topHelp(), code: 0 };
  const group = GROUPS[first];
  if (group) {
    const [sub, ...subRest] = rest;
    if (sub === undefined || sub === '--help' || sub === '-h') return { help: groupHelp(first), code: 0 };
    const key = group.subs[sub];
    if (!key) {
      return {
        help: `${CLI_NAME}: unknown command: ${CLI_NAME} ${first} ${sub}\n\nUsage:  ${CLI_NAME} ${first}\n\nRun '${CLI_NAME} ${first} --help' for more information\n`,
        code: -1,
      };
    }
    const [modName, modKey] = key.includes(':') ? (key.split(':') as [ModuleName, string]) : [group.module, key];
    const mod = await loaders[modName]();
    const def = mod.commands[modKey];
    if (!def) throw new Error(`internal: missing command ${first} ${key}`);
    return { def, path: `${first} ${sub}`, rest: subRest };
  }
  const top = TOP[first];
  if (!top) return { help: `${CLI_NAME}: unknown command: ${CLI_NAME} ${first}\n\nRun '${CLI_NAME} --help' for more information\n`, code: -1 };
  const mod = await loaders[top[0]]();
  const def = mod.commands[top[1]];
  if (!def) throw new Error(`internal: missing command ${first}`);
  return { def, path: first, rest };
}

/** Runs the CLI with the given arguments (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let globals;
  try {
    globals = parseFlags(argv, GLOBAL_FLAGS, { interspersed: false });
  } catch (e) {
    if (e instanceof FlagError) {
      process.stderr.write(`${e.message}\nSee '${CLI_NAME} --help'.\n`);
      return 125;
    }
    throw e;
  }
  const configDir = globals.string('config');
  if (configDir) process.env['DOCKER_CONFIG'] = configDir;
  const cli = new Cli({
    host: globals.list('host').at(-1),
    debug: globals.bool('debug'),
    tls: {
      tls: globals.has('tls') ? globals.bool('tls') : undefined,
      tlsVerify: globals.has('tlsverify') ? globals.bool('tlsverify') : undefined,
      caFile: globals.string('tlscacert'),
      certFile: globals.string('tlscert'),
      keyFile: globals.string('tlskey'),
    },
  });
  if (globals.bool('version')) {
    cli.println(`Berth version ${(await import('./common.js')).CLI_VERSION}`);
    return 0;
  }
  if (globals.bool('help')) {
    cli.print(topHelp());
    return 0;
  }
  const resolved = await resolveCommand(globals.args);
  if ('help' in resolved) {
    if (resolved.code < 0) {
      cli.err.write(resolved.help);
      return 1;
    }
    cli.print(resolved.help);
    return resolved.code;
  }
  const { def, path, rest } = resolved;
  if (def.rawArgs) {
    try {
      return (await def.run(cli, new ParsedFlags(new Map(), rest, []), { commandPath: path })) ?? 0;
    } catch (e) {
      return reportError(cli, e);
    } finally {
      cli.close();
    }
  }
  let flags;
  try {
    const specs: FlagSpec[] = def.flags.some((f) => f.long === 'help')
      ? def.flags
      : [...def.flags, { long: 'help', type: 'bool', hidden: true, description: 'Print usage' }];
    flags = parseFlags(rest, specs, { interspersed: def.interspersed ?? true });
  } catch (e) {
    if (e instanceof FlagError) {
      cli.err.write(`${e.message}\n\nUsage:  ${CLI_NAME} ${path} ${def.usage}\n\nRun '${CLI_NAME} ${path} --help' for more information\n`);
      return 125;
    }
    throw e;
  }
  if (flags.bool('help')) {
    cli.print(commandHelp(def, path));
    return 0;
  }
  const argErr = argsError(def, path, flags.args.length);
  if (argErr) {
    cli.eprintln(argErr);
    return 1;
  }
  try {
    const code = await def.run(cli, flags, { commandPath: path });
    return code ?? 0;
  } catch (e) {
    if (e instanceof FlagError) {
      cli.err.write(`${e.message}\n\nUsage:  ${CLI_NAME} ${path} ${def.usage}\n\nRun '${CLI_NAME} ${path} --help' for more information\n`);
      return 125;
    }
    return reportError(cli, e);
  } finally {
    cli.close();
  }
}

function reportError(cli: Cli, e: unknown): number {
  if (e instanceof StatusError) {
    if (e.status) cli.eprintln(e.status);
    return e.statusCode === 0 ? 1 : e.statusCode;
  }
  if (e instanceof MultiError || e instanceof ApiError || e instanceof ConnectionError) {
    cli.eprintln(describeError(e));
    return 1;
  }
  if (e instanceof Error) {
    if (cli.debug && e.stack) cli.eprintln(e.stack);
    else cli.eprintln(e.message);
    return 1;
  }
  cli.eprintln(String(e));
  return 1;
}

const isEntry = (): boolean => {
  const script = process.argv[1] ?? '';
  return /(?:^|[/\\])(berth(?:\.mjs)?|main\.(?:js|ts))$/.test(script);
};

if (isEntry()) runEntry(main);

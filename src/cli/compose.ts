/**
 * `berth compose [-f FILE]... [-p NAME] [--project-directory D] [--profile P] [--env-file F]
 * COMMAND`: docker compose v2's command line over the compose engine (src/compose/engine/).
 * This module owns the global flags, the project loading and the dispatch; the commands are in
 * compose-commands.ts (lifecycle and listings) and compose-attach.ts (logs, attached up, exec,
 * run, cp). The same program is the docker CLI plugin bin/docker-compose (compose-plugin.ts).
 */
import { BerthError } from '../lib/errors.js';
import { writerProgress, type ProgressSink } from '../compose/engine/index.js';
import type { LoadOptions, Project } from '../compose/model/types.js';
import { StatusError, type Cli, type CommandDef } from './common.js';
import { FlagError, formatFlagHelp, parseFlags, type FlagSpec, type ParsedFlags } from './flags.js';

/** How help and usage name the program: bin/docker-compose sets 'docker compose'. */
export const composeProgram = { name: 'berth compose' };

export const COMPOSE_GLOBAL_FLAGS: FlagSpec[] = [
  { long: 'file', short: 'f', type: 'list', description: 'Compose configuration files' },
  { long: 'project-name', short: 'p', type: 'string', description: 'Project name' },
  {
    long: 'project-directory',
    type: 'string',
    description: 'Specify an alternate working directory\n(default: the path of the, first specified, Compose file)',
  },
  { long: 'profile', type: 'list', description: 'Specify a profile to enable' },
  { long: 'env-file', type: 'list', description: 'Specify an alternate environment file' },
  { long: 'progress', type: 'string', description: 'Set type of progress output (auto, tty, plain, json, quiet)', defaultValue: 'auto' },
  { long: 'ansi', type: 'string', description: 'Control when to print ANSI control characters ("never"|"always"|"auto")', defaultValue: 'auto' },
  { long: 'parallel', type: 'int', description: 'Control max parallelism, -1 for unlimited', defaultValue: -1 },
  { long: 'compatibility', type: 'bool', description: 'Run compose in backward compatibility mode' },
  { long: 'dry-run', type: 'bool', description: 'Execute command in dry run mode' },
  { long: 'all-resources', type: 'bool', description: 'Include all resources, even those not used by services' },
  { long: 'version', short: 'v', type: 'bool', hidden: true, description: 'Show the Docker Compose version information' },
  { long: 'help', short: 'h', type: 'bool', hidden: true, description: 'Print usage' },
];

/** What every compose command gets: the CLI, its flags, and the project (loaded on demand). */
export class ComposeContext {
  private loaded: Project | undefined;

  constructor(
    readonly cli: Cli,
    readonly globals: ParsedFlags,
    readonly flags: ParsedFlags,
    readonly command = '',
  ) {}

  get client(): Cli['client'] {
    return this.cli.client;
  }

  loadOptions(): LoadOptions {
    const g = this.globals;
    return {
      ...(g.list('file').length
        ? { files: g.list('file') }
        : process.env['COMPOSE_FILE']
          ? { files: process.env['COMPOSE_FILE'].split(process.env['COMPOSE_PATH_SEPARATOR'] ?? ':') }
          : {}),
      ...(g.string('project-name') ? { projectName: g.string('project-name') } : {}),
      ...(g.string('project-directory') ? { projectDirectory: g.string('project-directory') } : {}),
      ...(g.list('profile').length ? { profiles: g.list('profile') } : {}),
      ...(g.list('env-file').length ? { envFiles: g.list('env-file') } : {}),
      cwd: process.cwd(),
    };
  }

  async project(): Promise<Project> {
    if (!this.loaded) {
      const { loadProject } = await import('../compose/model/load.js');
      this.loaded = await loadProject({ ...this.loadOptions(), warn: this.warn, enableServices: this.serviceArgs() });
    }
    return this.loaded;
  }

  /** The services named on the command line (their profiles become active). */
  serviceArgs(): string[] {
    const a = this.flags.args;
    if (['run', 'exec', 'port'].includes(this.command)) return a.slice(0, 1);
    if (this.command === 'cp') return a.filter((x) => /^[^./][^:]*:/.test(x)).map((x) => x.slice(0, x.indexOf(':')));
    return a;
  }

  /** The project name: -p or COMPOSE_PROJECT_NAME without loading, else the model's. */
  async projectName(): Promise<string> {
    const p = this.globals.string('project-name') ?? process.env['COMPOSE_PROJECT_NAME'];
    if (p) return p;
    return (await this.project()).name;
  }

  /** The model when a compose file is at hand (commands that also work from -p alone). */
  async maybeProject(): Promise<Project | undefined> {
    try {
      return await this.project();
    } catch (e) {
      if (this.globals.string('project-name') && /no configuration file provided/.test((e as Error).message)) return undefined;
      throw e;
    }
  }

  get tty(): boolean {
    const ansi = this.globals.string('ansi');
    if (ansi === 'never') return false;
    if (ansi === 'always') return true;
    const progress = this.globals.string('progress');
    if (progress === 'plain' || progress === 'quiet') return false;
    if (progress === 'tty') return true;
    return (this.cli.err as NodeJS.WriteStream).isTTY === true;
  }

  get colour(): boolean {
    const ansi = this.globals.string('ansi');
    if (ansi === 'never' || this.flags.bool('no-color')) return false;
    if (ansi === 'always') return true;
    return (this.cli.out as NodeJS.WriteStream).isTTY === true;
  }

  /** A progress sink on stderr and its stop function. */
  progress(verb = 'Running'): { sink: ProgressSink; stop: () => void } {
    if (this.globals.string('progress') === 'quiet') return { sink: () => undefined, stop: () => undefined };
    return writerProgress(this.cli.err, { tty: this.tty, verb });
  }

  warn = (msg: string): void => {
    this.cli.eprintln(this.tty ? `\x1b[33mWARN\x1b[0m[0000] ${msg}` : `WARN[0000] ${msg}`);
  };
}

export interface ComposeCommand {
  usage: string;
  description: string;
  flags: FlagSpec[];
  interspersed?: boolean;
  args?: { min?: number; max?: number };
  run(ctx: ComposeContext): Promise<number | void>;
}

async function commandTable(): Promise<Record<string, ComposeCommand>> {
  const [a, b] = await Promise.all([import('./compose-commands.js'), import('./compose-attach.js')]);
  return { ...a.composeCommands, ...b.composeAttachCommands };
}

function composeHelp(table: Record<string, ComposeCommand>, prog: string): string {
  const rows = Object.entries(table)
    .sort((x, y) => x[0].localeCompare(y[0]))
    .map(([n, c]) => `  ${n.padEnd(16)}${c.description}`);
  return [
    `Usage:  ${prog} [OPTIONS] COMMAND`,
    '',
    'Define and run multi-container applications with Docker',
    '',
    'Options:',
    formatFlagHelp(COMPOSE_GLOBAL_FLAGS),
    '',
    'Commands:',
    ...rows,
    '',
    `Run '${prog} COMMAND --help' for more information on a command.`,
    '',
  ].join('\n');
}

/** Prints a compose error as v2 does and turns it into the exit status. */
function fail(cli: Cli, e: unknown): number {
  if (e instanceof StatusError) {
    if (e.status) cli.eprintln(e.status);
    return e.statusCode || 1;
  }
  if (e instanceof BerthError || e instanceof Error) {
    cli.eprintln(e.message);
    return e instanceof FlagError ? 125 : 1;
  }
  cli.eprintln(String(e));
  return 1;
}

export async function composeMain(cli: Cli, argv: string[], prog = composeProgram.name): Promise<number> {
  let globals: ParsedFlags;
  try {
    globals = parseFlags(argv, COMPOSE_GLOBAL_FLAGS, { interspersed: false });
  } catch (e) {
    return fail(cli, e);
  }
  const table = await commandTable();
  const [name, ...rest] = globals.args;
  if (globals.bool('version') && name === undefined) {
    cli.println(`Docker Compose version v${(await import('../compose/engine/labels.js')).COMPOSE_VERSION} (Berth)`);
    return 0;
  }
  if (name === undefined || globals.bool('help')) {
    cli.print(composeHelp(table, prog));
    return 0;
  }
  if (globals.bool('dry-run')) {
    // refused rather than ignored: a dry run that acts would be worse than none
    cli.eprintln('--dry-run is not supported by berth compose yet');
    return 1;
  }
  const cmd = table[name];
  if (!cmd) {
    cli.eprintln(`unknown docker command: "compose ${name}"`);
    return 1;
  }
  let flags: ParsedFlags;
  try {
    const specs = cmd.flags.some((f) => f.long === 'help')
      ? cmd.flags
      : [...cmd.flags, { long: 'help', short: 'h', type: 'bool' as const, hidden: true, description: 'Print usage' }];
    flags = parseFlags(rest, specs, { interspersed: cmd.interspersed ?? true });
  } catch (e) {
    if (e instanceof FlagError) {
      cli.eprintln(e.message);
      return 1;
    }
    throw e;
  }
  if (flags.bool('help')) {
    cli.print(`Usage:  ${prog} ${name} ${cmd.usage}\n\n${cmd.description}\n\nOptions:\n${formatFlagHelp(cmd.flags)}\n`);
    return 0;
  }
  const min = cmd.args?.min ?? 0;
  const max = cmd.args?.max ?? Infinity;
  if (flags.args.length < min || flags.args.length > max) {
    cli.eprintln(
      `"${prog} ${name}" requires ${min === max ? `exactly ${min}` : flags.args.length < min ? `at least ${min}` : `at most ${max}`} argument${(flags.args.length < min ? min : max) === 1 ? '' : 's'}.\nSee '${prog} ${name} --help'.\n\nUsage:  ${prog} ${name} ${cmd.usage}`,
    );
    return 1;
  }
  try {
    return (await cmd.run(new ComposeContext(cli, globals, flags, name))) ?? 0;
  } catch (e) {
    return fail(cli, e);
  }
}

/** `compose` in berth's command table (main.ts): everything after it is compose's own. */
export const commands: Record<string, CommandDef> = {
  compose: {
    name: 'compose',
    usage: '[OPTIONS] COMMAND',
    description: 'Define and run multi-container applications',
    flags: [],
    rawArgs: true,
    run: (cli, flags) => composeMain(cli, flags.args),
  },
};

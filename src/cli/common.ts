/**
 * What every command module shares: the CLI context, command definitions, the error types
 * that decide exit codes, and output helpers.
 */
import type { Writable } from 'node:stream';
import { EngineClient } from '../client/client.js';
import { resolveClientTls, tlsEnabled, type TlsFlags } from '../client/tls.js';
import { parseHost, resolveHost } from '../client/host.js';
import { ApiError, ConnectionError } from '../client/errors.js';
import type { FlagSpec, ParsedFlags } from './flags.js';
import { FormatError } from './format.js';
import { Template, TemplateError, type ExecuteOptions } from './template.js';

export const CLI_NAME = 'berth';
export const CLI_VERSION = '0.1.0';

export interface CliOptions {
  host?: string | undefined;
  /** --tls, --tlsverify, --tlscacert, --tlscert, --tlskey as given. */
  tls?: TlsFlags;
  debug?: boolean;
  stdout?: Writable;
  stderr?: Writable;
}

/** The CLI's context: output streams and a lazily created API client. */
export class Cli {
  readonly out: Writable;
  readonly err: Writable;
  readonly debug: boolean;
  private readonly hostFlag: string | undefined;
  private readonly tlsFlags: TlsFlags;
  private clientInstance: EngineClient | undefined;

  constructor(options: CliOptions = {}) {
    this.out = options.stdout ?? process.stdout;
    this.err = options.stderr ?? process.stderr;
    this.debug = options.debug ?? false;
    this.hostFlag = options.host;
    this.tlsFlags = options.tls ?? {};
  }

  get client(): EngineClient {
    if (!this.clientInstance) {
      const apiVersion = process.env['BERTH_API_VERSION'];
      const host = resolveHost({ flag: this.hostFlag, tls: tlsEnabled(this.tlsFlags) });
      let tls;
      try {
        tls = parseHost(host).kind === 'tcp' ? resolveClientTls(this.tlsFlags) : undefined;
      } catch (err) {
        throw new StatusError(1, `Failed to initialize: ${(err as Error).message}`);
      }
      this.clientInstance = new EngineClient({ host, tls: tls ?? false, ...(apiVersion ? { apiVersion } : {}) });
    }
    return this.clientInstance;
  }

  print(s: string): void {
    this.out.write(s);
  }

  println(s = ''): void {
    this.out.write(`${s}\n`);
  }

  eprintln(s = ''): void {
    this.err.write(`${s}\n`);
  }

  close(): void {
    this.clientInstance?.close();
  }
}

export interface CommandDef {
  /** e.g. "stop", or "image ls" style names are resolved by main.ts */
  name: string;
  /** the usage line after "Usage:  berth " */
  usage: string;
  description: string;
  aliases?: string[];
  flags: FlagSpec[];
  /** false for run/create/exec: flags end at the first positional */
  interspersed?: boolean;
  args?: { min?: number; max?: number };
  /** the command parses its own arguments (compose): main.ts hands them over untouched as flags.args */
  rawArgs?: boolean;
  run(cli: Cli, flags: ParsedFlags, ctx: { commandPath: string }): Promise<number | void>;
}

/** Exit with a code, optionally printing a message to stderr (docker's cli.StatusError). */
export class StatusError extends Error {
  readonly statusCode: number;
  readonly status: string;
  constructor(statusCode: number, status = '') {
    super(status || `exit status ${statusCode}`);
    this.name = 'StatusError';
    this.statusCode = statusCode;
    this.status = status;
  }
}

/** Several errors from a multi-target command, printed one per line. */
export class MultiError extends Error {
  readonly errors: unknown[];
  constructor(errors: unknown[]) {
    super(errors.map(describeError).join('\n'));
    this.name = 'MultiError';
    this.errors = errors;
  }
}

/** The text docker prints for an error. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.describe();
  if (err instanceof ConnectionError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 404;
}

/**
 * Runs `fn` for each target concurrently (docker's parallel operation), prints each target
 * that succeeded in order, and fails with the joined errors.
 */
export async function forEachTarget(
  cli: Cli,
  targets: readonly string[],
  fn: (target: string) => Promise<void>,
  options: { print?: boolean } = {},
): Promise<void> {
  const results = await Promise.allSettled(targets.map((t) => fn(t)));
  const errors: unknown[] = [];
  results.forEach((r, i) => {
    if (r.status === 'rejected') errors.push(r.reason);
    else if (options.print !== false) cli.println(targets[i]);
  });
  if (errors.length) throw new MultiError(errors);
}

/** Waits until everything written to a stream has been handed to the OS. */
export function flushStream(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}

/**
 * docker's PromptForConfirmation: writes `prompt` to `out`, reads one line from stdin, and is
 * true when the answer is y or yes (an empty stdin is no).
 */
export async function promptYes(out: Writable, prompt: string): Promise<boolean> {
  out.write(prompt);
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin });
  const line = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return /^y(es)?$/i.test(line.trim());
}

/** docker's prompt before a destructive command: true when the user answers y or yes. */
export async function confirm(cli: Cli, warning: string): Promise<boolean> {
  return promptYes(cli.out, `${warning}\nAre you sure you want to continue? [y/N] `);
}

/**
 * How a list command words a --format template that fails: `failed to parse template: …` /
 * `failed to execute template: …` (ps, stats, events), or `template parsing error: …` whatever
 * failed (images, volume ls, the image and system tables), as the docker CLI's commands do.
 */
export type FormatWording = 'phase' | 'parsing';

/** Runs a `renderRows` call; a --format template failure becomes exit 1 with the command's wording. */
export function withFormatErrors<T>(render: () => T, wording: FormatWording = 'phase'): T {
  try {
    return render();
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    if (wording === 'parsing') throw new StatusError(1, `template parsing error: ${e.message}`);
    throw new StatusError(1, `failed to ${e.phase === 'parse' ? 'parse' : 'execute'} template: ${e.message}`);
  }
}

/**
 * The --format template of inspect, version and info: `\t` and `\n` typed literally become a
 * tab and a newline, and a template that does not parse exits 64 (docker's
 * `template parsing error: …`).
 */
export function parseFormatTemplate(format: string, options: ExecuteOptions = {}): Template {
  try {
    return new Template(format.replace(/\\t/g, '\t').replace(/\\n/g, '\n'), options);
  } catch (e) {
    if (e instanceof TemplateError) throw new StatusError(64, `template parsing error: ${e.message}`);
    throw e;
  }
}

/**
 * version and info with --format: prints the template's result; a failed execution prints an
 * empty line and exits 1 with the template's message.
 */
export function printFormatTemplate(cli: Cli, tmpl: Template, data: unknown): void {
  let text: string;
  try {
    text = tmpl.execute(data);
  } catch (e) {
    if (e instanceof TemplateError) {
      cli.println();
      throw new StatusError(1, e.message);
    }
    throw e;
  }
  cli.println(text);
}

/**
 * Runs a CLI entry (berth, bin/docker-compose): a closed pipe on stdout (`berth logs -f x | head`)
 * ends it quietly, as SIGPIPE ends docker; the exit code once stdout and stderr are flushed.
 */
export function runEntry(entry: (argv: string[]) => Promise<number>): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(141);
      throw e;
    });
  }
  entry(process.argv.slice(2)).then(
    async (code) => {
      await Promise.all([flushStream(process.stdout), flushStream(process.stderr)]);
      process.exit(code);
    },
    async (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      await flushStream(process.stderr);
      process.exit(1);
    },
  );
}

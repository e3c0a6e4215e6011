/**
 * `berth exec`: docker's RunExec. Inspect the container first (so "No such container" wins),
 * check the TTY, create the exec, then either start it detached or hijack its start and pump
 * the streams; the process's exit code (GET /exec/{id}/json) becomes berth's.
 */
import { ApiError, ConnectionError } from '../client/errors.js';
import type { ExecCreateRequest, ExecInspect } from '../client/types.js';
import { StatusError, describeError, type Cli } from './common.js';
import type { FlagSpec, ParsedFlags } from './flags.js';
import { parseEnvEntry, readEnvFile } from './runopts.js';
import { checkTty, consoleSize, runSession } from './session.js';

export const EXEC_FLAGS: FlagSpec[] = [
  { long: 'detach', short: 'd', type: 'bool', description: 'Detached mode: run command in the background' },
  { long: 'detach-keys', type: 'string', description: 'Override the key sequence for detaching a container' },
  { long: 'env', short: 'e', type: 'list', description: 'Set environment variables' },
  { long: 'env-file', type: 'list', description: 'Read in a file of environment variables' },
  { long: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' },
  { long: 'privileged', type: 'bool', description: 'Give extended privileges to the command' },
  { long: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
  { long: 'user', short: 'u', type: 'string', description: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
  { long: 'workdir', short: 'w', type: 'string', description: 'Working directory inside the container' },
];

/** The exec request docker's parseExec builds from the flags. */
export function buildExecConfig(flags: ParsedFlags, env: NodeJS.ProcessEnv = process.env): ExecCreateRequest {
  const [, ...cmd] = flags.args;
  const detach = flags.bool('detach');
  const envList: string[] = [];
  for (const f of flags.list('env-file')) envList.push(...readEnvFile(f, env));
  for (const e of flags.list('env')) envList.push(parseEnvEntry(e, env));
  const config: ExecCreateRequest = {
    User: flags.string('user') ?? '',
    Privileged: flags.bool('privileged'),
    Tty: flags.bool('tty'),
    AttachStdin: !detach && flags.bool('interactive'),
    AttachStdout: !detach,
    AttachStderr: !detach,
    Detach: detach,
    DetachKeys: flags.string('detach-keys') ?? '',
    Env: envList,
    WorkingDir: flags.string('workdir') ?? '',
    Cmd: cmd,
  };
  return config;
}

/** Maps an exec start failure to an exit code the way run maps start failures (126 otherwise). */
function execErrorExitCode(message: string): number {
  if (message.includes('executable file not found') || message.includes('no such file or directory')) return 127;
  return 126;
}

/** The exec's exit code once it has finished (the daemon records it as the stream closes). */
async function execExitCode(cli: Cli, id: string): Promise<number | undefined> {
  const deadline = Date.now() + 5000;
  let info: ExecInspect;
  for (;;) {
    try {
      info = await cli.client.execInspect(id);
    } catch (e) {
      // If we can't connect, the daemon probably died (docker: StatusError{-1} → 255)
      if (e instanceof ConnectionError) return 255;
      throw e;
    }
    if ((!info.Running && info.ExitCode !== null) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return info.ExitCode ?? undefined;
}

export async function execCommand(cli: Cli, flags: ParsedFlags): Promise<number> {
  const container = flags.args[0] as string;
  let config: ExecCreateRequest;
  try {
    config = buildExecConfig(flags);
  } catch (e) {
    throw new StatusError(1, describeError(e));
  }
  // An inspect first, so "No such container" takes precedence over a TTY error (as docker).
  await cli.client.containerInspect(container);
  if (!config.Detach) checkTty(config.AttachStdin === true, config.Tty === true);
  const size = consoleSize(config.Tty === true);
  if (size) config.ConsoleSize = size;
  const { Id: id } = await cli.client.execCreate(container, config);
  if (!id) throw new Error('exec ID empty');
  if (config.Detach) {
    await cli.client.execStart(id, { Detach: true, Tty: config.Tty === true, ...(size ? { ConsoleSize: size } : {}) });
    return 0;
  }
  const tty = config.Tty === true;
  let hijacked;
  try {
    hijacked = await cli.client.execAttach(id, { Tty: tty, ...(size ? { ConsoleSize: size } : {}) });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    cli.eprintln(describeError(e));
    const code = await execExitCode(cli, id).catch(() => undefined);
    return code !== undefined && code !== 0 ? code : execErrorExitCode(e.message);
  }
  const session = await runSession(cli, hijacked, {
    tty,
    stdin: config.AttachStdin === true,
    detachKeys: config.DetachKeys,
    // docker monitors the exec's size only when its stdin is a terminal
    resize: tty && process.stdin.isTTY ? (s) => cli.client.execResize(id, s) : undefined,
  });
  if (session.detached) throw new StatusError(1, 'read escape sequence');
  const code = await execExitCode(cli, id);
  return code ?? 0;
}

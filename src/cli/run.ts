/**
 * `run` and `create`: the create plan from the flags, the pull when the image is missing, and
 * run's attach, start, wait and exit code as the docker CLI reports them.
 */
import type { ApiError } from '../client/errors.js';
import type { HijackedStream } from '../client/client.js';
import { type Cli, describeError, isNotFound } from './common.js';
import { FlagError, type ParsedFlags } from './flags.js';
import { familiarWithDefaultTag, parseReference } from './reference.js';
import { buildCreatePlan, type CreatePlan } from './runopts.js';
import { checkTty, consoleSize, proxySignals, runSession } from './session.js';

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

export async function runCommand(cli: Cli, flags: ParsedFlags): Promise<number> {
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

export async function createCommand(cli: Cli, flags: ParsedFlags): Promise<number> {
  const plan = buildCreatePlan(flags, { forRun: false });
  const id = await createContainer(cli, plan, { pull: flags.string('pull') ?? 'missing', quiet: flags.bool('quiet') });
  cli.println(id);
  return 0;
}

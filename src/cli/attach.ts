/**
 * `start` and `attach`: starting containers, and attaching to one (with `start -a`/`-i`) until it
 * exits or the user types the detach sequence.
 */
import { type Cli, StatusError, describeError } from './common.js';
import type { ParsedFlags } from './flags.js';
import { checkTty, proxySignals, runSession } from './session.js';

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
  const wait = await client.containerWait(cid, {
    condition: options.start && info.HostConfig.AutoRemove ? 'removed' : options.start ? 'next-exit' : 'not-running',
  });
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

export async function startCommand(cli: Cli, flags: ParsedFlags): Promise<number> {
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

export async function attachCommand(cli: Cli, flags: ParsedFlags): Promise<number> {
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

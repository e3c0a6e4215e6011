/**
 * The container life-cycle commands that act on one or more targets: stop, restart, kill, rm,
 * pause, unpause, wait, rename, update, and `container prune`.
 */
import { encodeFilters } from '../client/client.js';
import type { Resources, RestartPolicy } from '../client/types.js';
import { parseFilterFlags } from '../lib/filters.js';
import { type Cli, StatusError, confirm, describeError, forEachTarget, isNotFound } from './common.js';
import type { FlagSpec, ParsedFlags } from './flags.js';
import { humanSize, parseMemory } from './format.js';
import { parseCpus, parseMemorySwap, parseRestartPolicy } from './runopts.js';

export async function stopCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const timeout = flags.has('timeout') ? flags.int('timeout') : flags.has('time') ? flags.int('time') : undefined;
  const signal = flags.string('signal');
  await forEachTarget(cli, flags.args, (n) => cli.client.containerStop(n, { signal, timeout }));
}

export async function restartCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const timeout = flags.has('timeout') ? flags.int('timeout') : flags.has('time') ? flags.int('time') : undefined;
  const signal = flags.string('signal');
  await forEachTarget(cli, flags.args, (n) => cli.client.containerRestart(n, { signal, timeout }));
}

export async function killCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  await forEachTarget(cli, flags.args, (n) => cli.client.containerKill(n, { signal: flags.string('signal') }));
}

/** `container prune`: the docker CLI's prompt, list of deleted IDs and reclaimed total. */
export async function pruneCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
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

export async function rmCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
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

export async function pauseCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  await forEachTarget(cli, flags.args, (n) => cli.client.containerPause(n));
}

export async function unpauseCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  await forEachTarget(cli, flags.args, (n) => cli.client.containerUnpause(n));
}

export async function waitCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
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

export async function renameCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const [oldName = '', newName = ''] = flags.args.map((s) => s.trim());
  if (oldName === '' || newName === '') throw new Error('Error: Neither old nor new names may be empty');
  try {
    await cli.client.containerRename(oldName, newName);
  } catch (e) {
    throw new Error(`${describeError(e)}\nError: failed to rename container named ${oldName}`);
  }
}

export async function updateCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
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

export const TIMEOUT_FLAGS: FlagSpec[] = [
  { long: 'signal', short: 's', type: 'string', description: 'Signal to send to the container' },
  { long: 'timeout', short: 't', type: 'int', description: 'Seconds to wait before killing the container' },
  { long: 'time', type: 'int', hidden: true, description: 'Seconds to wait before killing the container (deprecated: use --timeout)' },
];

export const UPDATE_FLAGS: FlagSpec[] = [
  { long: 'cpu-shares', short: 'c', type: 'int', description: 'CPU shares (relative weight)' },
  { long: 'cpus', type: 'string', valueName: 'decimal', description: 'Number of CPUs' },
  { long: 'cpuset-cpus', type: 'string', description: 'CPUs in which to allow execution (0-3, 0,1)' },
  { long: 'memory', short: 'm', type: 'string', valueName: 'bytes', description: 'Memory limit' },
  { long: 'memory-swap', type: 'string', valueName: 'bytes', description: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap' },
  { long: 'pids-limit', type: 'int', description: 'Tune container pids limit (set -1 for unlimited)' },
  { long: 'restart', type: 'string', description: 'Restart policy to apply when a container exits' },
];

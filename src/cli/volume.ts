/**
 * Volume commands: volume create / ls / inspect / rm / prune, as the docker CLI prints them.
 */
import { encodeFilters } from '../client/client.js';
import { StatusError, confirm, describeError, withFormatErrors, type Cli, type CommandDef } from './common.js';
import { parseFilterFlags as parseFilters } from '../lib/filters.js';
import type { ParsedFlags } from './flags.js';
import { bytesSize, humanSize, renderRows } from './format.js';
import { runInspect } from './inspect.js';

interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string> | null;
  Scope: string;
  CreatedAt: string;
  Options: Record<string, string> | null;
}

/** KEY=VALUE list → map (a bare KEY gets ''). */
function keyValues(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf('=');
    if (i < 0) out[l] = '';
    else out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

async function createCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const [arg] = flags.args;
  const nameFlag = flags.string('name');
  if (arg !== undefined && nameFlag !== undefined && nameFlag !== arg) {
    throw new StatusError(1, `conflicting options: cannot specify a volume-name through both --name and as a positional arg`);
  }
  const v = await cli.client.json<Volume>({
    method: 'POST',
    path: '/volumes/create',
    json: {
      Name: arg ?? nameFlag ?? '',
      Driver: flags.string('driver') ?? 'local',
      DriverOpts: keyValues(flags.list('opt')),
      Labels: keyValues(flags.list('label')),
    },
  });
  cli.println(v.Name);
}

const HEADERS: Record<string, string> = {
  Name: 'VOLUME NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  Mountpoint: 'MOUNTPOINT',
  Labels: 'LABELS',
  CreatedAt: 'CREATED',
  Size: 'SIZE',
  Links: 'LINKS',
};

function volumeContext(v: Volume & { UsageData?: { Size: number; RefCount: number } }): Record<string, unknown> {
  return {
    Name: () => v.Name,
    Driver: () => v.Driver,
    Scope: () => v.Scope,
    Mountpoint: () => v.Mountpoint,
    CreatedAt: () => v.CreatedAt,
    Labels: () =>
      Object.entries(v.Labels ?? {})
        .map(([k, val]) => `${k}=${val}`)
        .join(','),
    Label: (k: string) => v.Labels?.[k] ?? '',
    Size: () => (v.UsageData && v.UsageData.Size >= 0 ? bytesSize(v.UsageData.Size) : 'N/A'),
    Links: () => (v.UsageData ? String(v.UsageData.RefCount) : 'N/A'),
  };
}

async function lsCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const filters = parseFilters(flags.list('filter'));
  let format = flags.string('format') ?? '';
  if (flags.bool('quiet')) format = '{{.Name}}';
  else if (format === '' || format === 'table') format = 'table {{.Driver}}\t{{.Name}}';
  const res = await cli.client.json<{ Volumes: Volume[] | null }>({ path: '/volumes', query: { filters: encodeFilters(filters) } });
  const rows = [...(res.Volumes ?? [])].sort((a, b) => a.Name.localeCompare(b.Name));
  cli.print(
    withFormatErrors(
      () => renderRows(rows, format, { toContext: volumeContext, headers: HEADERS, jsonFields: (v) => ({ ...volumeContextJson(v) }) }),
      'parsing',
    ),
  );
}

function volumeContextJson(v: Volume): Record<string, unknown> {
  return {
    Availability: 'N/A',
    Driver: v.Driver,
    Group: 'N/A',
    Labels: Object.entries(v.Labels ?? {})
      .map(([k, val]) => `${k}=${val}`)
      .join(','),
    Links: 'N/A',
    Mountpoint: v.Mountpoint,
    Name: v.Name,
    Scope: v.Scope,
    Size: 'N/A',
    Status: 'N/A',
  };
}

async function inspectCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  await runInspect(
    cli,
    flags.args,
    async (name) => {
      const v = await cli.client.json<unknown>({ path: `/volumes/${encodeURIComponent(name)}` });
      return JSON.stringify(v);
    },
    { format: flags.string('format') },
  );
}

async function rmCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const errors: string[] = [];
  for (const name of flags.args) {
    try {
      await cli.client.call({ method: 'DELETE', path: `/volumes/${encodeURIComponent(name)}`, query: { force: flags.bool('force') || undefined } });
      cli.println(name);
    } catch (e) {
      errors.push(describeError(e));
    }
  }
  if (errors.length) throw new StatusError(1, errors.join('\n'));
}

async function pruneCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const filters = parseFilters(flags.list('filter'));
  if (flags.bool('all')) (filters['all'] ??= []).push('true');
  const what = flags.bool('all') ? 'all local volumes not used by at least one container' : 'anonymous local volumes not used by at least one container';
  if (!flags.bool('force') && !(await confirm(cli, `WARNING! This will remove ${what}.`))) return;
  const res = await cli.client.json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>({
    method: 'POST',
    path: '/volumes/prune',
    query: { filters: encodeFilters(filters) },
  });
  const deleted = res.VolumesDeleted ?? [];
  if (deleted.length > 0) cli.println(['Deleted Volumes:', ...deleted, ''].join('\n'));
  cli.println(`Total reclaimed space: ${humanSize(res.SpaceReclaimed, 4)}`);
}

const def = (d: CommandDef): CommandDef => d;

export const commands: Record<string, CommandDef> = {
  create: def({
    name: 'create',
    usage: '[OPTIONS] [VOLUME]',
    description: 'Create a volume',
    flags: [
      { long: 'driver', short: 'd', type: 'string', description: 'Specify volume driver name', defaultValue: 'local' },
      { long: 'label', type: 'list', description: 'Set metadata for a volume' },
      { long: 'name', type: 'string', hidden: true },
      { long: 'opt', short: 'o', type: 'list', description: 'Set driver specific options' },
    ],
    args: { max: 1 },
    run: (cli, f) => createCommand(cli, f),
  }),
  ls: def({
    name: 'ls',
    usage: '[OPTIONS]',
    description: 'List volumes',
    aliases: ['volume ls', 'volume list'],
    flags: [
      { long: 'filter', short: 'f', type: 'list', valueName: 'filter', description: "Provide filter values (e.g. 'dangling=true')" },
      { long: 'format', type: 'string', description: 'Format output using a custom template' },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Only display volume names' },
    ],
    args: { max: 0 },
    run: (cli, f) => lsCommand(cli, f),
  }),
  inspect: def({
    name: 'inspect',
    usage: '[OPTIONS] VOLUME [VOLUME...]',
    description: 'Display detailed information on one or more volumes',
    flags: [{ long: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' }],
    args: { min: 1 },
    run: (cli, f) => inspectCommand(cli, f),
  }),
  rm: def({
    name: 'rm',
    usage: '[OPTIONS] VOLUME [VOLUME...]',
    description: 'Remove one or more volumes',
    aliases: ['volume rm', 'volume remove'],
    flags: [{ long: 'force', short: 'f', type: 'bool', description: 'Force the removal of one or more volumes' }],
    args: { min: 1 },
    run: (cli, f) => rmCommand(cli, f),
  }),
  prune: def({
    name: 'prune',
    usage: '[OPTIONS]',
    description: 'Remove unused local volumes',
    flags: [
      { long: 'all', short: 'a', type: 'bool', description: 'Remove all unused volumes, not just anonymous ones' },
      { long: 'filter', type: 'list', valueName: 'filter', description: "Provide filter values (e.g. 'label=<label>')" },
      { long: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
    ],
    args: { max: 0 },
    run: (cli, f) => pruneCommand(cli, f),
  }),
};

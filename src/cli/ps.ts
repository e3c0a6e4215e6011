/** `ps`: the container list, its columns and the object `ps --format` templates see. */
import type { ContainerSummary } from '../client/types.js';
import { parseFilterFlags } from '../lib/filters.js';
import { type Cli, withFormatErrors } from './common.js';
import type { ParsedFlags } from './flags.js';
import { displayablePorts, ellipsis, goQuote, goTimeString, humanDuration, humanSize, JSON_EXTRA, renderRows, truncateId } from './format.js';
import { parseReference } from './reference.js';
import { TYPE_NAME } from './template.js';

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
    Networks: () =>
      Object.keys(c.NetworkSettings?.Networks ?? {})
        .sort()
        .join(','),
  };
}

const PS_DEFAULT = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

export async function psCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  let format = flags.string('format') ?? '';
  const quiet = flags.bool('quiet');
  let size = flags.bool('size');
  if (format === '' || format === 'table') {
    format = quiet ? '{{.ID}}' : size ? `${PS_DEFAULT}\t{{.Size}}` : PS_DEFAULT;
  } else if (format === 'raw') {
    format = quiet
      ? 'container_id: {{.ID}}'
      : 'container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n';
  }
  if (format.includes('.Size') || format === 'json') size = size || format.includes('.Size');
  let limit = flags.int('last') ?? -1;
  if (flags.bool('latest')) limit = 1;
  const all = flags.bool('all') || limit > 0;
  const list = await cli.client.containerList({ all, limit: limit > 0 ? limit : undefined, size, filters: parseFilterFlags(flags.list('filter')) });
  const trunc = !flags.bool('no-trunc');
  cli.print(
    withFormatErrors(() =>
      renderRows(list, format, {
        toContext: (c) => containerContext(c, { trunc }),
        headers: PS_HEADERS,
      }),
    ),
  );
}

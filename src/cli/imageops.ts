/**
 * Image commands beyond the basics: save, load, history, image prune; and system df / system
 * prune. Output and prompts as the docker CLI prints them.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../client/errors.js';
import type { HistoryItem } from '../client/types.js';
import type { Cli } from './common.js';
import { confirm, withFormatErrors } from './common.js';
import type { ParsedFlags } from './flags.js';
import { ellipsis, humanDuration, humanSize, renderRows, truncateId } from './format.js';
import { displayJsonMessages } from './progress.js';
import { TYPE_NAME } from './template.js';
import { parseFilterFlags as parseFilters } from '../lib/filters.js';

async function readBody(res: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** A table or --format template over `rows`; template failures worded `template parsing error: …`. */
function render<T>(cli: Cli, rows: T[], format: string, toContext: (r: T) => Record<string, unknown>, headers: Record<string, string>): void {
  cli.print(withFormatErrors(() => renderRows(rows, format, { toContext, headers }), 'parsing'));
}

// ---------- save / load ----------

export async function saveCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const output = flags.string('output');
  if (!output && process.stdout.isTTY) throw new Error('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  const names = new URLSearchParams(flags.args.map((n) => ['names', n])).toString();
  const res = await cli.client.request({ path: `/images/get?${names}` });
  if (!output) {
    await pipeline(res, cli.out, { end: false });
    return;
  }
  // As docker: written to a temp file beside the target, renamed when complete.
  const dir = nodePath.dirname(output);
  const tmp = nodePath.join(dir, `.docker_temp_${process.pid}_${Date.now()}`);
  try {
    await pipeline(res, createWriteStream(tmp, { mode: 0o600 }));
    await fsp.rename(tmp, output);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw new Error(`failed to save image: ${(e as Error).message}`);
  }
}

export async function loadCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const input = flags.string('input');
  let body: Readable;
  if (input) {
    const s = createReadStream(input);
    await new Promise<void>((resolve, reject) => {
      s.once('open', () => resolve()).once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'ENOENT' ? new Error(`open ${input}: no such file or directory`) : e),
      );
    });
    body = s;
  } else {
    if (process.stdin.isTTY) throw new Error('requested load from stdin, but stdin is empty');
    body = process.stdin;
  }
  const quiet = flags.bool('quiet');
  const res = await cli.client.request({
    method: 'POST',
    path: '/images/load',
    query: { quiet: quiet ? '1' : '0' },
    headers: { 'Content-Type': 'application/x-tar' },
    body,
  });
  await displayJsonMessages(res, cli.out);
}

// ---------- history ----------

const HISTORY_HEADERS: Record<string, string> = {
  ID: 'IMAGE',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  CreatedBy: 'CREATED BY',
  Size: 'SIZE',
  Comment: 'COMMENT',
};

export async function historyCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const name = flags.args[0] as string;
  const res = await cli.client.request({ path: `/images/${encodeURIComponent(name)}/history` });
  const items = JSON.parse(await readBody(res)) as HistoryItem[];
  const trunc = !flags.bool('no-trunc');
  const human = flags.bool('human');
  let format = flags.string('format') ?? '';
  if (flags.bool('quiet')) format = '{{.ID}}';
  else if (format === '' || format === 'table') format = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
  const now = Date.now();
  render(
    cli,
    items,
    format,
    (h) => ({
      [TYPE_NAME]: '*formatter.historyContext',
      ID: () => (h.Id === '<missing>' ? h.Id : trunc ? truncateId(h.Id) : h.Id),
      CreatedSince: () => (human ? `${humanDuration(now - h.Created * 1000)} ago` : new Date(h.Created * 1000).toISOString().replace(/\.\d+Z$/, 'Z')),
      CreatedAt: () => new Date(h.Created * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      CreatedBy: () => {
        const by = h.CreatedBy.replaceAll('\t', ' ');
        return trunc ? ellipsis(by, 45) : by;
      },
      Size: () => (human ? humanSize(h.Size) : String(h.Size)),
      Comment: () => h.Comment,
    }),
    HISTORY_HEADERS,
  );
}

// ---------- prune ----------

interface ImagePruneReport {
  ImagesDeleted: Array<{ Untagged?: string; Deleted?: string }> | null;
  SpaceReclaimed: number;
}

async function pruneImages(cli: Cli, filters: Record<string, string[]>): Promise<ImagePruneReport> {
  const res = await cli.client.request({ method: 'POST', path: '/images/prune', query: { filters: JSON.stringify(filters) } });
  return JSON.parse(await readBody(res)) as ImagePruneReport;
}

function printImagesDeleted(cli: Cli, report: ImagePruneReport): void {
  const items = report.ImagesDeleted ?? [];
  if (items.length === 0) return;
  cli.println('Deleted Images:');
  for (const it of items) {
    if (it.Untagged) cli.println(`untagged: ${it.Untagged}`);
    if (it.Deleted) cli.println(`deleted: ${it.Deleted}`);
  }
  cli.println();
}

export async function imagePruneCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const filters = parseFilters(flags.list('filter'));
  const all = flags.bool('all');
  filters['dangling'] = [all ? 'false' : 'true'];
  const warning = all
    ? 'WARNING! This will remove all images without at least one container associated to them.'
    : 'WARNING! This will remove all dangling images.';
  if (!flags.bool('force') && !(await confirm(cli, warning))) return;
  const report = await pruneImages(cli, filters);
  printImagesDeleted(cli, report);
  cli.println(`Total reclaimed space: ${humanSize(report.SpaceReclaimed, 4)}`);
}

// ---------- system df / prune ----------

interface DfImage {
  Id: string;
  RepoTags: string[] | null;
  Created: number;
  Size: number;
  SharedSize: number;
  Containers: number;
}
interface DfContainer {
  Id: string;
  Names: string[];
  Image: string;
  Command: string;
  Created: number;
  State: string;
  Status: string;
  SizeRw?: number;
  SizeRootFs?: number;
}
interface DfVolume {
  Name: string;
  Labels?: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null;
}
interface DiskUsage {
  LayersSize?: number;
  Images?: DfImage[] | null;
  Containers?: DfContainer[] | null;
  Volumes?: DfVolume[] | null;
  BuildCache?: Array<{ Size: number; InUse: boolean; Shared: boolean }> | null;
}

const pct = (part: number, total: number): string => (total > 0 ? ` (${Math.floor((part * 100) / total)}%)` : '');

export async function systemDfCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const res = await cli.client.request({ path: '/system/df' });
  const du = JSON.parse(await readBody(res)) as DiskUsage;
  const images = du.Images ?? [];
  const containers = du.Containers ?? [];
  const volumes = du.Volumes ?? [];
  const cache = du.BuildCache ?? [];
  const now = Date.now();
  if (flags.bool('verbose')) {
    cli.println('Images space usage:\n');
    const rows = images.flatMap((img) => {
      const tags = img.RepoTags && img.RepoTags.length > 0 ? img.RepoTags : ['<none>:<none>'];
      return tags.map((t) => {
        const i = t.lastIndexOf(':');
        return { img, repo: t.slice(0, i), tag: t.slice(i + 1) };
      });
    });
    render(
      cli,
      rows,
      'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}',
      (r) => ({
        Repository: r.repo,
        Tag: r.tag,
        ID: truncateId(r.img.Id),
        CreatedSince: `${humanDuration(now - r.img.Created * 1000)} ago`,
        Size: humanSize(r.img.Size),
        SharedSize: humanSize(r.img.SharedSize, 4),
        UniqueSize: humanSize(r.img.Size - r.img.SharedSize, 4),
        Containers: String(r.img.Containers),
      }),
      {
        Repository: 'REPOSITORY',
        Tag: 'TAG',
        ID: 'IMAGE ID',
        CreatedSince: 'CREATED',
        Size: 'SIZE',
        SharedSize: 'SHARED SIZE',
        UniqueSize: 'UNIQUE SIZE',
        Containers: 'CONTAINERS',
      },
    );
    cli.println('\nContainers space usage:\n');
    render(
      cli,
      containers,
      'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.CreatedSince}}\t{{.Status}}\t{{.Names}}',
      (c) => ({
        ID: truncateId(c.Id),
        Image: c.Image,
        Command: `"${ellipsis(c.Command, 20)}"`,
        LocalVolumes: '0',
        Size: humanSize(c.SizeRw ?? 0, 4),
        CreatedSince: `${humanDuration(now - c.Created * 1000)} ago`,
        Status: c.Status,
        Names: (c.Names[0] ?? '').replace(/^\//, ''),
      }),
      {
        ID: 'CONTAINER ID',
        Image: 'IMAGE',
        Command: 'COMMAND',
        LocalVolumes: 'LOCAL VOLUMES',
        Size: 'SIZE',
        CreatedSince: 'CREATED',
        Status: 'STATUS',
        Names: 'NAMES',
      },
    );
    cli.println('\nLocal Volumes space usage:\n');
    render(
      cli,
      volumes,
      'table {{.Name}}\t{{.Links}}\t{{.Size}}',
      (v) => ({
        Name: v.Name,
        Links: String(v.UsageData?.RefCount ?? 0),
        Size: humanSize(v.UsageData?.Size ?? 0, 4),
      }),
      { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' },
    );
    cli.println('\nBuild cache usage: 0B\n');
    return;
  }
  const activeImages = images.filter((i) => i.Containers > 0).length;
  const imagesSize = du.LayersSize ?? 0;
  let used = 0;
  for (const i of images) if (i.Containers > 0) used += i.Size - i.SharedSize;
  // As docker's formatter: everything but the unique size of images in use.
  const reclaimImages = imagesSize - used;
  const cSize = containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const cReclaim = containers.filter((c) => !/running|paused|restarting/.test(c.State)).reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const vSize = volumes.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const vReclaim = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const rows = [
    { type: 'Images', total: images.length, active: activeImages, size: imagesSize, reclaim: reclaimImages },
    {
      type: 'Containers',
      total: containers.length,
      active: containers.filter((c) => /running|paused|restarting/.test(c.State)).length,
      size: cSize,
      reclaim: cReclaim,
    },
    { type: 'Local Volumes', total: volumes.length, active: volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length, size: vSize, reclaim: vReclaim },
    { type: 'Build Cache', total: cache.length, active: 0, size: 0, reclaim: 0 },
  ];
  let format = flags.string('format') ?? '';
  if (format === '' || format === 'table') format = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
  render(
    cli,
    rows,
    format,
    (r) => ({
      [TYPE_NAME]: '*formatter.diskUsageContext',
      Type: r.type,
      TotalCount: String(r.total),
      Active: String(r.active),
      Size: humanSize(r.size, 4),
      Reclaimable: `${humanSize(r.reclaim, 4)}${pct(r.reclaim, r.size)}`,
    }),
    { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' },
  );
}

async function postOptional(cli: Cli, path: string, filters: Record<string, string[]>): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await cli.client.request({ method: 'POST', path, query: { filters: JSON.stringify(filters) } });
    return JSON.parse(await readBody(res)) as Record<string, unknown>;
  } catch (e) {
    // A daemon without this kind of object (404) has nothing to prune.
    if (e instanceof ApiError && e.statusCode === 404) return undefined;
    throw e;
  }
}

export async function systemPruneCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const all = flags.bool('all');
  const withVolumes = flags.bool('volumes');
  const filters = parseFilters(flags.list('filter'));
  const warning = [
    'WARNING! This will remove:',
    '  - all stopped containers',
    '  - all networks not used by at least one container',
    ...(withVolumes ? ['  - all anonymous volumes not used by at least one container'] : []),
    all ? '  - all images without at least one container associated to them' : '  - all dangling images',
    all ? '  - all build cache' : '  - unused build cache',
    '',
  ].join('\n');
  if (!flags.bool('force') && !(await confirm(cli, warning))) return;
  let reclaimed = 0;
  const c = await postOptional(cli, '/containers/prune', filters);
  const cDeleted = (c?.ContainersDeleted as string[] | null | undefined) ?? [];
  if (cDeleted.length > 0) cli.println(`Deleted Containers:\n${cDeleted.join('\n')}\n`);
  reclaimed += Number(c?.SpaceReclaimed ?? 0);
  const n = await postOptional(cli, '/networks/prune', filters);
  const nDeleted = (n?.NetworksDeleted as string[] | null | undefined) ?? [];
  if (nDeleted.length > 0) cli.println(`Deleted Networks:\n${nDeleted.join('\n')}\n`);
  if (withVolumes) {
    const v = await postOptional(cli, '/volumes/prune', filters);
    const vDeleted = (v?.VolumesDeleted as string[] | null | undefined) ?? [];
    if (vDeleted.length > 0) cli.println(`Deleted Volumes:\n${vDeleted.join('\n')}\n`);
    reclaimed += Number(v?.SpaceReclaimed ?? 0);
  }
  const report = await pruneImages(cli, { ...filters, dangling: [all ? 'false' : 'true'] });
  printImagesDeleted(cli, report);
  reclaimed += report.SpaceReclaimed;
  const b = await postOptional(cli, '/build/prune', all ? { ...filters, all: ['true'] } : filters);
  reclaimed += Number(b?.SpaceReclaimed ?? 0);
  cli.println(`Total reclaimed space: ${humanSize(reclaimed, 4)}`);
}

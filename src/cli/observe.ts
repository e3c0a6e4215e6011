/** `commit`, `stats` and `events`: the observability commands, as the docker CLI prints them. */
import type { IncomingMessage } from 'node:http';
import type { Filters } from '../client/types.js';
import { StatusError, withFormatErrors, type Cli, type CommandDef } from './common.js';
import type { ParsedFlags } from './flags.js';
import { toUnixTimestamp } from '../lib/timestamp.js';
import { bytesSize, humanSize, renderRows, truncateId } from './format.js';

const def = (d: CommandDef): CommandDef => d;

// ---------- commit ----------

async function commitCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const [container = '', reference] = flags.args;
  let repo: string | undefined;
  let tag: string | undefined;
  if (reference) {
    const at = reference.lastIndexOf(':');
    if (at > reference.lastIndexOf('/')) {
      repo = reference.slice(0, at);
      tag = reference.slice(at + 1);
    } else repo = reference;
  }
  const res = await cli.client.containerCommit(container, {
    repo,
    tag,
    comment: flags.string('message'),
    author: flags.string('author'),
    pause: flags.bool('pause'),
    changes: flags.list('change'),
  });
  cli.println(res.Id);
}

// ---------- stats ----------

interface StatsJson {
  read: string;
  name: string;
  id: string;
  pids_stats?: { current?: number };
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op: string; value: number }> | null };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

interface StatsRow {
  id: string;
  name: string;
  cpu: number;
  mem: number;
  limit: number;
  memPerc: number;
  netRx: number;
  netTx: number;
  blkRead: number;
  blkWrite: number;
  pids: number;
}

/** The docker CLI's arithmetic (cli/command/container/stats_helpers.go). */
export function statsRow(s: StatsJson): StatsRow {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const online = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 0;
  const cpu = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * online * 100 : 0;
  const usage = s.memory_stats?.usage ?? 0;
  const st = s.memory_stats?.stats ?? {};
  // v1: total_inactive_file; v2: inactive_file — page cache that can be reclaimed is not "used".
  const inactive = st['total_inactive_file'] ?? st['inactive_file'] ?? 0;
  const mem = inactive < usage ? usage - inactive : usage;
  const limit = s.memory_stats?.limit ?? 0;
  let blkRead = 0;
  let blkWrite = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (e.op.toLowerCase() === 'read') blkRead += e.value;
    if (e.op.toLowerCase() === 'write') blkWrite += e.value;
  }
  let netRx = 0;
  let netTx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    netRx += n.rx_bytes;
    netTx += n.tx_bytes;
  }
  return {
    id: s.id,
    name: s.name.replace(/^\//, ''),
    cpu,
    mem,
    limit,
    memPerc: limit > 0 ? (mem / limit) * 100 : 0,
    netRx,
    netTx,
    blkRead,
    blkWrite,
    pids: s.pids_stats?.current ?? 0,
  };
}

const STATS_HEADERS = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};
const DEFAULT_STATS_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

function statsContext(r: StatsRow, ref: string, trunc: boolean): Record<string, unknown> {
  return {
    Container: () => ref,
    ID: () => (trunc ? truncateId(r.id) : r.id),
    Name: () => r.name || '--',
    CPUPerc: () => `${r.cpu.toFixed(2)}%`,
    MemUsage: () => `${bytesSize(r.mem)} / ${bytesSize(r.limit)}`,
    MemPerc: () => `${r.memPerc.toFixed(2)}%`,
    NetIO: () => `${humanSize(r.netRx)} / ${humanSize(r.netTx)}`,
    BlockIO: () => `${humanSize(r.blkRead)} / ${humanSize(r.blkWrite)}`,
    PIDs: () => String(r.pids),
  };
}

async function readJsonLines(res: IncomingMessage, onDoc: (doc: StatsJson) => void): Promise<void> {
  let buf = '';
  for await (const chunk of res) {
    buf += (chunk as Buffer).toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) onDoc(JSON.parse(line) as StatsJson);
    }
  }
  if (buf.trim()) onDoc(JSON.parse(buf) as StatsJson);
}

async function statsCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const noStream = flags.bool('no-stream');
  const trunc = !flags.bool('no-trunc');
  const format = flags.string('format') || DEFAULT_STATS_FORMAT;
  let refs = flags.args;
  if (refs.length === 0) {
    const list = await cli.client.containerList({ all: flags.bool('all') });
    refs = list.map((c) => c.Id);
  }
  const render = (rows: Array<{ ref: string; row: StatsRow }>): string => {
    return withFormatErrors(() => renderRows(rows, format, { toContext: (x) => statsContext(x.row, x.ref, trunc), headers: STATS_HEADERS }));
  };
  if (noStream) {
    const rows = await Promise.all(
      refs.map(async (ref) => {
        const res = await cli.client.containerStats(ref, { stream: false });
        let doc: StatsJson | undefined;
        await readJsonLines(res, (d) => (doc = d));
        return { ref, row: statsRow(doc as StatsJson) };
      }),
    );
    cli.print(render(rows));
    return;
  }
  const latest = new Map<string, StatsRow>();
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  const streams = refs.map(async (ref) => {
    const res = await cli.client.containerStats(ref, { stream: true, signal: ac.signal });
    await readJsonLines(res, (d) => latest.set(ref, statsRow(d))).catch(() => undefined);
    latest.delete(ref);
  });
  const tick = setInterval(() => {
    const rows = refs.filter((r) => latest.has(r)).map((ref) => ({ ref, row: latest.get(ref) as StatsRow }));
    cli.print(`\x1b[2J\x1b[H${render(rows)}`);
  }, 1000);
  try {
    await Promise.all(streams);
  } finally {
    clearInterval(tick);
  }
}

// ---------- events ----------

interface EventJson {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
  [k: string]: unknown;
}

/** The default event line: `2024-01-01T00:00:00.000000000Z container start <id> (image=…, name=…)`. */
export function eventLine(e: EventJson): string {
  const ns = BigInt(e.timeNano);
  const base = new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  const attrs = Object.keys(e.Actor.Attributes)
    .sort()
    .map((k) => `${k}=${e.Actor.Attributes[k]}`);
  return `${base}.${frac}Z ${e.Type} ${e.Action} ${e.Actor.ID}${attrs.length > 0 ? ` (${attrs.join(', ')})` : ''}`;
}

async function eventsCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const filters: Filters = {};
  for (const f of flags.list('filter')) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new StatusError(125, `bad format of filter (expected name=value)`);
    (filters[f.slice(0, eq)] ??= []).push(f.slice(eq + 1));
  }
  const since = flags.string('since');
  const until = flags.string('until');
  const format = flags.string('format') ?? '';
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  const res = await cli.client.events({
    since: since ? toUnixTimestamp(since) : undefined,
    until: until ? toUnixTimestamp(until) : undefined,
    filters,
    signal: ac.signal,
  });
  let buf = '';
  const emit = (line: string): void => {
    const e = JSON.parse(line) as EventJson;
    if (format === '') cli.println(eventLine(e));
    else if (format === 'json' || format === '{{json .}}') cli.println(JSON.stringify(e));
    else {
      cli.print(withFormatErrors(() => renderRows([e], format, { toContext: (x) => x as unknown as Record<string, unknown>, headers: {} })));
    }
  };
  try {
    for await (const chunk of res) {
      buf += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) emit(line);
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  }
}

export const commands: Record<string, CommandDef> = {
  commit: def({
    name: 'commit',
    usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
    description: "Create a new image from a container's changes",
    aliases: ['container commit', 'commit'],
    flags: [
      { long: 'author', short: 'a', type: 'string', description: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
      { long: 'change', short: 'c', type: 'list', description: 'Apply Dockerfile instruction to the created image' },
      { long: 'message', short: 'm', type: 'string', description: 'Commit message' },
      { long: 'pause', short: 'p', type: 'bool', description: 'Pause container during commit', defaultValue: true },
    ],
    args: { min: 1, max: 2 },
    run: (cli, f) => commitCommand(cli, f),
  }),
  stats: def({
    name: 'stats',
    usage: '[OPTIONS] [CONTAINER...]',
    description: 'Display a live stream of container(s) resource usage statistics',
    aliases: ['container stats', 'stats'],
    flags: [
      { long: 'all', short: 'a', type: 'bool', description: 'Show all containers (default shows just running)' },
      { long: 'format', type: 'string', description: 'Format output using a custom template' },
      { long: 'no-stream', type: 'bool', description: 'Disable streaming stats and only pull the first result' },
      { long: 'no-trunc', type: 'bool', description: "Don't truncate output" },
    ],
    run: (cli, f) => statsCommand(cli, f),
  }),
  events: def({
    name: 'events',
    usage: '[OPTIONS]',
    description: 'Get real time events from the server',
    aliases: ['system events', 'events'],
    flags: [
      { long: 'filter', short: 'f', type: 'list', description: 'Filter output based on conditions provided' },
      { long: 'format', type: 'string', description: 'Format output using a custom template' },
      { long: 'since', type: 'string', description: 'Show all events created since timestamp' },
      { long: 'until', type: 'string', description: 'Stream events until this timestamp' },
    ],
    args: { max: 0 },
    run: (cli, f) => eventsCommand(cli, f),
  }),
};

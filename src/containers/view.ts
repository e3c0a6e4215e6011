/** Read-only views of containers: inspect documents, list entries, status strings, filters. */
import { matchPortFilters, portFilterSet, type ListedPort } from '../network/portfilter.js';
import { mountsView, usesVolume } from '../volumes/mountpoint.js';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { invalid } from '../lib/errors.js';
import { matchLabels } from '../lib/filters.js';
import { humanDuration } from '../lib/units.js';
import type { Image } from '../images/types.js';
import { parseReference, fullName } from '../images/reference.js';
import { ZERO_TIME, type Container } from './types.js';
import type { ContainerInspect, ContainerSummary, EndpointSettings, NetworkSettings, Port } from '../engine-api/types.js';

export function statusText(c: Container, now = Date.now()): string {
  const s = c.State;
  if (s.Status === 'removing') return 'Removal In Progress';
  if (s.Dead) return 'Dead';
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  if (s.Running) {
    const health = s.Health ? ` (${s.Health.Status === 'starting' ? 'health: starting' : s.Health.Status})` : '';
    return `Up ${humanDuration(now - Date.parse(s.StartedAt))}${s.Paused ? ' (Paused)' : health}`;
  }
  if (s.FinishedAt === ZERO_TIME || s.StartedAt === ZERO_TIME) return 'Created';
  return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
}

export function commandText(c: Container): string {
  return [c.Path, ...c.Args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

async function duBytes(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await fs.readdir(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(d, n);
      const st = await fs.lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await walk(p);
      else if (st.isFile() || st.isSymbolicLink()) total += st.size;
    }
  };
  await walk(dir);
  return total;
}

export async function sizeRw(upper: string): Promise<number> {
  return duBytes(upper);
}

function networkSettings(c: Container): NetworkSettings {
  const mode = c.HostConfig.NetworkMode;
  const netName = mode === 'default' || mode === '' ? 'bridge' : mode.startsWith('container:') ? '' : mode;
  const networks: Record<string, EndpointSettings> = {};
  if (netName !== '') {
    networks[netName] = {
      IPAMConfig: null,
      Links: null,
      Aliases: null,
      MacAddress: '',
      DriverOpts: null,
      GwPriority: 0,
      NetworkID: '',
      EndpointID: '',
      Gateway: '',
      IPAddress: '',
      IPPrefixLen: 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DNSNames: null,
    };
  }
  return {
    Bridge: '',
    SandboxID: '',
    SandboxKey: c.State.Running ? `/proc/${c.State.Pid}/ns/net` : '',
    Ports: {},
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: '',
    Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    MacAddress: '',
    Networks: networks,
  };
}

export interface InspectExtras {
  graph: { lowers: string[]; upper: string; work: string; merged: string };
  /** NetworkSettings from the network service (the stub below without one). */
  network?: NetworkSettings;
  sizes?: { rw: number; rootfs: number };
}

export function inspectContainer(c: Container, x: InspectExtras): ContainerInspect {
  const doc: ContainerInspect = {
    Id: c.ID,
    Created: c.Created,
    Path: c.Path,
    Args: c.Args,
    State: { ...c.State },
    Image: c.Image,
    ResolvConfPath: c.ResolvConfPath,
    HostnamePath: c.HostnamePath,
    HostsPath: c.HostsPath,
    LogPath: c.LogPath,
    Name: c.Name,
    RestartCount: c.RestartCount,
    Driver: c.Driver,
    Platform: c.Platform,
    MountLabel: c.MountLabel,
    ProcessLabel: c.ProcessLabel,
    AppArmorProfile: c.AppArmorProfile,
    ExecIDs: null,
    HostConfig: c.HostConfig,
    GraphDriver: {
      Data: {
        LowerDir: x.graph.lowers.join(':'),
        MergedDir: x.graph.merged,
        UpperDir: x.graph.upper,
        WorkDir: x.graph.work,
      },
      Name: 'overlay2',
    },
    Mounts: mountsView(c.MountPoints),
    Config: c.Config,
    NetworkSettings: x.network ?? networkSettings(c),
  };
  if (x.sizes) {
    doc.SizeRw = x.sizes.rw;
    doc.SizeRootFs = x.sizes.rootfs;
  }
  return doc;
}

export function listEntry(
  c: Container,
  imageName: string,
  sizes?: { rw: number; rootfs: number },
  net?: { settings: NetworkSettings; ports: Port[] },
  linkNames: string[] = [],
): ContainerSummary {
  const e: ContainerSummary = {
    Id: c.ID,
    Names: [c.Name, ...linkNames],
    Image: imageName,
    ImageID: c.Image,
    Command: commandText(c),
    Created: Math.floor(Date.parse(c.Created) / 1000),
    Ports: net?.ports ?? [],
    Labels: c.Config.Labels ?? {},
    State: c.State.Status,
    Status: statusText(c),
    HostConfig: { NetworkMode: c.HostConfig.NetworkMode },
    NetworkSettings: { Networks: (net?.settings ?? networkSettings(c)).Networks },
    Mounts: mountsView(c.MountPoints),
  };
  if (sizes) {
    e.SizeRw = sizes.rw;
    e.SizeRootFs = sizes.rootfs;
  }
  return e;
}

const CONTAINER_FILTERS = new Set([
  'id',
  'name',
  'label',
  'status',
  'ancestor',
  'exited',
  'before',
  'since',
  'health',
  'network',
  'volume',
  'isolation',
  'is-task',
  'publish',
  'expose',
]);
const STATUSES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);

export interface ListOptions {
  all: boolean;
  limit: number;
  filters: Map<string, string[]>;
  find: (ref: string) => Container | undefined;
  /** Images by reference (the `ancestor` filter). */
  images: { find(ref: string): Image | undefined };
  /** Names and IDs of a container's networks (`network` filter). */
  networksOf?: (c: Container) => string[];
  /** The `Ports` of a container's list entry (`publish` / `expose` filters). */
  portsOf?: (c: Container) => ListedPort[];
}

export function filterContainers(list: Container[], o: ListOptions): Container[] {
  for (const k of o.filters.keys()) if (!CONTAINER_FILTERS.has(k)) throw invalid(`invalid filter '${k}'`);
  const f = o.filters;
  for (const s of f.get('status') ?? []) {
    if (!STATUSES.has(s)) throw invalid(`invalid filter 'status=${s}'`);
  }
  for (const h of f.get('health') ?? []) {
    if (!['starting', 'healthy', 'unhealthy', 'none'].includes(h)) throw invalid(`Unrecognised filter value for health: ${h}`);
  }
  for (const e of f.get('exited') ?? []) if (!/^-?\d+$/.test(e)) throw invalid(`invalid filter 'exited=${e}'`);
  const boundary = (key: string): number | undefined => {
    const v = f.get(key)?.[0];
    if (v === undefined) return undefined;
    const c = o.find(v);
    if (!c) throw invalid(`No such container: ${v}`);
    return Date.parse(c.Created);
  };
  const portSets = {
    ...(f.has('publish') ? { publish: portFilterSet('publish', f.get('publish') ?? []) } : {}),
    ...(f.has('expose') ? { expose: portFilterSet('expose', f.get('expose') ?? []) } : {}),
  };
  const before = boundary('before');
  const since = boundary('since');
  const ancestors = (f.get('ancestor') ?? []).map((a) => {
    const img = o.images.find(a);
    return { id: img?.id, ref: a };
  });
  let sorted = [...list].sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created) || b.ID.localeCompare(a.ID));
  const explicitStatus = f.has('status') || f.has('exited');
  sorted = sorted.filter((c) => {
    if (!o.all && !explicitStatus && before === undefined && since === undefined && !c.State.Running && o.limit <= 0) return false;
    const ids = f.get('id');
    if (ids && !ids.some((i) => c.ID.startsWith(i))) return false;
    const names = f.get('name');
    if (names && !names.some((n) => safeRegex(n).test(c.Name.slice(1)))) return false;
    const labels = f.get('label');
    if (labels && !matchLabels(c.Config.Labels ?? {}, labels)) return false;
    const statuses = f.get('status');
    if (statuses && !statuses.includes(c.State.Status)) return false;
    const health = f.get('health');
    if (health && !health.includes(c.State.Health?.Status ?? 'none')) return false;
    const exited = f.get('exited');
    if (exited && !(c.State.Status === 'exited' && exited.map(Number).includes(c.State.ExitCode))) return false;
    if (before !== undefined && !(Date.parse(c.Created) < before)) return false;
    if (since !== undefined && !(Date.parse(c.Created) > since)) return false;
    const volumes = f.get('volume');
    if (volumes && !volumes.some((v) => usesVolume(c.MountPoints, v))) return false;
    const nets = f.get('network');
    if (nets && o.networksOf) {
      const mine = o.networksOf(c);
      if (!nets.some((n) => mine.some((m) => m === n || (n.length >= 1 && m.length === 64 && m.startsWith(n))))) return false;
    }
    if ((portSets.publish || portSets.expose) && !matchPortFilters(o.portsOf?.(c) ?? [], portSets)) return false;
    if (ancestors.length > 0 && !ancestors.some((a) => a.id === c.Image || sameRef(a.ref, c.Config.Image))) return false;
    return true;
  });
  if (o.limit > 0) sorted = sorted.slice(0, o.limit);
  return sorted;
}

function sameRef(a: string, b: string): boolean {
  try {
    return fullName(parseReference(a)) === fullName(parseReference(b));
  } catch {
    return a === b;
  }
}

function safeRegex(s: string): RegExp {
  try {
    return new RegExp(s);
  } catch {
    return new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  }
}

/** Volumes, networks, and `system df` as an SVG bar chart. */
import { getJson } from './api.js';
import { ago, bytes, h, shortId, table } from './dom.js';

interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Labels?: Record<string, string> | null;
}
interface Network {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
  IPAM?: { Config?: { Subnet?: string }[] | null };
  Containers?: Record<string, unknown> | null;
}
interface DiskUsage {
  LayersSize?: number;
  Images?: { Size: number; SharedSize: number; Containers: number }[] | null;
  Containers?: { SizeRw?: number; State: string }[] | null;
  Volumes?: { UsageData?: { Size: number; RefCount: number } }[] | null;
  BuildCache?: { Size: number; InUse: boolean }[] | null;
}

export async function renderVolumes(el: HTMLElement): Promise<void> {
  const r = await getJson<{ Volumes: Volume[] | null }>('/volumes');
  const list = r.Volumes ?? [];
  el.replaceChildren(
    h('h2', {}, `Volumes (${list.length})`),
    table(
      ['name', 'driver', 'mount point', 'created'],
      list.map((v) =>
        h(
          'tr',
          {},
          h('td', { class: 'mono' }, v.Name.length > 40 ? shortId(v.Name) : v.Name),
          h('td', {}, v.Driver),
          h('td', { class: 'mono' }, v.Mountpoint),
          h('td', {}, v.CreatedAt ? ago(Date.parse(v.CreatedAt) / 1000) : '—'),
        ),
      ),
      'No volumes.',
    ),
  );
}

export async function renderNetworks(el: HTMLElement): Promise<void> {
  const list = await getJson<Network[]>('/networks');
  el.replaceChildren(
    h('h2', {}, `Networks (${list.length})`),
    table(
      ['name', 'id', 'driver', 'scope', 'subnet', 'containers'],
      list.map((n) =>
        h(
          'tr',
          {},
          h('td', {}, n.Name),
          h('td', { class: 'mono' }, shortId(n.Id)),
          h('td', {}, n.Driver),
          h('td', {}, n.Scope),
          h('td', { class: 'mono' }, (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').join(' ') || '—'),
          h('td', {}, String(Object.keys(n.Containers ?? {}).length)),
        ),
      ),
      'No networks.',
    ),
  );
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** One bar per kind: its total size, the reclaimable part drawn lighter. */
function chart(rows: { label: string; size: number; reclaimable: number; count: string }[]): SVGElement {
  const w = 860;
  const barH = 26;
  const left = 110;
  const right = 330;
  const max = Math.max(1, ...rows.map((r) => r.size));
  const root = svg('svg', { width: w, height: rows.length * (barH + 12) + 10, viewBox: `0 0 ${w} ${rows.length * (barH + 12) + 10}`, id: 'df-chart' });
  rows.forEach((r, i) => {
    const y = 5 + i * (barH + 12);
    const full = ((w - left - right) * r.size) / max;
    const rec = ((w - left - right) * r.reclaimable) / max;
    root.append(
      svg('text', { x: 0, y: y + barH * 0.7, 'font-size': 13 }, r.label),
      svg('rect', { x: left, y, width: w - left - right, height: barH, fill: '#edf2f7' }),
      svg('rect', { x: left, y, width: Math.max(full, r.size > 0 ? 1 : 0), height: barH, fill: '#2b6cb0' }),
      svg('rect', { x: left + full - rec, y, width: rec, height: barH, fill: '#90cdf4' }),
      svg(
        'text',
        { x: w - right + 8, y: y + barH * 0.7, 'font-size': 12, fill: '#4a5568' },
        `${bytes(r.size)} (${bytes(r.reclaimable)} free-able) · ${r.count}`,
      ),
    );
  });
  return root;
}

export async function renderDf(el: HTMLElement): Promise<void> {
  const df = await getJson<DiskUsage>('/system/df');
  const images = df.Images ?? [];
  const containers = df.Containers ?? [];
  const volumes = df.Volumes ?? [];
  const cache = df.BuildCache ?? [];
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const rows = [
    {
      label: 'Images',
      size: df.LayersSize ?? sum(images.map((i) => i.Size)),
      reclaimable: sum(images.filter((i) => i.Containers <= 0).map((i) => i.Size - i.SharedSize)),
      count: `${images.length} images`,
    },
    {
      label: 'Containers',
      size: sum(containers.map((c) => c.SizeRw ?? 0)),
      reclaimable: sum(containers.filter((c) => c.State !== 'running').map((c) => c.SizeRw ?? 0)),
      count: `${containers.length} containers`,
    },
    {
      label: 'Volumes',
      size: sum(volumes.map((v) => Math.max(0, v.UsageData?.Size ?? 0))),
      reclaimable: sum(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).map((v) => Math.max(0, v.UsageData?.Size ?? 0))),
      count: `${volumes.length} volumes`,
    },
    {
      label: 'Build cache',
      size: sum(cache.map((c) => c.Size)),
      reclaimable: sum(cache.filter((c) => !c.InUse).map((c) => c.Size)),
      count: `${cache.length} records`,
    },
  ];
  el.replaceChildren(h('h2', {}, 'Disk usage (system df)'), h('div', { class: 'card' }, chart(rows)));
}

/**
 * The containers view: state, image, ports as links, health, CPU and memory sparklines fed by
 * one stream of every running container's stats, and the life-cycle actions (with confirmation).
 */
import { del, getJson, post, stream, type StreamHandle } from './api.js';
import { bytes, h, shortId, table, toast } from './dom.js';
import { openLogs } from './logs.js';
import { Sparkline } from './sparkline.js';

interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}
export interface ContainerRow {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
  Status: string;
  Ports: Port[];
  Created: number;
}
interface StatsPoint {
  id: string;
  cpuPercent: number;
  memUsage: number;
  memLimit: number;
}

/** The live load of one running container: two sparklines fed from the shared stats stream. */
class Load {
  /** CPU scaled to at least 1 %, so an idle container's small load still shows. */
  readonly cpu = new Sparkline(() => 1, '#2b6cb0');
  readonly mem = new Sparkline(() => 0, '#805ad5');
  readonly cpuText = h('span', { class: 'spark-val' }, '…');
  readonly memText = h('span', { class: 'spark-val' }, '…');

  push(p: StatsPoint): void {
    this.cpu.push(p.cpuPercent);
    this.mem.push(p.memUsage);
    this.cpuText.textContent = `${p.cpuPercent.toFixed(1)} %`;
    this.memText.textContent = bytes(p.memUsage);
  }
}

const loads = new Map<string, Load>();
/** One stream for every running container's stats (a browser keeps only six connections to a server). */
let statsStream: StreamHandle | undefined;

function loadOf(id: string): Load {
  let l = loads.get(id);
  if (!l) {
    l = new Load();
    loads.set(id, l);
  }
  return l;
}

export const nameOf = (c: ContainerRow): string => (c.Names[0] ?? '').replace(/^\//, '') || shortId(c.Id);

function health(status: string): HTMLElement | string {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status);
  if (!m) return '—';
  return h('span', { class: `health-${m[1]!.replace('health: ', '')}` }, m[1]);
}

function ports(c: ContainerRow): (HTMLElement | string)[] {
  const out: (HTMLElement | string)[] = [];
  const seen = new Set<string>();
  for (const p of c.Ports ?? []) {
    const key = `${p.PublicPort ?? ''}:${p.PrivatePort}/${p.Type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (out.length) out.push(' ');
    if (p.PublicPort && p.Type === 'tcp') {
      const href = `${location.protocol === 'https:' ? 'https' : 'http'}://${location.hostname}:${p.PublicPort}/`;
      out.push(h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, `${p.PublicPort}→${p.PrivatePort}`));
    } else out.push(`${p.PrivatePort}/${p.Type}`);
  }
  return out.length ? out : ['—'];
}

async function act(c: ContainerRow, what: string, refresh: () => void): Promise<void> {
  const name = nameOf(c);
  const ask: Record<string, string> = {
    stop: `Stop ${name}?`,
    restart: `Restart ${name}?`,
    pause: `Pause ${name}?`,
    remove: `Remove ${name}${c.State === 'running' ? ' (it is running: it will be killed)' : ''}?`,
  };
  const q = ask[what];
  if (q && !window.confirm(q)) return;
  try {
    const id = encodeURIComponent(c.Id);
    if (what === 'remove') await del(`/containers/${id}?force=1`);
    else await post(`/containers/${id}/${what}`);
    toast(`${what}: ${name}`);
  } catch (err) {
    toast(`${what} ${name}: ${(err as Error).message}`, true);
  }
  refresh();
}

function actions(c: ContainerRow, refresh: () => void): HTMLElement {
  const b = (what: string, label = what, danger = false): HTMLButtonElement =>
    h('button', { class: `act${danger ? ' danger' : ''}`, 'data-action': what, onclick: () => void act(c, what, refresh) }, label);
  const running = c.State === 'running';
  const paused = c.State === 'paused';
  return h(
    'td',
    {},
    !running && !paused && b('start'),
    running && b('stop'),
    (running || paused) && b('restart'),
    running && b('pause'),
    paused && b('unpause'),
    h('button', { class: 'act', 'data-action': 'logs', onclick: () => openLogs(c.Id, nameOf(c)) }, 'logs'),
    b('remove', 'remove', true),
  );
}

function row(c: ContainerRow, refresh: () => void): HTMLTableRowElement {
  const load = c.State === 'running' ? loads.get(c.Id) : undefined;
  return h(
    'tr',
    { 'data-name': nameOf(c), 'data-state': c.State },
    h('td', {}, h('strong', {}, nameOf(c)), h('div', { class: 'mono muted' }, shortId(c.Id))),
    h('td', { class: 'mono' }, c.Image),
    h('td', {}, h('span', { class: `state ${c.State}` }, c.State), h('div', { class: 'muted' }, c.Status)),
    h('td', {}, ...ports(c)),
    h('td', {}, health(c.Status)),
    h('td', {}, load ? load.cpu.el : '—', load ? load.cpuText : ''),
    h('td', {}, load ? load.mem.el : '—', load ? load.memText : ''),
    actions(c, refresh),
  );
}

/** Renders the list into `el`; starts stats streams for new running containers and ends the rest. */
export async function renderContainers(el: HTMLElement, refresh: () => void): Promise<void> {
  const list = await getJson<ContainerRow[]>('/containers/json?all=1');
  const running = new Set(list.filter((c) => c.State === 'running').map((c) => c.Id));
  for (const id of loads.keys()) if (!running.has(id)) loads.delete(id);
  for (const id of running) loadOf(id);
  statsStream ??= stream('stats', (v) => {
    const p = v as StatsPoint;
    loads.get(p.id)?.push(p);
  });
  list.sort((a, b) => b.Created - a.Created);
  el.replaceChildren(
    h('h2', {}, `Containers (${list.length})`),
    table(
      ['name', 'image', 'state', 'ports', 'health', 'CPU', 'memory', ''],
      list.map((c) => row(c, refresh)),
      'No containers. Start one with `berth run` or `docker run`.',
    ),
  );
}

/** Ends every stats stream (the view was left). */
export function stopLoads(): void {
  statsStream?.close();
  statsStream = undefined;
  loads.clear();
}

/** The images view: tags, size, layer count, history on click, and pull with per-layer progress. */
import { getJson, postLines } from './api.js';
import { ago, bytes, h, shortId, table, toast } from './dom.js';

interface ImageRow {
  Id: string;
  RepoTags: string[] | null;
  Size: number;
  Created: number;
}
interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Size: number;
  Comment: string;
}
interface Progress {
  id?: string;
  status?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
}

function refOf(i: ImageRow): string {
  return i.RepoTags?.find((t) => t !== '<none>:<none>') ?? shortId(i.Id);
}

async function showHistory(target: HTMLElement, i: ImageRow): Promise<void> {
  const items = await getJson<HistoryItem[]>(`/images/${encodeURIComponent(i.Id)}/history`);
  target.replaceChildren(
    h('h2', {}, `History of ${refOf(i)}`),
    table(
      ['created', 'created by', 'size', 'comment'],
      items.map((x) => h('tr', {}, h('td', {}, ago(x.Created)), h('td', { class: 'mono' }, x.CreatedBy), h('td', {}, bytes(x.Size)), h('td', {}, x.Comment))),
      'No history.',
    ),
  );
}

function pullForm(refresh: () => void): HTMLElement {
  const input = h('input', { type: 'text', placeholder: 'image to pull, e.g. localhost:5000/app:1', size: '40', required: true });
  const layers = h('div', {});
  const bars = new Map<string, { bar: HTMLProgressElement; text: HTMLElement }>();
  const onLine = (v: unknown): void => {
    const p = v as Progress;
    if (p.error) throw new Error(p.error);
    // per-layer lines only ("Pulling from" names the tag in its id)
    if (!p.id || /^Pulling from /.test(p.status ?? '')) return;
    let b = bars.get(p.id);
    if (!b) {
      b = { bar: h('progress', { max: '1', value: '0' }), text: h('span', { class: 'muted' }) };
      bars.set(p.id, b);
      layers.append(h('div', { class: 'mono layer', 'data-layer': p.id }, `${p.id} `, b.bar, ' ', b.text));
    }
    const d = p.progressDetail;
    if (d?.total) {
      b.bar.max = d.total;
      b.bar.value = d.current ?? 0;
    } else if (/complete|already exists/i.test(p.status ?? '')) {
      b.bar.max = 1;
      b.bar.value = 1;
    }
    b.text.textContent = p.status ?? '';
  };
  const form = h('form', { class: 'pull' }, input, h('button', { class: 'act', type: 'submit' }, 'pull'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const ref = input.value.trim();
    const at = ref.lastIndexOf(':');
    const [image, tag] = at > ref.lastIndexOf('/') ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
    layers.replaceChildren();
    bars.clear();
    postLines(`/images/create?fromImage=${encodeURIComponent(image)}&tag=${encodeURIComponent(tag)}`, onLine).then(
      () => {
        toast(`pulled ${image}:${tag}`);
        refresh();
      },
      (err: Error) => toast(`pull ${ref}: ${err.message}`, true),
    );
  });
  return h('div', {}, form, layers);
}

let pull: HTMLElement | undefined;

export async function renderImages(el: HTMLElement, refresh: () => void): Promise<void> {
  const list = await getJson<ImageRow[]>('/images/json');
  list.sort((a, b) => b.Created - a.Created);
  const details = h('div', { class: 'details', hidden: true });
  const rows = list.map((i) => {
    const layers = h('td', {}, '…');
    getJson<{ RootFS?: { Layers?: string[] } }>(`/images/${encodeURIComponent(i.Id)}/json`).then(
      (x) => (layers.textContent = String(x.RootFS?.Layers?.length ?? 0)),
      () => (layers.textContent = '?'),
    );
    const r = h(
      'tr',
      { class: 'clickable', 'data-image': refOf(i), title: 'show history' },
      h('td', { class: 'mono' }, ...(i.RepoTags?.length ? i.RepoTags.map((t) => h('div', {}, t)) : ['<none>'])),
      h('td', { class: 'mono' }, shortId(i.Id)),
      h('td', {}, bytes(i.Size)),
      layers,
      h('td', {}, ago(i.Created)),
    );
    r.addEventListener('click', () => {
      details.hidden = false;
      showHistory(details, i).catch((err: Error) => toast(err.message, true));
    });
    return r;
  });
  pull ??= pullForm(refresh);
  el.replaceChildren(h('h2', {}, `Images (${list.length})`), pull, table(['tags', 'id', 'size', 'layers', 'created'], rows, 'No images.'), details);
}

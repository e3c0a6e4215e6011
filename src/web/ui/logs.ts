/** The logs panel: a container's lines over SSE, follow on/off, and a search that filters and marks. */
import { stream, type StreamHandle } from './api.js';
import { byId, clear, h } from './dom.js';

interface LogLine {
  s: 'stdout' | 'stderr';
  t: string;
}

const MAX_LINES = 5000;
let current: StreamHandle | undefined;

export function closeLogs(): void {
  current?.close();
  current = undefined;
  const panel = byId('logs');
  panel.hidden = true;
  clear(panel);
}

export function openLogs(id: string, name: string): void {
  closeLogs();
  const panel = byId('logs');
  const lines: LogLine[] = [];
  const pre = h('pre', { id: 'log-lines' });
  const follow = h('input', { type: 'checkbox', checked: true, id: 'log-follow' });
  const search = h('input', { type: 'search', placeholder: 'search…', id: 'log-search' });
  const status = h('span', { class: 'muted' }, 'connecting…');
  const lineEl = (l: LogLine, needle: string): HTMLElement => {
    const el = h('div', { class: l.s });
    if (!needle) el.textContent = l.t;
    else {
      const parts = l.t.split(needle);
      parts.forEach((p, i) => {
        if (i > 0) el.append(h('mark', {}, needle));
        el.append(p);
      });
    }
    return el;
  };
  const redraw = (): void => {
    const needle = search.value;
    pre.replaceChildren(...lines.filter((l) => !needle || l.t.includes(needle)).map((l) => lineEl(l, needle)));
    pre.scrollTop = pre.scrollHeight;
  };
  const start = (): void => {
    current?.close();
    lines.length = 0;
    pre.replaceChildren();
    status.textContent = follow.checked ? 'following' : 'loading';
    current = stream(
      `containers/${encodeURIComponent(id)}/logs?tail=500${follow.checked ? '&follow=1' : ''}`,
      (v) => {
        const l = v as LogLine;
        lines.push(l);
        if (lines.length > MAX_LINES) lines.shift();
        const needle = search.value;
        if (!needle || l.t.includes(needle)) {
          const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
          pre.append(lineEl(l, needle));
          if (pre.childElementCount > MAX_LINES) pre.firstElementChild?.remove();
          if (atBottom) pre.scrollTop = pre.scrollHeight;
        }
      },
      { onEnd: () => (status.textContent = 'end of log'), onError: (m) => (status.textContent = `error: ${m}`) },
    );
  };
  follow.addEventListener('change', start);
  search.addEventListener('input', redraw);
  panel.replaceChildren(
    h(
      'div',
      { class: 'bar' },
      h('strong', {}, `logs: ${name}`),
      h('label', {}, follow, ' follow'),
      search,
      status,
      h('button', { class: 'act right', onclick: closeLogs }, 'close'),
    ),
    pre,
  );
  panel.hidden = false;
  start();
}

/**
 * berth-web's page: a tab per resource, refreshed live from the daemon's /events stream. Without a
 * session it shows how to get one (the URL berth-web printed, or the token pasted here).
 */
import { getJson, startSession, stream } from './api.js';
import { renderContainers, stopLoads } from './containers.js';
import { byId, h, toast } from './dom.js';
import { renderImages } from './images.js';
import { renderDf, renderNetworks, renderVolumes } from './resources.js';

type View = 'containers' | 'images' | 'volumes' | 'networks' | 'df';
const VIEWS: [View, string][] = [
  ['containers', 'Containers'],
  ['images', 'Images'],
  ['volumes', 'Volumes'],
  ['networks', 'Networks'],
  ['df', 'Disk usage'],
];
/** The event types that change each view. */
const AFFECTS: Record<View, string[]> = {
  containers: ['container'],
  images: ['image'],
  volumes: ['volume'],
  networks: ['network', 'container'],
  df: ['container', 'image', 'volume', 'builder'],
};

let view: View = (location.hash.slice(1) as View) || 'containers';
let timer = 0;
let busy = false;
let again = false;

async function render(): Promise<void> {
  if (busy) {
    again = true;
    return;
  }
  busy = true;
  const main = byId('main');
  try {
    if (view !== 'containers') stopLoads();
    if (view === 'containers') await renderContainers(main, schedule);
    else if (view === 'images') await renderImages(main, schedule);
    else if (view === 'volumes') await renderVolumes(main);
    else if (view === 'networks') await renderNetworks(main);
    else await renderDf(main);
  } catch (err) {
    toast((err as Error).message, true);
  } finally {
    busy = false;
  }
  if (again) {
    again = false;
    schedule();
  }
}

/** A refresh soon; a burst of events makes one. */
function schedule(): void {
  window.clearTimeout(timer);
  timer = window.setTimeout(() => void render(), 120);
}

function tabs(): void {
  const nav = byId('tabs');
  nav.replaceChildren(
    ...VIEWS.map(([v, label]) =>
      h(
        'button',
        {
          class: v === view ? 'active' : '',
          'data-view': v,
          onclick: () => {
            view = v;
            location.hash = v;
            tabs();
            void render();
          },
        },
        label,
      ),
    ),
  );
}

function login(): void {
  const input = h('input', { type: 'password', name: 'token', placeholder: 'token', size: '40', autocomplete: 'off' });
  const form = h('form', { method: 'get', action: '/' }, input, ' ', h('button', { class: 'act', type: 'submit' }, 'open'));
  byId('main').replaceChildren(
    h('div', { class: 'login' }, h('h2', {}, 'berth-web needs its token'), h('p', {}, 'Open the URL berth-web printed at start, or paste the token:'), form),
  );
}

async function boot(): Promise<void> {
  if (!(await startSession())) return login();
  tabs();
  getJson<{ Version: string; ApiVersion: string }>('/version').then(
    (v) => (byId('daemon').textContent = `berthd ${v.Version} · API ${v.ApiVersion}`),
    () => undefined,
  );
  const live = byId('live');
  stream(
    'events',
    (v) => {
      const ev = v as { Type?: string };
      if (AFFECTS[view].includes(ev.Type ?? '')) schedule();
    },
    {
      onState: (open) => {
        live.classList.toggle('on', open);
        if (open) schedule();
      },
    },
  );
  // status texts ("Up 3 minutes") age between events
  window.setInterval(() => view === 'containers' && schedule(), 10_000);
  await render();
}

boot().catch((err: Error) => toast(err.message, true));

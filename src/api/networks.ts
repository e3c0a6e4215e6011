/** /networks/…: HTTP ⇄ NetworkService. */
import { invalid } from '../lib/errors.js';
import type { ContainerService } from '../containers/service.js';
import { parseFilters } from '../containers/view.js';
import { matchLabels } from '../lib/labels.js';
import type { CreateNetworkRequest, NetworkService } from '../network/service.js';
import type { EndpointRequest } from '../network/types.js';
import { readJSON, sendEmpty, sendJSON, type Router } from './router.js';

export interface NetworkApiDeps {
  networks: NetworkService;
  containers: ContainerService;
}

const LIST_FILTERS = new Set(['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type']);
const BUILTIN = new Set(['bridge', 'host', 'none']);

export function registerNetworkRoutes(r: Router, d: NetworkApiDeps): void {
  const svc = d.networks;

  r.add('GET', '/networks', async (ctx) => {
    const f = parseFilters(ctx.query.get('filters'));
    for (const k of f.keys()) if (!LIST_FILTERS.has(k)) throw invalid(`invalid filter '${k}'`);
    for (const t of f.get('type') ?? []) if (t !== 'custom' && t !== 'builtin') throw invalid(`invalid filter: 'type'='${t}'`);
    const list = svc.list().filter((n) => {
      const names = f.get('name');
      if (names && !names.some((x) => n.Name.includes(x))) return false;
      const ids = f.get('id');
      if (ids && !ids.some((x) => n.Id.startsWith(x))) return false;
      const drivers = f.get('driver');
      if (drivers && !drivers.includes(n.Driver)) return false;
      const labels = f.get('label');
      if (labels && !matchLabels(n.Labels, labels)) return false;
      const types = f.get('type');
      if (types && !types.includes(BUILTIN.has(n.Name) ? 'builtin' : 'custom')) return false;
      const dangling = f.get('dangling')?.[0];
      if (dangling !== undefined) {
        const unused = !BUILTIN.has(n.Name) && svc.endpointsOn(n).length === 0;
        if ((dangling === 'true' || dangling === '1') !== unused) return false;
      }
      return true;
    });
    sendJSON(ctx, 200, list.map((n) => svc.view(n, { containers: false })));
  });

  r.add('GET', '/networks/{id}', async (ctx) => {
    sendJSON(ctx, 200, svc.view(svc.find(ctx.params.id ?? ''), { containers: true }));
  });

  r.add('POST', '/networks/create', async (ctx) => {
    const body = await readJSON<CreateNetworkRequest>(ctx);
    const n = await svc.create(body ?? {});
    sendJSON(ctx, 201, { Id: n.Id, Warning: '' });
  });

  r.add('DELETE', '/networks/{id}', async (ctx) => {
    await svc.remove(ctx.params.id ?? '');
    sendEmpty(ctx, 204);
  });

  r.add('POST', '/networks/prune', async (ctx) => {
    const deleted = await svc.prune(parseFilters(ctx.query.get('filters')));
    sendJSON(ctx, 200, { NetworksDeleted: deleted });
  });

  r.add('POST', '/networks/{id}/connect', async (ctx) => {
    const body = await readJSON<{ Container?: string; EndpointConfig?: EndpointRequest | null }>(ctx);
    const n = svc.find(ctx.params.id ?? '');
    const c = d.containers.get(body?.Container ?? '');
    await svc.connect(n.Id, c, body?.EndpointConfig ?? {});
    sendEmpty(ctx, 200);
  });

  r.add('POST', '/networks/{id}/disconnect', async (ctx) => {
    const body = await readJSON<{ Container?: string; Force?: boolean }>(ctx);
    const n = svc.find(ctx.params.id ?? '');
    const c = d.containers.get(body?.Container ?? '');
    await svc.disconnect(n.Id, c, { force: body?.Force === true });
    sendEmpty(ctx, 200);
  });
}

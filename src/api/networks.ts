/** /networks/…: HTTP ⇄ NetworkService. */
import type { ContainerService } from '../containers/service.js';
import { parseFilters } from '../lib/filters.js';
import type { CreateNetworkRequest, NetworkService } from '../network/service.js';
import type { EndpointRequest } from '../network/types.js';
import { readJSON, sendEmpty, sendJSON, type Router } from './router.js';

/** What the /networks routes call: the network service's network and membership operations, and container lookup. */
export interface NetworkApiDeps {
  networks: Pick<NetworkService, 'list' | 'view' | 'find' | 'create' | 'remove' | 'prune' | 'connect' | 'disconnect'>;
  containers: Pick<ContainerService, 'get'>;
}

export function registerNetworkRoutes(r: Router, d: NetworkApiDeps): void {
  const svc = d.networks;

  r.add('GET', '/networks', async (ctx) => {
    const list = svc.list(parseFilters(ctx.query.get('filters')));
    sendJSON(
      ctx,
      200,
      list.map((n) => svc.view(n, { containers: false })),
    );
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

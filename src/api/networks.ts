/** /networks/…: HTTP ⇄ NetworkService. */
import { parseFilters } from '../lib/filters.js';
import type { CreateNetworkRequest } from '../network/networks.js';
import type { EndpointRequest, NetworkRecord } from '../network/types.js';
import type { Container } from '../containers/types.js';
import type { NetworkResource } from '../engine-api/types.js';
import { readJSON, sendEmpty, sendJSON, type Router } from './router.js';

/** The network operations the /networks routes call (network/service.ts's NetworkService). */
export interface NetworkOps {
  list(filters: Map<string, string[]>): NetworkRecord[];
  view(n: NetworkRecord, o: { containers: boolean }): NetworkResource;
  /** A network by name, ID or ID prefix; throws NotFound. */
  find(ref: string): NetworkRecord;
  create(req: CreateNetworkRequest): Promise<NetworkRecord>;
  remove(ref: string): Promise<void>;
  /** The names of the networks removed. */
  prune(filters: Map<string, string[]>): Promise<string[]>;
  connect(ref: string, c: Container, req: EndpointRequest): Promise<void>;
  disconnect(ref: string, c: Container, o: { force: boolean }): Promise<void>;
}

/** What the /networks routes call: the network service's network and membership operations, and container lookup. */
export interface NetworkApiDeps {
  networks: NetworkOps;
  /** A container by reference; throws NotFound. */
  containers: { get(ref: string): Container };
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

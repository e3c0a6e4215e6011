/**
 * Swarm-mode endpoints (/swarm, /nodes, /services, /tasks, /secrets, /configs), answered as
 * dockerd answers on a node that is not part of a swarm. Berth has no Swarm mode (Kubernetes
 * drives berthd through the CRI when one host is not enough), so `init` and `join` are refused
 * with a plain explanation instead of creating a swarm.
 */
import { invalid, notImplemented, unavailable } from '../lib/errors.js';
import { boolParam, readJSON, type Ctx, type Handler, type Router } from './router.js';

/** dockerd's text for every manager-only call on a node outside a swarm. */
export const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
export const NOT_IN_SWARM = 'This node is not part of a swarm';
export const NO_SWARM_MODE =
  'Berth does not support Swarm mode; run multi-container applications with docker-compose (or berth compose) on one host, ' +
  'or with Kubernetes across hosts (berthd is a CRI runtime)';

const notManager: Handler = async () => {
  throw unavailable(NOT_A_MANAGER);
};

/** Create calls decode their body first: malformed JSON is a 400 before the 503. */
const notManagerAfterBody: Handler = async (ctx) => {
  await readJSON(ctx);
  throw unavailable(NOT_A_MANAGER);
};

/**
 * Update calls check the `version` query first, with dockerd's wording for each object kind
 * (Go's strconv error for swarm, nodes and services; a short one for secrets and configs).
 */
const versioned =
  (kind: string, short: boolean): Handler =>
  async (ctx: Ctx) => {
    const v = ctx.query.get('version') ?? '';
    if (!/^\d+$/.test(v)) {
      throw invalid(short ? `invalid ${kind} version` : `invalid ${kind} version '${v}': strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    throw unavailable(NOT_A_MANAGER);
  };

/** Service and task logs check the chosen streams before asking the (absent) cluster. */
const logs: Handler = async (ctx) => {
  if (!boolParam(ctx.query, 'stdout') && !boolParam(ctx.query, 'stderr')) {
    throw invalid('Bad parameters: you must choose at least one stream');
  }
  throw unavailable(NOT_A_MANAGER);
};

export function registerSwarmRoutes(r: Router): void {
  r.add('GET', '/swarm', notManager);
  r.add('POST', '/swarm/init', async () => {
    throw notImplemented(NO_SWARM_MODE);
  });
  r.add('POST', '/swarm/join', async () => {
    throw notImplemented(NO_SWARM_MODE);
  });
  r.add('POST', '/swarm/leave', async () => {
    throw unavailable(NOT_IN_SWARM);
  });
  r.add('POST', '/swarm/update', versioned('swarm', false));
  r.add('GET', '/swarm/unlockkey', notManager);
  r.add('POST', '/swarm/unlock', notManagerAfterBody);

  r.add('GET', '/nodes', notManager);
  r.add('GET', '/nodes/{id}', notManager);
  r.add('DELETE', '/nodes/{id}', notManager);
  r.add('POST', '/nodes/{id}/update', versioned('node', false));

  r.add('GET', '/services', notManager);
  r.add('POST', '/services/create', notManagerAfterBody);
  r.add('GET', '/services/{id}', notManager);
  r.add('DELETE', '/services/{id}', notManager);
  r.add('POST', '/services/{id}/update', versioned('service', false));
  r.add('GET', '/services/{id}/logs', logs);

  r.add('GET', '/tasks', notManager);
  r.add('GET', '/tasks/{id}', notManager);
  r.add('GET', '/tasks/{id}/logs', logs);

  for (const kind of ['secret', 'config'] as const) {
    r.add('GET', `/${kind}s`, notManager);
    r.add('POST', `/${kind}s/create`, notManagerAfterBody);
    r.add('GET', `/${kind}s/{id}`, notManager);
    r.add('DELETE', `/${kind}s/{id}`, notManager);
    r.add('POST', `/${kind}s/{id}/update`, versioned(kind, true));
  }
}

/**
 * The Engine API calls berth-web forwards to berthd: an allow-list, not an open proxy. A request
 * to `/api/engine/<path>` is answered only when its method and path match a route below; only the
 * route's query parameters are passed on; path parameters are checked against Docker's name
 * grammar and re-encoded, so nothing can step to another endpoint. Creating containers, exec,
 * attach, archives, build, commit, import, secrets, plugins and every other endpoint are refused
 * with 403. Streams (logs, stats, events) go through sse.ts; pull progress is this route's
 * streamed JSON-lines body, as the daemon sends it.
 */
import type http from 'node:http';
import type { Query, RequestOptions } from '../client/transport.js';
import { sendDaemonError, sendError, COMMON_HEADERS } from './respond.js';

/** What the proxy needs of the Engine API client (EngineClient has it). */
export interface EngineRequester {
  request(opts: RequestOptions): Promise<http.IncomingMessage>;
}

/** Container, volume and network names and IDs: Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. */
const NAME = '([A-Za-z0-9][A-Za-z0-9_.-]{0,254})';
/** Image references: registry host, path, tag, digest. */
const IMAGE = '([A-Za-z0-9][A-Za-z0-9._/:@-]{0,511})';

export interface ProxyRoute {
  method: 'GET' | 'POST' | 'DELETE';
  pattern: RegExp;
  /** Query parameters passed on; every other one is dropped. */
  query: readonly string[];
  /** Daemon path from the matched parameters (each already checked and decoded). */
  target: (params: string[]) => string;
  /** Further checks of the query; a string is the 400 message. */
  check?: (q: URLSearchParams) => string | undefined;
  /** Query parameters set whatever the client sent. */
  fixed?: Query;
}

const enc = encodeURIComponent;
const container = (action: string, query: readonly string[] = []): ProxyRoute => ({
  method: 'POST',
  pattern: new RegExp(`^/containers/${NAME}/${action}$`),
  query,
  target: ([id]) => `/containers/${enc(id!)}/${action}`,
});

export const ROUTES: readonly ProxyRoute[] = [
  { method: 'GET', pattern: /^\/version$/, query: [], target: () => '/version' },
  { method: 'GET', pattern: /^\/info$/, query: [], target: () => '/info' },
  { method: 'GET', pattern: /^\/containers\/json$/, query: ['all', 'size', 'limit', 'filters'], target: () => '/containers/json' },
  { method: 'GET', pattern: new RegExp(`^/containers/${NAME}/json$`), query: ['size'], target: ([id]) => `/containers/${enc(id!)}/json` },
  {
    method: 'GET',
    pattern: new RegExp(`^/containers/${NAME}/stats$`),
    query: ['one-shot'],
    fixed: { stream: '0' },
    target: ([id]) => `/containers/${enc(id!)}/stats`,
  },
  container('start'),
  container('stop', ['t', 'signal']),
  container('restart', ['t', 'signal']),
  container('pause'),
  container('unpause'),
  { method: 'DELETE', pattern: new RegExp(`^/containers/${NAME}$`), query: ['force', 'v'], target: ([id]) => `/containers/${enc(id!)}` },
  { method: 'GET', pattern: /^\/images\/json$/, query: ['all', 'filters', 'digests'], target: () => '/images/json' },
  { method: 'GET', pattern: new RegExp(`^/images/${IMAGE}/json$`), query: [], target: ([n]) => `/images/${enc(n!)}/json` },
  { method: 'GET', pattern: new RegExp(`^/images/${IMAGE}/history$`), query: [], target: ([n]) => `/images/${enc(n!)}/history` },
  {
    // pull only: fromSrc (import from a URL or the body) is not forwarded
    method: 'POST',
    pattern: /^\/images\/create$/,
    query: ['fromImage', 'tag', 'platform'],
    check: (q) => (q.get('fromImage') ? undefined : 'berth-web pulls images only: fromImage is required'),
    target: () => '/images/create',
  },
  { method: 'GET', pattern: /^\/volumes$/, query: ['filters'], target: () => '/volumes' },
  { method: 'GET', pattern: new RegExp(`^/volumes/${NAME}$`), query: [], target: ([n]) => `/volumes/${enc(n!)}` },
  { method: 'GET', pattern: /^\/networks$/, query: ['filters'], target: () => '/networks' },
  { method: 'GET', pattern: new RegExp(`^/networks/${NAME}$`), query: [], target: ([n]) => `/networks/${enc(n!)}` },
  { method: 'GET', pattern: /^\/system\/df$/, query: ['type'], target: () => '/system/df' },
];

/** The route for a method and a (still percent-encoded) path, with its decoded parameters. */
export function matchRoute(method: string, rawPath: string): { route: ProxyRoute; params: string[] } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(safeDecode(rawPath) ?? '');
    if (!m) continue;
    const params = m.slice(1).map((p) => p ?? '');
    // `..` has no place in any name; a doubled slash would be another path
    if (params.some((p) => p.includes('..') || p.includes('//') || p.endsWith('/'))) return undefined;
    return { route, params };
  }
  return undefined;
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** Only the route's parameters (repeated ones kept as lists), then its fixed ones. */
export function forwardedQuery(route: ProxyRoute, q: URLSearchParams): Query {
  const out: Query = {};
  for (const k of route.query) {
    const vs = q.getAll(k);
    if (vs.length === 1) out[k] = vs[0];
    else if (vs.length > 1) out[k] = vs;
  }
  return { ...out, ...route.fixed };
}

/** Answers `/api/engine/<enginePath>`: forwards an allowed call, refuses the rest with 403. */
export async function handleEngine(
  client: EngineRequester,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  enginePath: string,
  search: URLSearchParams,
): Promise<void> {
  const method = req.method ?? 'GET';
  const hit = matchRoute(method, enginePath);
  if (!hit) {
    sendError(res, 403, `berth-web does not forward ${method} ${enginePath}`);
    return;
  }
  const bad = hit.route.check?.(search);
  if (bad) {
    sendError(res, 400, bad);
    return;
  }
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  let upstream: http.IncomingMessage;
  try {
    upstream = await client.request({ method, path: hit.route.target(hit.params), query: forwardedQuery(hit.route, search), signal: abort.signal });
  } catch (err) {
    sendDaemonError(res, err);
    return;
  }
  const type = upstream.headers['content-type'];
  res.writeHead(upstream.statusCode ?? 200, { ...COMMON_HEADERS, 'Cache-Control': 'no-store', ...(type ? { 'Content-Type': type } : {}) });
  upstream.on('error', () => res.destroy());
  upstream.pipe(res);
}

/**
 * berth-web's HTTP server: the page's static files, the token exchange, and the `/api/` tree
 * behind auth.ts's checks. Each `/api/<prefix>/` is one handler (the Engine API allow-list in
 * proxy.ts, the event streams in sse.ts and statsall.ts); a later part (the playground's `/api/play/`) is
 * another entry in the same table, behind the same checks.
 *
 * Order of checks for `/api/`: Host (loopback names only on a loopback listener) → token or
 * session (401) → same origin (403) → CSRF for anything but GET/HEAD (403) → the handler.
 */
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineClient } from '../client/client.js';
import { Auth, OriginPolicy, CSRF_HEADER, type Principal } from './auth.js';
import { isLoopback, type WebConfig } from './config.js';
import { handleEngine } from './proxy.js';
import { COMMON_HEADERS, sendError, sendJson } from './respond.js';
import { handleStream } from './sse.js';
import { streamAllStats } from './statsall.js';

/** The bundled page (scripts/bundle.mjs writes dist/web/; this file is dist/src/web/server.js). */
export const STATIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export interface ApiContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  /** The path below the handler's prefix, still percent-encoded. */
  rest: string;
  query: URLSearchParams;
  principal: Principal;
}

/** One `/api/<prefix>/` subtree. */
export type ApiHandler = (ctx: ApiContext) => Promise<void>;

export interface WebServer {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  close(): Promise<void>;
}

export interface WebServerOptions {
  /** A fixed token (tests); default: 32 random bytes. */
  token?: string;
  /** More `/api/<prefix>/` subtrees behind the same checks (the playground's `play` is to be one). */
  apis?: Record<string, ApiHandler>;
}

export async function startWebServer(config: WebConfig, o: WebServerOptions = {}): Promise<WebServer> {
  const secure = config.tls !== undefined;
  const auth = new Auth({ secure, ...(o.token ? { token: o.token } : {}) });
  const client = new EngineClient({ host: config.daemonHost, userAgent: 'berth-web/0.1.0' });
  const files = loadStatic(STATIC_DIR);

  // the extra subtrees first: a later entry wins, so none can replace `engine` or `stream`
  const apis = new Map<string, ApiHandler>([
    ...Object.entries(o.apis ?? {}),
    ['engine', (c) => handleEngine(client, c.req, c.res, c.rest, c.query)],
    [
      'stream',
      async (c) => {
        const name = c.rest.replace(/^\//, '');
        if (c.req.method !== 'GET') sendError(c.res, 405, 'method not allowed');
        else if (name === 'stats') await streamAllStats(client, c.res);
        else if (!(await handleStream(client, c.res, name, c.query))) sendError(c.res, 404, `no stream ${name}`);
      },
    ],
  ]);

  const serve = async (req: http.IncomingMessage, res: http.ServerResponse, p: OriginPolicy): Promise<void> => {
    if (!p.hostOk(req)) return sendError(res, 403, 'berth-web answers only at its own address (Host header refused)');
    const url = new URL(req.url ?? '/', 'http://berth-web.invalid');
    const pathname = url.pathname;
    if (pathname.startsWith('/api/')) return serveApi(req, res, p, pathname.slice('/api/'.length), url.searchParams);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'method not allowed');
    const token = url.searchParams.get('token');
    if (token !== null) return exchangeToken(req, res, p, token);
    const file = files.get(pathname === '/' ? '/index.html' : pathname);
    if (!file) return sendError(res, 404, 'not found');
    res.writeHead(200, {
      ...COMMON_HEADERS,
      'Content-Type': file.type,
      'Content-Length': file.body.length,
      'Cache-Control': 'no-cache',
      ...(file.type.startsWith('text/html') ? { 'Content-Security-Policy': CSP } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  };

  /** `/?token=…`: a session cookie for a good token, then a redirect that drops the token from the URL. */
  const exchangeToken = (req: http.IncomingMessage, res: http.ServerResponse, p: OriginPolicy, token: string): void => {
    if (!p.sameOrigin(req)) return sendError(res, 403, 'cross-origin request refused');
    if (!auth.tokenMatches(token)) {
      res.writeHead(401, { ...COMMON_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end('berth-web: wrong token; open the URL berth-web printed at start\n');
      return;
    }
    const s = auth.createSession();
    res.writeHead(303, { ...COMMON_HEADERS, Location: '/', 'Set-Cookie': s.cookie, 'Cache-Control': 'no-store' });
    res.end();
  };

  const serveApi = async (req: http.IncomingMessage, res: http.ServerResponse, p: OriginPolicy, sub: string, query: URLSearchParams): Promise<void> => {
    const principal = auth.principal(req);
    if (!principal) return sendError(res, 401, 'unauthorized: give the token (Authorization: Bearer …) or open the URL berth-web printed');
    if (!p.sameOrigin(req)) return sendError(res, 403, 'cross-origin request refused');
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && !auth.csrfOk(req, principal)) {
      return sendError(res, 403, `CSRF check failed: a state-changing request needs the ${CSRF_HEADER} header from GET /api/session`);
    }
    if (sub === 'session') {
      if (method === 'GET') return sendJson(res, 200, { kind: principal.kind, csrf: principal.kind === 'session' ? principal.csrf : undefined });
      if (method === 'DELETE' && principal.kind === 'session') return sendJson(res, 200, {}, { 'Set-Cookie': auth.endSession(principal.id) });
      return sendError(res, 405, 'method not allowed');
    }
    const slash = sub.indexOf('/');
    const h = slash > 0 ? apis.get(sub.slice(0, slash)) : undefined;
    if (!h) return sendError(res, 404, `no API /api/${sub}`);
    await h({ req, res, rest: sub.slice(slash), query, principal });
  };

  // The handler is attached once the port (and so the accepted Host names) is known.
  const server = config.tls
    ? https.createServer({ cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key), minVersion: 'TLSv1.2' })
    : http.createServer();
  server.headersTimeout = 20_000;
  server.requestTimeout = 0; // streams last as long as the page follows them
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const policy = new OriginPolicy(secure ? 'https' : 'http', isLoopback(config.listen.host) ? OriginPolicy.loopbackHosts(port) : undefined);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    serve(req, res, policy).catch((err: unknown) => sendError(res, 500, `berth-web: ${(err as Error).message}`));
  });
  const hostText = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  return {
    url: `${secure ? 'https' : 'http'}://${hostText}:${port}`,
    port,
    token: auth.token,
    close: () =>
      new Promise<void>((resolve) => {
        client.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface StaticFile {
  type: string;
  body: Buffer;
}

/** The bundled files by URL path, read once at start (a fixed set: no path from a request reaches the file system). */
function loadStatic(dir: string): Map<string, StaticFile> {
  const out = new Map<string, StaticFile>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new Error(`the page is not built (${dir} is missing): run npm run build`);
  }
  for (const name of names) {
    const type = TYPES[path.extname(name)];
    if (type) out.set(`/${name}`, { type, body: readFileSync(path.join(dir, name)) });
  }
  if (!out.has('/index.html')) throw new Error(`${dir}/index.html is missing: run npm run build`);
  return out;
}

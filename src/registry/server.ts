/**
 * The HTTP(S) server: one dispatch function (routes, auth, handlers), the common headers, the
 * error mapping via errors.ts, access logs (one JSON line per request), /metrics and /healthz.
 */
import { createWriteStream, readFileSync, promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Writable } from 'node:stream';
import { Authorizer } from './auth.js';
import { deleteBlob, serveBlob, startUpload, upload } from './blobs.js';
import type { RegistryConfig } from './config.js';
import type { Ctx, Deps } from './context.js';
import { regErr, sendError } from './errors.js';
import { Metrics } from './metrics.js';
import { Proxy } from './proxy.js';
import { catalog, deleteManifest, getManifest, listTags, pushManifest, referrers } from './repos.js';
import { requiredAccess, route, routeLabel, type Route } from './routes.js';
import { Storage } from './storage.js';
import { Uploads } from './uploads.js';

export interface RunningRegistry {
  server: http.Server;
  deps: Deps;
  address: { host: string; port: number };
  close(): Promise<void>;
}

async function dispatch(
  d: Deps,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  r: Route,
  base: string,
  onUser: (u: string | undefined) => void,
): Promise<void> {
  const method = req.method ?? 'GET';
  const head = method === 'HEAD';
  const id = await d.auth.authorize(req, requiredAccess(r, method), base);
  onUser(id.user);
  const ctx: Ctx = { req, res, url, route: r, id, base, head };
  switch (r.kind) {
    case 'base':
      if (method !== 'GET' && method !== 'HEAD') break;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 2 });
      return void res.end(head ? undefined : '{}');
    case 'catalog':
      if (method !== 'GET' && method !== 'HEAD') break;
      return catalog(d, ctx as Ctx<typeof r>);
    case 'tags':
      if (method !== 'GET' && method !== 'HEAD') break;
      return listTags(d, ctx as Ctx<typeof r>);
    case 'referrers':
      if (method !== 'GET' && method !== 'HEAD') break;
      return referrers(d, ctx as Ctx<typeof r>);
    case 'manifest':
      if (method === 'GET' || method === 'HEAD') return getManifest(d, ctx as Ctx<typeof r>);
      if (method === 'PUT') return pushManifest(d, ctx as Ctx<typeof r>);
      if (method === 'DELETE') return deleteManifest(d, ctx as Ctx<typeof r>);
      break;
    case 'blob':
      if (method === 'GET' || method === 'HEAD') return serveBlob(d, ctx as Ctx<typeof r>);
      if (method === 'DELETE') return deleteBlob(d, ctx as Ctx<typeof r>);
      break;
    case 'uploads':
      if (method === 'POST') return startUpload(d, ctx as Ctx<typeof r>);
      break;
    case 'upload':
      return upload(d, ctx as Ctx<typeof r>);
  }
  throw regErr('UNSUPPORTED', `method ${method} not allowed on ${url.pathname}`);
}

function accessLogSink(where: string): Writable | undefined {
  if (where === 'off') return undefined;
  if (where === 'stdout' || where === '-') return process.stdout;
  if (where === 'stderr') return process.stderr;
  return createWriteStream(where, { flags: 'a' });
}

export async function startRegistry(config: RegistryConfig): Promise<RunningRegistry> {
  const storage = new Storage(config.root);
  await storage.init({ purgeUploadsAfterMs: config.purgeUploadsAfterMs });
  // eslint-disable-next-line prefer-const
  let deps: Deps;
  const proxy = config.proxy ? new Proxy(() => deps, config.proxy.remoteUrl, config.proxy) : undefined;
  deps = { config, storage, uploads: new Uploads(storage), auth: new Authorizer(config.auth), metrics: new Metrics(), proxy };
  const d = deps;
  const log = accessLogSink(config.accessLog);
  const scheme = config.tls ? 'https' : 'http';

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const t0 = process.hrtime.bigint();
    d.metrics.inFlight++;
    // Bytes read off the connection for this request (headers included); a 'data' listener
    // here would start the body flowing before the handler reads it.
    const sock = req.socket;
    const read0 = sock.bytesRead;
    let label = 'other';
    let user: string | undefined;
    res.on('close', () => {
      d.metrics.inFlight--;
      const bytesIn = Math.max(0, sock.bytesRead - read0);
      d.metrics.bytesIn += bytesIn;
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      d.metrics.observe(req.method ?? '', label, res.statusCode, secs);
      if (log) {
        const line = {
          time: new Date().toISOString(),
          remote: req.socket.remoteAddress,
          method: req.method,
          uri: req.url,
          route: label,
          status: res.statusCode,
          bytes_in: bytesIn,
          bytes_out: Number(res.getHeader('content-length') ?? 0),
          duration_ms: Math.round(secs * 1e6) / 1e3,
          user: user ?? null,
          user_agent: req.headers['user-agent'] ?? null,
          completed: res.writableFinished,
        };
        log.write(JSON.stringify(line) + '\n');
      }
    });
    const host = req.headers.host ?? `${config.listen.host}:${config.listen.port}`;
    const base = `${scheme}://${host}`;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', base);
    } catch {
      url = new URL('/', base);
    }
    const run = async (): Promise<void> => {
      const p = url.pathname;
      if (p === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
        label = 'metrics';
        const body = d.metrics.render();
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4', 'Content-Length': Buffer.byteLength(body) });
        return void res.end(body);
      }
      if (p === '/healthz' || p === '/debug/health') {
        label = 'health';
        await fs.access(config.root);
        const body = JSON.stringify({ status: 'ok' });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        return void res.end(body);
      }
      if (p === '/token' || p === '/auth/token') {
        label = 'token';
        return d.auth.serveToken(req, res, url);
      }
      res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
      const r = route(p);
      if (!r) throw regErr('UNSUPPORTED', `no such endpoint ${p}`, undefined, 404);
      label = routeLabel(r);
      await dispatch(d, req, res, url, r, base, (u) => (user = u));
    };
    run().catch((err: unknown) => {
      const e = sendError(res, err, req.method === 'HEAD');
      if (e.status >= 500) process.stderr.write(`berth-registry: ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}\n`);
      if (!req.complete) req.resume();
    });
  };

  const server: http.Server = config.tls
    ? https.createServer({ cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }, handler)
    : http.createServer(handler);
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  const address = typeof a === 'object' && a ? { host: a.address, port: a.port } : config.listen;
  return {
    server,
    deps: d,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

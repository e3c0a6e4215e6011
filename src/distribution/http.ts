/**
 * A small HTTP(S) client for registries on node:http: keep-alive agents, streaming bodies both
 * ways, redirects (blob GETs are often redirected to object storage; credentials are dropped when
 * the redirect leaves the registry's origin), an idle timeout, and abort signals.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
  httpsInsecure: new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false }),
};

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  insecureTLS?: boolean;
  signal?: AbortSignal;
  /** Idle timeout in ms (default 60 s). */
  timeout?: number;
  /** Follow redirects (default true for GET/HEAD). */
  followRedirects?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The URL that answered (after redirects). */
  url: URL;
  body: http.IncomingMessage;
}

export class HttpError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export async function httpRequest(r: HttpRequest): Promise<HttpResponse> {
  let url = r.url;
  let headers = { ...r.headers };
  const follow = r.followRedirects ?? (r.method === 'GET' || r.method === 'HEAD');
  for (let hop = 0; ; hop++) {
    const res = await once({ ...r, url, headers });
    if (follow && [301, 302, 303, 307, 308].includes(res.status) && res.headers.location && hop < 10) {
      res.body.resume();
      const next = new URL(res.headers.location, url);
      if (next.origin !== url.origin) {
        headers = { ...headers };
        delete headers['Authorization'];
      }
      url = next;
      continue;
    }
    return res;
  }
}

function once(r: HttpRequest & { headers: Record<string, string> }): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const isHttps = r.url.protocol === 'https:';
    const mod = isHttps ? https : http;
    const agent = isHttps ? (r.insecureTLS ? agents.httpsInsecure : agents.https) : agents.http;
    const headers: Record<string, string> = { 'User-Agent': 'berth/0.1 (docker-compatible)', ...r.headers };
    if (Buffer.isBuffer(r.body) || typeof r.body === 'string') headers['Content-Length'] = String(Buffer.byteLength(r.body));
    else if (r.body === undefined && ['PUT', 'POST', 'PATCH'].includes(r.method)) headers['Content-Length'] = '0';
    const req = mod.request(r.url, { method: r.method, headers, agent, ...(r.signal ? { signal: r.signal } : {}) });
    req.setTimeout(r.timeout ?? 60_000, () => req.destroy(new HttpError(`${r.method} ${r.url.href}: timeout`, 'ETIMEDOUT')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(new HttpError(`${goMethod(r.method)} "${r.url.href}": ${goNetMessage(err, r.url)}`, err.code));
    });
    req.on('response', (res) => {
      res.setTimeout(r.timeout ?? 60_000, () => res.destroy(new HttpError(`${r.method} ${r.url.href}: read timeout`, 'ETIMEDOUT')));
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url: r.url, body: res });
    });
    if (r.body === undefined) req.end();
    else if (Buffer.isBuffer(r.body) || typeof r.body === 'string') req.end(r.body);
    else {
      const body = r.body;
      body.on('error', (err) => req.destroy(err));
      body.pipe(req);
    }
  });
}

/** Go's url.Error spells the method capitalised: `Get "https://…": …`. */
const goMethod = (m: string): string => m.charAt(0) + m.slice(1).toLowerCase();

let nameserver: string | undefined;
/** The resolver Go's net package names in a failed lookup: the first nameserver of resolv.conf. */
function resolverAddress(): string {
  if (nameserver === undefined) {
    let ns = '127.0.0.1';
    try {
      ns = /^\s*nameserver\s+(\S+)/m.exec(readFileSync('/etc/resolv.conf', 'utf8'))?.[1] ?? ns;
    } catch {
      /* no resolv.conf: Go falls back to the loopback resolver */
    }
    nameserver = ns.includes(':') ? `[${ns}]:53` : `${ns}:53`;
  }
  return nameserver;
}

/** A connection error as dockerd (Go's net package) words it, so clients see dockerd's text. */
export function goNetMessage(err: NodeJS.ErrnoException & { address?: string; port?: number }, url: URL): string {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addr = err.address !== undefined ? (err.address.includes(':') ? `[${err.address}]` : err.address) + `:${err.port ?? ''}` : url.host;
  switch (err.code) {
    case 'ENOTFOUND':
      return `dial tcp: lookup ${host} on ${resolverAddress()}: no such host`;
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${host} on ${resolverAddress()}: server misbehaving`;
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ECONNRESET':
      return `read tcp ${addr}: read: connection reset by peer`;
    default:
      return err.message;
  }
}

/** Reads a (small) response body into memory, refusing more than `limit` bytes. */
export async function readAll(res: http.IncomingMessage, limit = 8 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let len = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    len += c.length;
    if (len > limit) {
      res.destroy();
      throw new HttpError(`response body larger than ${limit} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

export function drain(res: http.IncomingMessage): void {
  res.resume();
  res.on('error', () => undefined);
}

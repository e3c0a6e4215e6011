/**
 * HTTP at the edge: version prefixes (/v1.24 … /v1.50 and none), routing, JSON bodies, the
 * error envelope, and hijacked connections for attach. Handlers translate between HTTP and
 * service calls and hold no engine logic.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { BerthError, invalid, notFound } from '../lib/errors.js';
import { messageOfError, statusOf } from './errors.js';

export const API_VERSION = '1.50';
/** As dockerd 20.10: clients as old as API 1.12 (skopeo's docker-daemon transport speaks 1.22). */
export const MIN_API_VERSION = '1.12';
/** Below this version dockerd answers errors as plain text, not a JSON envelope. */
const JSON_ERRORS_VERSION = '1.24';

export interface Ctx {
  req: IncomingMessage;
  /** Undefined for hijacked (Upgrade) requests. */
  res?: ServerResponse;
  /** The raw connection, for hijacking. */
  socket: Duplex;
  /** Bytes already read past the request head and body (Upgrade requests). */
  head: Buffer;
  /** The request body of an Upgrade request (Node leaves it on the socket). */
  body?: Buffer;
  upgrade: boolean;
  params: Record<string, string>;
  query: URLSearchParams;
  version: string;
}

export type Handler = (ctx: Ctx) => Promise<void>;

interface Route {
  method: string;
  re: RegExp;
  keys: string[];
  handler: Handler;
}

const cmpVersion = (a: string, b: string): number => {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return (a1 ?? 0) - (b1 ?? 0) || (a2 ?? 0) - (b2 ?? 0);
};

export const versionAtLeast = (ctx: Ctx, v: string): boolean => cmpVersion(ctx.version, v) >= 0;

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): void {
    const keys: string[] = [];
    // `{name}` matches one segment; `{name*}` the rest (container names never hold `/`).
    const src = pattern.replace(/\{(\w+)(\*)?\}/g, (_m, k: string, star?: string) => {
      keys.push(k);
      return star ? '(.+)' : '([^/]+)';
    });
    this.routes.push({ method, re: new RegExp(`^${src}$`), keys, handler });
  }

  async dispatch(ctx: Omit<Ctx, 'params' | 'query' | 'version'>): Promise<void> {
    const { req } = ctx;
    const url = new URL(req.url ?? '/', 'http://berth');
    let p = url.pathname;
    let version = API_VERSION;
    const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(p);
    const full: Ctx = { ...ctx, params: {}, query: url.searchParams, version };
    try {
      if (m) {
        version = m[1] as string;
        p = m[2] as string;
        if (cmpVersion(version, MIN_API_VERSION) < 0) {
          full.version = version;
          throw invalid(`client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
        }
        if (cmpVersion(version, API_VERSION) > 0) {
          throw invalid(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
        }
        full.version = version;
      }
      const method = req.method === 'HEAD' ? 'HEAD' : (req.method ?? 'GET');
      for (const r of this.routes) {
        if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
        const mm = r.re.exec(p);
        if (!mm) continue;
        r.keys.forEach((k, i) => {
          full.params[k] = decodeURIComponent(mm[i + 1] as string);
        });
        await r.handler(full);
        return;
      }
      throw notFound('page not found');
    } catch (err) {
      sendError(full, err);
    }
  }
}

/**
 * For Upgrade requests Node hands over the socket right after the headers: the body (sized by
 * Content-Length) is in `head` and possibly still on the socket. Splits it off.
 */
export async function splitUpgradeBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  const len = Number(req.headers['content-length'] ?? 0);
  if (!Number.isFinite(len) || len <= 0) return { body: Buffer.alloc(0), rest: head };
  if (len > MAX_JSON) throw invalid('request body too large');
  let buf = head;
  while (buf.length < len) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const onData = (d: Buffer): void => {
        cleanup();
        resolve(d);
      };
      const onEnd = (): void => {
        cleanup();
        resolve(null);
      };
      const cleanup = (): void => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.pause();
      };
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.resume();
    });
    if (chunk === null) break;
    buf = Buffer.concat([buf, chunk]);
  }
  return { body: buf.subarray(0, len), rest: buf.subarray(len) };
}

export function sendError(ctx: Ctx, err: unknown): void {
  const status = statusOf(err);
  if (status === 500 && !(err instanceof BerthError)) {
    console.error(`berthd: ${ctx.req.method} ${ctx.req.url}:`, err);
  }
  // API < 1.24: the message as plain text, as Go's http.Error writes it.
  const plain = cmpVersion(ctx.version, JSON_ERRORS_VERSION) < 0;
  const body = status === 304 ? '' : plain ? messageOfError(err) + '\n' : JSON.stringify({ message: messageOfError(err) }) + '\n';
  const type = plain ? 'text/plain; charset=utf-8' : 'application/json';
  if (ctx.res) {
    if (ctx.res.headersSent) {
      ctx.res.destroy();
      return;
    }
    ctx.res.writeHead(status, status === 304 ? {} : { 'Content-Type': type, ...(plain ? { 'X-Content-Type-Options': 'nosniff' } : {}) });
    ctx.res.end(body);
  } else {
    const reason = STATUS_CODES[status] ?? 'Error';
    ctx.socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
}

export function sendJSON(ctx: Ctx, status: number, value: unknown): void {
  const res = ctx.res;
  if (!res) throw new Error('sendJSON on a hijacked connection');
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(ctx.req.method === 'HEAD' ? undefined : body);
}

export function sendEmpty(ctx: Ctx, status: number): void {
  ctx.res?.writeHead(status);
  ctx.res?.end();
}

const MAX_JSON = 16 << 20;

/** Reads and parses a JSON body; an empty body is `{}`. */
export async function readJSON<T>(ctx: Ctx): Promise<T> {
  const chunks: Buffer[] = [];
  let len = 0;
  if (ctx.body) chunks.push(ctx.body);
  else {
    for await (const chunk of ctx.req) {
      len += (chunk as Buffer).length;
      if (len > MAX_JSON) throw invalid('request body too large');
      chunks.push(chunk as Buffer);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '' || text === 'null') return {} as T;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
    return v as T;
  } catch (err) {
    throw invalid(`invalid JSON: ${(err as Error).message}`);
  }
}

export function boolParam(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null) return dflt;
  return !['', '0', 'false', 'False', 'FALSE', 'no'].includes(v);
}

export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw invalid(`invalid value for ${name}: ${v}`);
  return Number(v);
}

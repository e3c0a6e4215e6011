/**
 * HTTP at the edge: version prefixes (/v1.24 … /v1.50 and none), routing, JSON bodies, the
 * error envelope, and hijacked connections for attach. Handlers translate between HTTP and
 * service calls and hold no engine logic.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { BerthError, invalid, notFound } from '../lib/errors.js';
import { messageOfError, statusOf } from './errors.js';
import { BODY_OF_ROUTE, parseJSONValue, validateBody } from './validate.js';

export const API_VERSION = '1.50';
/** As dockerd 20.10: clients as old as API 1.12 (skopeo's docker-daemon transport speaks 1.22). */
export const MIN_API_VERSION = '1.12';
/** Below this version dockerd answers errors as plain text, not a JSON envelope. */
const JSON_ERRORS_VERSION = '1.24';

export interface Ctx {
  req: IncomingMessage;
  /**
   * The response. Upgrade requests get one too (over the raw connection, closed when it ends), for
   * routes that answer them plainly; hijacking routes write on `socket` instead (streams.hijack).
   */
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
  /** The matched route, `METHOD /pattern` (selects the body schema, api/validate.ts). */
  route: string;
}

export type Handler = (ctx: Ctx) => Promise<void>;

interface Route {
  method: string;
  pattern: string;
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
    this.routes.push({ method, pattern, re: new RegExp(`^${src}$`), keys, handler });
  }

  /** Answers every request: a handler's failure becomes the error envelope (500 only for the unexpected). */
  async dispatch(ctx: Omit<Ctx, 'params' | 'query' | 'version' | 'route'>): Promise<void> {
    const full: Ctx = { ...ctx, params: {}, query: new URLSearchParams(), version: API_VERSION, route: '' };
    try {
      await this.route(full);
    } catch (err) {
      try {
        sendError(full, err);
      } catch (err2) {
        console.error(`berthd: ${ctx.req.method} ${ctx.req.url}: cannot send the error:`, err2);
        ctx.res?.destroy();
        ctx.socket.destroy();
      }
    }
  }

  private async route(full: Ctx): Promise<void> {
    const { req } = full;
    const target = splitTarget(req.url ?? '/');
    full.query = new URLSearchParams(target.query);
    // Like dockerd (gorilla/mux): a path that is not clean is redirected to its clean form.
    const clean = cleanPath(target.path);
    if (clean !== target.path) {
      const location = encodePath(clean) + (target.query !== '' ? `?${target.query}` : '');
      if (full.res) {
        full.res.writeHead(301, { Location: location, 'Content-Length': 0 });
        full.res.end();
      } else {
        full.socket.end(`HTTP/1.1 301 Moved Permanently\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      }
      return;
    }
    let p = clean;
    const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(p);
    if (m) {
      const version = m[1] as string;
      p = m[2] as string;
      if (cmpVersion(version, MIN_API_VERSION) < 0) {
        full.version = version;
        throw invalid(
          `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
        );
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
        full.params[k] = mm[i + 1] as string;
      });
      full.route = `${r.method} ${r.pattern}`;
      await r.handler(full);
      return;
    }
    throw notFound('page not found');
  }
}

/**
 * A request target's decoded path and raw query, as Go's net/http has them: percent escapes
 * decoded to bytes (invalid UTF-8 becomes U+FFFD when read as text), a malformed escape refused.
 */
export function splitTarget(url: string): { path: string; query: string } {
  const qi = url.indexOf('?');
  const rawPath = qi >= 0 ? url.slice(0, qi) : url;
  const query = qi >= 0 ? url.slice(qi + 1) : '';
  let path = rawPath;
  if (rawPath.includes('%')) {
    const bad = /%(?![0-9a-fA-F]{2})(.{0,2})/s.exec(rawPath);
    if (bad) throw invalid(`invalid URL escape "%${bad[1] ?? ''}"`);
    path = Buffer.from(
      rawPath.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  }
  return { path, query };
}

/** gorilla/mux's cleanPath: path.Clean, keeping a trailing slash. */
export function cleanPath(p: string): string {
  if (p === '') return '/';
  if (!p.startsWith('/')) p = `/${p}`;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  let np = `/${out.join('/')}`;
  if (p.endsWith('/') && np !== '/') np += '/';
  return np;
}

const encodePath = (p: string): string =>
  p
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%40/g, '@'))
    .join('/');

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
    const chunk = await readSome(socket);
    if (chunk === null) break;
    buf = Buffer.concat([buf, chunk]);
  }
  return { body: buf.subarray(0, len), rest: buf.subarray(len) };
}

/** The next bytes of a paused socket (null at its end); it is paused again after. */
function readSome(socket: Duplex): Promise<Buffer | null> {
  return new Promise<Buffer | null>((resolve) => {
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
}

/**
 * A chunked request body before an upgraded protocol (docker-modem's hijacked `POST /session`
 * ends an empty one with `0\r\n\r\n` after its headers): read to its last chunk; returns the
 * body and the bytes after it. Only for routes whose client ends the body before the upgraded
 * protocol starts (an attach streams its stdin raw on a chunked request that never ends).
 */
export async function splitChunkedBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  if (!/\bchunked\b/i.test(String(req.headers['transfer-encoding'] ?? ''))) return { body: Buffer.alloc(0), rest: head };
  let buf = head;
  for (;;) {
    const parsed = parseChunked(buf);
    if (parsed) return parsed;
    if (buf.length > MAX_JSON) throw invalid('request body too large');
    const chunk = await readSome(socket);
    if (chunk === null) throw invalid('the request body ended early');
    buf = Buffer.concat([buf, chunk]);
  }
}

/** A complete chunked body at the start of `buf` and what follows it; undefined while incomplete. */
function parseChunked(buf: Buffer): { body: Buffer; rest: Buffer } | undefined {
  const parts: Buffer[] = [];
  let off = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', off);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(off, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size) || size < 0) throw invalid('invalid chunked request body');
    off = eol + 2;
    if (size === 0) {
      // trailers, then an empty line
      for (;;) {
        const end = buf.indexOf('\r\n', off);
        if (end < 0) return undefined;
        const empty = end === off;
        off = end + 2;
        if (empty) return { body: Buffer.concat(parts), rest: buf.subarray(off) };
      }
    }
    if (buf.length < off + size + 2) return undefined;
    parts.push(buf.subarray(off, off + size));
    off += size + 2;
  }
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
    // With a length, as dockerd answers errors (docker-py reads a chunked answer as a stream and
    // would not see the status).
    ctx.res.writeHead(
      status,
      status === 304 ? {} : { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...(plain ? { 'X-Content-Type-Options': 'nosniff' } : {}) },
    );
    ctx.res.end(body);
  } else {
    const reason = STATUS_CODES[status] ?? 'Error';
    ctx.socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
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

/**
 * Reads and parses a JSON body; an empty body is `{}`. A route with a schema (api/validate.ts)
 * gets the body validated and in Go's canonical form; any other must send a JSON object.
 */
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
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {} as T;
  const v = parseJSONValue(text);
  const schema = BODY_OF_ROUTE[ctx.route];
  if (schema) return (await validateBody(schema, v)) as T;
  if (v === null) return {} as T;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw invalid(
      `json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v} into Go value of type map[string]interface {}`,
    );
  }
  return v as T;
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

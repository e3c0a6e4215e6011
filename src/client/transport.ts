/**
 * The Engine API client's transport: the connection (UNIX socket, TCP, TLS), API-version
 * negotiation (GET /_ping, the lower of the daemon's `API-Version` and MAX_API_VERSION as the
 * `/vX.Y` prefix), query encoding as Go's url.Values does it, daemon errors turned into ApiError,
 * and hijacked (upgraded) connections. EngineClient (client.ts) adds the typed endpoints on top.
 */
import http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { ApiError, ConnectionError } from './errors.js';
import { parseHost, resolveHost, type HostAddress } from './host.js';
import { resolveClientTls, tlsEnabled, type ClientTls } from './tls.js';
import type { Filters, PingResult, WaitResponse } from './types.js';

// node:https (and tls under it) only for a TLS host: loading it costs every CLI start ~5 ms.
const requireBuiltin = createRequire(import.meta.url);
const httpsModule = (): typeof https => requireBuiltin('node:https') as typeof https;

export const MAX_API_VERSION = '1.50';
/** What the docker client assumes when the daemon does not say. */
export const FALLBACK_API_VERSION = '1.24';

/** A list repeats the key (`t=a&t=b`), as Go's url.Values does. */
export type QueryValue = string | number | boolean | undefined | null | readonly string[];
export type Query = Record<string, QueryValue>;

export interface ClientOptions {
  /** `unix:///path`, `tcp://host:port`; default: BERTH_HOST, then unix:///run/berth.sock */
  host?: string;
  /** Pin the API version and skip negotiation (like DOCKER_API_VERSION). */
  apiVersion?: string;
  userAgent?: string;
  /**
   * TLS for a tcp:// host (client/tls.ts resolves it from --tls* flags); undefined: from the
   * environment (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, …) as the docker CLI does; false: none.
   */
  tls?: ClientTls | false;
}

export interface RequestOptions {
  method?: string;
  path: string;
  query?: Query;
  /** JSON-encoded as the request body. */
  json?: unknown;
  /** A raw body (e.g. a tar stream). */
  body?: Readable | Buffer | string;
  headers?: Record<string, string>;
  /** Prefix the path with /vX.Y (default true). */
  versioned?: boolean;
  signal?: AbortSignal;
}

/** Compares dotted API versions: <0 if a<b, 0 if equal, >0 if a>b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Encodes a query the way Go's url.Values does; booleans become "1" (docker's convention). */
export function encodeQuery(query: Query | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === false) continue;
    if (Array.isArray(v)) {
      for (const x of v as readonly string[]) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(x)}`);
      continue;
    }
    const s = v === true ? '1' : String(v);
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(s)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export function encodeFilters(filters: Filters | undefined): string | undefined {
  if (!filters || Object.keys(filters).length === 0) return undefined;
  // the daemon's filters format: {"key": {"value": true}} (accepted by every version)
  const out: Record<string, Record<string, boolean>> = {};
  for (const [k, vs] of Object.entries(filters)) {
    const m: Record<string, boolean> = {};
    for (const v of vs) m[v] = true;
    out[k] = m;
  }
  return JSON.stringify(out);
}

/** The whole response body (error answers and small JSON documents). */
export async function readBody(res: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

export function errorFromBody(status: number, body: Buffer): ApiError {
  const text = body.toString('utf8').trim();
  let message = text;
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      /* not JSON: keep the text */
    }
  }
  if (message === '') message = `${status} ${http.STATUS_CODES[status] ?? ''}`.trim();
  return new ApiError(status, message);
}

export interface HijackedStream {
  /** The raw connection: read the container's output from it, write stdin to it. */
  socket: Duplex;
  /** application/vnd.docker.raw-stream (TTY) or application/vnd.docker.multiplexed-stream */
  contentType: string | undefined;
}

export interface WaitHandle {
  /** Resolves when the container reaches the condition. */
  result: Promise<WaitResponse>;
}

/** The connection to one daemon and the request primitives the endpoints are written with. */
export class Transport {
  readonly host: string;
  private readonly address: HostAddress;
  protected readonly agent: http.Agent;
  private readonly userAgent: string;
  /** TLS material for a tcp host; undefined for plain HTTP and UNIX sockets. */
  private readonly tls: ClientTls | undefined;
  private versionPromise: Promise<string> | undefined;
  private pinnedVersion: string | undefined;

  constructor(options: ClientOptions = {}) {
    this.host = resolveHost({ flag: options.host, tls: options.tls === undefined ? tlsEnabled() : options.tls !== false });
    this.address = parseHost(this.host);
    this.tls = this.address.kind === 'tcp' ? (options.tls === undefined ? resolveClientTls() : options.tls || undefined) : undefined;
    this.agent = this.tls ? new (httpsModule().Agent)({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.userAgent = options.userAgent ?? 'Berth-Client/0.1.0 (linux)';
    if (options.apiVersion) this.pinnedVersion = options.apiVersion.replace(/^v/, '');
  }

  /** The API version in use (negotiated with the daemon on first call). */
  async apiVersion(): Promise<string> {
    if (this.pinnedVersion) return this.pinnedVersion;
    if (!this.versionPromise) {
      this.versionPromise = this.ping().then((p) => {
        const v = p.apiVersion ?? FALLBACK_API_VERSION;
        return compareVersions(v, MAX_API_VERSION) < 0 ? v : MAX_API_VERSION;
      });
      this.versionPromise.catch(() => {
        this.versionPromise = undefined;
      });
    }
    return this.versionPromise;
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private baseOptions(): https.RequestOptions {
    if (this.address.kind === 'unix') return { socketPath: this.address.socketPath };
    const base: https.RequestOptions = { host: this.address.host, port: this.address.port };
    if (!this.tls) return base;
    return {
      ...base,
      ...(this.tls.ca ? { ca: this.tls.ca } : {}),
      ...(this.tls.cert && this.tls.key ? { cert: this.tls.cert, key: this.tls.key } : {}),
      rejectUnauthorized: this.tls.verify,
      // the daemon's name is checked against its certificate (IP SANs for addresses)
      ...(isIP(this.address.host) ? {} : { servername: this.address.host }),
      minVersion: 'TLSv1.2',
    };
  }

  /** The docker CLI's wording for a failed TLS connection. */
  private tlsFailure(err: Error, path: string, method: string): Error {
    const code = (err as { code?: string }).code ?? '';
    const url = `https://${this.address.kind === 'tcp' ? `${this.address.host}:${this.address.port}` : ''}${path}`;
    const what = `${method[0]}${method.slice(1).toLowerCase()} "${url}"`;
    const alert = /ALERT_([A-Z_]+)$/.exec(code)?.[1];
    if (alert) {
      // OpenSSL's long text → Go's "remote error: tls: certificate required"
      const text = `remote error: tls: ${alert.toLowerCase().replace(/_/g, ' ')}`;
      if (/^(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|HANDSHAKE_FAILURE|CERTIFICATE_UNKNOWN)$/.test(alert)) {
        return new Error(
          `the server probably has client authentication (--tlsverify) enabled; check your TLS client certification settings: ${what}: ${text}`,
          { cause: err },
        );
      }
      return new Error(`error during connect: ${what}: ${text}`, { cause: err });
    }
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
      return new Error(`error during connect: ${what}: http: server gave HTTP response to HTTPS client`, { cause: err });
    }
    return new Error(`error during connect: ${what}: ${err.message}`, { cause: err });
  }

  private async buildPath(opts: RequestOptions): Promise<string> {
    const prefix = opts.versioned === false ? '' : `/v${await this.apiVersion()}`;
    return prefix + opts.path + encodeQuery(opts.query);
  }

  private headersFor(opts: RequestOptions): Record<string, string> {
    const headers: Record<string, string> = {
      'User-Agent': this.userAgent,
      Host: this.address.kind === 'unix' ? 'api.moby.localhost' : `${this.address.host}:${this.address.port}`,
      ...opts.headers,
    };
    if (opts.json !== undefined && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
    return headers;
  }

  /**
   * Sends a request and resolves with the response once headers arrive.
   * Error statuses (>= 400) are turned into ApiError carrying the daemon's message.
   */
  async request(opts: RequestOptions): Promise<http.IncomingMessage> {
    const path = await this.buildPath(opts);
    const res = await this.send(path, opts, this.agent);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw errorFromBody(status, await readBody(res));
    return res;
  }

  protected send(path: string, opts: RequestOptions, agent: http.Agent | false, extra: { upgrade?: boolean } = {}): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = (this.tls ? httpsModule().request : http.request)({
        ...this.baseOptions(),
        agent,
        method: opts.method ?? 'GET',
        path,
        headers: this.headersFor(opts),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      req.on('error', (err) => {
        const code = (err as { code?: string }).code;
        if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
          reject(new ConnectionError(this.host, err));
        } else if (this.tls && (/^ERR_(SSL|TLS)_|CERT|SIGNATURE|ECONNRESET/.test(code ?? '') || /certificate|socket hang up/i.test(err.message))) {
          reject(this.tlsFailure(err, path, opts.method ?? 'GET'));
        } else reject(err);
      });
      req.on('response', resolve);
      if (extra.upgrade) {
        req.on('upgrade', (res, socket, head) => {
          if (head.length > 0) socket.unshift(head);
          (res as http.IncomingMessage & { upgradedSocket?: Duplex }).upgradedSocket = socket;
          resolve(res);
        });
      }
      this.writeBody(req, opts);
    });
  }

  private writeBody(req: http.ClientRequest, opts: RequestOptions): void {
    if (opts.json !== undefined) {
      req.end(JSON.stringify(opts.json));
    } else if (opts.body === undefined) {
      req.end();
    } else if (typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) {
      req.end(opts.body);
    } else {
      const body = opts.body;
      body.on('error', (err) => req.destroy(err));
      body.pipe(req);
    }
  }

  /** Sends a request and parses the JSON response. */
  async json<T>(opts: RequestOptions): Promise<T> {
    const res = await this.request(opts);
    const body = await readBody(res);
    if (body.length === 0) return undefined as T;
    return JSON.parse(body.toString('utf8')) as T;
  }

  /** Sends a request and discards the response body. */
  async call(opts: RequestOptions): Promise<http.IncomingMessage> {
    const res = await this.request(opts);
    res.resume();
    await new Promise<void>((resolve) => {
      if (res.complete) resolve();
      else res.once('end', resolve).once('close', resolve);
    });
    return res;
  }

  /**
   * Upgrades a request to a raw duplex connection (attach, exec start): sends
   * `Connection: Upgrade` / `Upgrade: tcp` and expects 101 Switching Protocols.
   */
  async hijack(opts: RequestOptions): Promise<HijackedStream> {
    const path = await this.buildPath(opts);
    const merged: RequestOptions = { ...opts, method: opts.method ?? 'POST', headers: { Connection: 'Upgrade', Upgrade: 'tcp', ...opts.headers } };
    const res = await this.send(path, merged, false, { upgrade: true });
    const status = res.statusCode ?? 0;
    const upgraded = (res as http.IncomingMessage & { upgradedSocket?: Duplex }).upgradedSocket;
    const contentType = res.headers['content-type'];
    if (upgraded) return { socket: upgraded, contentType };
    if (status >= 400) throw errorFromBody(status, await readBody(res));
    // A daemon that answers 200 without upgrading: the response body is the output stream.
    const socket = res.socket as Duplex;
    return { socket: Object.assign(res, { write: socket.write.bind(socket), end: socket.end.bind(socket) }) as unknown as Duplex, contentType };
  }

  // ---- system ----

  async ping(): Promise<PingResult> {
    const res = await this.send('/_ping', { path: '/_ping' }, this.agent);
    const h = res.headers;
    const status = res.statusCode ?? 0;
    const apiVersion = typeof h['api-version'] === 'string' ? h['api-version'] : undefined;
    // Not a daemon answering (e.g. Go's "Client sent an HTTP request to an HTTPS server."): its text.
    if (status >= 400 && !apiVersion) throw errorFromBody(status, await readBody(res));
    res.resume();
    return {
      apiVersion,
      osType: typeof h['ostype'] === 'string' ? h['ostype'] : undefined,
      experimental: h['docker-experimental'] === 'true',
    };
  }

  protected async requestRawQuery(opts: Omit<RequestOptions, 'query'> & { rawQuery: string }): Promise<http.IncomingMessage> {
    const path = `/v${await this.apiVersion()}${opts.path}${opts.rawQuery ? `?${opts.rawQuery}` : ''}`;
    const res = await this.send(path, opts, this.agent);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw errorFromBody(status, await readBody(res));
    return res;
  }
}

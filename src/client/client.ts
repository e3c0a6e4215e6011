/**
 * A typed Docker Engine API client over a UNIX socket or TCP.
 *
 *   const c = new EngineClient({ host: 'unix:///run/berth.sock' });
 *   const list = await c.containerList({ all: true });
 *
 * The API version is negotiated on first use like the docker CLI does: GET /_ping, read the
 * `API-Version` header, and use the lower of that and MAX_API_VERSION as the `/vX.Y` prefix.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { ApiError, ConnectionError } from './errors.js';
import { parseHost, resolveHost, type HostAddress } from './host.js';
import { resolveClientTls, tlsEnabled, type ClientTls } from './tls.js';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerSummary,
  ContainerTop,
  ContainerUpdateResponse,
  ExecCreateRequest,
  ExecCreateResponse,
  ExecInspect,
  ExecStartRequest,
  FilesystemChange,
  Filters,
  ImageDeleteItem,
  ImageInspect,
  ImageSummary,
  PathStat,
  PingResult,
  Resources,
  RestartPolicy,
  SystemInfo,
  SystemVersion,
  WaitResponse,
} from './types.js';

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

async function readBody(res: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

function errorFromBody(status: number, body: Buffer): ApiError {
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

export class EngineClient {
  readonly host: string;
  private readonly address: HostAddress;
  private readonly agent: http.Agent;
  private readonly userAgent: string;
  /** TLS material for a tcp host; undefined for plain HTTP and UNIX sockets. */
  private readonly tls: ClientTls | undefined;
  private versionPromise: Promise<string> | undefined;
  private pinnedVersion: string | undefined;

  constructor(options: ClientOptions = {}) {
    this.host = resolveHost({ flag: options.host, tls: options.tls === undefined ? tlsEnabled() : options.tls !== false });
    this.address = parseHost(this.host);
    this.tls = this.address.kind === 'tcp' ? (options.tls === undefined ? resolveClientTls() : options.tls || undefined) : undefined;
    this.agent = this.tls ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
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
        return new Error(`the server probably has client authentication (--tlsverify) enabled; check your TLS client certification settings: ${what}: ${text}`, { cause: err });
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
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, Host: this.address.kind === 'unix' ? 'api.moby.localhost' : `${this.address.host}:${this.address.port}`, ...opts.headers };
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

  private send(path: string, opts: RequestOptions, agent: http.Agent | false, extra: { upgrade?: boolean } = {}): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = (this.tls ? https.request : http.request)({
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

  version(): Promise<SystemVersion> {
    return this.json({ path: '/version' });
  }

  info(): Promise<SystemInfo> {
    return this.json({ path: '/info' });
  }

  // ---- containers ----

  containerList(opts: { all?: boolean; limit?: number; size?: boolean; filters?: Filters } = {}): Promise<ContainerSummary[]> {
    return this.json({
      path: '/containers/json',
      query: { all: opts.all, limit: opts.limit && opts.limit > 0 ? opts.limit : undefined, size: opts.size, filters: encodeFilters(opts.filters) },
    });
  }

  containerCreate(body: ContainerCreateRequest, opts: { name?: string | undefined; platform?: string | undefined } = {}): Promise<ContainerCreateResponse> {
    return this.json({ method: 'POST', path: '/containers/create', query: { name: opts.name, platform: opts.platform }, json: body });
  }

  containerInspect(id: string, opts: { size?: boolean } = {}): Promise<ContainerInspect> {
    return this.json({ path: `/containers/${encodeURIComponent(id)}/json`, query: { size: opts.size } });
  }

  /** The raw inspect body, exactly as the daemon sent it. */
  async containerInspectRaw(id: string, opts: { size?: boolean } = {}): Promise<unknown> {
    return this.json({ path: `/containers/${encodeURIComponent(id)}/json`, query: { size: opts.size } });
  }

  async containerStart(id: string, opts: { detachKeys?: string } = {}): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/start`, query: { detachKeys: opts.detachKeys } });
  }

  async containerStop(id: string, opts: { signal?: string | undefined; timeout?: number | undefined } = {}): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/stop`, query: { signal: opts.signal, t: opts.timeout } });
  }

  async containerRestart(id: string, opts: { signal?: string | undefined; timeout?: number | undefined } = {}): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/restart`, query: { signal: opts.signal, t: opts.timeout } });
  }

  async containerKill(id: string, opts: { signal?: string | undefined } = {}): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/kill`, query: { signal: opts.signal } });
  }

  async containerRemove(id: string, opts: { force?: boolean; volumes?: boolean; link?: boolean } = {}): Promise<void> {
    await this.call({ method: 'DELETE', path: `/containers/${encodeURIComponent(id)}`, query: { force: opts.force, v: opts.volumes, link: opts.link } });
  }

  async containerRename(id: string, name: string): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/rename`, query: { name } });
  }

  async containerPause(id: string): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/pause` });
  }

  async containerUnpause(id: string): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/unpause` });
  }

  containerTop(id: string, opts: { psArgs?: string | undefined } = {}): Promise<ContainerTop> {
    return this.json({ path: `/containers/${encodeURIComponent(id)}/top`, query: { ps_args: opts.psArgs } });
  }

  async containerChanges(id: string): Promise<FilesystemChange[]> {
    return (await this.json<FilesystemChange[] | null>({ path: `/containers/${encodeURIComponent(id)}/changes` })) ?? [];
  }

  containerExport(id: string): Promise<http.IncomingMessage> {
    return this.request({ path: `/containers/${encodeURIComponent(id)}/export` });
  }

  containerUpdate(id: string, update: Resources & { RestartPolicy?: RestartPolicy }): Promise<ContainerUpdateResponse> {
    return this.json({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/update`, json: update });
  }

  /**
   * Registers a wait and resolves once the daemon has acknowledged it (response headers),
   * so a following start cannot race past it. `handle.result` resolves on the condition.
   */
  async containerWait(id: string, opts: { condition?: 'not-running' | 'next-exit' | 'removed' } = {}): Promise<WaitHandle> {
    const res = await this.request({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/wait`, query: { condition: opts.condition } });
    const result = readBody(res).then((b) => {
      const text = b.toString('utf8').trim();
      if (!text) throw new Error('unexpected end of wait response');
      return JSON.parse(text) as WaitResponse;
    });
    result.catch(() => undefined);
    return { result };
  }

  containerAttach(
    id: string,
    opts: { stream?: boolean; stdin?: boolean; stdout?: boolean; stderr?: boolean; logs?: boolean; detachKeys?: string | undefined } = {},
  ): Promise<HijackedStream> {
    return this.hijack({
      method: 'POST',
      path: `/containers/${encodeURIComponent(id)}/attach`,
      query: { stream: opts.stream, stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr, logs: opts.logs, detachKeys: opts.detachKeys },
    });
  }

  /** POST /containers/{id}/resize: the TTY size of the container's main process. */
  async containerResize(id: string, size: { height: number; width: number }): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/resize`, query: { h: size.height, w: size.width } });
  }

  // ---- exec ----

  execCreate(container: string, config: ExecCreateRequest): Promise<ExecCreateResponse> {
    return this.json({ method: 'POST', path: `/containers/${encodeURIComponent(container)}/exec`, json: config });
  }

  /** Starts an exec without attaching (Detach: true, or nothing attached). */
  async execStart(id: string, opts: ExecStartRequest = {}): Promise<void> {
    await this.call({ method: 'POST', path: `/exec/${encodeURIComponent(id)}/start`, json: opts });
  }

  /** Starts an exec and hijacks the connection for its streams. */
  execAttach(id: string, opts: ExecStartRequest = {}): Promise<HijackedStream> {
    return this.hijack({ method: 'POST', path: `/exec/${encodeURIComponent(id)}/start`, json: { ...opts, Detach: false } });
  }

  async execResize(id: string, size: { height: number; width: number }): Promise<void> {
    await this.call({ method: 'POST', path: `/exec/${encodeURIComponent(id)}/resize`, query: { h: size.height, w: size.width } });
  }

  execInspect(id: string): Promise<ExecInspect> {
    return this.json({ path: `/exec/${encodeURIComponent(id)}/json` });
  }

  containerLogs(
    id: string,
    opts: { follow?: boolean; stdout?: boolean; stderr?: boolean; since?: string | undefined; until?: string | undefined; timestamps?: boolean; details?: boolean; tail?: string | undefined } = {},
  ): Promise<http.IncomingMessage> {
    return this.request({
      path: `/containers/${encodeURIComponent(id)}/logs`,
      query: {
        stdout: opts.stdout ?? true,
        stderr: opts.stderr ?? true,
        follow: opts.follow,
        since: opts.since,
        until: opts.until,
        timestamps: opts.timestamps,
        details: opts.details,
        tail: opts.tail,
      },
    });
  }

  /** HEAD /containers/{id}/archive: stat a path inside the container. */
  async containerStatPath(id: string, path: string): Promise<PathStat> {
    const res = await this.send(
      `/v${await this.apiVersion()}/containers/${encodeURIComponent(id)}/archive${encodeQuery({ path })}`,
      { method: 'HEAD', path: '' },
      this.agent,
    );
    res.resume();
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      // HEAD has no body: synthesize docker's message
      const msg = status === 404 ? `Could not find the file ${path} in container ${id}` : `${status} ${http.STATUS_CODES[status] ?? ''}`.trim();
      throw new ApiError(status, msg);
    }
    return decodePathStat(res.headers['x-docker-container-path-stat']);
  }

  /** GET /containers/{id}/archive: a tar of the path, plus its stat. */
  async containerGetArchive(id: string, path: string): Promise<{ stream: http.IncomingMessage; stat: PathStat }> {
    const res = await this.request({ path: `/containers/${encodeURIComponent(id)}/archive`, query: { path } });
    return { stream: res, stat: decodePathStat(res.headers['x-docker-container-path-stat']) };
  }

  /** PUT /containers/{id}/archive: extract a tar into a directory of the container. */
  async containerPutArchive(id: string, path: string, tar: Readable | Buffer, opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean } = {}): Promise<void> {
    await this.call({
      method: 'PUT',
      path: `/containers/${encodeURIComponent(id)}/archive`,
      query: { path, noOverwriteDirNonDir: opts.noOverwriteDirNonDir ? 'true' : undefined, copyUIDGID: opts.copyUIDGID ? 'true' : undefined },
      body: tar,
      headers: { 'Content-Type': 'application/x-tar' },
    });
  }

  // ---- images ----

  imageList(opts: { all?: boolean; filters?: Filters; digests?: boolean; sharedSize?: boolean } = {}): Promise<ImageSummary[]> {
    return this.json({ path: '/images/json', query: { all: opts.all, filters: encodeFilters(opts.filters), digests: opts.digests, 'shared-size': opts.sharedSize } });
  }

  imageInspect(name: string): Promise<ImageInspect> {
    return this.json({ path: `/images/${encodeURIComponent(name)}/json` });
  }

  async imageTag(source: string, target: { repo: string; tag?: string | undefined }): Promise<void> {
    await this.call({ method: 'POST', path: `/images/${encodeURIComponent(source)}/tag`, query: { repo: target.repo, tag: target.tag } });
  }

  async imageRemove(name: string, opts: { force?: boolean; noPrune?: boolean } = {}): Promise<ImageDeleteItem[]> {
    return (await this.json<ImageDeleteItem[] | null>({ method: 'DELETE', path: `/images/${encodeURIComponent(name)}`, query: { force: opts.force, noprune: opts.noPrune } })) ?? [];
  }

  /**
   * POST /images/create with fromSrc: import a rootfs tarball (from the body when
   * `source` is '-', else from a URL). Resolves with the JSON progress stream.
   */
  imageImport(opts: { source: string; body?: Readable | Buffer | undefined; repo?: string | undefined; tag?: string | undefined; message?: string | undefined; changes?: string[]; platform?: string | undefined }): Promise<http.IncomingMessage> {
    const changes = opts.changes ?? [];
    const qs: string[] = [encodeQuery({ fromSrc: opts.source, repo: opts.repo, tag: opts.tag, message: opts.message, platform: opts.platform }).slice(1)];
    for (const c of changes) qs.push(`changes=${encodeURIComponent(c)}`);
    const query = qs.filter((s) => s !== '').join('&');
    return this.requestRawQuery({
      method: 'POST',
      path: '/images/create',
      rawQuery: query,
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      headers: { 'Content-Type': 'application/x-tar' },
    });
  }

  /** POST /commit: the new image's ID. */
  async containerCommit(container: string, opts: { repo?: string | undefined; tag?: string | undefined; comment?: string | undefined; author?: string | undefined; pause?: boolean; changes?: string[] }): Promise<{ Id: string }> {
    const qs = [encodeQuery({ container, repo: opts.repo, tag: opts.tag, comment: opts.comment, author: opts.author, pause: opts.pause === false ? '0' : '1' }).slice(1)];
    for (const c of opts.changes ?? []) qs.push(`changes=${encodeURIComponent(c)}`);
    const res = await this.requestRawQuery({ method: 'POST', path: '/commit', rawQuery: qs.filter(Boolean).join('&'), json: {} });
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Id: string };
  }

  /** GET /containers/{id}/stats: a stream of JSON documents (or one with stream=false). */
  containerStats(id: string, opts: { stream: boolean; oneShot?: boolean; signal?: AbortSignal }): Promise<http.IncomingMessage> {
    return this.request({ path: `/containers/${encodeURIComponent(id)}/stats`, query: { stream: opts.stream ? '1' : '0', 'one-shot': opts.oneShot }, ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  /** GET /events: a stream of JSON events. */
  events(opts: { since?: string | undefined; until?: string | undefined; filters?: Filters; signal?: AbortSignal }): Promise<http.IncomingMessage> {
    return this.request({ path: '/events', query: { since: opts.since, until: opts.until, filters: encodeFilters(opts.filters) }, ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  /** POST /images/create with fromImage: pull. Resolves with the JSON progress stream. */
  imagePull(opts: { image: string; tag?: string | undefined; platform?: string | undefined }): Promise<http.IncomingMessage> {
    return this.request({ method: 'POST', path: '/images/create', query: { fromImage: opts.image, tag: opts.tag, platform: opts.platform } });
  }

  private async requestRawQuery(opts: Omit<RequestOptions, 'query'> & { rawQuery: string }): Promise<http.IncomingMessage> {
    const path = `/v${await this.apiVersion()}${opts.path}${opts.rawQuery ? `?${opts.rawQuery}` : ''}`;
    const res = await this.send(path, opts, this.agent);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw errorFromBody(status, await readBody(res));
    return res;
  }
}

export function decodePathStat(header: string | string[] | undefined): PathStat {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h) throw new Error('unable to get stat of the path: missing X-Docker-Container-Path-Stat header');
  return JSON.parse(Buffer.from(h, 'base64').toString('utf8')) as PathStat;
}

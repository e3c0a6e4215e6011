/**
 * An authenticated conversation with one registry endpoint for a set of repository scopes.
 *
 * Auth follows the distribution spec's challenge flow, as dockerd does it: `GET /v2/` first;
 * a `401` carries `WWW-Authenticate`. `Basic` → every request carries the user's credentials.
 * `Bearer realm=…,service=…` → a token is fetched from the realm for the session's scopes
 * (`repository:<name>:pull,push`), with the user's credentials as Basic auth (or an identity token
 * through the OAuth2 refresh-token grant), anonymously when there are none. A request that still
 * gets 401 (a token for too few scopes) is retried once with the scopes its challenge names.
 */
import type { Readable } from 'node:stream';
import { drain, httpRequest, readAll, HttpError, type HttpResponse } from './http.js';
import type { Endpoint } from './endpoint.js';
import { hasCredentials, type AuthConfig } from './types.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `WWW-Authenticate` (one or several challenges). */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const text = Array.isArray(header) ? header.join(', ') : (header ?? '');
  const out: Challenge[] = [];
  const re = /\s*([A-Za-z][\w-]*)(?:\s+|$)((?:\s*,?\s*[\w-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^,\s]*))*)/y;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m || m[0] === '') break;
    const params: Record<string, string> = {};
    const pre = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
    let pm: RegExpExecArray | null;
    while ((pm = pre.exec(m[2] ?? '')) !== null) {
      params[(pm[1] as string).toLowerCase()] = pm[2] !== undefined ? pm[2].replace(/\\(.)/g, '$1') : (pm[3] ?? '');
    }
    out.push({ scheme: (m[1] as string).toLowerCase(), params });
    pos = re.lastIndex;
    while (pos < text.length && /[\s,]/.test(text[pos] as string)) pos++;
  }
  return out;
}

/** A registry's error (the spec's `{"errors":[{code,message,detail}]}`), as dockerd prints it. */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  416: 'Requested Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export const statusText = (s: number): string => `${s} ${STATUS_TEXT[s] ?? 'Status'}`;

/** Builds a RegistryError from an error response (consumes the body). */
export async function registryError(res: HttpResponse, what: string): Promise<RegistryError> {
  let body: Buffer = Buffer.alloc(0);
  try {
    body = res.status === 0 ? body : await readAll(res.body, 1 << 20);
  } catch {
    /* ignore */
  }
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    const first = parsed.errors?.[0];
    if (first?.code) {
      const codeText = first.code.toLowerCase().replace(/_/g, ' ');
      return new RegistryError(res.status, first.code, `${codeText}: ${first.message ?? codeText}`);
    }
  } catch {
    /* not JSON */
  }
  if (res.status === 401) return new RegistryError(401, 'UNAUTHORIZED', 'unauthorized: authentication required');
  if (res.status === 404) return new RegistryError(404, undefined, `${what}: not found`);
  return new RegistryError(res.status, undefined, `${what}: unexpected status code ${statusText(res.status)}`);
}

export interface SessionOptions {
  endpoint: Endpoint;
  auth?: AuthConfig | undefined;
  /** Token scopes, e.g. `repository:library/busybox:pull`. */
  scopes: string[];
  signal?: AbortSignal | undefined;
}

export interface SessionRequest {
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  /** Statuses that are not errors (default: 2xx). */
  ok?: number[];
  /** Idle timeout (ms). */
  timeout?: number;
  followRedirects?: boolean;
}

export class RegistrySession {
  base: string;
  private authorization: string | undefined;
  private challenge: Challenge | undefined;
  private ready: Promise<void> | undefined;
  private readonly scopes: Set<string>;

  constructor(private readonly o: SessionOptions) {
    this.base = o.endpoint.base;
    this.scopes = new Set(o.scopes);
  }

  get endpoint(): Endpoint {
    return this.o.endpoint;
  }

  /** Pings `/v2/` (once) and gets credentials for the session's scopes. */
  ensureAuth(): Promise<void> {
    this.ready ??= this.setup().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private async ping(): Promise<HttpResponse> {
    const get = (): Promise<HttpResponse> =>
      httpRequest({ method: 'GET', url: new URL(`${this.base}/v2/`), insecureTLS: this.o.endpoint.insecureTLS, signal: this.o.signal, timeout: 30_000 });
    try {
      return await get();
    } catch (err) {
      if (this.o.endpoint.httpFallback && this.base.startsWith('https://')) {
        this.base = `http://${this.base.slice('https://'.length)}`;
        return get();
      }
      throw err;
    }
  }

  private async setup(): Promise<void> {
    const res = await this.ping();
    const challenges = res.status === 401 ? parseChallenges(res.headers['www-authenticate']) : [];
    drain(res.body);
    if (res.status !== 401 && res.status >= 500) throw await registryError(res, `GET ${this.base}/v2/`);
    this.challenge = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    await this.authorize();
  }

  private async authorize(): Promise<void> {
    const c = this.challenge;
    const a = this.o.auth;
    if (!c) return;
    if (c.scheme === 'basic') {
      if (a?.username) this.authorization = `Basic ${Buffer.from(`${a.username}:${a.password ?? ''}`).toString('base64')}`;
      return;
    }
    if (c.scheme === 'bearer') {
      if (a?.registrytoken) {
        this.authorization = `Bearer ${a.registrytoken}`;
        return;
      }
      const token = await this.fetchToken(c);
      if (token) this.authorization = `Bearer ${token}`;
    }
  }

  /** Gets a bearer token for the session's scopes; undefined when anonymous access is refused. */
  private async fetchToken(c: Challenge): Promise<string | undefined> {
    const realm = c.params['realm'];
    if (!realm) throw new RegistryError(401, 'UNAUTHORIZED', 'unauthorized: bearer challenge without a realm');
    const url = new URL(realm);
    const a = this.o.auth;
    const scopes = [...this.scopes];
    let res: HttpResponse;
    if (a?.identitytoken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: a.identitytoken, client_id: 'docker' });
      if (c.params['service']) form.set('service', c.params['service']);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await httpRequest({
        method: 'POST',
        url,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        insecureTLS: this.o.endpoint.insecureTLS,
        signal: this.o.signal,
        timeout: 30_000,
      });
    } else {
      if (c.params['service']) url.searchParams.set('service', c.params['service']);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (a?.username) {
        url.searchParams.set('account', a.username);
        headers['Authorization'] = `Basic ${Buffer.from(`${a.username}:${a.password ?? ''}`).toString('base64')}`;
      }
      res = await httpRequest({ method: 'GET', url, headers, insecureTLS: this.o.endpoint.insecureTLS, signal: this.o.signal, timeout: 30_000 });
    }
    if (res.status === 401 || res.status === 403) {
      drain(res.body);
      if (hasCredentials(a)) throw new RegistryError(401, 'UNAUTHORIZED', 'unauthorized: incorrect username or password');
      return undefined;
    }
    if (res.status !== 200) throw await registryError(res, `token from ${url.origin}${url.pathname}`);
    const body = JSON.parse((await readAll(res.body, 1 << 20)).toString('utf8')) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(401, 'UNAUTHORIZED', 'unauthorized: token server returned no token');
    return token;
  }

  url(pathOrUrl: string): URL {
    return new URL(pathOrUrl, `${this.base}/`);
  }

  /** An authenticated request; error statuses become RegistryError unless listed in `ok`. */
  async request(method: string, pathOrUrl: string, r: SessionRequest = {}): Promise<HttpResponse> {
    await this.ensureAuth();
    const replayable = r.body === undefined || typeof r.body === 'string' || Buffer.isBuffer(r.body);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...r.headers };
      if (this.authorization) headers['Authorization'] = this.authorization;
      const url = this.url(pathOrUrl);
      const res = await httpRequest({
        method,
        url,
        headers,
        ...(r.body !== undefined ? { body: r.body } : {}),
        insecureTLS: this.o.endpoint.insecureTLS,
        signal: this.o.signal,
        ...(r.timeout !== undefined ? { timeout: r.timeout } : {}),
        ...(r.followRedirects !== undefined ? { followRedirects: r.followRedirects } : {}),
      });
      if (res.status === 401 && attempt === 0 && replayable) {
        const ch = parseChallenges(res.headers['www-authenticate']).find((c) => c.scheme === 'bearer');
        if (ch) {
          drain(res.body);
          for (const s of (ch.params['scope'] ?? '').split(' ').filter(Boolean)) this.scopes.add(s);
          this.challenge = ch;
          await this.authorize();
          continue;
        }
      }
      if ((res.status >= 200 && res.status < 300) || r.ok?.includes(res.status)) return res;
      throw await registryError(res, `${method} ${url.href}`);
    }
  }

  /** Whether credentials were accepted (for `POST /auth`): throws when they were not. */
  async login(): Promise<void> {
    await this.ensureAuth();
    const res = await this.request('GET', '/v2/', { ok: [401, 403, 404] });
    drain(res.body);
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(401, 'UNAUTHORIZED', `login attempt to ${this.base}/v2/ failed with status: ${statusText(res.status)}`);
    }
  }
}

export { HttpError };

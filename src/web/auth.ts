/**
 * berth-web's access control: the one token, browser sessions, CSRF and Origin checks.
 *
 * - The token (32 random bytes, hex) is printed at start. A request carries it as
 *   `Authorization: Bearer <token>`, or a browser brings it once as `/?token=<token>` and gets a
 *   session cookie (HttpOnly, SameSite=Strict, Secure under TLS) in exchange.
 * - A session has its own CSRF value, which the page reads from `GET /api/session`; a
 *   state-changing request authenticated by the cookie must repeat it in `X-CSRF-Token`. Bearer
 *   requests need none (a browser never attaches that header by itself).
 * - Origin: a request that names another origin (`Origin`, or `Sec-Fetch-Site: cross-site`) is
 *   refused whatever it carries, so a page elsewhere can neither drive the API nor read a stream.
 * - Host: on a loopback listener only loopback names are answered (DNS rebinding).
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type http from 'node:http';

export const SESSION_COOKIE = 'berth_web_session';
export const CSRF_HEADER = 'x-csrf-token';
/** A session lives this long after it was made from the token. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 256;

export type Principal = { kind: 'bearer' } | { kind: 'session'; id: string; csrf: string };

interface Session {
  csrf: string;
  expires: number;
}

/** Equal strings, compared in constant time over their digests (lengths leak nothing). */
export function secretEquals(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

export interface AuthOptions {
  token?: string;
  /** Whether the listener is HTTPS (the cookie gets `Secure`). */
  secure: boolean;
  now?: () => number;
}

export class Auth {
  readonly token: string;
  private readonly sessions = new Map<string, Session>();
  private readonly secure: boolean;
  private readonly now: () => number;

  constructor(o: AuthOptions) {
    this.token = o.token ?? randomBytes(32).toString('hex');
    this.secure = o.secure;
    this.now = o.now ?? Date.now;
  }

  tokenMatches(candidate: string | null | undefined): boolean {
    return typeof candidate === 'string' && candidate !== '' && secretEquals(candidate, this.token);
  }

  /** Who sent this request, or undefined when it carries neither the token nor a live session. */
  principal(req: http.IncomingMessage): Principal | undefined {
    const authz = req.headers.authorization;
    if (authz !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authz);
      // A wrong Authorization header is a failure even with a good cookie beside it.
      return m && this.tokenMatches(m[1]) ? { kind: 'bearer' } : undefined;
    }
    const id = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expires <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return { kind: 'session', id, csrf: s.csrf };
  }

  /** A new session for a browser that presented the token; returns its Set-Cookie value. */
  createSession(): { id: string; csrf: string; cookie: string } {
    const now = this.now();
    for (const [k, s] of this.sessions) if (s.expires <= now) this.sessions.delete(k);
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    this.sessions.set(id, { csrf, expires: now + SESSION_TTL_MS });
    const cookie = `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}${this.secure ? '; Secure' : ''}`;
    return { id, csrf, cookie };
  }

  endSession(id: string): string {
    this.sessions.delete(id);
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${this.secure ? '; Secure' : ''}`;
  }

  /** Whether a request may change state: Bearer, or the session's CSRF value in X-CSRF-Token. */
  csrfOk(req: http.IncomingMessage, p: Principal): boolean {
    if (p.kind === 'bearer') return true;
    const sent = req.headers[CSRF_HEADER];
    return typeof sent === 'string' && secretEquals(sent, p.csrf);
  }
}

/** The origins this server is reached at, from the listener and the request's (checked) Host. */
export class OriginPolicy {
  constructor(
    private readonly scheme: 'http' | 'https',
    /** Host header values accepted; undefined: any (a non-loopback TLS listener's names are the operator's). */
    private readonly allowedHosts: Set<string> | undefined,
  ) {}

  /** Host names a loopback listener on `port` is reached by. */
  static loopbackHosts(port: number): Set<string> {
    return new Set(['127.0.0.1', 'localhost', '[::1]'].map((h) => `${h}:${port}`));
  }

  hostOk(req: http.IncomingMessage): boolean {
    const host = req.headers.host?.toLowerCase();
    if (!host) return false;
    return this.allowedHosts === undefined || this.allowedHosts.has(host);
  }

  /** The server's own origin as this request reached it. */
  ownOrigin(req: http.IncomingMessage): string {
    return `${this.scheme}://${req.headers.host?.toLowerCase() ?? ''}`;
  }

  /**
   * False when the request says it comes from another origin. A same-origin GET (page load,
   * EventSource) sends no Origin; then Sec-Fetch-Site, where the browser sends it, must agree.
   */
  sameOrigin(req: http.IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin !== undefined && origin.toLowerCase() !== this.ownOrigin(req)) return false;
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
    return true;
  }
}

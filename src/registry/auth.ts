/**
 * Access control: none, htpasswd (bcrypt) basic auth, or bearer tokens from the built-in token
 * endpoint. Each request states the access it needs (repository:<name>:pull|push|delete,
 * registry:catalog:*); the Authorizer grants it, or throws a 401 carrying the WWW-Authenticate
 * challenge Docker clients expect, or a 403 DENIED.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessRule, Action, AuthConfig } from './config.js';
import { RegistryError } from './errors.js';
import { covers, formatScope, newClaims, parseScopes, signToken, verifyToken, type Access } from './tokens.js';

export interface Identity {
  user: string | undefined;
  /** What the caller may do (undefined: everything). */
  granted: Access[] | undefined;
}

interface BcryptLike {
  compare(s: string, hash: string): Promise<boolean>;
}

let bcryptMod: Promise<BcryptLike> | undefined;
/** bcryptjs (pure JS), loaded on first use so registries without htpasswd do not need it. */
function bcrypt(): Promise<BcryptLike> {
  const spec = 'bcryptjs';
  bcryptMod ??= (import(spec) as Promise<{ default?: BcryptLike } & BcryptLike>).then((m) => m.default ?? m);
  return bcryptMod;
}

/** An htpasswd file (bcrypt entries), re-read when it changes; verified passwords are cached. */
export class Htpasswd {
  private entries = new Map<string, string>();
  private mtime = -1;
  private verified = new Set<string>();
  constructor(readonly file: string) {}

  private async load(): Promise<void> {
    const st = await fs.stat(this.file);
    if (st.mtimeMs === this.mtime) return;
    const text = await fs.readFile(this.file, 'utf8');
    this.entries.clear();
    this.verified.clear();
    for (const line of text.split('\n')) {
      const l = line.trim();
      if (!l || l.startsWith('#')) continue;
      const i = l.indexOf(':');
      if (i > 0) this.entries.set(l.slice(0, i), l.slice(i + 1));
    }
    this.mtime = st.mtimeMs;
  }

  async check(user: string, password: string): Promise<boolean> {
    await this.load();
    const hash = this.entries.get(user);
    if (!hash || !/^\$2[aby]\$/.test(hash)) return false;
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    if (this.verified.has(key)) return true;
    // bcryptjs knows $2a$/$2b$; Apache's $2y$ is the same algorithm.
    const ok = await (await bcrypt()).compare(password, hash.replace(/^\$2y\$/, '$2b$'));
    if (ok) this.verified.add(key);
    return ok;
  }
}

export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  return { user: text.slice(0, i), password: text.slice(i + 1) };
}

function globMatch(glob: string, name: string): boolean {
  const re = new RegExp(
    '^' +
      glob
        .split('**')
        .map((part) =>
          part
            .split('*')
            .map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
            .join('[^/]*'),
        )
        .join('.*') +
      '$',
  );
  return re.test(name);
}

/** The actions `account` may take on `need` under `rules` (no rules: authenticated may do anything). */
function allowedActions(rules: AccessRule[] | undefined, account: string | undefined, need: Access, anonymous: Action[]): string[] {
  if (account === undefined) {
    const fromRules = (rules ?? []).filter((r) => r.account === '' && ruleMatches(r, need)).flatMap((r) => r.actions);
    return [...anonymous, ...fromRules];
  }
  if (!rules) return ['*'];
  return rules.filter((r) => (r.account === '*' || r.account === account) && ruleMatches(r, need)).flatMap((r) => r.actions);
}

function ruleMatches(r: AccessRule, need: Access): boolean {
  if (need.type === 'registry') return r.repository === '**' || r.repository === '*';
  return need.type === 'repository' && globMatch(r.repository, need.name);
}

function grant(allowed: string[], requested: string[]): string[] {
  if (allowed.includes('*')) return requested;
  return requested.filter((a) => allowed.includes(a));
}

export class Authorizer {
  private htpasswd: Htpasswd | undefined;
  constructor(readonly config: AuthConfig) {
    if (config.type === 'htpasswd') this.htpasswd = new Htpasswd(config.path);
    if (config.type === 'token' && config.htpasswd) this.htpasswd = new Htpasswd(config.htpasswd);
  }

  get enabled(): boolean {
    return this.config.type !== 'none';
  }

  /** Grants `need` to the request or throws 401/403. `need` empty: any authenticated caller. */
  async authorize(req: IncomingMessage, need: Access[], base: string): Promise<Identity> {
    const c = this.config;
    if (c.type === 'none') return { user: undefined, granted: undefined };
    if (c.type === 'htpasswd') {
      const challenge = { 'WWW-Authenticate': `Basic realm="${c.realm}",charset="UTF-8"` };
      const creds = parseBasic(req.headers.authorization);
      if (!creds || !(await this.htpasswd!.check(creds.user, creds.password))) {
        throw new RegistryError('UNAUTHORIZED', { headers: challenge, detail: need.length ? need : null });
      }
      for (const n of need) {
        const g = grant(allowedActions(c.access, creds.user, n, []), n.actions);
        if (g.length !== n.actions.length) throw new RegistryError('DENIED', { detail: [n] });
      }
      return { user: creds.user, granted: undefined };
    }
    // Bearer tokens.
    const realm = c.realm ?? `${base}/token`;
    const challenge = (error?: string): Record<string, string> => {
      let v = `Bearer realm="${realm}",service="${c.service}"`;
      if (need.length) v += `,scope="${need.map(formatScope).join(' ')}"`;
      if (error) v += `,error="${error}"`;
      return { 'WWW-Authenticate': v };
    };
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new RegistryError('UNAUTHORIZED', { headers: challenge(), detail: need.length ? need : null });
    const claims = verifyToken(c.secret, m[1]!, { issuer: c.issuer, audience: c.service });
    if (!claims) throw new RegistryError('UNAUTHORIZED', { message: 'invalid or expired token', headers: challenge('invalid_token') });
    for (const n of need) {
      if (!covers(claims.access, n)) {
        throw new RegistryError('UNAUTHORIZED', { message: 'insufficient scope', headers: challenge('insufficient_scope'), detail: [n] });
      }
    }
    return { user: claims.sub || undefined, granted: claims.access };
  }

  /** Whether an already authorized identity also holds `need` (used for mount's `from`). */
  holds(id: Identity, need: Access): boolean {
    const c = this.config;
    if (c.type === 'none') return true;
    if (c.type === 'htpasswd') return grant(allowedActions(c.access, id.user, need, []), need.actions).length === need.actions.length;
    return id.granted !== undefined && covers(id.granted, need);
  }

  /** GET /token?service=…&scope=…: the built-in token endpoint. */
  async serveToken(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const c = this.config;
    if (c.type !== 'token') throw new RegistryError('UNSUPPORTED', { status: 404, message: 'no token endpoint: bearer auth is not configured' });
    const service = url.searchParams.get('service');
    if (service && service !== c.service) throw new RegistryError('DENIED', { status: 400, message: `unknown service ${service}` });
    let account: string | undefined;
    const creds = parseBasic(req.headers.authorization);
    if (creds) {
      if (!this.htpasswd || !(await this.htpasswd.check(creds.user, creds.password))) {
        throw new RegistryError('UNAUTHORIZED', { message: 'invalid username or password', headers: { 'WWW-Authenticate': `Basic realm="${c.service}"` } });
      }
      account = creds.user;
    } else if (req.headers.authorization) {
      throw new RegistryError('UNAUTHORIZED', { message: 'unsupported authorization', headers: { 'WWW-Authenticate': `Basic realm="${c.service}"` } });
    }
    const requested = parseScopes(url.searchParams.getAll('scope'));
    const access: Access[] = [];
    for (const r of requested) {
      const actions = grant(allowedActions(c.access, account, r, c.anonymous), r.actions);
      if (actions.length) access.push({ type: r.type, name: r.name, actions });
    }
    const token = signToken(c.secret, newClaims({ issuer: c.issuer, subject: account ?? '', audience: c.service, expiry: c.expiry, access }));
    const body = JSON.stringify({ token, access_token: token, expires_in: c.expiry, issued_at: new Date().toISOString() });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(body);
  }
}

/**
 * Bearer tokens as the Docker token flow uses them: JWTs (HS256, Node's crypto) carrying an
 * `access` claim of { type, name, actions } entries, and the `scope` strings clients ask for.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

export interface Claims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: Access[];
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export function signToken(secret: Buffer, claims: Claims): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** The claims of a valid, unexpired token for `audience` from `issuer`; undefined otherwise. */
export function verifyToken(secret: Buffer, token: string, o: { issuer: string; audience: string; now?: number }): Claims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [head, body, sig] = parts as [string, string, string];
  const want = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const got = Buffer.from(sig, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  let claims: Claims;
  try {
    const h = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: string };
    if (h.alg !== 'HS256') return undefined;
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Claims;
  } catch {
    return undefined;
  }
  const now = o.now ?? Math.floor(Date.now() / 1000);
  if (claims.iss !== o.issuer || claims.aud !== o.audience) return undefined;
  if (typeof claims.exp !== 'number' || claims.exp < now || (typeof claims.nbf === 'number' && claims.nbf > now + 60)) return undefined;
  if (!Array.isArray(claims.access)) claims.access = [];
  return claims;
}

export function newClaims(o: { issuer: string; subject: string; audience: string; expiry: number; access: Access[] }): Claims {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: o.issuer,
    sub: o.subject,
    aud: o.audience,
    exp: now + o.expiry,
    nbf: now - 10,
    iat: now,
    jti: randomBytes(12).toString('hex'),
    access: o.access,
  };
}

/** Parses `repository:name:pull,push` scopes (several per string, space separated). */
export function parseScopes(scopes: string[]): Access[] {
  const out: Access[] = [];
  for (const s of scopes.flatMap((x) => x.split(' ')).filter(Boolean)) {
    const first = s.indexOf(':');
    const last = s.lastIndexOf(':');
    if (first < 0 || last === first) continue;
    const type = s.slice(0, first);
    const name = s.slice(first + 1, last);
    const actions = s
      .slice(last + 1)
      .split(',')
      .filter(Boolean);
    const same = out.find((a) => a.type === type && a.name === name);
    if (same) same.actions = [...new Set([...same.actions, ...actions])];
    else out.push({ type, name, actions });
  }
  return out;
}

export const formatScope = (a: Access): string => `${a.type}:${a.name}:${a.actions.join(',')}`;

/** Whether `granted` covers every action of `need`. */
export function covers(granted: Access[], need: Access): boolean {
  const have = new Set<string>();
  for (const g of granted) if (g.type === need.type && g.name === need.name) for (const a of g.actions) have.add(a);
  return have.has('*') || need.actions.every((a) => have.has(a));
}

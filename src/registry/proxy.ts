/**
 * Pull-through cache of a remote registry (--proxy-remote-url). Manifests by tag are looked up
 * on the remote on every pull (the local copy is served when the remote is unreachable);
 * manifests by digest and blobs come from the local store when present, else from the remote,
 * streamed to the client and to an upload session at once, then verified and committed.
 * The remote's basic or bearer-token auth is handled with the configured credentials.
 */
import { once } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import { Readable } from 'node:stream';
import type { Ctx, Deps, PullThrough } from './context.js';
import { regErr } from './errors.js';
import { manifestRecord, MT } from './manifests.js';
import type { Route } from './routes.js';

const ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest].join(', ');

function request(url: string, o: { method?: string; headers?: Record<string, string> }): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.request(url, { method: o.method ?? 'GET', headers: o.headers ?? {}, timeout: 30_000 }, resolve);
    req.on('timeout', () => req.destroy(new Error('remote registry timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function readAll(res: http.IncomingMessage, limit = 8 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw new Error('remote response too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function parseChallenge(h: string): { scheme: string; params: Record<string, string> } {
  const sp = h.indexOf(' ');
  const scheme = (sp < 0 ? h : h.slice(0, sp)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of h.slice(sp + 1).matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
  return { scheme, params };
}

export class Proxy implements PullThrough {
  private tokens = new Map<string, { header: string; until: number }>();
  constructor(
    private d: () => Deps,
    readonly remote: string,
    private creds: { username: string | undefined; password: string | undefined },
  ) {}

  private basic(): string | undefined {
    if (this.creds.username === undefined) return undefined;
    return `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password ?? ''}`).toString('base64')}`;
  }

  /** GET/HEAD on the remote, answering its auth challenge once. */
  private async fetch(path: string, name: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<http.IncomingMessage> {
    const url = `${this.remote}${path}`;
    const cached = this.tokens.get(name);
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (cached && cached.until > Date.now()) headers.Authorization = cached.header;
    let res = await request(url, { ...o, headers });
    if (res.statusCode !== 401) return res;
    res.resume();
    const ch = parseChallenge(String(res.headers['www-authenticate'] ?? ''));
    let auth: string | undefined;
    if (ch.scheme === 'basic') auth = this.basic();
    else if (ch.scheme === 'bearer' && ch.params.realm) {
      const t = new URL(ch.params.realm);
      if (ch.params.service) t.searchParams.set('service', ch.params.service);
      t.searchParams.set('scope', `repository:${name}:pull`);
      const b = this.basic();
      const tr = await request(t.toString(), b ? { headers: { Authorization: b } } : {});
      const body = await readAll(tr);
      if (tr.statusCode !== 200) throw regErr('UNAUTHORIZED', `remote token endpoint answered ${tr.statusCode}`, undefined, 502);
      const j = JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string; expires_in?: number };
      auth = `Bearer ${j.token ?? j.access_token}`;
      this.tokens.set(name, { header: auth, until: Date.now() + Math.max(30, (j.expires_in ?? 60) - 10) * 1000 });
    }
    if (!auth) return res;
    headers.Authorization = auth;
    res = await request(url, { ...o, headers });
    return res;
  }

  /** Refreshes a manifest from the remote into the local store; silent when the remote fails. */
  async fillManifest(name: string, ref: { digest?: string; tag?: string }): Promise<void> {
    const d = this.d();
    let res: http.IncomingMessage;
    try {
      res = await this.fetch(`/v2/${name}/manifests/${ref.digest ?? ref.tag}`, name, { headers: { Accept: ACCEPT } });
    } catch {
      return; // remote unreachable: serve what is cached
    }
    if (res.statusCode !== 200) {
      res.resume();
      d.metrics.proxyHits++;
      return;
    }
    const body = await readAll(res);
    d.metrics.proxyMisses++;
    // The remote vouches for its references (blobs are fetched as they are asked for).
    const m = manifestRecord(body, String(res.headers['content-type'] ?? ''), ref.digest);
    await d.storage.putManifest(name, m, ref.tag ? [ref.tag] : []);
    d.metrics.manifestsPushed++;
  }

  /** Remote tags list (undefined when the remote fails). */
  async tags(name: string, search: string): Promise<{ body: unknown; link: string | undefined } | undefined> {
    try {
      const res = await this.fetch(`/v2/${name}/tags/list${search}`, name);
      if (res.statusCode !== 200) {
        res.resume();
        return undefined;
      }
      const body = JSON.parse((await readAll(res)).toString('utf8')) as unknown;
      const link = res.headers.link;
      return { body, link: typeof link === 'string' ? link : undefined };
    } catch {
      return undefined;
    }
  }

  /** Serves a blob not in the local store from the remote, caching it as it streams. */
  async serveBlob(ctx: Ctx<Extract<Route, { kind: 'blob' }>>, digest: string): Promise<void> {
    const d = this.d();
    const name = ctx.route.name;
    let up: http.IncomingMessage;
    try {
      up = await this.fetch(`/v2/${name}/blobs/${digest}`, name, { method: ctx.head ? 'HEAD' : 'GET' });
    } catch (err) {
      throw regErr('BLOB_UNKNOWN', `remote registry unreachable: ${(err as Error).message}`, { digest });
    }
    if (up.statusCode !== 200) {
      up.resume();
      throw regErr('BLOB_UNKNOWN', undefined, { digest });
    }
    d.metrics.proxyMisses++;
    const res = ctx.res;
    const len = up.headers['content-length'];
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest,
      ...(len ? { 'Content-Length': len } : {}),
    });
    if (ctx.head) {
      up.resume();
      return void res.end();
    }
    const s = await d.uploads.create(name);
    async function* tee(): AsyncGenerator<Buffer> {
      for await (const c of up as AsyncIterable<Buffer>) {
        if (!res.destroyed && !res.write(c)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
        d.metrics.bytesOut += c.length;
        yield c;
      }
    }
    try {
      await d.uploads.finish(s, digest, { body: Readable.from(tee()) });
      d.metrics.blobsCommitted++;
    } catch (err) {
      await d.uploads.cancel(s).catch(() => undefined);
      res.destroy(err as Error);
      return;
    }
    res.end();
  }
}

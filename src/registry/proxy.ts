/**
 * Pull-through cache of a remote registry (--proxy-remote-url). Manifests by tag are looked up
 * on the remote on every pull (the local copy is served when the remote is unreachable);
 * manifests by digest and blobs come from the local store when present, else from the remote,
 * streamed to the client and to an upload session at once, then verified and committed.
 *
 * The remote is read through the daemon's distribution client (`distribution/remote.ts` over a
 * `RegistrySession` per repository): its challenge flow answers the remote's basic or bearer-token
 * auth with the configured credentials, a token for `repository:<name>:pull` kept until the remote
 * refuses it, then fetched again.
 */
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { endpointForUrl } from '../distribution/endpoint.js';
import type { HttpResponse } from '../distribution/http.js';
import { getManifest, getTagPage, openBlob } from '../distribution/remote.js';
import { RegistryError as RemoteError, RegistrySession } from '../distribution/session.js';
import type { Ctx, Deps, PullThrough } from './context.js';
import { regErr } from './errors.js';
import { manifestRecord, MT } from './manifests.js';
import type { Route } from './routes.js';

const ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest].join(', ');
/** Idle timeout of a remote request (ms). */
const TIMEOUT = 30_000;
/** The largest manifest or tag list taken from the remote. */
const LIMIT = 8 << 20;

export class Proxy implements PullThrough {
  private sessions = new Map<string, RegistrySession>();
  constructor(
    private d: () => Deps,
    readonly remote: string,
    private creds: { username: string | undefined; password: string | undefined },
  ) {}

  /** The session (auth state) for reads of repository `name` on the remote. */
  private session(name: string): RegistrySession {
    let s = this.sessions.get(name);
    if (!s) {
      const { username, password } = this.creds;
      const auth = username !== undefined ? { username, password: password ?? '' } : undefined;
      s = new RegistrySession({ endpoint: endpointForUrl(this.remote), auth, scopes: [`repository:${name}:pull`] });
      this.sessions.set(name, s);
    }
    return s;
  }

  /** Refreshes a manifest from the remote into the local store; silent when the remote fails. */
  async fillManifest(name: string, ref: { digest?: string; tag?: string }): Promise<void> {
    const d = this.d();
    let got: Awaited<ReturnType<typeof getManifest>>;
    try {
      got = await getManifest(this.session(name), name, ref.digest ?? ref.tag ?? '', { accept: ACCEPT, limit: LIMIT });
    } catch (err) {
      // An error status (no such manifest, refused): a hit on what is cached. A remote that is
      // unreachable or breaks off: what is cached is served all the same.
      if (err instanceof RemoteError) d.metrics.proxyHits++;
      return;
    }
    d.metrics.proxyMisses++;
    // The remote vouches for its references (blobs are fetched as they are asked for).
    const m = manifestRecord(got.bytes, String(got.contentType ?? ''), ref.digest);
    await d.storage.putManifest(name, m, ref.tag ? [ref.tag] : []);
    d.metrics.manifestsPushed++;
  }

  /** Remote tags list (undefined when the remote fails). */
  async tags(name: string, search: string): Promise<{ body: unknown; link: string | undefined } | undefined> {
    try {
      return await getTagPage(this.session(name), name, { query: search, limit: LIMIT });
    } catch {
      return undefined;
    }
  }

  /** Serves a blob not in the local store from the remote, caching it as it streams. */
  async serveBlob(ctx: Ctx<Extract<Route, { kind: 'blob' }>>, digest: string): Promise<void> {
    const d = this.d();
    const name = ctx.route.name;
    let up: HttpResponse;
    try {
      up = await openBlob(this.session(name), name, digest, { method: ctx.head ? 'HEAD' : 'GET', timeout: TIMEOUT });
    } catch (err) {
      if (err instanceof RemoteError) throw regErr('BLOB_UNKNOWN', undefined, { digest });
      throw regErr('BLOB_UNKNOWN', `remote registry unreachable: ${(err as Error).message}`, { digest });
    }
    if (up.status !== 200) {
      up.body.resume();
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
      up.body.resume();
      return void res.end();
    }
    const s = await d.uploads.create(name);
    async function* tee(): AsyncGenerator<Buffer> {
      for await (const c of up.body as AsyncIterable<Buffer>) {
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

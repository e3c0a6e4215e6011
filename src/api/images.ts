/** /images/…: HTTP ⇄ ImageService. */
import { invalid, notImplemented } from '../lib/errors.js';
import { parseFilters } from '../lib/filters.js';
import type { DeleteResponse, HistoryItem, ImageListQuery, PruneResult } from '../images/service.js';
import type { InspectImageLegacy } from '../images/view.js';
import type { ImportOptions } from '../images/import.js';
import type { LoadMessage } from '../images/archive.js';
import type { Image } from '../images/types.js';
import type { ImageInspect, ImageSummary } from '../engine-api/types.js';
import { openImportSource } from '../images/importsource.js';
import { boolParam, readJSON, sendJSON, versionAtLeast, type Ctx, type Router } from './router.js';
import { openJsonStream } from './streams.js';
import { parseReference, type Reference } from '../images/reference.js';
import type { Job } from '../distribution/service.js';
import type { SearchOptions, SearchResult } from '../distribution/search.js';
import type { Platform } from '../distribution/types.js';
import type { Readable, Writable } from 'node:stream';
import { decodeAuthHeader, normaliseAuth, type AuthConfig } from '../distribution/types.js';

/** The image operations the /images routes call (images/service.ts's ImageService). */
export interface ImageOps {
  /** `docker images`: filtered (400 for a bad filter), newest first. */
  list(q: ImageListQuery): ImageSummary[];
  /** Throws NotFound. */
  inspect(nameOrId: string, legacy: InspectImageLegacy): ImageInspect;
  history(nameOrId: string): Promise<HistoryItem[]>;
  /** Checks the target reference before any byte is read; the returned import reads the source. */
  prepareImport(opts: ImportOptions & { repo?: string; tag?: string }): (src: Readable) => Promise<Image>;
  /** Resolves every name first (404 before any byte), then returns the archive's writer. */
  prepareSave(names: string[]): (out: Writable) => Promise<void>;
  load(src: Readable, o: { onMessage: (m: LoadMessage) => void }): Promise<void>;
  tag(source: string, target: string): Promise<void>;
  remove(nameOrId: string, o: { force: boolean; prune: boolean }): Promise<DeleteResponse>;
  prune(filters: Map<string, string[]>): Promise<PruneResult>;
}

/** The registry operations the image routes call (distribution/service.ts's DistributionService). */
export interface DistributionOps {
  /** Checks the request, then returns the pull to run (messages into the JSON stream). */
  preparePull(
    ref: Reference,
    o: { platform?: string | undefined; auth?: AuthConfig | undefined; signal?: AbortSignal | undefined; allTags?: boolean },
  ): Promise<Job>;
  preparePush(ref: Reference, o: { auth?: AuthConfig | undefined; signal?: AbortSignal | undefined }): Job;
  /** Checks credentials against the registry. */
  login(auth: AuthConfig): Promise<{ Status: string; IdentityToken: string }>;
  search(term: string, o: SearchOptions): Promise<SearchResult[]>;
  /** The descriptor a reference resolves to and its platforms. */
  inspect(ref: Reference, auth?: AuthConfig): Promise<{ Descriptor: { mediaType: string; digest: string; size: number }; Platforms: Platform[] }>;
}

export interface ImageApiDeps {
  images: ImageOps;
  /** The registry client; pull/push/login answer 501 without it. */
  distribution?: DistributionOps;
}

/** Runs a streaming job: 200 and dockerd's JSON messages; a failure becomes an errorDetail message. */
async function streamJob(ctx: Ctx, job: Job, ac: AbortController): Promise<void> {
  const res = ctx.res;
  if (!res) return;
  res.on('close', () => {
    if (!res.writableFinished) ac.abort();
  });
  const out = openJsonStream(res, { eol: '\r\n' });
  try {
    await job.run({ write: out.write });
  } catch (err) {
    out.fail(err);
  }
  out.end();
}

/** `name` + `tag` query (the tag may be a digest, as the docker CLI sends it). */
function refFromQuery(name: string, tag: string | null): Reference {
  if (tag) return parseReference(/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/.test(tag) ? `${name}@${tag}` : `${name}:${tag}`, { defaultTag: false });
  return parseReference(name, { defaultTag: false });
}

export function registerImageRoutes(r: Router, d: ImageApiDeps): void {
  r.add('GET', '/images/json', async (ctx) => {
    const filters = parseFilters(ctx.query.get('filters'));
    sendJSON(ctx, 200, d.images.list({ filters, all: boolParam(ctx.query, 'all'), virtualSize: !versionAtLeast(ctx, '1.44') }));
  });

  r.add('POST', '/images/create', async (ctx) => {
    const q = ctx.query;
    const fromSrc = q.get('fromSrc');
    const fromImage = q.get('fromImage');
    if (fromSrc === null) {
      if (!fromImage) throw invalid('fromSrc or fromImage is required');
      if (!d.distribution) throw notImplemented(`pull access to registries is not available in this Berth daemon: cannot pull ${fromImage}`);
      const ref = refFromQuery(fromImage, q.get('tag'));
      const ac = new AbortController();
      const job = await d.distribution.preparePull(ref, {
        platform: q.get('platform') || undefined,
        auth: decodeAuthHeader(ctx.req.headers['x-registry-auth']),
        signal: ac.signal,
        allTags: ref.tag === undefined && ref.digest === undefined,
      });
      await streamJob(ctx, job, ac);
      return;
    }
    const src = await openImportSource(fromSrc, ctx.req);
    const opts = {
      changes: q.getAll('changes').flatMap((c) => c.split('\n')),
      message: q.get('message') ?? '',
      source: fromSrc,
      ...(q.get('repo') ? { repo: q.get('repo') as string } : {}),
      ...(q.get('tag') ? { tag: q.get('tag') as string } : {}),
    };
    // The reference is checked before any byte is read.
    const runImport = d.images.prepareImport(opts);
    const res = ctx.res;
    if (!res) return;
    const out = openJsonStream(res, { eol: '\n', lazy: true });
    try {
      const image = await runImport(src);
      out.write({ status: image.id });
    } catch (err) {
      // The docker CLI reads import errors from the JSON stream.
      out.fail(err);
      ctx.req.resume();
    }
    out.end();
  });

  r.add('POST', '/images/{name*}/push', async (ctx) => {
    if (!d.distribution) throw notImplemented('push is not available in this Berth daemon');
    const ref = refFromQuery(ctx.params.name as string, ctx.query.get('tag'));
    const ac = new AbortController();
    const job = d.distribution.preparePush(ref, { auth: decodeAuthHeader(ctx.req.headers['x-registry-auth']), signal: ac.signal });
    await streamJob(ctx, job, ac);
  });

  r.add('POST', '/auth', async (ctx) => {
    const auth = normaliseAuth(await readJSON<AuthConfig>(ctx));
    if (!d.distribution) throw notImplemented('login is not available in this Berth daemon');
    sendJSON(ctx, 200, await d.distribution.login(auth));
  });

  r.add('GET', '/images/search', async (ctx) => {
    if (!d.distribution) throw notImplemented('search is not available in this Berth daemon');
    const ac = new AbortController();
    ctx.res?.on('close', () => ac.abort());
    const results = await d.distribution.search(ctx.query.get('term') ?? '', {
      limit: ctx.query.get('limit'),
      filters: parseFilters(ctx.query.get('filters')),
      signal: ac.signal,
    });
    sendJSON(ctx, 200, results);
  });

  r.add('GET', '/distribution/{name*}/json', async (ctx) => {
    if (!d.distribution) throw notImplemented('distribution inspect is not available in this Berth daemon');
    const ref = parseReference(ctx.params.name as string);
    sendJSON(ctx, 200, await d.distribution.inspect(ref, decodeAuthHeader(ctx.req.headers['x-registry-auth'])));
  });

  r.add('POST', '/images/prune', async (ctx) => {
    sendJSON(ctx, 200, await d.images.prune(parseFilters(ctx.query.get('filters'))));
  });

  const save = async (ctx: Ctx, names: string[]): Promise<void> => {
    const write = d.images.prepareSave(names);
    const res = ctx.res;
    if (!res) return;
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    try {
      await write(res);
    } catch {
      // Headers are out: the only way to signal a failure is to cut the archive short.
      res.destroy();
    }
  };
  r.add('GET', '/images/get', async (ctx) =>
    save(
      ctx,
      ctx.query.getAll('names').filter((n) => n !== ''),
    ),
  );
  r.add('GET', '/images/{name*}/get', async (ctx) => save(ctx, [ctx.params.name as string]));

  r.add('POST', '/images/load', async (ctx) => {
    const res = ctx.res;
    if (!res) return;
    const quiet = boolParam(ctx.query, 'quiet');
    const out = openJsonStream(res, { eol: '\n' });
    try {
      await d.images.load(ctx.req, { onMessage: (m) => (!quiet || 'stream' in m ? out.write(m) : undefined) });
    } catch (err) {
      out.fail(err);
      ctx.req.resume();
    }
    out.end();
  });

  r.add('GET', '/images/{name*}/json', async (ctx) => {
    sendJSON(ctx, 200, d.images.inspect(ctx.params.name as string, { containerConfig: true, virtualSize: !versionAtLeast(ctx, '1.44') }));
  });

  r.add('GET', '/images/{name*}/history', async (ctx) => {
    sendJSON(ctx, 200, await d.images.history(ctx.params.name as string));
  });

  r.add('POST', '/images/{name*}/tag', async (ctx) => {
    const repo = ctx.query.get('repo');
    if (!repo) throw invalid('repository name must have at least one component');
    const tag = ctx.query.get('tag');
    await d.images.tag(ctx.params.name as string, tag ? `${repo}:${tag}` : repo);
    ctx.res?.writeHead(201);
    ctx.res?.end();
  });

  r.add('DELETE', '/images/{name*}', async (ctx) => {
    const out = await d.images.remove(ctx.params.name as string, {
      force: boolParam(ctx.query, 'force'),
      prune: !boolParam(ctx.query, 'noprune'),
    });
    sendJSON(ctx, 200, out);
  });
}

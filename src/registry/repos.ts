/** Manifest, tag list, catalog and referrers endpoints. */
import { paginate, readSmallBody, checkDeletable, checkWritable, type Ctx, type Deps } from './context.js';
import { RegistryError, regErr } from './errors.js';
import { acceptable, acceptTypes, isIndexType, manifestRecord, MT, type Descriptor, type ParsedManifest } from './manifests.js';
import type { Route } from './routes.js';
import { checkDigest, isDigestLike, isValidTag, type RevisionInfo } from './storage.js';

type ManifestRoute = Extract<Route, { kind: 'manifest' }>;
const MANIFEST_LIMIT = 4 << 20;

/** A manifest reference: a validated digest or tag. */
export function parseRef(ref: string): { digest: string; tag?: undefined } | { tag: string; digest?: undefined } {
  if (isDigestLike(ref)) return { digest: checkDigest(ref) };
  if (!isValidTag(ref)) throw regErr('TAG_INVALID', 'invalid tag', { tag: ref });
  return { tag: ref };
}

/** MANIFEST_BLOB_UNKNOWN unless every blob and child manifest `parsed` references is in `name`. */
async function checkReferences(d: Deps, name: string, parsed: ParsedManifest): Promise<void> {
  for (const b of parsed.blobs) {
    if ((await d.storage.repoBlobSize(name, b.digest)) === undefined)
      throw regErr('MANIFEST_BLOB_UNKNOWN', `blob unknown to registry: ${b.digest}`, { digest: b.digest });
  }
  for (const m of parsed.manifests) {
    if (!(await d.storage.getRevision(name, m.digest)))
      throw regErr('MANIFEST_BLOB_UNKNOWN', `manifest unknown to registry: ${m.digest}`, { digest: m.digest });
  }
}

/** The stored manifest `ref` names in `name`, or MANIFEST_UNKNOWN / NAME_UNKNOWN. */
async function resolve(d: Deps, name: string, ref: { digest?: string; tag?: string }): Promise<RevisionInfo> {
  const digest = ref.digest ?? (await d.storage.getTag(name, ref.tag!));
  const rev = digest ? await d.storage.getRevision(name, digest) : undefined;
  if (!rev) {
    if (!(await d.storage.repoExists(name))) throw regErr('NAME_UNKNOWN', undefined, { name });
    throw regErr('MANIFEST_UNKNOWN', undefined, ref.tag ? { tag: ref.tag } : { digest: ref.digest });
  }
  return rev;
}

export async function getManifest(d: Deps, ctx: Ctx<ManifestRoute>): Promise<void> {
  const { route, res } = ctx;
  const ref = parseRef(route.ref);
  const accept = acceptTypes(ctx.req.headers.accept).filter((t) => t !== 'application/json');
  if (d.proxy && (ref.tag !== undefined || !(await d.storage.getRevision(route.name, ref.digest)))) await d.proxy.fillManifest(route.name, ref);
  let rev = await resolve(d, route.name, ref);
  if (!acceptable(rev.mediaType, accept)) {
    // An index asked for by a client that only takes single manifests: serve linux/amd64 (or the
    // first platform), as distribution does for old clients.
    let fallback: RevisionInfo | undefined;
    if (isIndexType(rev.mediaType)) {
      const idx = JSON.parse((await d.storage.readBlob(rev.digest)).toString('utf8')) as { manifests?: Descriptor[] };
      const list = idx.manifests ?? [];
      const pick = list.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? list[0];
      if (pick) fallback = await d.storage.getRevision(route.name, pick.digest);
    }
    if (!fallback || !acceptable(fallback.mediaType, accept)) {
      throw regErr('MANIFEST_UNKNOWN', `manifest of type ${rev.mediaType} found, but the Accept header does not support it`, { mediaType: rev.mediaType });
    }
    rev = fallback;
  }
  res.writeHead(200, {
    'Content-Type': rev.mediaType,
    'Content-Length': rev.size,
    'Docker-Content-Digest': rev.digest,
    ETag: `"${rev.digest}"`,
  });
  if (ctx.head) return void res.end();
  const body = await d.storage.readBlob(rev.digest);
  d.metrics.bytesOut += body.length;
  res.end(body);
}

export async function pushManifest(d: Deps, ctx: Ctx<ManifestRoute>): Promise<void> {
  checkWritable(d);
  const { route, req, res, url } = ctx;
  const ref = parseRef(route.ref);
  const extraTags = ref.digest ? url.searchParams.getAll('tag') : [];
  for (const t of extraTags) if (!isValidTag(t)) throw regErr('TAG_INVALID', 'invalid tag', { tag: t });
  const body = await readSmallBody(req, MANIFEST_LIMIT);
  const m = manifestRecord(body, req.headers['content-type'], ref.digest);
  await checkReferences(d, route.name, m.parsed);
  const tags = [...(ref.tag ? [ref.tag] : []), ...extraTags];
  await d.storage.putManifest(route.name, m, tags);
  d.metrics.manifestsPushed++;
  const { digest, subject } = m.info;
  const headers: Record<string, string | number | string[]> = {
    Location: `/v2/${route.name}/manifests/${digest}`,
    'Docker-Content-Digest': digest,
    'Content-Length': 0,
  };
  if (subject) headers['OCI-Subject'] = subject;
  if (extraTags.length) headers['OCI-Tag'] = tags;
  res.writeHead(201, headers);
  res.end();
}

export async function deleteManifest(d: Deps, ctx: Ctx<ManifestRoute>): Promise<void> {
  checkDeletable(d);
  const { route, res } = ctx;
  const ref = parseRef(route.ref);
  if (ref.tag) {
    if (!(await d.storage.getTag(route.name, ref.tag))) {
      if (!(await d.storage.repoExists(route.name))) throw regErr('NAME_UNKNOWN', undefined, { name: route.name });
      throw regErr('MANIFEST_UNKNOWN', undefined, { tag: ref.tag });
    }
    await d.storage.deleteTag(route.name, ref.tag);
  } else {
    const rev = await resolve(d, route.name, ref);
    for (const t of await d.storage.listTags(route.name)) {
      if ((await d.storage.getTag(route.name, t)) === rev.digest) await d.storage.deleteTag(route.name, t);
    }
    if (rev.subject) await d.storage.removeReferrer(route.name, rev.subject, rev.digest);
    await d.storage.deleteRevision(route.name, rev.digest);
  }
  res.writeHead(202, { 'Content-Length': 0 });
  res.end();
}

function sendJSON(ctx: Ctx, value: unknown, headers: Record<string, string> = {}, contentType = 'application/json'): void {
  const body = JSON.stringify(value);
  ctx.res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...headers });
  ctx.res.end(ctx.head ? undefined : body);
}

export async function listTags(d: Deps, ctx: Ctx<Extract<Route, { kind: 'tags' }>>): Promise<void> {
  const name = ctx.route.name;
  if (d.proxy) {
    const remote = await d.proxy.tags(name, ctx.url.search);
    if (remote) return sendJSON(ctx, remote.body, remote.link ? { Link: remote.link } : {});
  }
  if (!(await d.storage.repoExists(name))) throw regErr('NAME_UNKNOWN', undefined, { name });
  const { page, next, n } = paginate(await d.storage.listTags(name), ctx.url, undefined);
  const headers: Record<string, string> = {};
  if (next !== undefined) headers.Link = `</v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(next)}>; rel="next"`;
  sendJSON(ctx, { name, tags: page }, headers);
}

export async function catalog(d: Deps, ctx: Ctx<Extract<Route, { kind: 'catalog' }>>): Promise<void> {
  const { page, next, n } = paginate(await d.storage.listRepositories(), ctx.url, 1000);
  const headers: Record<string, string> = {};
  if (next !== undefined) headers.Link = `</v2/_catalog?n=${n}&last=${encodeURIComponent(next)}>; rel="next"`;
  sendJSON(ctx, { repositories: page }, headers);
}

export async function referrers(d: Deps, ctx: Ctx<Extract<Route, { kind: 'referrers' }>>): Promise<void> {
  let digest: string;
  try {
    digest = checkDigest(ctx.route.digest);
  } catch (err) {
    throw err instanceof RegistryError ? regErr('DIGEST_INVALID', err.message, err.detail, 400) : err;
  }
  let list = await d.storage.listReferrers(ctx.route.name, digest);
  const headers: Record<string, string> = {};
  const filter = ctx.url.searchParams.get('artifactType');
  if (filter !== null) {
    list = list.filter((r) => r.artifactType === filter);
    headers['OCI-Filters-Applied'] = 'artifactType';
  }
  sendJSON(ctx, { schemaVersion: 2, mediaType: MT.ociIndex, manifests: list }, headers, MT.ociIndex);
}

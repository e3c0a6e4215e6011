/**
 * Push: for each layer (a tar in the content store by diff ID) skip what the registry already
 * has (`HEAD` of a compressed digest known for it), mount it from another repository of the same
 * registry, or gzip it on the fly and upload it in one streamed `PATCH` (its compressed digest is
 * computed as it streams) closed by `PUT ?digest=`; then the config, then a Docker schema 2
 * manifest under the tag. Progress as dockerd's push stream.
 */
import { createHash } from 'node:crypto';
import { createGzip } from 'node:zlib';
import { Digester } from '../content/store.js';
import { notFound, system } from '../lib/errors.js';
import { familiarRepo, familiarName, fullName, repoName, type Reference } from '../images/reference.js';
import type { Image } from '../images/types.js';
import type { DistributionDeps } from './deps.js';
import { endpointsFor } from './endpoint.js';
import { drain } from './http.js';
import type { BlobSource } from './metadata.js';
import { Counter, Progress, limiter, shortDigest } from './progress.js';
import { RegistryError, RegistrySession } from './session.js';
import { MediaTypes, type AuthConfig, type ImageManifest, type RegistryDescriptor } from './types.js';

export interface PushRequest {
  /** Repository, with the tag to push (all local tags of the repository when absent). */
  ref: Reference;
  auth?: AuthConfig | undefined;
  signal?: AbortSignal | undefined;
}

export interface PushPlan {
  ref: Reference;
  tags: Array<{ tag: string; image: Image }>;
}

/** Finds what to push; throws NotFound (before any output) when nothing matches. */
export function planPush(deps: DistributionDeps, req: PushRequest): PushPlan {
  const { ref } = req;
  const base = { domain: ref.domain, path: ref.path };
  const tags: PushPlan['tags'] = [];
  if (ref.tag !== undefined) {
    const image = deps.images.find(fullName({ ...base, tag: ref.tag }));
    if (image) tags.push({ tag: ref.tag, image });
  } else {
    for (const t of deps.images.tagsOfRepo(repoName(ref))) {
      const image = deps.images.byId(t.id);
      if (image) tags.push({ tag: t.tag, image });
    }
  }
  if (tags.length === 0)
    throw notFound(`An image does not exist locally with the tag: ${familiarName(ref.tag !== undefined ? { ...base, tag: ref.tag } : base)}`);
  return { ref, tags };
}

const PUSHABLE_TYPES = new Set<string>([MediaTypes.dockerLayerGzip, MediaTypes.ociLayerGzip]);

export async function runPush(deps: DistributionDeps, plan: PushPlan, progress: Progress, req: PushRequest): Promise<void> {
  const { ref } = plan;
  const repo = ref.path;
  progress.status(`The push refers to repository [${repoName(ref)}]`);
  const endpoint = endpointsFor(ref.domain, deps.config, { push: true })[0];
  if (!endpoint) throw system(`no endpoint for ${ref.domain}`);

  // Mount sources need pull access to their repositories in the same token.
  const fromRepos = new Set<string>();
  for (const { image } of plan.tags) {
    for (const d of image.config.rootfs.diff_ids) {
      for (const s of deps.sources.get(d)) if (s.registry === ref.domain && s.repo !== repo) fromRepos.add(s.repo);
    }
  }
  const scopes = [`repository:${repo}:pull,push`, ...[...fromRepos].slice(0, 10).map((r) => `repository:${r}:pull`)];
  const session = new RegistrySession({ endpoint, auth: req.auth, scopes, signal: req.signal });
  try {
    await session.ensureAuth();
  } catch (err) {
    throw translatePushError(err, ref);
  }

  const done = new Map<string, Promise<RegistryDescriptor>>();
  const limit = limiter(deps.config.maxConcurrentUploads ?? 5);

  for (const { tag, image } of plan.tags) {
    const diffIds = image.config.rootfs.diff_ids;
    const order = [...diffIds.keys()].reverse();
    for (const i of order) progress.status('Preparing', shortDigest(diffIds[i] as string));
    let n = 0;
    const layerPromises: Array<Promise<RegistryDescriptor>> = [];
    for (const i of order) {
      const diffId = diffIds[i] as string;
      let p = done.get(diffId);
      if (!p) {
        if (n++ >= (deps.config.maxConcurrentUploads ?? 5)) progress.status('Waiting', shortDigest(diffId));
        p = limit(() => pushLayer(deps, session, ref, diffId, progress));
        p.catch(() => undefined);
        done.set(diffId, p);
      }
      layerPromises[i] = p;
    }
    let layers: RegistryDescriptor[];
    try {
      layers = await Promise.all(layerPromises);
    } catch (err) {
      await Promise.allSettled(layerPromises);
      throw translatePushError(err, ref);
    }
    try {
      const configBytes = await deps.content.readBytes(image.id);
      const configDesc = { mediaType: MediaTypes.dockerConfig, size: configBytes.length, digest: image.id };
      if (!(await blobExists(session, repo, image.id))) await uploadBytes(session, repo, image.id, configBytes);
      const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: configDesc, layers };
      const body = Buffer.from(JSON.stringify(manifest, null, 3));
      const res = await session.request('PUT', `/v2/${repo}/manifests/${tag}`, { headers: { 'Content-Type': MediaTypes.dockerManifest }, body });
      drain(res.body);
      const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      await deps.images.tag(image.id, { domain: ref.domain, path: ref.path, digest });
      progress.status(`${tag}: digest: ${digest} size: ${body.length}`);
      progress.aux({ Tag: tag, Digest: digest, Size: body.length });
      deps.events.publish('image', 'push', familiarName({ domain: ref.domain, path: ref.path, tag }), { name: familiarRepo(ref) });
    } catch (err) {
      throw translatePushError(err, ref);
    }
  }
}

function translatePushError(err: unknown, _ref: Reference): unknown {
  if (err instanceof RegistryError) return system(err.message);
  return err;
}

async function blobExists(session: RegistrySession, repo: string, digest: string): Promise<number | undefined> {
  const res = await session.request('HEAD', `/v2/${repo}/blobs/${digest}`, { ok: [404] });
  drain(res.body);
  if (res.status !== 200) return undefined;
  const len = Number(res.headers['content-length']);
  return Number.isFinite(len) ? len : 0;
}

async function startUpload(session: RegistrySession, repo: string, query = ''): Promise<{ status: number; location: string }> {
  const res = await session.request('POST', `/v2/${repo}/blobs/uploads/${query}`, { ok: [201, 202] });
  drain(res.body);
  const location = res.headers.location;
  if (res.status === 202 && !location) throw new RegistryError(res.status, undefined, `upload to ${repo}: no Location in the registry's answer`);
  return { status: res.status, location: location ?? '' };
}

function withDigest(session: RegistrySession, location: string, digest: string): string {
  const u = session.url(location);
  u.searchParams.set('digest', digest);
  return u.href;
}

async function uploadBytes(session: RegistrySession, repo: string, digest: string, bytes: Buffer): Promise<void> {
  const { location } = await startUpload(session, repo);
  const res = await session.request('PUT', withDigest(session, location, digest), { headers: { 'Content-Type': 'application/octet-stream' }, body: bytes });
  drain(res.body);
}

async function pushLayer(deps: DistributionDeps, session: RegistrySession, ref: Reference, diffId: string, progress: Progress): Promise<RegistryDescriptor> {
  const id = shortDigest(diffId);
  const repo = ref.path;
  const known = deps.sources
    .get(diffId)
    .filter(
      (s) =>
        s.registry === ref.domain && (PUSHABLE_TYPES.has(s.mediaType) || s.mediaType === MediaTypes.dockerLayerTar || s.mediaType === MediaTypes.ociLayerTar),
    );
  const desc = (s: BlobSource, size?: number): RegistryDescriptor => ({
    mediaType: s.mediaType === MediaTypes.dockerLayerTar || s.mediaType === MediaTypes.ociLayerTar ? MediaTypes.dockerLayerTar : MediaTypes.dockerLayerGzip,
    size: size || s.size,
    digest: s.digest,
  });
  // 1. Already in this repository?
  for (const s of known.filter((k) => k.repo === repo)) {
    const size = await blobExists(session, repo, s.digest);
    if (size !== undefined) {
      progress.status('Layer already exists', id);
      return desc(s, size);
    }
    await deps.sources.remove(diffId, (x) => x.digest === s.digest && x.registry === s.registry && x.repo === s.repo);
  }
  // 2. Mountable from another repository of the same registry?
  const tried = new Set<string>();
  for (const s of known.filter((k) => k.repo !== repo)) {
    if (tried.has(`${s.repo}@${s.digest}`) || tried.size >= 3) continue;
    tried.add(`${s.repo}@${s.digest}`);
    const q = `?mount=${encodeURIComponent(s.digest)}&from=${encodeURIComponent(s.repo)}`;
    const up = await startUpload(session, repo, q).catch(() => undefined);
    if (up?.status === 201) {
      await deps.sources.add(diffId, { ...s, repo });
      progress.status(`Mounted from ${s.repo}`, id);
      return desc(s);
    }
    if (up?.location) {
      const res = await session.request('DELETE', up.location, { ok: [404, 405] }).catch(() => undefined);
      if (res) drain(res.body);
    }
  }
  // 3. Upload: gzip while streaming, hashing the compressed bytes.
  const info = await deps.content.info(diffId).catch(() => {
    throw notFound(`layer ${diffId} is missing from the content store`);
  });
  const { location } = await startUpload(session, repo);
  const counter = new Counter((n) => progress.bytes('Pushing', id, n, info.size, n === info.size));
  const gzip = createGzip();
  const digester = new Digester();
  const src = deps.content.read(diffId);
  src.on('error', (e) => counter.destroy(e));
  counter.on('error', (e) => gzip.destroy(e));
  gzip.on('error', (e) => digester.destroy(e));
  const body = src.pipe(counter).pipe(gzip).pipe(digester);
  const patched = await session.request('PATCH', location, { headers: { 'Content-Type': 'application/octet-stream' }, body, timeout: 300_000 });
  drain(patched.body);
  const digest = digester.digest();
  const next = patched.headers.location ?? location;
  const put = await session.request('PUT', withDigest(session, next, digest), {});
  drain(put.body);
  await deps.sources.add(diffId, { digest, size: digester.size, mediaType: MediaTypes.dockerLayerGzip, registry: ref.domain, repo });
  progress.status('Pushed', id);
  return { mediaType: MediaTypes.dockerLayerGzip, size: digester.size, digest };
}

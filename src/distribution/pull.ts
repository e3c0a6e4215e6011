/**
 * Pull: resolve the manifest (through an index to the wanted platform) before any byte of
 * output, then stream dockerd's progress while config and layer blobs download concurrently,
 * each verified against its digest by the content store's ingest, and layers unpack in order
 * (`LayerStore.apply`, whose diff ID is checked against the config's `rootfs.diff_ids`).
 * A failed pull removes every blob and layer it added that nothing else uses.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Lease } from '../content/leases.js';
import { compressionOf, type Compression } from '../lib/decompress.js';
import { span } from '../lib/trace.js';
import { BerthError, invalid, notFound, system, messageOf } from '../lib/errors.js';
import { chainIds } from '../snapshots/layers.js';
import { familiarName, familiarRepo, fullName, type Reference } from '../images/reference.js';
import type { ImageConfig } from '../images/types.js';
import type { DistributionDeps } from './deps.js';
import { endpointsFor } from './endpoint.js';
import { HttpError } from './http.js';
import { getManifest, getTagPage, nextLink, openBlob } from './remote.js';
import { Counter, Progress, limiter, shortDigest } from './progress.js';
import { RegistryError, RegistrySession } from './session.js';
import { MediaTypes, isIndexType, type AuthConfig, type ImageIndex, type ImageManifest, type Platform, type RegistryDescriptor } from './types.js';

export interface PullRequest {
  ref: Reference;
  /** `os/arch[/variant]`; default linux/amd64 (this host). */
  platform?: string | undefined;
  auth?: AuthConfig | undefined;
  signal?: AbortSignal | undefined;
}

export interface ResolvedPull {
  ref: Reference;
  session: RegistrySession;
  /** Digest of what the tag points at (an index or a manifest): the RepoDigest. */
  digest: string;
  manifest: ImageManifest;
  platform: Platform | undefined;
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  parsed: ImageManifest | ImageIndex;
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386' };

/** `linux/arm64/v8` → platform; the default is linux/amd64. */
export function parsePlatform(s: string | undefined): Platform {
  if (!s) return { os: 'linux', architecture: 'amd64' };
  const parts = s.toLowerCase().split('/');
  let os = 'linux';
  if (parts.length >= 2 || ['linux', 'windows', 'darwin', 'freebsd'].includes(parts[0] ?? '')) os = parts.shift() as string;
  const arch = parts.shift();
  if (!arch && os !== 'linux') throw invalid(`"${s}": unknown operating system or architecture: invalid argument`);
  const p: Platform = { os, architecture: ARCH_ALIASES[arch ?? 'amd64'] ?? arch ?? 'amd64' };
  const variant = parts.shift();
  if (variant) p.variant = variant;
  if (p.architecture === 'arm64' && p.variant === 'v8') delete p.variant;
  return p;
}

export const platformString = (p: Platform): string => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

function matches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  if (have.os !== want.os) return false;
  if ((ARCH_ALIASES[have.architecture] ?? have.architecture) !== want.architecture) return false;
  if (want.variant === undefined) return true;
  const hv = have.architecture === 'arm64' && have.variant === 'v8' ? undefined : have.variant;
  return hv === want.variant;
}

/** Picks the manifest for a platform from an index, as containerd's platform matcher does. */
export function pickManifest(index: ImageIndex, want: Platform): RegistryDescriptor | undefined {
  const candidates = index.manifests.filter((m) => matches(want, m.platform) && !/attestation/.test(m.annotations?.['vnd.docker.reference.type'] ?? ''));
  if (want.variant === undefined && candidates.length > 1) {
    // Prefer no variant, then the highest (v7 over v6 for arm).
    candidates.sort((a, b) => (a.platform?.variant ?? '').localeCompare(b.platform?.variant ?? '') * (a.platform?.variant === undefined ? -1 : 1));
    const plain = candidates.find((c) => !c.platform?.variant);
    if (plain) return plain;
  }
  return candidates[0];
}

/** dockerd's translation of registry errors on pull (distribution/errors.go). */
export function translatePullError(err: unknown, ref: Reference): unknown {
  if (err instanceof RegistryError) {
    const code = err.code ?? (err.status === 401 ? 'UNAUTHORIZED' : undefined);
    if (code === 'DENIED' || code === 'UNAUTHORIZED') {
      return notFound(`pull access denied for ${familiarRepo(ref)}, repository does not exist or may require 'docker login': ${err.message}`);
    }
    if (code === 'MANIFEST_UNKNOWN' || (err.status === 404 && code === undefined)) {
      const msg = code ? err.message : 'manifest unknown: manifest unknown';
      return notFound(`manifest for ${familiarName(ref)} not found: ${msg}`);
    }
    if (code === 'NAME_UNKNOWN') return notFound(`repository ${familiarRepo(ref)} not found: ${err.message}`);
    return system(err.message);
  }
  if (err instanceof HttpError) return system(err.message);
  return err;
}

export async function fetchManifest(session: RegistrySession, repo: string, reference: string): Promise<FetchedManifest> {
  const res = await getManifest(session, repo, reference);
  const bytes = res.bytes;
  const digest = sha256(bytes);
  if (reference.startsWith('sha256:') && digest !== reference) {
    throw invalid(`manifest verification failed for digest ${reference}`);
  }
  let parsed: ImageManifest | (ImageIndex & { schemaVersion?: number; mediaType?: string });
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as ImageManifest | ImageIndex;
  } catch {
    throw invalid(`invalid manifest for ${repo}:${reference}: not JSON`);
  }
  const header = String(res.contentType ?? '')
    .split(';')[0]
    ?.trim();
  let mediaType = parsed.mediaType ?? header ?? '';
  if ((parsed as { schemaVersion?: number }).schemaVersion === 1 || mediaType.startsWith('application/vnd.docker.distribution.manifest.v1')) {
    throw invalid(
      `[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 support is disabled by default and will be removed in an upcoming release. Suggest the author of ${repo}:${reference} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.`,
    );
  }
  if (!isIndexType(mediaType) && mediaType !== MediaTypes.dockerManifest && mediaType !== MediaTypes.ociManifest) {
    mediaType = 'manifests' in parsed ? MediaTypes.ociIndex : MediaTypes.ociManifest;
  }
  return { digest, mediaType, bytes, parsed };
}

/** Everything before the first byte of output: registry, auth, manifest, platform. */
export async function resolvePull(deps: DistributionDeps, req: PullRequest): Promise<ResolvedPull> {
  const { ref } = req;
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const want = parsePlatform(req.platform);
  let lastErr: unknown;
  for (const endpoint of endpointsFor(ref.domain, deps.config)) {
    const session = new RegistrySession({ endpoint, auth: req.auth, scopes: [`repository:${ref.path}:pull`], signal: req.signal });
    try {
      const top = await fetchManifest(session, ref.path, reference);
      let manifest: ImageManifest;
      let platform: Platform | undefined;
      if (isIndexType(top.mediaType)) {
        const desc = pickManifest(top.parsed as ImageIndex, want);
        if (!desc) throw notFound(`no matching manifest for ${platformString(want)} in the manifest list entries`);
        const child = await fetchManifest(session, ref.path, desc.digest);
        if (isIndexType(child.mediaType)) throw invalid(`nested image index ${desc.digest} is not supported`);
        manifest = child.parsed as ImageManifest;
        platform = desc.platform;
      } else {
        manifest = top.parsed as ImageManifest;
      }
      if (!manifest.config?.digest || !Array.isArray(manifest.layers)) throw invalid(`invalid manifest for ${familiarName(ref)}: no config or layers`);
      return { ref, session, digest: top.digest, manifest, platform };
    } catch (err) {
      lastErr = err;
      if (!endpoint.mirror) break;
    }
  }
  throw translatePullError(lastErr, ref);
}

/** In-flight keys of pulls: the daemon's leases (see content/leases.ts). */
export { Leases as InFlight } from '../content/leases.js';

function isRetryable(err: unknown): boolean {
  if (err instanceof HttpError) return true;
  if (err instanceof RegistryError) return err.status >= 500 || err.status === 429;
  return false;
}

/** Downloads one blob into the content store, verified against its descriptor. */
async function downloadBlob(
  session: RegistrySession,
  deps: DistributionDeps,
  repo: string,
  desc: RegistryDescriptor,
  onBytes?: (n: number) => void,
  onRetry?: (attempt: number, err: unknown) => void,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await openBlob(session, repo, desc.digest, { timeout: 120_000 });
      const counter = new Counter((n) => onBytes?.(n), desc.size);
      res.body.on('error', (e) => counter.destroy(e));
      await deps.content.ingest(res.body.pipe(counter), { digest: desc.digest, size: desc.size });
      return;
    } catch (err) {
      if (isRetryable(err) && attempt < 3 && !session.endpoint.mirror) {
        onRetry?.(attempt, err);
        await new Promise((r) => setTimeout(r, 500 * attempt));
        continue;
      }
      if (err instanceof BerthError && err.category === 'InvalidParameter') {
        throw invalid(`filesystem layer verification failed for digest ${desc.digest}: ${err.message}`);
      }
      if (err instanceof Error && /more than the \d+ bytes/.test(err.message)) {
        throw invalid(`filesystem layer verification failed for digest ${desc.digest}: size mismatch: ${err.message}`);
      }
      throw err;
    }
  }
}

function checkDiffId(digest: string, got: string, want: string): void {
  if (got !== want) throw invalid(`failed to register layer: diff ID of layer ${digest} is ${got}, the image config says ${want}`);
}

/**
 * GET a layer blob and unpack it as it arrives (gzip, zstd or plain), writing the blob's own
 * (compressed) bytes to `o.blobFile` on the way. The layer appears only when `verify` accepts
 * its diff ID; the blob's digest and size are checked when the stream ends, and a layer this
 * call added is removed again if they do not match. Retries as downloadBlob does (from the
 * start: nothing partial is kept). Answers the tar's size and the blob's compression.
 */
async function fetchAndApply(
  session: RegistrySession,
  deps: DistributionDeps,
  repo: string,
  desc: RegistryDescriptor,
  o: { parent: string | undefined; blobFile: string; lease: Lease; verify: (diffId: string) => void },
  onBytes?: (n: number) => void,
  onRetry?: (attempt: number, err: unknown) => void,
): Promise<{ tarSize: number; compression: Compression | undefined }> {
  for (let attempt = 1; ; attempt++) {
    let out: ReturnType<typeof createWriteStream> | undefined;
    try {
      const res = await openBlob(session, repo, desc.digest, { timeout: 120_000 });
      let head = Buffer.alloc(0);
      let tarSize = 0;
      // The blob's own digest, over every byte the registry sends (also after an unpack error).
      const hash = createHash('sha256');
      let size = 0;
      // One stream of the blob's bytes, fed by this response and, when the connection breaks
      // midway, by ranged requests for the rest (`Range: bytes=<received>-`, 206 expected).
      const source = new PassThrough({ highWaterMark: 1 << 20 });
      let current = res.body;
      let abandoned = false;
      const pump = async (): Promise<boolean> => {
        for (let resumes = 0; ; resumes++) {
          const body = current;
          body.on('data', (c: Buffer) => {
            hash.update(c);
            size += c.length;
            if (head.length < 6) head = Buffer.concat([head, c.subarray(0, 6)]).subarray(0, 6);
          });
          if (!abandoned) body.pipe(source, { end: false });
          const err = await finished(body).then(
            () => undefined,
            (e: unknown) => e as Error,
          );
          if (!err) {
            source.end();
            return true;
          }
          body.unpipe(source);
          if (abandoned || resumes >= 3 || size >= desc.size || session.endpoint.mirror) {
            source.destroy(err);
            return false;
          }
          onRetry?.(resumes + 1, err);
          try {
            const next = await openBlob(session, repo, desc.digest, { timeout: 120_000, from: size });
            const from = /^bytes (\d+)-/.exec(String(next.headers['content-range'] ?? ''))?.[1];
            if (next.status !== 206 || Number(from) !== size) {
              next.body.destroy();
              source.destroy(err);
              return false;
            }
            current = next.body;
          } catch {
            source.destroy(err);
            return false;
          }
        }
      };
      const ended = pump();
      let blobDigest: string | undefined;
      const checkBlob = async (): Promise<void> => {
        if (!(await ended)) return; // a broken transfer: its own error says why
        blobDigest ??= `sha256:${hash.digest('hex')}`;
        if (size !== desc.size)
          throw invalid(`filesystem layer verification failed for digest ${desc.digest}: size mismatch: expected ${desc.size} bytes, got ${size}`);
        if (blobDigest !== desc.digest) throw invalid(`filesystem layer verification failed for digest ${desc.digest}: digest mismatch: got ${blobDigest}`);
      };
      const counter = new Counter((n) => onBytes?.(n), desc.size);
      source.on('error', (e) => counter.destroy(e));
      source.pipe(counter);
      // The registry's bytes are what the content store keeps (no second, uncompressed copy).
      const file = createWriteStream(o.blobFile, { mode: 0o644 });
      out = file;
      const written = finished(file);
      written.catch(() => undefined);
      source.pipe(file);
      try {
        // Decompressed where it unpacks (a worker thread for large layers): this thread only
        // hashes the registry's bytes and hands them on.
        await deps.layers.apply(o.parent, counter, {
          compressed: true,
          lease: o.lease,
          sizeHint: desc.size,
          verify: async (diffId, n) => {
            await checkBlob();
            if (!(await ended)) throw invalid(`filesystem layer verification failed for digest ${desc.digest}: transfer broke off`);
            await written;
            o.verify(diffId);
            tarSize = n;
          },
        });
      } catch (err) {
        // Bytes that are not the blob explain an unpack error best: read the rest and say so.
        abandoned = true;
        current.unpipe(source);
        current.resume();
        await checkBlob();
        throw err;
      }
      return { tarSize, compression: compressionOf(head) };
    } catch (err) {
      if (out) {
        // Closed only after its in-flight write: a retry's write stream then starts on a quiet file.
        out.destroy();
        await finished(out).catch(() => undefined);
      }
      if (isRetryable(err) && attempt < 3 && !session.endpoint.mirror) {
        onRetry?.(attempt, err);
        await new Promise((r) => setTimeout(r, 500 * attempt));
        continue;
      }
      if (err instanceof Error && /more than the \d+ bytes/.test(err.message)) {
        throw invalid(`filesystem layer verification failed for digest ${desc.digest}: size mismatch: ${err.message}`);
      }
      throw err;
    }
  }
}

const LAYER_TYPES = new Set<string>([
  MediaTypes.dockerLayerGzip,
  MediaTypes.dockerLayerTar,
  MediaTypes.dockerForeignLayer,
  MediaTypes.ociLayerGzip,
  MediaTypes.ociLayerTar,
  MediaTypes.ociLayerZstd,
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
]);

/** Streams the pull; throws (after cleaning up) on failure. */
export async function runPull(
  deps: DistributionDeps,
  plan: ResolvedPull,
  progress: Progress,
  opts: { platform?: string | undefined; signal?: AbortSignal | undefined } = {},
): Promise<{ id: string; updated: boolean }> {
  const { ref, session, manifest } = plan;
  const repo = ref.path;
  progress.status(`Pulling from ${ref.path}`, ref.digest ?? ref.tag ?? 'latest');

  const added = { blobs: [] as string[], layers: [] as string[] };
  const cfgDesc = manifest.config;
  const keys = [cfgDesc.digest, ...manifest.layers.map((l) => l.digest)];
  let release = deps.inflight.acquire(keys);
  const configExisted = await deps.content.has(cfgDesc.digest);
  const downloads: Array<Promise<void> | undefined> = [];
  try {
    if (!configExisted) {
      await downloadBlob(session, deps, repo, cfgDesc);
      added.blobs.push(cfgDesc.digest);
    }
    const configBytes = await deps.content.readBytes(cfgDesc.digest);
    let config: ImageConfig;
    try {
      config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    } catch {
      throw invalid(`invalid image config ${cfgDesc.digest}: not JSON`);
    }
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) {
      throw invalid(`layers from manifest don't match image configuration: ${manifest.layers.length} layers, ${diffIds.length} diff IDs`);
    }
    if (opts.platform && !plan.platform) {
      const want = parsePlatform(opts.platform);
      if (!matches(want, { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) })) {
        throw invalid(
          `image with reference ${familiarName(ref)} was found but does not match the specified platform: wanted ${platformString(want)}, actual: ${platformString({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) })}`,
        );
      }
    }
    const chains = chainIds(diffIds);
    release();
    release = deps.inflight.acquire([...keys, ...chains, ...diffIds]);

    // Which layers are already unpacked?
    const present: boolean[] = [];
    for (let i = 0; i < manifest.layers.length; i++) {
      present.push((await deps.layers.has(chains[i] as string)) && (await deps.content.has(diffIds[i] as string)));
    }
    const limit = limiter(deps.config.maxConcurrentDownloads ?? 3);
    manifest.layers.forEach((layer, i) => {
      const id = shortDigest(layer.digest);
      if (present[i]) {
        progress.status('Already exists', id);
        return;
      }
      if (layer.mediaType && !LAYER_TYPES.has(layer.mediaType)) {
        throw invalid(`unsupported layer media type ${layer.mediaType}`);
      }
      progress.status('Pulling fs layer', id);
    });
    // Every missing layer streams from the registry through decompression into its own layer
    // directory while it downloads, several at once (layer directories do not depend on their
    // parents on disk): no compressed copy is written, and unpacking overlaps the transfer.
    // The diff ID is checked before the layer becomes visible, the blob digest and size at the end.
    let started = 0;
    manifest.layers.forEach((layer, i) => {
      if (present[i]) return;
      const id = shortDigest(layer.digest);
      const n = started++;
      if (n >= (deps.config.maxConcurrentDownloads ?? 3)) progress.status('Waiting', id);
      const p = limit(async () => {
        opts.signal?.throwIfAborted();
        const parent = i === 0 ? undefined : chains[i - 1];
        const want = diffIds[i] as string;
        const existed = await deps.layers.has(chains[i] as string);
        const lease = deps.inflight.create([chains[i] as string, want, layer.digest]);
        try {
          if (await deps.content.has(want)) {
            // The uncompressed blob is here (another image's): unpack it without the network.
            await deps.layers.apply(parent, deps.content.read(want), { lease, sizeHint: layer.size, verify: (d) => checkDiffId(layer.digest, d, want) });
          } else {
            const blobFile = deps.content.tempPath();
            const t = span(`pull-layer ${id}`);
            try {
              const got = await fetchAndApply(
                session,
                deps,
                repo,
                layer,
                { parent, blobFile, lease, verify: (d) => checkDiffId(layer.digest, d, want) },
                (bytes) => progress.bytes('Downloading', id, bytes, layer.size, bytes === layer.size),
                (attempt) => progress.status(`Retrying in ${attempt} second${attempt > 1 ? 's' : ''}`, id),
              );
              t.mark('fetch+unpack');
              // A compressed blob is kept as is and answers for the diff ID; a plain tar blob is the tar.
              if (got.compression === undefined) await deps.content.commit(blobFile, want);
              else await deps.content.commitCompressed(blobFile, want, { digest: layer.digest, size: got.tarSize, compression: got.compression });
              t.mark('commit-blob');
              t.end();
              added.blobs.push(want);
            } finally {
              await fs.rm(blobFile, { force: true });
            }
          }
          if (!existed) added.layers.push(chains[i] as string);
        } finally {
          lease.release();
        }
        progress.status('Verifying Checksum', id);
        progress.status('Download complete', id);
        progress.status('Pull complete', id);
      });
      p.catch(() => undefined);
      downloads[i] = p;
    });
    for (const p of downloads) {
      await p;
      opts.signal?.throwIfAborted();
    }
    await Promise.all(downloads.filter((p): p is Promise<void> => p !== undefined));

    const before = ref.tag !== undefined ? deps.images.find(fullName(ref))?.id : undefined;
    const existedImage = deps.images.byId(cfgDesc.digest) !== undefined;
    const image = await deps.images.add(configBytes);
    if (ref.tag !== undefined) await deps.images.tag(image.id, { domain: ref.domain, path: ref.path, tag: ref.tag });
    await deps.images.tag(image.id, { domain: ref.domain, path: ref.path, digest: plan.digest });
    for (let i = 0; i < manifest.layers.length; i++) {
      const l = manifest.layers[i] as RegistryDescriptor;
      if (l.mediaType === MediaTypes.ociLayerZstd) continue;
      await deps.sources.add(diffIds[i] as string, {
        digest: l.digest,
        size: l.size,
        mediaType: l.mediaType ?? MediaTypes.dockerLayerGzip,
        registry: ref.domain,
        repo,
      });
    }
    const updated = !(existedImage && (ref.tag === undefined ? true : before === image.id));
    progress.status(`Digest: ${plan.digest}`);
    deps.events.publish('image', 'pull', familiarName(ref.digest !== undefined ? { domain: ref.domain, path: ref.path, digest: ref.digest } : ref), {
      name: familiarName(ref),
    });
    return { id: image.id, updated };
  } catch (err) {
    await Promise.allSettled(downloads.filter((p): p is Promise<void> => p !== undefined));
    await cleanup(deps, added, release);
    if (err instanceof RegistryError) throw system(translatedMessage(err, ref));
    throw err;
  } finally {
    release();
  }
}

function translatedMessage(err: RegistryError, ref: Reference): string {
  const t = translatePullError(err, ref);
  return messageOf(t);
}

/** Removes what a failed pull added, unless an image or another pull uses it. */
async function cleanup(deps: DistributionDeps, added: { blobs: string[]; layers: string[] }, release: () => void): Promise<void> {
  const images = deps.images.list();
  const usedChains = new Set(images.flatMap((i) => i.chainIds));
  const usedBlobs = new Set(images.flatMap((i) => [i.id, ...i.config.rootfs.diff_ids]));
  for (const c of [...added.layers].reverse()) {
    if (usedChains.has(c) || deps.inflight.sharedBeyondOne(c)) continue;
    await deps.layers.remove(c).catch(() => undefined);
  }
  for (const b of added.blobs) {
    if (usedBlobs.has(b) || deps.inflight.sharedBeyondOne(b)) continue;
    await deps.content.delete(b).catch(() => undefined);
  }
  release();
}

/** Names of every tag of a repository (`docker pull --all-tags`). */
export async function listTags(session: RegistrySession, repo: string): Promise<string[]> {
  const tags: string[] = [];
  let page = await getTagPage(session, repo, { query: '?n=1000' });
  for (let n = 1; ; n++) {
    tags.push(...((page.body as { tags?: string[] | null }).tags ?? []));
    const next = nextLink(page.link);
    if (!next || n >= 100) break;
    page = await getTagPage(session, repo, { next });
  }
  return tags.sort();
}

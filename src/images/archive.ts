/**
 * `docker save` / `docker load`: the docker-archive format both ways.
 *
 * Save writes what dockerd 25+ writes: an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/sha256/…` holding config, OCI manifest and uncompressed layer tars) plus the legacy
 * `manifest.json` and `repositories` that older daemons (dockerd 20.10) load. Layers are the
 * stored diff-ID blobs, so every digest and the image ID (config digest) stay what they were.
 *
 * Load reads that format, dockerd 20.10's (`<v1id>/layer.tar`, `<id>.json`) and a plain OCI
 * layout (index.json only; gzip/zstd layers). The archive is unpacked into a private temp dir
 * with the safe extractor (no escaping paths, no devices); each layer is verified against the
 * config's diff IDs before the image is registered; a failure removes what the load added.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import * as tarStream from 'tar-stream';
import type { ContentStore } from '../content/store.js';
import type { Leases } from '../content/leases.js';
import { compressionOf } from '../lib/decompress.js';
import { BerthError, invalid, notFound } from '../lib/errors.js';
import { extractTar } from '../lib/safetar.js';
import { mkdirAll } from '../lib/atomic.js';
import { hostPathInRoot, readFileInRoot } from '../lib/rootfs.js';
import { limiter } from '../distribution/progress.js';
import { chainIdOf, type LayerStore } from '../snapshots/layers.js';
import { decompress } from '../lib/decompress.js';
import { familiarName, fullName, parseReference, type Reference } from './reference.js';
import type { ImageStore } from './store.js';
import type { Image, ImageConfig } from './types.js';

export interface ArchiveDeps {
  content: ContentStore;
  layers: LayerStore;
  images: ImageStore;
  leases: Leases;
}

const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
};

interface ManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

interface OciDescriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

const hex = (d: string): string => d.replace(/^sha256:/, '');
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

// ---------- save ----------

/** One image to save and the tags (full references) it is saved under. */
export interface SaveItem {
  image: Image;
  refs: Reference[];
}

/**
 * Resolves `docker save` names as dockerd does: a repository without tag means every tag of it,
 * a tag or digest reference that one reference, an ID (or prefix) the image without tags.
 * Throws NotFound (`No such image: x`) before anything is written.
 */
export function resolveSaveNames(images: ImageStore, names: string[]): SaveItem[] {
  const byId = new Map<string, SaveItem>();
  const put = (image: Image, ref?: Reference): void => {
    const item = byId.get(image.id) ?? { image, refs: [] };
    if (ref && !item.refs.some((r) => fullName(r) === fullName(ref))) item.refs.push(ref);
    byId.set(image.id, item);
  };
  for (const name of names) {
    let ref: Reference | undefined;
    try {
      ref = parseReference(name, { defaultTag: false });
    } catch {
      ref = undefined;
    }
    if (ref && ref.tag === undefined && ref.digest === undefined) {
      const repo = fullName(ref);
      const tags = images.tagsOfRepo(repo);
      if (tags.length > 0) {
        for (const t of tags) put(images.resolve(t.id), { domain: ref.domain, path: ref.path, tag: t.tag });
        continue;
      }
    }
    const image = images.resolve(name);
    if (ref && (ref.tag !== undefined || ref.digest !== undefined) && images.find(fullName(ref))?.id === image.id) {
      put(image, ref.tag !== undefined ? ref : undefined);
    } else put(image);
  }
  return [...byId.values()];
}

/** Writes the archive of `items` to `out` (a tar stream). */
export async function saveImages(deps: ArchiveDeps, items: SaveItem[], out: Writable): Promise<void> {
  const lease = deps.leases.create(items.flatMap((i) => [i.image.id, ...i.image.config.rootfs.diff_ids, ...i.image.chainIds]));
  const pack = tarStream.pack();
  const done = new Promise<void>((resolve, reject) => {
    pack.on('error', reject);
    out.on('error', reject);
    out.on('finish', resolve);
    out.on('close', resolve);
  });
  pack.pipe(out);
  const mtime = new Date(0);
  const written = new Set<string>();
  const entry = (header: { name: string; type: 'file' | 'directory'; size?: number }, body?: Buffer | Readable): Promise<void> =>
    new Promise((resolve, reject) => {
      const h = { mode: header.type === 'directory' ? 0o755 : 0o644, mtime, uid: 0, gid: 0, ...header };
      if (body === undefined || Buffer.isBuffer(body)) {
        pack.entry(h, body ?? '', (err) => (err ? reject(err) : resolve()));
        return;
      }
      const e = pack.entry(h, (err) => (err ? reject(err) : resolve()));
      body.on('error', (err) => {
        e.destroy(err);
        reject(err);
      });
      body.pipe(e);
    });
  const blob = async (digest: string, data?: Buffer): Promise<void> => {
    if (written.has(digest)) return;
    written.add(digest);
    const name = `blobs/sha256/${hex(digest)}`;
    if (data) return entry({ name, type: 'file', size: data.length }, data);
    const info = await deps.content.info(digest).catch(() => {
      throw notFound(`failed to get layer ${digest}: blob not found in the content store`);
    });
    return entry({ name, type: 'file', size: info.size }, deps.content.read(digest));
  };
  try {
    await entry({ name: 'blobs/', type: 'directory' });
    await entry({ name: 'blobs/sha256/', type: 'directory' });
    const index: OciDescriptor[] = [];
    const manifests: ManifestEntry[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const { image, refs } of items) {
      const diffIds = image.config.rootfs.diff_ids;
      const layerDescs: OciDescriptor[] = [];
      for (const d of diffIds) {
        await blob(d);
        layerDescs.push({ mediaType: MT.ociLayer, digest: d, size: (await deps.content.info(d)).size });
      }
      const configBytes = await deps.content.readBytes(image.id);
      await blob(image.id, configBytes);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MT.ociManifest,
          config: { mediaType: MT.ociConfig, digest: image.id, size: configBytes.length },
          layers: layerDescs,
        }),
      );
      const manifestDigest = sha256(manifest);
      await blob(manifestDigest, manifest);
      const tags = refs.filter((r) => r.tag !== undefined);
      if (tags.length === 0) index.push({ mediaType: MT.ociManifest, digest: manifestDigest, size: manifest.length });
      for (const r of tags) {
        index.push({
          mediaType: MT.ociManifest,
          digest: manifestDigest,
          size: manifest.length,
          annotations: { 'io.containerd.image.name': fullName(r), 'org.opencontainers.image.ref.name': r.tag as string },
        });
        const fam = familiarName({ domain: r.domain, path: r.path });
        (repositories[fam] ??= {})[r.tag as string] = hex(diffIds.at(-1) ?? image.id);
      }
      manifests.push({
        Config: `blobs/sha256/${hex(image.id)}`,
        RepoTags: tags.length > 0 ? tags.map((r) => familiarName(r)) : null,
        Layers: diffIds.map((d) => `blobs/sha256/${hex(d)}`),
      });
    }
    const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
    const put = (name: string, data: Buffer): Promise<void> => entry({ name, type: 'file', size: data.length }, data);
    await put('index.json', json({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: index }));
    await put('manifest.json', json(manifests));
    await put('oci-layout', json({ imageLayoutVersion: '1.0.0' }));
    if (Object.keys(repositories).length > 0) await put('repositories', json(repositories));
    pack.finalize();
    await done;
  } catch (err) {
    pack.destroy(err as Error);
    throw err;
  } finally {
    lease.release();
  }
}

// ---------- load ----------

/** A message of the load's JSON stream (dockerd's jsonmessage). */
export type LoadMessage = { stream: string } | { status: string; id?: string; progressDetail?: Record<string, number> };

interface LoadPlan {
  configPath: string;
  layerPaths: string[];
  repoTags: string[];
}

/** Loads every image of a docker-archive (or OCI layout) tar from `src`. */
export async function loadImages(
  deps: ArchiveDeps,
  src: Readable,
  opts: { tempDir: string; onMessage: (m: LoadMessage) => void; onLoaded?: (image: Image, tags: string[]) => void },
): Promise<void> {
  const dir = opts.tempDir;
  await mkdirAll(dir, 0o700);
  const lease = deps.leases.create();
  const added = { layers: [] as string[], blobs: [] as string[] };
  try {
    try {
      // dockerd loads archives compressed whole (gzip, bzip2, xz, zstd), told apart by their magic
      await extractTar(await decompress(src), dir, { whiteouts: 'none', sameOwner: false, chown: { uid: 0, gid: 0 } });
    } catch (err) {
      throw err instanceof BerthError ? err : invalid(`failed to read the image archive: ${(err as Error).message}`);
    }
    const plans = await planLoad(dir);
    for (const plan of plans) {
      const configBytes = await readInside(dir, plan.configPath);
      let config: ImageConfig;
      try {
        config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
      } catch {
        throw invalid(`invalid image config ${plan.configPath}: not JSON`);
      }
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== plan.layerPaths.length) {
        throw invalid(`invalid manifest, layers length mismatch: expected ${diffIds.length}, got ${plan.layerPaths.length}`);
      }
      // Validate the tags before writing anything.
      const tags = plan.repoTags.map((t) => {
        const ref = parseReference(t);
        if (ref.digest !== undefined) throw invalid(`invalid tag ${JSON.stringify(t)}: a digest reference cannot be loaded as a tag`);
        return ref;
      });
      // Layer directories do not depend on their parents on disk: two layers unpack at once.
      const chains: string[] = [];
      for (const d of diffIds) chains.push(chainIdOf(chains[chains.length - 1], d));
      const limit = limiter(2);
      const jobs = diffIds.map((want, i) =>
        limit(async () => {
          const parent = i === 0 ? undefined : chains[i - 1];
          const chain = chains[i] as string;
          lease.add([chain, want]);
          if ((await deps.layers.has(chain)) && (await deps.content.has(want))) return;
          const file = hostPathInRoot(dir, plan.layerPaths[i] as string);
          const st = await fs.stat(file).catch(() => undefined);
          if (!st?.isFile()) throw invalid(`failed to load layer ${plan.layerPaths[i]}: no such file in the archive`);
          opts.onMessage({ status: 'Loading layer', id: hex(want).slice(0, 12), progressDetail: { current: 0, total: st.size } });
          // An uncompressed layer file is its diff-ID blob once verified: linked into the store
          // rather than written a second time. A compressed one is copied out as its tar.
          const plain = compressionOf(await fileHead(file)) === undefined;
          const tar = await decompress(createReadStream(file));
          const blobFile = deps.content.tempPath();
          try {
            const existed = await deps.layers.has(chain);
            const info = await deps.layers.apply(parent, tar, { ...(plain ? {} : { blobFile }), lease, sizeHint: st.size });
            if (info.diffId !== want) {
              if (!existed && !deps.images.list().some((img) => img.chainIds.includes(info.chainId))) {
                await deps.layers.remove(info.chainId);
              }
              throw invalid(`invalid diffID for layer ${i}: expected "${want}", got "${info.diffId}"`);
            }
            if (!existed) added.layers.push(chain);
            if (!(await deps.content.has(want))) {
              if (plain) {
                await fs.link(file, blobFile);
                await fs.chown(blobFile, 0, 0);
                await fs.chmod(blobFile, 0o644);
              }
              await deps.content.commit(blobFile, want);
              added.blobs.push(want);
            }
          } finally {
            await fs.rm(blobFile, { force: true });
          }
          opts.onMessage({ status: 'Loading layer', id: hex(want).slice(0, 12), progressDetail: { current: st.size, total: st.size } });
        }),
      );
      const failed = (await Promise.allSettled(jobs)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const id = sha256(configBytes);
      lease.add(id);
      const existedImage = deps.images.byId(id) !== undefined;
      const image = await deps.images.add(configBytes);
      if (!existedImage) added.blobs.push(id);
      for (const ref of tags) {
        const old = deps.images.find(fullName(ref));
        const name = familiarName(ref);
        if (old && old.id !== image.id) {
          opts.onMessage({ stream: `The image ${name} already exists, renaming the old one with ID ${old.id} to empty string\n` });
        }
        await deps.images.tag(image.id, ref);
      }
      if (tags.length === 0) opts.onMessage({ stream: `Loaded image ID: ${image.id}\n` });
      for (const ref of tags) opts.onMessage({ stream: `Loaded image: ${familiarName(ref)}\n` });
      opts.onLoaded?.(
        image,
        tags.map((t) => familiarName(t)),
      );
      // Registered: this image's parts are now referenced by the store.
      added.layers.length = 0;
      added.blobs.length = 0;
    }
  } catch (err) {
    // Remove what this load added and no image uses.
    const used = deps.images.list();
    const usedChains = new Set(used.flatMap((i) => i.chainIds));
    const usedBlobs = new Set(used.flatMap((i) => [i.id, ...i.config.rootfs.diff_ids]));
    for (const c of added.layers.reverse()) if (!usedChains.has(c)) await deps.layers.remove(c).catch(() => undefined);
    for (const b of added.blobs) if (!usedBlobs.has(b)) await deps.content.delete(b).catch(() => undefined);
    throw err;
  } finally {
    lease.release();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function readInside(root: string, rel: string): Promise<Buffer> {
  try {
    return readFileInRoot(root, rel);
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw invalid(`open ${rel}: no such file or directory`);
  }
}

/** What to load, from manifest.json (docker-archive) or else index.json (OCI layout). */
async function planLoad(dir: string): Promise<LoadPlan[]> {
  const manifestFile = hostPathInRoot(dir, 'manifest.json');
  let raw: string | undefined;
  try {
    raw = await fs.readFile(manifestFile, 'utf8');
  } catch {
    raw = undefined;
  }
  if (raw !== undefined) {
    let entries: ManifestEntry[];
    try {
      entries = JSON.parse(raw) as ManifestEntry[];
    } catch {
      throw invalid('invalid manifest.json: not JSON');
    }
    if (!Array.isArray(entries)) throw invalid('invalid manifest.json: not a list');
    return entries.map((e) => {
      if (typeof e?.Config !== 'string' || !Array.isArray(e.Layers)) throw invalid('invalid manifest.json: entry without Config or Layers');
      return { configPath: e.Config, layerPaths: e.Layers.map(String), repoTags: (e.RepoTags ?? []).map(String) };
    });
  }
  let index: { manifests?: OciDescriptor[] };
  try {
    index = JSON.parse(readFileInRoot(dir, 'index.json').toString('utf8')) as { manifests?: OciDescriptor[] };
  } catch {
    throw invalid('open manifest.json: no such file or directory');
  }
  const plans: LoadPlan[] = [];
  for (const desc of index.manifests ?? []) {
    const blobPath = (d: string): string => {
      if (!/^sha256:[0-9a-f]{64}$/.test(d)) throw invalid(`invalid digest ${JSON.stringify(d)} in index.json`);
      return `blobs/sha256/${hex(d)}`;
    };
    const bytes = await readInside(dir, blobPath(desc.digest));
    if (sha256(bytes) !== desc.digest) throw invalid(`manifest ${desc.digest}: digest mismatch`);
    const m = JSON.parse(bytes.toString('utf8')) as { config?: OciDescriptor; layers?: OciDescriptor[]; manifests?: unknown };
    if (!m.config || !Array.isArray(m.layers)) throw invalid(`unsupported manifest ${desc.digest} in index.json (nested indexes are not loaded)`);
    const name = desc.annotations?.['io.containerd.image.name'];
    const refName = desc.annotations?.['org.opencontainers.image.ref.name'];
    const tags = name ? [name] : refName && !/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/.test(refName) ? [refName] : [];
    plans.push({ configPath: blobPath(m.config.digest), layerPaths: m.layers.map((l) => blobPath(l.digest)), repoTags: tags });
  }
  return plans;
}

/** The first bytes of a file (enough to tell its compression). */
async function fileHead(file: string): Promise<Buffer> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(6);
    const { bytesRead } = await fh.read(buf, 0, 6, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

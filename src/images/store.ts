/**
 * The image store: images are config blobs in the content store (ID = config digest), their
 * layers in the layer store, and tags in one crash-safe `repositories.json`.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ContentStore } from '../content/store.js';
import { readJSON, writeJSONAtomic, removeStrayTemps } from '../lib/atomic.js';
import { conflict, invalid, notFound } from '../lib/errors.js';
import { PrefixIndex } from '../lib/ids.js';
import { chainIds, type LayerStore } from '../snapshots/layers.js';
import { familiarName, fullName, looksLikeId, parseReference, type Reference } from './reference.js';
import type { Image, ImageConfig, ImageMeta } from './types.js';

interface RepositoriesFile {
  /** Full reference (`docker.io/library/busybox:latest`) → image ID. */
  refs: Record<string, string>;
}

export class ImageStore {
  private readonly images = new Map<string, Image>();
  private readonly index = new PrefixIndex();
  private refs = new Map<string, string>();
  private tagQueue: Promise<void> = Promise.resolve();
  private readonly metaDir: string;
  private readonly reposFile: string;

  constructor(
    root: string,
    private readonly content: ContentStore,
    private readonly layers: LayerStore,
  ) {
    this.metaDir = path.join(root, 'meta');
    this.reposFile = path.join(root, 'repositories.json');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.metaDir, { recursive: true });
    await removeStrayTemps(this.metaDir);
    await removeStrayTemps(path.dirname(this.reposFile));
    for (const name of await fs.readdir(this.metaDir)) {
      const m = /^([0-9a-f]{64})\.json$/.exec(name);
      if (!m) continue;
      const id = `sha256:${m[1]}`;
      try {
        await this.load(id, (await readJSON<ImageMeta>(path.join(this.metaDir, name))) ?? {});
      } catch (err) {
        process.emitWarning(`image ${id} skipped: ${(err as Error).message}`);
      }
    }
    const repos = await readJSON<RepositoriesFile>(this.reposFile);
    for (const [ref, id] of Object.entries(repos?.refs ?? {})) {
      if (this.images.has(id)) this.refs.set(ref, id);
    }
  }

  private async load(id: string, meta: ImageMeta): Promise<Image> {
    const config = JSON.parse((await this.content.readBytes(id)).toString('utf8')) as ImageConfig;
    const chains = chainIds(config.rootfs.diff_ids);
    let size = 0;
    for (const c of chains) {
      const info = await this.layers.get(c);
      if (!info) throw notFound(`layer ${c} of image ${id} is missing`);
      size += info.size;
    }
    const image: Image = { id, config, chainIds: chains, size, meta };
    this.images.set(id, image);
    this.index.add(id.slice(7));
    return image;
  }

  /** Registers an image whose config bytes and layers are already stored. */
  async add(configBytes: Buffer, meta: ImageMeta = {}): Promise<Image> {
    const desc = await this.content.writeBytes(configBytes);
    const existing = this.images.get(desc.digest);
    if (existing) return existing;
    await writeJSONAtomic(path.join(this.metaDir, `${desc.digest.slice(7)}.json`), meta, 0o644);
    return this.load(desc.digest, meta);
  }

  list(): Image[] {
    return [...this.images.values()];
  }

  byId(id: string): Image | undefined {
    return this.images.get(id);
  }

  /** Resolves a name, a full ID or a unique ID prefix. Throws NotFound with Docker's message. */
  resolve(nameOrId: string): Image {
    const image = this.find(nameOrId);
    if (!image) throw notFound(`No such image: ${nameOrId}`);
    return image;
  }

  find(nameOrId: string): Image | undefined {
    const s = nameOrId.startsWith('sha256:') ? nameOrId : nameOrId;
    if (s.startsWith('sha256:')) {
      const hex = s.slice(7);
      if (!/^[0-9a-f]+$/.test(hex)) return undefined;
      const full = this.index.get(hex, 'image');
      return full ? this.images.get(`sha256:${full}`) : undefined;
    }
    let ref: Reference | undefined;
    try {
      ref = parseReference(s);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const id = this.refs.get(fullName(ref));
      if (id) return this.images.get(id);
    }
    if (looksLikeId(s) && s.length >= 1) {
      const full = this.index.get(s, 'image');
      if (full) return this.images.get(`sha256:${full}`);
    }
    if (!ref) throw invalid(`invalid reference format`);
    return undefined;
  }

  /** Familiar names of the tags pointing at an image (`busybox:latest`). */
  tagsOf(id: string): string[] {
    const out: string[] = [];
    for (const [ref, target] of this.refs) {
      if (target === id && !ref.includes('@')) out.push(familiarName(parseReference(ref)));
    }
    return out.sort();
  }

  digestsOf(id: string): string[] {
    const out: string[] = [];
    for (const [ref, target] of this.refs) {
      if (target === id && ref.includes('@')) out.push(familiarName(parseReference(ref)));
    }
    return out.sort();
  }

  /** Tags of one repository (`localhost:5000/app`), for `docker push` without a tag. */
  tagsOfRepo(repo: string): Array<{ tag: string; id: string }> {
    const out: Array<{ tag: string; id: string }> = [];
    for (const [ref, id] of this.refs) {
      if (ref.includes('@') || !ref.startsWith(`${repo}:`)) continue;
      const tag = ref.slice(repo.length + 1);
      if (!tag.includes('/')) out.push({ tag, id });
    }
    return out.sort((a, b) => a.tag.localeCompare(b.tag));
  }

  /**
   * Points `ref` at image `id`; returns the ID the tag pointed at before, if any. The new tag set
   * is written first and only then applied in memory, so a failed write (a full disk) changes
   * nothing.
   */
  tag(id: string, ref: Reference): Promise<string | undefined> {
    return this.serial(() => this.tagNow(id, ref));
  }

  private async tagNow(id: string, ref: Reference): Promise<string | undefined> {
    const image = this.images.get(id);
    if (!image) throw notFound(`No such image: ${id}`);
    const key = fullName(ref);
    const previous = this.refs.get(key);
    const next = new Map(this.refs);
    next.set(key, id);
    const oldMeta = image.meta;
    const meta = { ...oldMeta, lastTagTime: new Date().toISOString() };
    const metaFile = path.join(this.metaDir, `${id.slice(7)}.json`);
    await writeJSONAtomic(metaFile, meta, 0o644);
    try {
      await this.saveRefs(next);
    } catch (err) {
      await writeJSONAtomic(metaFile, oldMeta, 0o644).catch(() => undefined);
      throw err;
    }
    image.meta = meta;
    this.refs = next;
    return previous !== id ? previous : undefined;
  }

  /** Removes a tag; returns the image ID it pointed at. */
  async untag(ref: Reference): Promise<string> {
    return (await this.untagAll([ref]))[0] as string;
  }

  /**
   * Removes several tags in one write of `repositories.json` (all or none); returns the image
   * IDs they pointed at, in order.
   */
  untagAll(refs: Reference[]): Promise<string[]> {
    return this.serial(() => this.untagAllNow(refs));
  }

  private async untagAllNow(refs: Reference[]): Promise<string[]> {
    const next = new Map(this.refs);
    const ids: string[] = [];
    for (const ref of refs) {
      const key = fullName(ref);
      const id = next.get(key);
      if (!id) throw notFound(`No such image: ${familiarName(ref)}`);
      next.delete(key);
      ids.push(id);
    }
    await this.saveRefs(next);
    this.refs = next;
    return ids;
  }

  refCount(id: string): number {
    let n = 0;
    for (const target of this.refs.values()) if (target === id) n++;
    return n;
  }

  /** Deletes an image and every layer no other image uses. Returns the layers removed. */
  async delete(id: string): Promise<string[]> {
    const image = this.images.get(id);
    if (!image) throw notFound(`No such image: ${id}`);
    if (this.refCount(id) > 0) throw conflict(`image ${id} is still tagged`);
    // The meta file is the image's commit point: removed first, then the image leaves memory.
    await fs.rm(path.join(this.metaDir, `${id.slice(7)}.json`), { force: true });
    this.images.delete(id);
    this.index.delete(id.slice(7));
    const stillUsed = new Set<string>();
    for (const other of this.images.values()) for (const c of other.chainIds) stillUsed.add(c);
    const removed: string[] = [];
    for (const c of [...image.chainIds].reverse()) {
      if (stillUsed.has(c)) continue;
      await this.layers.remove(c);
      removed.push(c);
    }
    await this.content.delete(id);
    for (const diffId of image.config.rootfs.diff_ids) {
      if (![...this.images.values()].some((o) => o.config.rootfs.diff_ids.includes(diffId))) await this.content.delete(diffId);
    }
    return removed;
  }

  /** Whether any other image's layer chain starts with all of this image's layers. */
  hasChildren(id: string): boolean {
    const image = this.images.get(id);
    if (!image) return false;
    for (const other of this.images.values()) {
      if (other.id === id) continue;
      if (other.meta.parent === id) return true;
    }
    return false;
  }

  /**
   * Tag changes one at a time: each is computed on a copy of the current tags, written, then
   * applied, so two at once must not both start from the same copy.
   */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tagQueue.then(fn, fn);
    this.tagQueue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async saveRefs(from: Map<string, string>): Promise<void> {
    const refs: Record<string, string> = {};
    for (const [k, v] of [...from.entries()].sort()) refs[k] = v;
    await writeJSONAtomic(this.reposFile, { refs } satisfies RepositoriesFile, 0o644);
  }
}

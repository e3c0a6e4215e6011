/** Image operations with Docker's rules: remove (untag vs delete, conflicts), list, tag, import. */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { Leases } from '../content/leases.js';
import { matchLabels } from '../lib/filters.js';
import { parseTimestampMs } from '../lib/timestamp.js';
import { loadImages, resolveSaveNames, saveImages, type ArchiveDeps, type LoadMessage } from './archive.js';
import { GarbageCollector } from './gc.js';
import type { EventBus } from '../events/bus.js';
import { conflict, invalid, system } from '../lib/errors.js';
import { shortId } from '../lib/ids.js';
import type { ContentStore } from '../content/store.js';
import type { LayerStore } from '../snapshots/layers.js';
import { familiarName, fullName, parseReference, type Reference } from './reference.js';
import { importImage, type ImportOptions } from './import.js';
import type { ImageStore } from './store.js';
import type { Image } from './types.js';
import type { HistoryItem, ImageInspect, ImageSummary } from '../engine-api/types.js';
import { filterImages, imageListEntry, inspectImage, type InspectImageLegacy } from './view.js';

export type { HistoryItem };

export interface ImageUser {
  id: string;
  running: boolean;
}

export interface ImageServiceOptions {
  images: ImageStore;
  content: ContentStore;
  layers: LayerStore;
  events: EventBus;
  /** Containers using an image, from the container service. */
  usersOf: (imageId: string) => ImageUser[];
  /** The directories of an image's layers, top first (the Snapshotter's lowers), for inspect's GraphDriver. */
  layerDirs: (chainIds: readonly string[]) => string[];
  /** The daemon's leases (shared with pulls); a private set when not given. */
  leases?: Leases;
  /** Where loads unpack archives (inside the data root); default: the content store's ingest area. */
  tempDir?: string;
}

export interface PruneResult {
  ImagesDeleted: DeleteResponse | null;
  SpaceReclaimed: number;
}

const PRUNE_FILTERS = new Set(['dangling', 'label', 'label!', 'until']);

export type DeleteResponse = Array<{ Untagged: string } | { Deleted: string }>;

/** `docker images`' query: the list filters (dangling, label, reference, before, since) and `-a`. */
export interface ImageListQuery {
  filters: Map<string, string[]>;
  /** Intermediate images (untagged, with children) too. */
  all: boolean;
  /** VirtualSize in the entries (API < 1.44). */
  virtualSize?: boolean;
}

export class ImageService {
  readonly leases: Leases;
  readonly gc: GarbageCollector;

  constructor(private readonly o: ImageServiceOptions) {
    this.leases = o.leases ?? new Leases();
    this.gc = new GarbageCollector({
      content: o.content,
      layers: o.layers,
      images: o.images,
      leases: this.leases,
      imagesInUse: () =>
        o.images
          .list()
          .filter((i) => o.usersOf(i.id).length > 0)
          .map((i) => i.id),
    });
  }

  private archiveDeps(): ArchiveDeps {
    return { content: this.o.content, layers: this.o.layers, images: this.o.images, leases: this.leases };
  }

  /**
   * `docker images`: the images the filters select, newest first, as list entries with their
   * container counts; with a reference filter, each entry lists only the matching tags.
   */
  list(q: ImageListQuery): ImageSummary[] {
    const store = this.o.images;
    const refs = q.filters.get('reference') ?? [];
    return filterImages(store, store.list(), q.filters, q.all).map((img) =>
      imageListEntry(store, img, this.o.usersOf(img.id).length, refs, { virtualSize: q.virtualSize === true }),
    );
  }

  /** `docker image inspect` by name, ID or ID prefix; throws NotFound. */
  inspect(nameOrId: string, legacy: InspectImageLegacy = {}): ImageInspect {
    const img = this.o.images.resolve(nameOrId);
    return inspectImage(this.o.images, img, this.o.layerDirs(img.chainIds), legacy);
  }

  /**
   * `docker import`: checks the target reference first (an error before any byte is read), then
   * returns the import to run on the source.
   */
  prepareImport(opts: ImportOptions & { repo?: string; tag?: string }): (src: Readable) => Promise<Image> {
    if (opts.repo) this.o.images.find(opts.tag ? `${opts.repo}:${opts.tag}` : opts.repo);
    return (src) => this.import(src, opts);
  }

  /** `docker save`: resolves every name first (404 before any byte), then returns the writer. */
  prepareSave(names: string[]): (out: Writable) => Promise<void> {
    if (names.length === 0) throw invalid('no image names given');
    const items = resolveSaveNames(this.o.images, names);
    return async (out) => {
      await saveImages(this.archiveDeps(), items, out);
      for (const it of items) this.o.events.publish('image', 'save', it.image.id, { ...(it.image.config.config?.Labels ?? {}), name: it.image.id });
    };
  }

  /** `docker load`: every image of the archive, verified; messages in dockerd's JSON stream form. */
  async load(src: Readable, opts: { onMessage: (m: LoadMessage) => void }): Promise<void> {
    const tempDir = path.join(this.o.tempDir ?? path.dirname(this.o.content.tempPath()), `load-${randomBytes(8).toString('hex')}`);
    await loadImages(this.archiveDeps(), src, {
      tempDir,
      onMessage: opts.onMessage,
      // dockerd names the image by its ID in load events, whatever tags it carries
      onLoaded: (image) => this.o.events.publish('image', 'load', image.id, { ...(image.config.config?.Labels ?? {}), name: image.id }),
    });
  }

  /** `docker history`: newest first, with each non-empty layer's own size, as dockerd reports it. */
  async history(nameOrId: string): Promise<HistoryItem[]> {
    const image = this.o.images.resolve(nameOrId);
    const out: HistoryItem[] = [];
    let layer = 0;
    for (const h of image.config.history ?? []) {
      let size = 0;
      if (!h.empty_layer) {
        const chain = image.chainIds[layer];
        if (chain === undefined) throw system('too many non-empty layers in History section');
        size = (await this.o.layers.get(chain))?.size ?? 0;
        layer++;
      }
      out.unshift({
        Id: '<missing>',
        Created: Math.floor(Date.parse(h.created ?? '') / 1000) || 0,
        CreatedBy: h.created_by ?? '',
        Tags: null,
        Size: size,
        Comment: h.comment ?? '',
      });
    }
    // Image IDs (and tags) down the parent chain, as far as it is known locally.
    let cur: Image | undefined = image;
    for (const item of out) {
      if (!cur) break;
      item.Id = cur.id;
      const tags = this.o.images.tagsOf(cur.id);
      item.Tags = tags.length > 0 ? tags : null;
      cur = cur.meta.parent ? this.o.images.byId(cur.meta.parent) : undefined;
    }
    return out;
  }

  /**
   * `docker image prune`: dangling images (or, with dangling=false, every image no container
   * uses), filtered by until/label; then a garbage collection of unreferenced blobs and layers.
   */
  async prune(filters: Map<string, string[]>): Promise<PruneResult> {
    for (const k of filters.keys()) if (!PRUNE_FILTERS.has(k)) throw invalid(`invalid filter '${k}'`);
    let danglingOnly = true;
    const dangling = filters.get('dangling');
    if (dangling) {
      if (dangling.length === 1 && ['false', '0'].includes(dangling[0] as string)) danglingOnly = false;
      else if (!(dangling.length === 1 && ['true', '1'].includes(dangling[0] as string))) throw invalid(`invalid filter 'dangling=${dangling.join(',')}'`);
    }
    const untilValues = filters.get('until') ?? [];
    if (untilValues.length > 1) throw invalid('more than one until filter specified');
    const until = untilValues[0] !== undefined ? parseTimestampMs(untilValues[0]) : undefined;
    const labels = filters.get('label') ?? [];
    const notLabels = filters.get('label!') ?? [];
    const store = this.o.images;
    const candidates = store.list().filter((img) => {
      const refs = store.refCount(img.id);
      const hasChildren = store.hasChildren(img.id);
      if (danglingOnly && hasChildren) return false; // dockerd looks at heads only
      // An image a container uses is not "unused": none of its tags are touched.
      if (this.o.usersOf(img.id).length > 0) return false;
      if (refs === 0 && hasChildren) return false;
      if (until !== undefined && Date.parse(img.config.created ?? '') > until) return false;
      const l = img.config.config?.Labels ?? {};
      if (labels.length > 0 && !matchLabels(l, labels)) return false;
      if (notLabels.length > 0 && notLabels.some((nl) => matchLabels(l, [nl]))) return false;
      if (danglingOnly && store.tagsOf(img.id).length > 0) return false;
      return true;
    });
    const deleted: DeleteResponse = [];
    let reclaimed = 0;
    for (const img of candidates) {
      if (!store.byId(img.id)) continue;
      const refs = [...store.tagsOf(img.id), ...store.digestsOf(img.id)];
      const sizes = await this.layerSizes(img);
      try {
        const items: DeleteResponse = [];
        if (refs.length > 0) {
          for (const r of refs) {
            if (!store.byId(img.id)) break;
            items.push(...(await this.remove(r, { force: false, prune: true })));
          }
        } else {
          items.push(...(await this.remove(img.id, { force: false, prune: true })));
        }
        deleted.push(...items);
        for (const it of items) if ('Deleted' in it) reclaimed += sizes.get(it.Deleted) ?? 0;
      } catch {
        /* in use by a container or a parent of another image: skipped, as dockerd does */
      }
    }
    const swept = await this.gc.collect();
    for (const c of swept.layers) deleted.push({ Deleted: c });
    this.o.events.publish('image', 'prune', '', { reclaimed: String(reclaimed) });
    return { ImagesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
  }

  /**
   * Removes an untagged build-cache image (a build step's) and the layers only it used; returns
   * the chain IDs removed, top first. It publishes no event: dockerd's build-cache pruning
   * (`builder prune`, the keep-storage collection after a build) is silent on /events.
   */
  async removeBuildCache(id: string): Promise<string[]> {
    return this.o.images.delete(id);
  }

  private async layerSizes(img: Image): Promise<Map<string, number>> {
    const m = new Map<string, number>();
    for (const c of img.chainIds) m.set(c, (await this.o.layers.get(c))?.size ?? 0);
    return m;
  }

  /** Images for `system df`: sizes, sizes shared with other images, container counts; and the layers' total. */
  async diskUsage(): Promise<{ layersSize: number; images: Array<{ image: Image; sharedSize: number; containers: number }> }> {
    const all = this.o.images.list();
    const refCount = new Map<string, number>();
    for (const img of all) for (const c of img.chainIds) refCount.set(c, (refCount.get(c) ?? 0) + 1);
    const sizes = new Map<string, number>();
    let layersSize = 0;
    for (const c of await this.o.layers.list()) {
      const size = (await this.o.layers.get(c))?.size ?? 0;
      sizes.set(c, size);
      layersSize += size;
    }
    return {
      layersSize,
      images: all.map((image) => ({
        image,
        sharedSize: image.chainIds.reduce((n, c) => n + ((refCount.get(c) ?? 0) > 1 ? (sizes.get(c) ?? 0) : 0), 0),
        containers: this.o.usersOf(image.id).length,
      })),
    };
  }

  get store(): ImageStore {
    return this.o.images;
  }

  async import(src: Readable, opts: ImportOptions & { repo?: string; tag?: string }): Promise<Image> {
    let ref: Reference | undefined;
    if (opts.repo) {
      ref = parseReference(opts.tag ? `${opts.repo}:${opts.tag}` : opts.repo);
      if (ref.digest) throw invalid('cannot import digest reference');
    }
    const image = await importImage({ content: this.o.content, layers: this.o.layers, images: this.o.images, leases: this.leases }, src, opts);
    this.o.events.publish('image', 'import', image.id, {});
    if (ref) await this.tag(image.id, ref);
    return image;
  }

  async tag(source: string, target: Reference | string): Promise<void> {
    const image = this.o.images.resolve(source);
    const ref = typeof target === 'string' ? parseReference(target) : target;
    if (ref.digest) throw invalid('refusing to create a tag with a digest reference');
    await this.o.images.tag(image.id, ref);
    this.o.events.publish('image', 'tag', image.id, { name: familiarName(ref) });
  }

  /** `docker rmi`: untags a reference, deletes the image when its last reference goes. */
  async remove(nameOrId: string, opts: { force: boolean; prune: boolean }): Promise<DeleteResponse> {
    const image = this.o.images.resolve(nameOrId);
    const out: DeleteResponse = [];
    const users = this.o.usersOf(image.id);
    const running = users.find((u) => u.running);
    let byRef: Reference | undefined;
    try {
      const r = parseReference(nameOrId);
      const tags = this.o.images.tagsOf(image.id);
      if (!/^(sha256:)?[0-9a-f]{1,64}$/.test(nameOrId) || tags.includes(familiarName(r))) byRef = r;
    } catch {
      byRef = undefined;
    }
    if (byRef) {
      // As dockerd: removing the last tag of a repository also removes that repository's
      // digest references (pulled/pushed RepoDigests), so the image does not linger dangling.
      const ref = byRef;
      const sameRepo = (name: string): boolean => {
        const p = parseReference(name);
        return p.domain === ref.domain && p.path === ref.path;
      };
      const otherTagInRepo = this.o.images.tagsOf(image.id).some((t) => t !== familiarName(ref) && sameRepo(t));
      const sameRepoDigests = ref.digest === undefined && !otherTagInRepo ? this.o.images.digestsOf(image.id).filter(sameRepo) : [];
      const refCount = this.o.images.refCount(image.id) - sameRepoDigests.length;
      // One write of the tag file for the tag and its digests: all go, or none (a full disk).
      const untagRef = (): Promise<void> => this.untag([ref, ...sameRepoDigests.map((d) => parseReference(d))], out);
      if (refCount > 1 || (users.length > 0 && !opts.force)) {
        if (refCount === 1 && users.length > 0) {
          const u = users[0] as ImageUser;
          throw conflict(
            `conflict: unable to remove repository reference "${nameOrId}" (must force) - container ${shortId(u.id)} is using its referenced image ${shortId(image.id)}`,
          );
        }
        await untagRef();
        return out;
      }
      await untagRef();
      // Stopped containers are a soft conflict that -f overrides; a running one keeps the image.
      if (running) return out;
      await this.deleteImage(image, out);
      if (opts.prune) await this.pruneParents(image, out);
      return out;
    }
    // By ID.
    const tags = this.o.images.tagsOf(image.id);
    if (running) {
      throw conflict(`conflict: unable to delete ${shortId(image.id)} (cannot be forced) - image is being used by running container ${shortId(running.id)}`);
    }
    if (users.length > 0 && !opts.force) {
      throw conflict(
        `conflict: unable to delete ${shortId(image.id)} (must be forced) - image is being used by stopped container ${shortId((users[0] as ImageUser).id)}`,
      );
    }
    if (tags.length > 1 && !opts.force) {
      throw conflict(`conflict: unable to delete ${shortId(image.id)} (must be forced) - image is referenced in multiple repositories`);
    }
    if (this.o.images.hasChildren(image.id)) {
      throw conflict(`conflict: unable to delete ${shortId(image.id)} (cannot be forced) - image has dependent child images`);
    }
    await this.untag(
      [...tags, ...this.o.images.digestsOf(image.id)].map((t) => parseReference(t)),
      out,
    );
    await this.deleteImage(image, out);
    if (opts.prune) await this.pruneParents(image, out);
    return out;
  }

  /** As dockerd without `noprune`: untagged parents (build steps) left without children go too. */
  private async pruneParents(image: Image, out: DeleteResponse): Promise<void> {
    let parentId = image.meta.parent;
    while (parentId) {
      const parent = this.o.images.byId(parentId);
      if (!parent || this.o.images.refCount(parent.id) > 0 || this.o.images.hasChildren(parent.id) || this.o.usersOf(parent.id).length > 0) return;
      await this.deleteImage(parent, out);
      parentId = parent.meta.parent;
    }
  }

  /**
   * CRI's RemoveImage: the image loses every name at once; its record and layers go too unless a
   * container still uses them — then it stays, dangling, for those containers (containerd keeps an
   * image's content for the containers made from it; a kubelet may remove an image a created
   * container has not started from yet).
   */
  async removeNames(id: string): Promise<DeleteResponse> {
    const image = this.o.images.resolve(id);
    if (this.o.usersOf(image.id).length === 0) return this.remove(image.id, { force: true, prune: false });
    const out: DeleteResponse = [];
    const names = [...this.o.images.tagsOf(image.id), ...this.o.images.digestsOf(image.id)];
    await this.untag(
      names.map((n) => parseReference(n)),
      out,
    );
    return out;
  }

  private async untag(refs: Reference[], out: DeleteResponse): Promise<void> {
    if (refs.length === 0) return;
    const ids = await this.o.images.untagAll(refs);
    refs.forEach((ref, i) => {
      out.push({ Untagged: familiarName(ref) });
      this.o.events.publish('image', 'untag', ids[i] as string, { name: familiarName(ref) });
    });
  }

  private async deleteImage(image: Image, out: DeleteResponse): Promise<void> {
    if (this.o.images.hasChildren(image.id)) {
      throw conflict(`conflict: unable to delete ${shortId(image.id)} (cannot be forced) - image has dependent child images`);
    }
    const removed = await this.o.images.delete(image.id);
    out.push({ Deleted: image.id });
    // As dockerd: the layers that went with it, top first.
    for (const c of removed) out.push({ Deleted: c });
    this.o.events.publish('image', 'delete', image.id, {});
  }

  fullRef(ref: string): string {
    return fullName(parseReference(ref));
  }
}

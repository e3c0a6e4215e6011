/** Image operations with Docker's rules: remove (untag vs delete, conflicts), list, tag, import. */
import type { Readable } from 'node:stream';
import type { EventBus } from '../events/bus.js';
import { conflict, invalid } from '../lib/errors.js';
import { shortId } from '../lib/ids.js';
import type { ContentStore } from '../content/store.js';
import type { LayerStore } from '../snapshots/layers.js';
import { familiarName, fullName, parseReference, type Reference } from './reference.js';
import { importImage, type ImportOptions } from './import.js';
import type { ImageStore } from './store.js';
import type { Image } from './types.js';

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
}

export type DeleteResponse = Array<{ Untagged: string } | { Deleted: string }>;

export class ImageService {
  constructor(private readonly o: ImageServiceOptions) {}

  get store(): ImageStore {
    return this.o.images;
  }

  async import(src: Readable, opts: ImportOptions & { repo?: string; tag?: string }): Promise<Image> {
    let ref: Reference | undefined;
    if (opts.repo) {
      ref = parseReference(opts.tag ? `${opts.repo}:${opts.tag}` : opts.repo);
      if (ref.digest) throw invalid('cannot import digest reference');
    }
    const image = await importImage({ content: this.o.content, layers: this.o.layers, images: this.o.images }, src, opts);
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
      const untagRef = async (): Promise<void> => {
        await this.untag(ref, out);
        for (const d of sameRepoDigests) await this.untag(parseReference(d), out);
      };
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
      throw conflict(
        `conflict: unable to delete ${shortId(image.id)} (cannot be forced) - image is being used by running container ${shortId(running.id)}`,
      );
    }
    if (users.length > 0 && !opts.force) {
      throw conflict(
        `conflict: unable to delete ${shortId(image.id)} (must be forced) - image is being used by stopped container ${shortId((users[0] as ImageUser).id)}`,
      );
    }
    if (tags.length > 1 && !opts.force) {
      throw conflict(`conflict: unable to delete ${shortId(image.id)} (must be forced) - image is referenced in multiple repositories`);
    }
    for (const t of [...tags, ...this.o.images.digestsOf(image.id)]) await this.untag(parseReference(t), out);
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

  private async untag(ref: Reference, out: DeleteResponse): Promise<void> {
    const id = await this.o.images.untag(ref);
    out.push({ Untagged: familiarName(ref) });
    this.o.events.publish('image', 'untag', id, { name: familiarName(ref) });
  }

  private async deleteImage(image: Image, out: DeleteResponse): Promise<void> {
    if (this.o.images.hasChildren(image.id)) {
      throw conflict(`conflict: unable to delete ${shortId(image.id)} (cannot be forced) - image has dependent child images`);
    }
    await this.o.images.delete(image.id);
    out.push({ Deleted: image.id });
    this.o.events.publish('image', 'delete', image.id, {});
  }

  fullRef(ref: string): string {
    return fullName(parseReference(ref));
  }
}

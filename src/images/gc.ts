/**
 * Garbage collection of the image store's disk: content blobs and unpacked layers that no image
 * references, that no container's image needs and that no lease (an in-flight pull, load,
 * import or save) holds. One collection runs at a time; each candidate's lease is checked
 * right before it is removed, so work that starts during a collection is never touched.
 */
import type { ContentStore } from '../content/store.js';
import type { Leases } from '../content/leases.js';
import type { LayerStore } from '../snapshots/layers.js';
import type { ImageStore } from './store.js';

export interface GcDeps {
  content: ContentStore;
  layers: LayerStore;
  images: ImageStore;
  leases: Leases;
  /** IDs of images that containers use (their layers stay even if the image record went). */
  imagesInUse?: () => string[];
}

export interface GcResult {
  blobs: string[];
  layers: string[];
  /** Bytes freed on disk (layer contents and blob files). */
  bytes: number;
}

export class GarbageCollector {
  private running: Promise<GcResult> | undefined;

  constructor(private readonly d: GcDeps) {}

  /** Runs a collection (joins the one under way, if any). */
  collect(): Promise<GcResult> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<GcResult> {
    const { content, layers, images, leases } = this.d;
    const result: GcResult = { blobs: [], layers: [], bytes: 0 };
    const usedChains = (): Set<string> => new Set(images.list().flatMap((i) => i.chainIds));
    const usedBlobs = (): Set<string> => new Set(images.list().flatMap((i) => [i.id, ...i.config.rootfs.diff_ids]));
    const inUse = new Set(this.d.imagesInUse?.() ?? []);
    for (const chain of await layers.list()) {
      if (usedChains().has(chain) || leases.has(chain)) continue;
      if ([...inUse].some((id) => images.byId(id)?.chainIds.includes(chain))) continue;
      const info = await layers.get(chain);
      if (leases.has(chain) || usedChains().has(chain)) continue;
      await layers.remove(chain);
      result.layers.push(chain);
      result.bytes += info?.size ?? 0;
    }
    for (const digest of await content.list()) {
      if (usedBlobs().has(digest) || leases.has(digest)) continue;
      const size = await content.storedBytes(digest);
      if (leases.has(digest) || usedBlobs().has(digest)) continue;
      await content.delete(digest);
      result.blobs.push(digest);
      result.bytes += size;
    }
    return result;
  }
}

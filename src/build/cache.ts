/**
 * The build cache: untagged step images (they carry a `buildKey`). A step's lookup (same parent,
 * same key; `--cache-from` images matched by history), the `/system/df` usage, the
 * `builder.gc.defaultKeepStorage` cap after each build, and `builder prune`.
 */
import { promises as fs } from 'node:fs';
import type { Image, ImageConfig } from '../images/types.js';
import { clone, durationNs, type StageState, type StepRecord } from './stage.js';
import { stepImageConfig, type StepImageStore, type StepLookup } from './steps.js';

/** The image store as the build cache reads it. */
export interface CacheImageStore {
  list(): Image[];
  find(nameOrId: string): Image | undefined;
  byId(id: string): Image | undefined;
  tagsOf(id: string): string[];
  hasChildren(id: string): boolean;
}

export interface BuildCacheDeps {
  store: CacheImageStore;
  /** Removes a step image and what only it held; the chain IDs of the layers that went. */
  removeBuildCache(id: string): Promise<string[]>;
  /** The containers that use an image (a step image in use is not cache to remove). */
  usersOf(imageId: string): readonly unknown[];
  /** A layer's record (its unpacked size). */
  layer(chainId: string): Promise<{ size: number } | undefined>;
  /** A layer's directory (its time orders the cache, oldest first). */
  layerDir(chainId: string): string;
  /** Build cache cap in bytes (0: none). */
  keepStorage?: number;
  /** Persistent `RUN --mount=type=cache` directories (`prune --all` removes them). */
  cacheMountDir: string;
}

/** One build's view of the cache: its `--no-cache` and `--cache-from`. */
export class StepCache implements StepLookup {
  constructor(
    private readonly store: CacheImageStore & StepImageStore,
    private readonly o: { noCache: boolean; cacheFrom: string[]; cacheFromAdds?: boolean },
  ) {}

  async lookup(st: StageState, key: string, step: StepRecord): Promise<Image | undefined> {
    let hit = this.findCached(st, key);
    // As dockerd's image cache with --cache-from: a local hit counts only when it is in the
    // history of a cache source (so an unknown source means no cache at all). BuildKit's
    // cache imports (cacheFromAdds) keep the local cache and add the sources to it.
    if (hit && !this.o.cacheFromAdds && this.o.cacheFrom.length > 0 && !this.inCacheSources(hit.id)) hit = undefined;
    return hit ?? (await this.fromCacheSources(st, key, step));
  }

  private findCached(st: StageState, key: string): Image | undefined {
    if (this.o.noCache) return undefined;
    const parent = st.image?.id ?? '';
    return this.store.list().find((img) => (img.meta.parent ?? '') === parent && img.meta.buildKey === key);
  }

  /** Whether `id` is a `--cache-from` image or one of its parents. */
  private inCacheSources(id: string): boolean {
    const store = this.store;
    for (const name of this.o.cacheFrom) {
      const seen = new Set<string>();
      for (let img = store.find(name); img && !seen.has(img.id); img = img.meta.parent ? store.byId(img.meta.parent) : undefined) {
        if (img.id === id) return true;
        seen.add(img.id);
      }
    }
    return false;
  }

  /**
   * `--cache-from`: an image given there (pulled, say, so without our step records) serves a
   * step when its history so far equals ours and its next entry is this very step; the step's
   * image is then made from its layers and our config, as the classic builder does.
   */
  private async fromCacheSources(st: StageState, key: string, step: StepRecord): Promise<Image | undefined> {
    if (this.o.noCache || this.o.cacheFrom.length === 0) return undefined;
    const ours = st.config.history ?? [];
    const sameEntry = (a: { created_by?: string; empty_layer?: boolean }, b: { created_by?: string; empty_layer?: boolean }): boolean =>
      (a.created_by ?? '') === (b.created_by ?? '') && Boolean(a.empty_layer) === Boolean(b.empty_layer);
    for (const name of this.o.cacheFrom) {
      const src = this.store.find(name);
      const hist = src?.config.history ?? [];
      if (!src || hist.length <= ours.length) continue;
      if (!ours.every((h, i) => sameEntry(h, hist[i] as object))) continue;
      const next = hist[ours.length] as { created_by?: string; empty_layer?: boolean };
      if ((next.created_by ?? '') !== step.createdBy) continue;
      const ids = src.config.rootfs.diff_ids;
      const have = st.config.rootfs.diff_ids;
      if (!have.every((d, i) => ids[i] === d)) continue;
      const layer = next.empty_layer ? undefined : ids[have.length];
      if (!next.empty_layer && layer === undefined) continue;
      const cfg = clone(st.config);
      if (step.config) cfg.config = step.config;
      if (layer) cfg.rootfs.diff_ids = [...have, layer];
      cfg.history = [...ours, next];
      cfg.created = st.epoch.toISOString();
      const ordered: ImageConfig = stepImageConfig(cfg, step.createdBy, step.cmd);
      return this.store.add(Buffer.from(JSON.stringify(ordered)), { ...(st.image ? { parent: st.image.id } : {}), buildKey: key });
    }
    return undefined;
  }
}

/** The daemon's build cache: usage, the keep-storage cap, prune. */
export class BuildCache {
  constructor(private readonly d: BuildCacheDeps) {}

  /** An untagged step image no container uses and no image builds on. */
  private unusedLeaf(img: Image): boolean {
    const store = this.d.store;
    return img.meta.buildKey !== undefined && store.tagsOf(img.id).length === 0 && !store.hasChildren(img.id) && this.d.usersOf(img.id).length === 0;
  }

  /**
   * Keeps the build cache under `keepStorage`: removes unused leaf step images, least recently
   * made first (by their top layer's time), until the cache fits.
   */
  async enforceCap(): Promise<number> {
    const cap = this.d.keepStorage ?? 0;
    if (cap <= 0) return 0;
    let total = (await this.usage()).reduce((n, e) => n + Number(e.Size ?? 0), 0);
    let removed = 0;
    const store = this.d.store;
    while (total > cap) {
      const leaves = store.list().filter((img) => this.unusedLeaf(img));
      if (leaves.length === 0) break;
      const aged = await Promise.all(
        leaves.map(async (img) => {
          const top = img.chainIds[img.chainIds.length - 1];
          const st = top ? await fs.stat(this.d.layerDir(top)).catch(() => undefined) : undefined;
          return { img, t: st?.mtimeMs ?? 0 };
        }),
      );
      aged.sort((a, b) => a.t - b.t);
      const victim = (aged[0] as { img: Image }).img;
      const top = victim.chainIds[victim.chainIds.length - 1];
      const info = top ? await this.d.layer(top) : undefined;
      const gone = await this.d.removeBuildCache(victim.id);
      if (top && gone.includes(top)) total -= info?.size ?? 0;
      removed++;
    }
    return removed;
  }

  /** The build cache for `/system/df`: untagged step images, each with the size of its own layer. */
  async usage(): Promise<Array<Record<string, unknown>>> {
    const store = this.d.store;
    const out: Array<Record<string, unknown>> = [];
    for (const img of store.list()) {
      if (img.meta.buildKey === undefined || store.tagsOf(img.id).length > 0) continue;
      const parent = img.meta.parent ? store.byId(img.meta.parent) : undefined;
      const own = img.chainIds.length > (parent?.chainIds.length ?? 0) ? await this.d.layer(img.chainIds[img.chainIds.length - 1] as string) : undefined;
      const last = img.config.history?.[img.config.history.length - 1];
      out.push({
        ID: img.id.slice(7, 32),
        Parent: img.meta.parent?.slice(7, 32) ?? '',
        Type: 'regular',
        Description: last?.created_by ?? '',
        InUse: this.d.usersOf(img.id).length > 0,
        Shared: store.hasChildren(img.id),
        Size: own?.size ?? 0,
        CreatedAt: img.config.created ?? '',
        LastUsedAt: null,
        UsageCount: 0,
      });
    }
    return out;
  }

  /**
   * `builder prune`: removes the build cache — untagged step images no container uses, leaves
   * first — and, with `all`, the `RUN --mount=type=cache` directories.
   */
  async prune(o: { all: boolean; filters: Map<string, string[]> }): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
    const store = this.d.store;
    const until = o.filters.get('until')?.[0];
    const cutoff = until ? Date.now() - durationNs(until, 'filter until') / 1e6 : undefined;
    const deleted: string[] = [];
    let space = 0;
    for (;;) {
      const victims = store.list().filter((img) => this.unusedLeaf(img) && (cutoff === undefined || Date.parse(img.config.created ?? '') < cutoff));
      if (victims.length === 0) break;
      for (const img of victims) {
        const sizes = await Promise.all(img.chainIds.map((c) => this.d.layer(c)));
        const removed = await this.d.removeBuildCache(img.id);
        for (const c of removed) space += sizes[img.chainIds.indexOf(c)]?.size ?? 0;
        deleted.push(img.id);
      }
    }
    if (o.all) await fs.rm(this.d.cacheMountDir, { recursive: true, force: true });
    return { CachesDeleted: deleted, SpaceReclaimed: space };
  }
}

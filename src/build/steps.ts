/**
 * Step images: each instruction's result is a child image of the previous step, keyed for the
 * build cache. Like the classic builder a step image records the step's container config
 * (`container_config`: the config with the step's command), which docker-compose 1.29 reads to
 * carry image VOLUMEs over a recreate; no container ID goes in, so a rebuild still gives the
 * same image ID.
 */
import { createHash } from 'node:crypto';
import { shortId } from '../lib/ids.js';
import type { Image, ImageConfig, ImageMeta, RunConfig } from '../images/types.js';
import type { Snapshotter } from '../snapshots/snapshotter.js';
import type { BuildSink } from './request.js';
import { clone, type StageState, type StepRecord, type StepRecorder } from './stage.js';

/** The image store as step images are added to it. */
export interface StepImageStore {
  add(configBytes: Buffer, meta: ImageMeta): Promise<Image>;
}

/** The build cache's lookup for one step (cache.ts's StepCache). */
export interface StepLookup {
  lookup(st: StageState, key: string, step: StepRecord): Promise<Image | undefined>;
}

export interface StepsDeps {
  store: StepImageStore;
  cache: StepLookup;
  snapshots: Pick<Snapshotter, 'commit'>;
  out: Pick<BuildSink, 'stream'>;
}

/** A step image's `container_config`: the config with the step's command, as the classic builder records it. */
export function stepContainerConfig(config: RunConfig | undefined, createdBy: string, cmd?: string[]): RunConfig {
  return { ...(config ?? {}), Cmd: cmd ?? ['/bin/sh', '-c', createdBy.replace(/^\/bin\/sh -c /, '')] };
}

/** A step image's config in the classic builder's key order, with its `container_config`. */
export function stepImageConfig(cfg: ImageConfig, createdBy: string, stepCmd?: string[]): ImageConfig {
  return {
    architecture: cfg.architecture,
    os: cfg.os,
    ...(cfg.variant ? { variant: cfg.variant } : {}),
    created: cfg.created,
    ...(cfg.author ? { author: cfg.author } : {}),
    config: cfg.config ?? {},
    container_config: stepContainerConfig(cfg.config, createdBy, stepCmd),
    rootfs: cfg.rootfs,
    history: cfg.history,
  };
}

export class Steps implements StepRecorder {
  constructor(private readonly d: StepsDeps) {}

  key(st: StageState, parts: unknown[]): string {
    return `sha256:${createHash('sha256')
      .update(JSON.stringify([st.image?.id ?? '', st.config.config ?? {}, ...parts]))
      .digest('hex')}`;
  }

  async useCache(st: StageState, key: string, step: StepRecord): Promise<boolean> {
    const hit = await this.d.cache.lookup(st, key, step);
    if (!hit) return false;
    st.image = hit;
    st.config = clone(hit.config);
    this.d.out.stream(` ---> Using cache\n ---> ${shortId(hit.id)}\n`);
    return true;
  }

  async commit(st: StageState, createdBy: string, key: string, layer?: { diffId: string }, stepCmd?: string[]): Promise<void> {
    const cfg = st.config;
    cfg.created = st.epoch.toISOString();
    if (layer) cfg.rootfs.diff_ids = [...cfg.rootfs.diff_ids, layer.diffId];
    const hist: Record<string, unknown> = { created: cfg.created, created_by: createdBy };
    if (!layer) hist.empty_layer = true;
    cfg.history = [...(cfg.history ?? []), hist];
    const ordered = stepImageConfig(cfg, createdBy, stepCmd);
    const meta = { ...(st.image ? { parent: st.image.id } : {}), buildKey: key };
    st.image = await this.d.store.add(Buffer.from(JSON.stringify(ordered)), meta);
    st.config = clone(st.image.config);
    this.d.out.stream(` ---> ${shortId(st.image.id)}\n`);
  }

  async commitLayer(upper: string, st: StageState, alsoOmit: ReadonlySet<string> = new Set(), adopt = false): Promise<{ diffId: string }> {
    const parent = st.image?.chainIds[st.image.chainIds.length - 1];
    return this.d.snapshots.commit(parent, upper, { clampMtime: st.epoch, omit: alsoOmit, adopt });
  }
}

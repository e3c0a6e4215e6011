/**
 * The Dockerfile builder (classic builder semantics: one image per instruction, each RUN in a real
 * container). Stages the target needs are built, independent ones concurrently; each step looks
 * for a cached child image (same parent, same cache key) before running. Layers are reproducible:
 * config and history times are the build epoch (SOURCE_DATE_EPOCH, else the base image's
 * creation time) and file times in new layers are clamped to it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ContainerService } from '../containers/service.js';
import type { HostConfig } from '../containers/types.js';
import type { DistributionService } from '../distribution/service.js';
import type { AuthConfig } from '../distribution/types.js';
import { BerthError, invalid, messageOf, notFound } from '../lib/errors.js';
import { parseGoDuration } from '../lib/duration.js';
import { shortId } from '../lib/ids.js';
import { span } from '../lib/trace.js';
import { extractInRoot } from '../lib/rootextract.js';
import { RootDir, hostPathInRoot, readFileInRoot } from '../lib/rootfs.js';
import { parseReference } from '../images/reference.js';
import type { ImageService } from '../images/service.js';
import type { Image, ImageConfig, RunConfig } from '../images/types.js';
import { decompress } from '../lib/decompress.js';
import { resolveUser } from '../runtime/user.js';
import type { LayerStore } from '../snapshots/layers.js';
import type { ActiveSnapshot, Snapshotter } from '../snapshots/snapshotter.js';
import { parseDockerfile, parseError, parseInstructionText, type Instruction, type ParsedDockerfile, type Stage } from './dockerfile.js';
import { checksumSources, copySources, matchSources, mkdirInRoot, type Source } from './fscopy.js';
import { expandPairs, expandWord, expandWords } from './shell.js';

export interface BuildDeps {
  images: ImageService;
  containers: ContainerService;
  layers: LayerStore;
  snapshots: Snapshotter;
  distribution?: DistributionService;
  /** Scratch space for build steps (under the exec root). */
  workDir: string;
  /** Persistent `RUN --mount=type=cache` directories (under the data root). */
  cacheMountDir: string;
  /** Build cache cap in bytes (0: none): after each build the oldest unused step images go. */
  keepStorage?: number;
  /** Scratch on the data root's file system: COPY/ADD upper dirs, which become layers by rename. */
  diskWorkDir: string;
}

export interface BuildOptions {
  /** Dockerfile path inside the context. */
  dockerfile: string;
  /** The Dockerfile's text, when the context no longer holds it (`.dockerignore` listed it). */
  dockerfileText?: string;
  tags: string[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  /** Remove intermediate containers after a successful step (`rm`, default true). */
  remove: boolean;
  /** Always remove intermediate containers (`forcerm`). */
  forceRemove: boolean;
  pull: boolean;
  networkMode?: string;
  /** Resource limits for RUN containers (memory, memswap, cpushares, cpusetcpus, cpuperiod, cpuquota, shmsize). */
  hostConfig: Partial<HostConfig>;
  cacheFrom: string[];
  /** Secrets for `RUN --mount=type=secret`: id → content. */
  secrets: Record<string, Buffer>;
  auth?: AuthConfig;
  signal?: AbortSignal;
}

export interface BuildSink {
  /** A line of classic build output (`{"stream": …}`). */
  stream(text: string): void;
  /** A message passed through (pull progress, aux). */
  message(msg: unknown): void;
}

export interface BuildResult {
  image: Image;
  tags: string[];
}

/** A failed RUN: the docker CLI shows `message` and exits with `code`. */
export class BuildStepError extends BerthError {
  constructor(message: string, readonly code: number) {
    super('InvalidParameter', message);
  }
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_SHELL = ['/bin/sh', '-c'];
/** ARGs every build may set without declaring them (they never reach the image). */
const BUILTIN_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy', 'SOURCE_DATE_EPOCH']);
const PLATFORM_ARGS: Record<string, string> = {
  TARGETPLATFORM: 'linux/amd64', TARGETOS: 'linux', TARGETARCH: 'amd64', TARGETVARIANT: '',
  BUILDPLATFORM: 'linux/amd64', BUILDOS: 'linux', BUILDARCH: 'amd64', BUILDVARIANT: '',
};

interface StageState {
  image?: Image;
  config: ImageConfig;
  args: Map<string, string>;
  cmdSet: boolean;
  epoch: Date;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function envMap(env: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env) {
    const i = e.indexOf('=');
    if (i > 0) m.set(e.slice(0, i), e.slice(i + 1));
  }
  return m;
}

function setEnv(env: string[], key: string, value: string): string[] {
  return [...env.filter((e) => !e.startsWith(`${key}=`) && e !== key), `${key}=${value}`];
}

/** Go duration ("30s", "1m30s", "500ms") → nanoseconds (unsigned), with the flag in the error. */
function durationNs(s: string, flag: string): number {
  try {
    if (!/^[+-]/.test(s)) return parseGoDuration(s);
  } catch {
    // worded below, with the flag
  }
  throw invalid(`time: invalid duration "${s}" for --${flag}`);
}

export class Builder {
  constructor(private readonly d: BuildDeps) {}

  /** At daemon start: unmount what an interrupted build left mounted, then empty the scratch space. */
  async init(): Promise<void> {
    await this.d.snapshots.unmountUnder([this.d.workDir, this.d.diskWorkDir]);
    for (const dir of [this.d.workDir, this.d.diskWorkDir]) {
      await fs.rm(dir, { recursive: true, force: true });
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    }
  }

  async build(contextDir: string, o: BuildOptions, out: BuildSink): Promise<BuildResult> {
    let text: string;
    if (o.dockerfileText !== undefined) text = o.dockerfileText;
    else {
      try {
        text = readFileInRoot(contextDir, o.dockerfile || 'Dockerfile').toString('utf8');
      } catch {
        throw invalid(`Cannot locate specified Dockerfile: ${o.dockerfile || 'Dockerfile'}`);
      }
    }
    const df = parseDockerfile(text);
    for (const t of o.tags) parseReference(t);
    const run = new BuildRun(this.d, df, contextDir, o, out);
    const image = await run.execute();
    const tags: string[] = [];
    for (const t of o.tags) {
      await this.d.images.tag(image.id, t);
      tags.push(t);
    }
    await this.enforceCap().catch(() => undefined);
    return { image, tags };
  }

  /**
   * Keeps the build cache under `keepStorage`: removes unused leaf step images, least recently
   * made first (by their top layer's time), until the cache fits.
   */
  async enforceCap(): Promise<number> {
    const cap = this.d.keepStorage ?? 0;
    if (cap <= 0) return 0;
    let total = (await this.cacheUsage()).reduce((n, e) => n + Number(e.Size ?? 0), 0);
    let removed = 0;
    const store = this.d.images.store;
    while (total > cap) {
      const leaves = store.list().filter((img) => img.meta.buildKey !== undefined && store.tagsOf(img.id).length === 0 && !store.hasChildren(img.id) && this.d.containers.usersOf(img.id).length === 0);
      if (leaves.length === 0) break;
      const aged = await Promise.all(leaves.map(async (img) => {
        const top = img.chainIds[img.chainIds.length - 1];
        const st = top ? await fs.stat(this.d.snapshots.lowers([top])[0] as string).catch(() => undefined) : undefined;
        return { img, t: st?.mtimeMs ?? 0 };
      }));
      aged.sort((a, b) => a.t - b.t);
      const victim = (aged[0] as { img: Image }).img;
      const top = victim.chainIds[victim.chainIds.length - 1];
      const info = top ? await this.d.layers.get(top) : undefined;
      const gone = await this.d.images.removeBuildCache(victim.id);
      if (top && gone.includes(top)) total -= info?.size ?? 0;
      removed++;
    }
    return removed;
  }

  /** The build cache for `/system/df`: untagged step images, each with the size of its own layer. */
  async cacheUsage(): Promise<Array<Record<string, unknown>>> {
    const store = this.d.images.store;
    const out: Array<Record<string, unknown>> = [];
    for (const img of store.list()) {
      if (img.meta.buildKey === undefined || store.tagsOf(img.id).length > 0) continue;
      const parent = img.meta.parent ? store.byId(img.meta.parent) : undefined;
      const own = img.chainIds.length > (parent?.chainIds.length ?? 0) ? await this.d.layers.get(img.chainIds[img.chainIds.length - 1] as string) : undefined;
      const last = img.config.history?.[img.config.history.length - 1];
      out.push({
        ID: img.id.slice(7, 32),
        Parent: img.meta.parent?.slice(7, 32) ?? '',
        Type: 'regular',
        Description: last?.created_by ?? '',
        InUse: this.d.containers.usersOf(img.id).length > 0,
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
    const store = this.d.images.store;
    const until = o.filters.get('until')?.[0];
    const cutoff = until ? Date.now() - durationNs(until, 'filter until') / 1e6 : undefined;
    const deleted: string[] = [];
    let space = 0;
    for (;;) {
      const victims = store.list().filter((img) =>
        img.meta.buildKey !== undefined &&
        store.tagsOf(img.id).length === 0 &&
        !store.hasChildren(img.id) &&
        this.d.containers.usersOf(img.id).length === 0 &&
        (cutoff === undefined || Date.parse(img.config.created ?? '') < cutoff));
      if (victims.length === 0) break;
      for (const img of victims) {
        const sizes = await Promise.all(img.chainIds.map((c) => this.d.layers.get(c)));
        const removed = await this.d.images.removeBuildCache(img.id);
        for (const c of removed) space += sizes[img.chainIds.indexOf(c)]?.size ?? 0;
        deleted.push(img.id);
      }
    }
    if (o.all) await fs.rm(this.d.cacheMountDir, { recursive: true, force: true });
    return { CachesDeleted: deleted, SpaceReclaimed: space };
  }
}

class BuildRun {
  private readonly stageResults = new Map<number, Promise<StageState>>();
  private readonly steps = new Map<Instruction, number>();
  private total = 0;
  private readonly usedArgs = new Set<string>();
  private readonly globals = new Map<string, string>();

  constructor(
    private readonly d: BuildDeps,
    private readonly df: ParsedDockerfile,
    private readonly context: string,
    private readonly o: BuildOptions,
    private readonly out: BuildSink,
  ) {}

  private stageByRef(ref: string): Stage | undefined {
    const lower = ref.toLowerCase();
    const byName = this.df.stages.find((s) => s.name === lower);
    if (byName) return byName;
    if (/^\d+$/.test(ref)) return this.df.stages[Number(ref)];
    return undefined;
  }

  private fromName(s: Stage): string {
    const word = s.from.args.split(/\s+/)[0] as string;
    return expandWord(word, this.globals, this.df.escape);
  }

  /** Stages a stage depends on (its FROM, COPY --from, RUN --mount from=). */
  private depsOf(s: Stage): Stage[] {
    const deps: Stage[] = [];
    const add = (ref: string): void => {
      const st = this.stageByRef(ref);
      if (st && st.index < s.index && !deps.includes(st)) deps.push(st);
    };
    add(this.fromName(s));
    for (const ins of s.instructions) {
      for (const [k, v] of ins.flags) {
        if (k === 'from') add(expandWord(v, this.globals, this.df.escape));
        if (k === 'mount') for (const kv of v.split(',')) if (kv.startsWith('from=')) add(kv.slice(5));
      }
    }
    return deps;
  }

  async execute(): Promise<Image> {
    for (const a of this.df.globalArgs) {
      if (a.cmd !== 'ARG') throw parseError(a.line, `${a.cmd} is not allowed before FROM`);
      for (const [k, def] of expandPairs(a.args, this.globals, { escape: this.df.escape, legacy: false, what: 'ARG' })) {
        const v = k in this.o.buildArgs ? this.o.buildArgs[k] : def;
        if (k in this.o.buildArgs) this.usedArgs.add(k);
        if (v !== undefined && v !== null) this.globals.set(k, v);
      }
    }
    for (const [k, v] of Object.entries(PLATFORM_ARGS)) if (!this.globals.has(k)) this.globals.set(k, v);
    let target = this.df.stages[this.df.stages.length - 1] as Stage;
    if (this.o.target) {
      const t = this.df.stages.find((s) => s.name === this.o.target?.toLowerCase());
      if (!t) throw invalid(`failed to reach build target ${this.o.target} in Dockerfile`);
      target = t;
    }
    // The stages the target needs, in file order; number their steps as the classic builder does.
    const needed = new Set<Stage>();
    const visit = (s: Stage): void => {
      if (needed.has(s)) return;
      needed.add(s);
      for (const dep of this.depsOf(s)) visit(dep);
    };
    visit(target);
    const order = this.df.stages.filter((s) => needed.has(s));
    for (const s of order) {
      this.steps.set(s.from, ++this.total);
      for (const ins of s.instructions) this.steps.set(ins, ++this.total);
    }
    const final = await this.stage(target);
    let image = final.image;
    if (!image || Object.keys(this.o.labels).length > 0) {
      const cfg = clone(final.config);
      if (Object.keys(this.o.labels).length > 0) cfg.config = { ...cfg.config, Labels: { ...(cfg.config?.Labels ?? {}), ...this.o.labels } };
      image = await this.d.images.store.add(Buffer.from(JSON.stringify(cfg)), image ? { parent: image.id } : {});
    }
    const unused = Object.keys(this.o.buildArgs).filter((k) => !this.usedArgs.has(k) && !BUILTIN_ARGS.has(k));
    if (unused.length > 0) this.out.stream(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    return image;
  }

  private stage(s: Stage): Promise<StageState> {
    let p = this.stageResults.get(s.index);
    if (!p) {
      p = this.runStage(s);
      this.stageResults.set(s.index, p);
      p.catch(() => undefined);
    }
    return p;
  }

  private step(ins: Instruction): void {
    this.out.stream(`Step ${this.steps.get(ins) ?? '?'}/${this.total} : ${ins.text}\n`);
  }

  private async runStage(s: Stage): Promise<StageState> {
    // Start the stages this one needs at once (independent stages build concurrently).
    const deps = this.depsOf(s).map((dep) => this.stage(dep));
    await Promise.all(deps);
    this.step(s.from);
    const base = this.fromName(s);
    const st = await this.baseState(base, s);
    this.out.stream(` ---> ${st.image ? shortId(st.image.id) : 'scratch'}\n`);
    const triggers = st.config.config?.OnBuild ?? [];
    if (triggers.length > 0) {
      this.out.stream(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}\n`);
      if (st.config.config) st.config.config.OnBuild = null;
      for (const t of triggers) await this.apply(st, parseInstructionText(t, s.from.line), s);
    }
    for (const ins of s.instructions) {
      this.o.signal?.throwIfAborted();
      this.step(ins);
      await this.apply(st, ins, s);
    }
    return st;
  }

  private async baseState(base: string, s: Stage): Promise<StageState> {
    const epochArg = this.o.buildArgs.SOURCE_DATE_EPOCH ?? undefined;
    const fixed = epochArg !== undefined && epochArg !== null && /^\d+$/.test(epochArg) ? new Date(Number(epochArg) * 1000) : undefined;
    const stageRef = this.stageByRef(base);
    if (stageRef && stageRef.index < s.index) {
      const prev = await this.stage(stageRef);
      return { image: prev.image, config: clone(prev.config), args: new Map(), cmdSet: false, epoch: prev.epoch };
    }
    if (base.toLowerCase() === 'scratch') {
      return {
        config: { architecture: 'amd64', os: 'linux', config: { Env: [DEFAULT_PATH] }, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
        args: new Map(),
        cmdSet: false,
        epoch: fixed ?? new Date(0),
      };
    }
    const image = await this.baseImage(base);
    const config = clone(image.config);
    delete config.container;
    delete config.container_config;
    delete config.docker_version;
    config.config = config.config ?? {};
    if (!config.config.Env) config.config.Env = [DEFAULT_PATH];
    const created = image.config.created ? new Date(image.config.created) : new Date(0);
    return { image, config, args: new Map(), cmdSet: false, epoch: fixed ?? (Number.isNaN(created.getTime()) ? new Date(0) : created) };
  }

  private async baseImage(name: string): Promise<Image> {
    const store = this.d.images.store;
    const local = store.find(name);
    if (local && !this.o.pull) return local;
    const ref = parseReference(name);
    if (!this.d.distribution) {
      if (local) return local;
      throw notFound(`No such image: ${name}`);
    }
    try {
      const job = await this.d.distribution.preparePull(ref, { auth: this.o.auth, signal: this.o.signal });
      await job.run({ write: (m: unknown) => this.out.message(m) });
    } catch (err) {
      if (local) return local;
      throw err;
    }
    const img = store.find(name);
    if (!img) throw notFound(`No such image: ${name}`);
    return img;
  }

  /** Variables visible to an instruction: the image's ENV, then the stage's ARGs. */
  private vars(st: StageState): Map<string, string> {
    const m = envMap(st.config.config?.Env ?? []);
    for (const [k, v] of st.args) if (!m.has(k)) m.set(k, v);
    return m;
  }

  private cacheKey(st: StageState, parts: unknown[]): string {
    return `sha256:${createHash('sha256').update(JSON.stringify([st.image?.id ?? '', st.config.config ?? {}, ...parts])).digest('hex')}`;
  }

  private findCached(st: StageState, key: string): Image | undefined {
    if (this.o.noCache) return undefined;
    const parent = st.image?.id ?? '';
    return this.d.images.store.list().find((img) => (img.meta.parent ?? '') === parent && img.meta.buildKey === key);
  }

  private async useCache(st: StageState, key: string, step: { createdBy: string; config?: RunConfig; cmd?: string[] }): Promise<boolean> {
    let hit = this.findCached(st, key);
    // As dockerd's image cache with --cache-from: a local hit counts only when it is in the
    // history of a cache source (so an unknown source means no cache at all).
    if (hit && this.o.cacheFrom.length > 0 && !this.inCacheSources(hit.id)) hit = undefined;
    hit = hit ?? (await this.fromCacheSources(st, key, step));
    if (!hit) return false;
    st.image = hit;
    st.config = clone(hit.config);
    this.out.stream(` ---> Using cache\n ---> ${shortId(hit.id)}\n`);
    return true;
  }

  /** Whether `id` is a `--cache-from` image or one of its parents. */
  private inCacheSources(id: string): boolean {
    const store = this.d.images.store;
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
  private async fromCacheSources(st: StageState, key: string, step: { createdBy: string; config?: RunConfig; cmd?: string[] }): Promise<Image | undefined> {
    if (this.o.noCache || this.o.cacheFrom.length === 0) return undefined;
    const ours = st.config.history ?? [];
    const sameEntry = (a: { created_by?: string; empty_layer?: boolean }, b: { created_by?: string; empty_layer?: boolean }): boolean =>
      (a.created_by ?? '') === (b.created_by ?? '') && Boolean(a.empty_layer) === Boolean(b.empty_layer);
    for (const name of this.o.cacheFrom) {
      const src = this.d.images.store.find(name);
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
      const ordered: ImageConfig = {
        architecture: cfg.architecture, os: cfg.os, ...(cfg.variant ? { variant: cfg.variant } : {}), created: cfg.created,
        ...(cfg.author ? { author: cfg.author } : {}), config: cfg.config ?? {},
        container_config: stepContainerConfig(cfg.config, step.createdBy, step.cmd), rootfs: cfg.rootfs, history: cfg.history,
      };
      return this.d.images.store.add(Buffer.from(JSON.stringify(ordered)), { ...(st.image ? { parent: st.image.id } : {}), buildKey: key });
    }
    return undefined;
  }

  /**
   * Commits the stage's config (and a new layer, when given) as the next image. Like the classic
   * builder it records the step's container config (`container_config`: the config with the
   * step's command), which docker-compose 1.29 reads to carry image VOLUMEs over a recreate; no
   * container ID goes in, so a rebuild still gives the same image ID.
   */
  private async commit(st: StageState, createdBy: string, key: string, layer?: { diffId: string }, stepCmd?: string[]): Promise<void> {
    const cfg = st.config;
    cfg.created = st.epoch.toISOString();
    if (layer) cfg.rootfs.diff_ids = [...cfg.rootfs.diff_ids, layer.diffId];
    const hist: Record<string, unknown> = { created: cfg.created, created_by: createdBy };
    if (!layer) hist.empty_layer = true;
    cfg.history = [...(cfg.history ?? []), hist];
    const ordered: ImageConfig = {
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
    const meta = { ...(st.image ? { parent: st.image.id } : {}), buildKey: key };
    st.image = await this.d.images.store.add(Buffer.from(JSON.stringify(ordered)), meta);
    st.config = clone(st.image.config);
    this.out.stream(` ---> ${shortId(st.image.id)}\n`);
  }

  private async metadata(st: StageState, ins: Instruction, mutate: (c: RunConfig) => void, shown?: string): Promise<void> {
    const createdBy = `/bin/sh -c #(nop)  ${shown ?? ins.text}`;
    const c = clone(st.config.config ?? {});
    mutate(c);
    const key = this.cacheKey(st, [createdBy, c]);
    const cmd = ['/bin/sh', '-c', '#(nop) ', shown ?? ins.text];
    if (await this.useCache(st, key, { createdBy, config: c, cmd })) return;
    st.config.config = c;
    await this.commit(st, createdBy, key, undefined, cmd);
  }

  private async apply(st: StageState, ins: Instruction, s: Stage): Promise<void> {
    const esc = this.df.escape;
    const vars = (): Map<string, string> => this.vars(st);
    const cmdForm = (): string[] => (ins.json ? ins.json : [...(st.config.config?.Shell ?? DEFAULT_SHELL), ins.args]);
    switch (ins.cmd) {
      case 'ENV': {
        const pairs = expandPairs(ins.args, vars(), { escape: esc, legacy: true, what: 'ENV' });
        const shown = `ENV ${pairs.map(([k, v]) => `${k}=${v ?? ''}`).join(' ')}`;
        await this.metadata(st, ins, (c) => {
          let env = c.Env ?? [];
          for (const [k, v] of pairs) env = setEnv(env, k, v ?? '');
          c.Env = env;
        }, shown);
        return;
      }
      case 'LABEL': {
        const pairs = expandPairs(ins.args, vars(), { escape: esc, legacy: true, what: 'LABEL' });
        await this.metadata(st, ins, (c) => {
          c.Labels = { ...(c.Labels ?? {}) };
          for (const [k, v] of pairs) c.Labels[k] = v ?? '';
        }, `LABEL ${pairs.map(([k, v]) => `${k}=${v ?? ''}`).join(' ')}`);
        return;
      }
      case 'ARG': {
        for (const [k, def] of expandPairs(ins.args, vars(), { escape: esc, legacy: false, what: 'ARG' })) {
          let v: string | undefined | null = def;
          if (k in this.o.buildArgs) {
            v = this.o.buildArgs[k];
            this.usedArgs.add(k);
          } else if (def === undefined && this.globals.has(k)) v = this.globals.get(k);
          if (v !== undefined && v !== null) st.args.set(k, v);
          else st.args.delete(k);
        }
        await this.metadata(st, ins, () => undefined);
        return;
      }
      case 'CMD':
      case 'ENTRYPOINT': {
        const value = cmdForm();
        await this.metadata(st, ins, (c) => {
          if (ins.cmd === 'CMD') {
            c.Cmd = value;
          } else {
            c.Entrypoint = value;
            if (!st.cmdSet) c.Cmd = null;
          }
        }, `${ins.cmd} ${JSON.stringify(value)}`);
        if (ins.cmd === 'CMD') st.cmdSet = true;
        return;
      }
      case 'EXPOSE': {
        const ports: string[] = [];
        for (const w of expandWords(ins.args, vars(), esc)) {
          const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
          if (!m) throw invalid(`Invalid containerPort: ${w}`);
          const lo = Number(m[1]);
          const hi = m[2] ? Number(m[2]) : lo;
          for (let p = lo; p <= hi; p++) ports.push(`${p}/${(m[3] ?? 'tcp').toLowerCase()}`);
        }
        await this.metadata(st, ins, (c) => {
          c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
          for (const p of ports) c.ExposedPorts[p] = {};
        }, `EXPOSE ${ports.join(' ')}`);
        return;
      }
      case 'USER': {
        const user = expandWord(ins.args, vars(), esc);
        await this.metadata(st, ins, (c) => { c.User = user; }, `USER ${user}`);
        return;
      }
      case 'WORKDIR': {
        const dir = expandWord(ins.args, vars(), esc);
        const abs = path.posix.normalize(path.posix.isAbsolute(dir) ? dir : path.posix.join(st.config.config?.WorkingDir || '/', dir));
        await this.metadata(st, ins, (c) => { c.WorkingDir = abs; }, `WORKDIR ${abs}`);
        return;
      }
      case 'VOLUME': {
        const vols = ins.json ?? expandWords(ins.args, vars(), esc);
        if (vols.some((v) => v.trim() === '')) throw invalid('VOLUME specified can not be an empty string');
        await this.metadata(st, ins, (c) => {
          c.Volumes = { ...(c.Volumes ?? {}) };
          for (const v of vols) c.Volumes[v] = {};
        }, `VOLUME [${vols.join(' ')}]`);
        return;
      }
      case 'STOPSIGNAL': {
        const sig = expandWord(ins.args, vars(), esc);
        await this.metadata(st, ins, (c) => { c.StopSignal = sig; }, `STOPSIGNAL ${sig}`);
        return;
      }
      case 'MAINTAINER': {
        const who = ins.args;
        st.config.author = who;
        await this.metadata(st, ins, () => undefined, `MAINTAINER ${who}`);
        return;
      }
      case 'SHELL': {
        const sh = ins.json as string[];
        await this.metadata(st, ins, (c) => { c.Shell = sh; }, `SHELL ${JSON.stringify(sh)}`);
        return;
      }
      case 'ONBUILD': {
        const trigger = ins.args.replace(/^(\S+)/, (k) => k.toUpperCase());
        await this.metadata(st, ins, (c) => { c.OnBuild = [...(c.OnBuild ?? []), trigger]; }, `ONBUILD ${trigger}`);
        return;
      }
      case 'HEALTHCHECK': {
        const hc = this.healthcheck(ins);
        await this.metadata(st, ins, (c) => { c.Healthcheck = hc; });
        return;
      }
      case 'RUN':
        await this.run(st, ins, s);
        return;
      case 'COPY':
      case 'ADD':
        await this.copy(st, ins, s);
        return;
      default:
        throw parseError(ins.line, `unknown instruction: ${ins.cmd}`);
    }
  }

  private healthcheck(ins: Instruction): Record<string, unknown> {
    const words = ins.args.trim();
    const kind = (words.split(/\s+/)[0] ?? '').toUpperCase();
    if (kind === 'NONE') {
      if (words.split(/\s+/).length > 1) throw parseError(ins.line, 'HEALTHCHECK NONE takes no arguments');
      return { Test: ['NONE'] };
    }
    if (kind !== 'CMD') throw parseError(ins.line, `Unknown type "${kind}" in HEALTHCHECK (try CMD)`);
    const rest = words.slice(3).trim();
    let json: string[] | undefined;
    try {
      const v: unknown = JSON.parse(rest);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) json = v;
    } catch {
      json = undefined;
    }
    const hc: Record<string, unknown> = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', rest] };
    for (const [k, v] of ins.flags) {
      if (k === 'interval') hc.Interval = durationNs(v, k);
      else if (k === 'timeout') hc.Timeout = durationNs(v, k);
      else if (k === 'start-period') hc.StartPeriod = durationNs(v, k);
      else if (k === 'start-interval') hc.StartInterval = durationNs(v, k);
      else if (k === 'retries') {
        if (!/^\d+$/.test(v) || Number(v) < 1) throw invalid(`--retries must be at least 1 (not ${v})`);
        hc.Retries = Number(v);
      } else throw parseError(ins.line, `Unknown flag: ${k}`);
    }
    return hc;
  }

  /* ---------------------------------------------------------------- RUN */

  private async run(st: StageState, ins: Instruction, s: Stage): Promise<void> {
    if (!st.image) throw invalid(`RUN needs a base image with a shell: ${ins.text} in a stage FROM scratch with no files`);
    let argv: string[];
    if (ins.json) argv = ins.json;
    else {
      let script = ins.args;
      // A heredoc body goes to the shell with the command line, which then reads it as one.
      for (const h of ins.heredocs) script += `\n${h.content}${h.name}`;
      const only = ins.heredocs.length === 1 && /^<<-?["']?\w+["']?$/.test(ins.args.trim());
      if (only) script = (ins.heredocs[0] as { content: string }).content;
      argv = [...(st.config.config?.Shell ?? DEFAULT_SHELL), script];
    }
    const argEnv = [...st.args.entries()].filter(([k]) => !envMap(st.config.config?.Env ?? []).has(k)).sort(([a], [b]) => a.localeCompare(b));
    const createdBy = `${argEnv.length > 0 ? `|${argEnv.length} ${argEnv.map(([k, v]) => `${k}=${v}`).join(' ')} ` : ''}${argv.join(' ')}`;
    const mountSpecs = ins.flags.filter(([k]) => k === 'mount').map(([, v]) => v);
    let network = this.o.networkMode;
    for (const [k, v] of ins.flags) {
      if (k === 'network') {
        if (!['none', 'default', 'host'].includes(v)) throw parseError(ins.line, `unsupported network mode ${v}`);
        network = v;
      } else if (k !== 'mount' && k !== 'security') throw parseError(ins.line, `Unknown flag: ${k}`);
    }
    const key = this.cacheKey(st, ['RUN', createdBy, mountSpecs, network ?? '']);
    const stepCmd = argEnv.length > 0 ? [`|${argEnv.length}`, ...argEnv.map(([k, v]) => `${k}=${v}`), ...argv] : argv;
    if (await this.useCache(st, key, { createdBy, cmd: stepCmd })) return;
    const cleanups: Array<() => Promise<void>> = [];
    const hostConfig: Partial<HostConfig> = { ...this.o.hostConfig, NetworkMode: network && network !== 'default' ? network : 'default' };
    try {
      const mounts = await this.runMounts(mountSpecs, s, cleanups, ins);
      if (mounts.binds.length > 0) (hostConfig as Record<string, unknown>).Mounts = mounts.binds;
      if (Object.keys(mounts.tmpfs).length > 0) hostConfig.Tmpfs = mounts.tmpfs;
      const env = [...(st.config.config?.Env ?? []), ...argEnv.map(([k, v]) => `${k}=${v}`)];
      const t = span('build-run');
      const c = await this.d.containers.create(
        {
          Config: {
            Image: st.image.id,
            Cmd: argv,
            Entrypoint: [''],
            Env: env,
            User: st.config.config?.User ?? '',
            WorkingDir: st.config.config?.WorkingDir ?? '',
            AttachStdout: true,
            AttachStderr: true,
          },
          HostConfig: hostConfig,
        },
        // dpkg and friends fsync every file; a step's upper dir becomes a layer or is thrown away.
        // A build step: removed at start if a crash interrupts the build.
        { volatileRootfs: true, buildStep: true },
      );
      this.out.stream(` ---> Running in ${shortId(c.ID)}\n`);
      let code = -1;
      let removeIt = this.o.forceRemove;
      try {
        const done = new Promise<void>((resolve) => {
          this.d.containers.onNextStart(c.ID, (sock) => {
            if (!sock) return resolve();
            sock.on('data', (buf: Buffer) => {
              if (buf.length <= 1) return;
              // conmon's attach socket: byte 3 is stderr, which dockerd's classic builder sends
              // in red (its stderr writer wraps each write in \x1b[91m … \x1b[0m).
              const text = buf.subarray(1).toString('utf8');
              this.out.stream(buf[0] === 3 ? `\x1b[91m${text}\x1b[0m` : text);
            });
            sock.on('close', () => resolve());
            sock.on('end', () => resolve());
            sock.on('error', () => resolve());
          });
        });
        t.mark('create');
        const waited = this.d.containers.wait(c.ID, 'next-exit');
        await this.d.containers.start(c.ID);
        t.mark('start');
        code = (await waited).StatusCode;
        await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
        t.mark('run');
        if (code !== 0) {
          throw new BuildStepError(`The command '${argv.join(' ')}' returned a non-zero code: ${code}`, code);
        }
        removeIt = this.o.remove || this.o.forceRemove;
        const upper = this.d.containers.layersOf(this.d.containers.get(c.ID)).upper;
        // The container goes next: its upper dir can become the layer's directory.
        const layer = await this.commitLayer(upper, st, await mountArtifacts(upper, [...mounts.binds.map((b) => String(b.Target)), ...Object.keys(mounts.tmpfs)]), removeIt);
        t.mark('layer');
        if (removeIt) this.out.stream(`Removing intermediate container ${shortId(c.ID)}\n`);
        await this.commit(st, createdBy, key, layer, stepCmd);
        t.mark('image');
      } finally {
        if (removeIt || code === -1) await this.d.containers.remove(c.ID, { force: true }).catch(() => undefined);
        else await this.d.containers.keepBuildStep(c.ID).catch(() => undefined);
        t.mark('remove');
        t.end();
      }
    } finally {
      for (const f of cleanups.reverse()) await f().catch(() => undefined);
    }
  }

  /** `RUN --mount=…`: cache and bind mounts as bind mounts, tmpfs, secrets as read-only files. */
  private async runMounts(specs: string[], s: Stage, cleanups: Array<() => Promise<void>>, ins: Instruction): Promise<{ binds: Array<Record<string, unknown>>; tmpfs: Record<string, string> }> {
    const binds: Array<Record<string, unknown>> = [];
    const tmpfs: Record<string, string> = {};
    for (const spec of specs) {
      const kv = new Map<string, string>();
      for (const part of spec.split(',')) {
        const i = part.indexOf('=');
        kv.set(i < 0 ? part : part.slice(0, i), i < 0 ? 'true' : part.slice(i + 1));
      }
      const type = kv.get('type') ?? 'bind';
      const target = kv.get('target') ?? kv.get('dst') ?? kv.get('destination');
      const ro = kv.get('ro') === 'true' || kv.get('readonly') === 'true';
      if (type === 'cache') {
        if (!target) throw parseError(ins.line, 'mount type=cache requires a target');
        const id = kv.get('id') ?? target;
        const dir = path.join(this.d.cacheMountDir, createHash('sha256').update(id).digest('hex').slice(0, 32));
        await fs.mkdir(dir, { recursive: true, mode: 0o755 });
        const uid = Number(kv.get('uid') ?? 0);
        const gid = Number(kv.get('gid') ?? 0);
        await fs.chown(dir, uid, gid);
        if (kv.has('mode')) await fs.chmod(dir, parseInt(kv.get('mode') as string, 8));
        binds.push({ Type: 'bind', Source: dir, Target: target, ReadOnly: ro });
      } else if (type === 'tmpfs') {
        if (!target) throw parseError(ins.line, 'mount type=tmpfs requires a target');
        tmpfs[target] = kv.has('size') ? `size=${kv.get('size')}` : '';
      } else if (type === 'secret') {
        const id = kv.get('id') ?? path.posix.basename(target ?? '');
        const content = this.o.secrets[id];
        if (!content) {
          if (kv.get('required') === 'true') throw invalid(`secret ${id}: not provided`);
          continue;
        }
        const dir = path.join(this.d.workDir, `secret-${randomBytes(8).toString('hex')}`);
        await fs.mkdir(dir, { mode: 0o700 });
        cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
        const file = path.join(dir, 'secret');
        await fs.writeFile(file, content, { mode: Number.parseInt(kv.get('mode') ?? '0400', 8) });
        await fs.chown(file, Number(kv.get('uid') ?? 0), Number(kv.get('gid') ?? 0));
        binds.push({ Type: 'bind', Source: file, Target: target ?? `/run/secrets/${id}`, ReadOnly: true });
      } else if (type === 'bind') {
        if (!target) throw parseError(ins.line, 'mount type=bind requires a target');
        const src = kv.get('source') ?? kv.get('src') ?? '/';
        const from = kv.get('from');
        const rw = kv.get('rw') === 'true' || kv.get('readwrite') === 'true';
        let host: string;
        if (from) {
          const root = await this.readRoot(from, s, cleanups);
          host = hostPathInRoot(root, src);
        } else host = hostPathInRoot(this.context, src);
        binds.push({ Type: 'bind', Source: host, Target: target, ReadOnly: !rw });
      } else throw parseError(ins.line, `unsupported mount type ${type}`);
    }
    return { binds, tmpfs };
  }

  /** A read-only view of a stage's or image's filesystem for COPY --from and bind mounts. */
  private async readRoot(from: string, s: Stage, cleanups: Array<() => Promise<void>>): Promise<string> {
    const ref = expandWord(from, this.globals, this.df.escape);
    const stage = this.stageByRef(ref);
    let image: Image | undefined;
    if (stage && stage.index < s.index) image = (await this.stage(stage)).image;
    else if (stage) throw invalid(`circular dependency detected on stage: ${ref}`);
    else image = await this.baseImage(ref);
    const dir = path.join(this.d.workDir, `ro-${randomBytes(8).toString('hex')}`);
    await fs.mkdir(dir, { recursive: true });
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    const view = await this.d.snapshots.view(image?.chainIds ?? [], dir);
    cleanups.push(() => view.release());
    return view.path;
  }

  /* ---------------------------------------------------------------- COPY/ADD */

  private async copy(st: StageState, ins: Instruction, s: Stage): Promise<void> {
    const vars = this.vars(st);
    const esc = this.df.escape;
    const flags = new Map<string, string>();
    for (const [k, v] of ins.flags) {
      if (!['from', 'chown', 'chmod', 'link', 'checksum', 'keep-git-dir', 'parents'].includes(k)) throw parseError(ins.line, `Unknown flag: ${k}`);
      if (k === 'from' && ins.cmd === 'ADD') throw parseError(ins.line, 'ADD --from is not supported');
      flags.set(k, expandWord(v, vars, esc));
    }
    const cleanups: Array<() => Promise<void>> = [];
    const tmp = path.join(this.d.diskWorkDir, `copy-${randomBytes(8).toString('hex')}`);
    cleanups.push(() => fs.rm(tmp, { recursive: true, force: true }));
    try {
      let words: string[];
      if (ins.heredocs.length > 0) words = expandWords(ins.args, vars, esc);
      else words = ins.json ?? expandWords(ins.args, vars, esc);
      const destWord = words[words.length - 1] as string;
      const srcWords = words.slice(0, -1);
      const wd = st.config.config?.WorkingDir || '/';
      const dest = path.posix.isAbsolute(destWord) ? destWord : `${path.posix.join(wd, destWord)}${destWord.endsWith('/') || destWord === '.' ? '/' : ''}`;
      let sources: Source[] = [];
      const heredocFiles: Source[] = [];
      const urls: string[] = [];
      await fs.mkdir(tmp, { recursive: true });
      const root = flags.has('from') ? await this.readRoot(flags.get('from') as string, s, cleanups) : this.context;
      for (const w of srcWords) {
        const doc = ins.heredocs.find((h) => w === `<<${h.name}` || w === `<<-${h.name}` || w.replace(/^<<-?["']?|["']$/g, '') === h.name);
        if (doc) {
          const file = path.join(tmp, `heredoc-${heredocFiles.length}`, doc.name);
          await fs.mkdir(path.dirname(file), { recursive: true });
          await fs.writeFile(file, doc.quoted ? doc.content : expandWord(`"${doc.content.replace(/"/g, '\\"')}"`, vars, esc), { mode: 0o644 });
          heredocFiles.push({ host: file, rel: doc.name });
        } else if (ins.cmd === 'ADD' && /^https?:\/\//.test(w)) urls.push(w);
        else sources.push(...(await matchSources(root, w, ins.cmd)));
      }
      const downloaded: Source[] = [];
      for (const u of urls) downloaded.push(await this.download(u, tmp, flags.get('checksum'), dest));
      sources = [...sources, ...heredocFiles];
      const checksum = await checksumSources([...sources, ...downloaded]);
      const key = this.cacheKey(st, [ins.cmd, [...flags.entries()].filter(([k]) => k !== 'from'), flags.has('from') ? '' : 'context', dest, checksum, srcWords.length]);
      const createdBy = `/bin/sh -c #(nop) ${ins.cmd} ${flags.has('from') ? `--from=${flags.get('from')} ` : ''}file:${checksum.slice(7)} in ${dest} `;
      if (await this.useCache(st, key, { createdBy })) return;
      const layout: ActiveSnapshot = { parents: st.image?.chainIds ?? [], dir: tmp, target: path.join(tmp, 'rootfs') };
      await this.d.snapshots.prepare(layout);
      const mkey = `build-${path.basename(tmp)}`;
      const rootfs = await this.d.snapshots.acquire(mkey, layout);
      try {
        let uid = 0;
        let gid = 0;
        if (flags.get('chown')) {
          ({ uid, gid } = resolveUser({ rootfs, user: flags.get('chown') }));
        }
        const chmod = flags.get('chmod');
        if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod)) throw invalid(`invalid chmod parameter: ${chmod}`);
        const opts = { uid, gid, ...(chmod ? { mode: parseInt(chmod, 8) } : {}) };
        const archives: Source[] = [];
        const plain: Source[] = [];
        for (const src of sources) {
          if (ins.cmd === 'ADD' && !heredocFiles.includes(src) && (await isArchive(src.host))) archives.push(src);
          else plain.push(src);
        }
        const multi = srcWords.length > 1;
        if (multi && !dest.endsWith('/')) throw invalid(`When using ${ins.cmd} with more than one source file, the destination must be a directory and end with a /`);
        if (plain.length > 0 || downloaded.length > 0) await copySources(rootfs, [...plain, ...downloaded], multi || plain.length + downloaded.length > 1 ? `${dest.replace(/\/?$/, '/')}` : dest, opts, ins.cmd);
        for (const a of archives) {
          await mkdirInRoot(rootfs, dest);
          const { createReadStream } = await import('node:fs');
          const tar = await decompress(createReadStream(a.host));
          await RootDir.with(rootfs, (root) => extractInRoot(tar, root, dest, flags.has('chown') ? { chown: { uid, gid } } : {}));
        }
      } finally {
        await this.d.snapshots.release(mkey, layout.target);
      }
      const layer = await this.commitLayer(this.d.snapshots.dirs(layout).upper, st, new Set(), true);
      await this.commit(st, createdBy, key, layer);
    } finally {
      for (const f of cleanups.reverse()) await f().catch(() => undefined);
    }
  }

  private async download(url: string, tmp: string, checksum: string | undefined, dest: string): Promise<Source> {
    const resp = await fetch(url, { signal: this.o.signal ?? null }).catch((err: unknown) => {
      throw invalid(`failed to fetch ${url}: ${messageOf(err)}`);
    });
    if (!resp.ok) throw invalid(`failed to GET ${url} with status ${resp.status} ${resp.statusText}`);
    const body = Buffer.from(await resp.arrayBuffer());
    if (checksum) {
      const got = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      if (got !== checksum) throw invalid(`digest mismatch ${got}: ${checksum}`);
    }
    const name = dest.endsWith('/') ? path.posix.basename(new URL(url).pathname) || 'download' : path.posix.basename(dest);
    const dir = path.join(tmp, `url-${randomBytes(4).toString('hex')}`);
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, name);
    await fs.writeFile(file, body, { mode: 0o600 });
    const lm = resp.headers.get('last-modified');
    if (lm && !Number.isNaN(Date.parse(lm))) await fs.utimes(file, new Date(lm), new Date(lm));
    return { host: file, rel: name };
  }

  /** Packs an overlay upper directory into a layer (content store + unpacked layer). */
  private async commitLayer(upper: string, st: StageState, alsoOmit: ReadonlySet<string> = new Set(), adopt = false): Promise<{ diffId: string }> {
    const parent = st.image?.chainIds[st.image.chainIds.length - 1];
    return this.d.snapshots.commit(parent, upper, { clampMtime: st.epoch, omit: alsoOmit, adopt });
  }

}

/**
 * What runc created in the upper dir only to mount a RUN's --mount targets over: the targets
 * themselves and the parent directories that hold nothing else. Never part of the layer.
 */
async function mountArtifacts(upper: string, targets: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const t of targets) {
    let rel = path.posix.normalize(t).replace(/^\/+/, '');
    if (rel === '' || rel === '.') continue;
    out.add(rel);
    for (rel = path.posix.dirname(rel); rel !== '.' && rel !== ''; rel = path.posix.dirname(rel)) {
      const entries = await fs.readdir(path.join(upper, rel)).catch(() => undefined);
      if (!entries || entries.some((e) => !out.has(`${rel}/${e}`))) break;
      out.add(rel);
    }
  }
  return out;
}

/** A regular file whose first bytes are a tar or a compressed stream (ADD unpacks it; directories never). */
async function isArchive(file: string): Promise<boolean> {
  const st = await fs.lstat(file);
  if (!st.isFile()) return false;
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    if (bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return true;
    if (bytesRead >= 3 && buf.subarray(0, 3).toString('latin1') === 'BZh') return true;
    if (bytesRead >= 6 && buf.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
    if (bytesRead >= 4 && buf.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return true;
    return bytesRead >= 262 && buf.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await fh.close();
  }
}

/** A step image's `container_config`: the config with the step's command, as the classic builder records it. */
function stepContainerConfig(config: RunConfig | undefined, createdBy: string, cmd?: string[]): RunConfig {
  return { ...(config ?? {}), Cmd: cmd ?? ['/bin/sh', '-c', createdBy.replace(/^\/bin\/sh -c /, '')] };
}

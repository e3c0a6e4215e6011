/**
 * The Dockerfile builder (classic builder semantics: one image per instruction, each RUN in a real
 * container). Stages the target needs are built, independent ones concurrently; each step looks
 * for a cached child image (same parent, same cache key) before running. Layers are reproducible:
 * config and history times are the build epoch (SOURCE_DATE_EPOCH, else the base image's
 * creation time) and file times in new layers are clamped to it.
 *
 * This file is the stage loop; the step kinds are metadata.ts, run.ts and copy.ts, the step
 * images steps.ts, the build cache cache.ts. Layers are reached only through the Snapshotter.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Job } from '../distribution/service.js';
import type { AuthConfig } from '../distribution/types.js';
import { invalid, notFound } from '../lib/errors.js';
import { shortId } from '../lib/ids.js';
import { readFileInRoot } from '../lib/rootfs.js';
import { parseReference, type Reference } from '../images/reference.js';
import type { Image } from '../images/types.js';
import type { Snapshotter } from '../snapshots/snapshotter.js';
import { BuildCache, StepCache, type CacheImageStore } from './cache.js';
import { copyStep } from './copy.js';
import { parseDockerfile, parseError, parseInstructionText, type Instruction, type ParsedDockerfile, type Stage } from './dockerfile.js';
import { applyMetadata, type MetadataDeps } from './metadata.js';
import type { BuildOptions, BuildResult, BuildSink } from './request.js';
import { runStep, type RunStepDeps, type StepContainers } from './run.js';
import { expandPairs, expandWord } from './shell.js';
import { DEFAULT_PATH, clone, type Cleanups, type StageRoots, type StageState } from './stage.js';
import { Steps, type StepImageStore } from './steps.js';

/** The image service as the builder uses it. */
export interface BuildImages {
  store: CacheImageStore & StepImageStore;
  tag(id: string, ref: string): Promise<unknown>;
  /** Removes a build-cache image (no event, as dockerd's build-cache pruning publishes none). */
  removeBuildCache(id: string): Promise<string[]>;
}

/** The registry client as FROM pulls a base image through it. */
export interface BuildDistribution {
  preparePull(ref: Reference, o: { auth?: AuthConfig | undefined; signal?: AbortSignal | undefined }): Promise<Job>;
}

export interface BuildDeps {
  images: BuildImages;
  containers: StepContainers & { usersOf(imageId: string): readonly unknown[] };
  layers: { get(chainId: string): Promise<{ size: number } | undefined> };
  snapshots: Snapshotter;
  distribution?: BuildDistribution;
  /** Scratch space for build steps (under the exec root). */
  workDir: string;
  /** Persistent `RUN --mount=type=cache` directories (under the data root). */
  cacheMountDir: string;
  /** Build cache cap in bytes (0: none): after each build the oldest unused step images go. */
  keepStorage?: number;
  /** Scratch on the data root's file system: COPY/ADD upper dirs, which become layers by rename. */
  diskWorkDir: string;
}

/** ARGs every build may set without declaring them (they never reach the image). */
const BUILTIN_ARGS = new Set([
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
  'SOURCE_DATE_EPOCH',
]);
const PLATFORM_ARGS: Record<string, string> = {
  TARGETPLATFORM: 'linux/amd64',
  TARGETOS: 'linux',
  TARGETARCH: 'amd64',
  TARGETVARIANT: '',
  BUILDPLATFORM: 'linux/amd64',
  BUILDOS: 'linux',
  BUILDARCH: 'amd64',
  BUILDVARIANT: '',
};

export class Builder {
  private readonly cache: BuildCache;

  constructor(private readonly d: BuildDeps) {
    this.cache = new BuildCache({
      store: d.images.store,
      removeBuildCache: (id) => d.images.removeBuildCache(id),
      usersOf: (id) => d.containers.usersOf(id),
      layer: (chainId) => d.layers.get(chainId),
      layerDir: (chainId) => d.snapshots.lowers([chainId])[0] as string,
      cacheMountDir: d.cacheMountDir,
      ...(d.keepStorage !== undefined ? { keepStorage: d.keepStorage } : {}),
    });
  }

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

  /** Keeps the build cache under `keepStorage` (see cache.ts); the number of step images removed. */
  enforceCap(): Promise<number> {
    return this.cache.enforceCap();
  }

  /** The build cache for `/system/df`. */
  cacheUsage(): Promise<Array<Record<string, unknown>>> {
    return this.cache.usage();
  }

  /** `builder prune` (see cache.ts). */
  prune(o: { all: boolean; filters: Map<string, string[]> }): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
    return this.cache.prune(o);
  }
}

/** One build: the stage graph, the FROM of each stage, the dispatch of its instructions. */
class BuildRun implements StageRoots {
  private readonly stageResults = new Map<number, Promise<StageState>>();
  private readonly steps = new Map<Instruction, number>();
  private total = 0;
  private readonly usedArgs = new Set<string>();
  private readonly globals = new Map<string, string>();
  private readonly recorder: Steps;
  private readonly metadataDeps: MetadataDeps;
  private readonly runDeps: RunStepDeps;

  constructor(
    private readonly d: BuildDeps,
    private readonly df: ParsedDockerfile,
    private readonly context: string,
    private readonly o: BuildOptions,
    private readonly out: BuildSink,
  ) {
    this.recorder = new Steps({ store: d.images.store, cache: new StepCache(d.images.store, o), snapshots: d.snapshots, out });
    this.metadataDeps = { steps: this.recorder, escape: df.escape, buildArgs: o.buildArgs, usedArgs: this.usedArgs, globals: this.globals };
    this.runDeps = {
      containers: d.containers,
      steps: this.recorder,
      roots: this,
      out,
      options: o,
      contextDir: context,
      workDir: d.workDir,
      cacheMountDir: d.cacheMountDir,
    };
  }

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
      const auth = this.o.auth ?? (await this.o.registryAuth?.(ref.domain));
      const job = await this.d.distribution.preparePull(ref, { auth, signal: this.o.signal });
      await job.run({ write: (m: unknown) => this.out.message(m) });
    } catch (err) {
      if (local) return local;
      throw err;
    }
    const img = store.find(name);
    if (!img) throw notFound(`No such image: ${name}`);
    return img;
  }

  private async apply(st: StageState, ins: Instruction, s: Stage): Promise<void> {
    switch (ins.cmd) {
      case 'RUN':
        await runStep(this.runDeps, st, ins, s);
        return;
      case 'COPY':
      case 'ADD':
        await copyStep(
          {
            snapshots: this.d.snapshots,
            steps: this.recorder,
            roots: this,
            escape: this.df.escape,
            contextDir: this.context,
            diskWorkDir: this.d.diskWorkDir,
            signal: this.o.signal,
          },
          st,
          ins,
          s,
        );
        return;
      default:
        await applyMetadata(this.metadataDeps, st, ins);
    }
  }

  /** A read-only view of a stage's or image's filesystem for COPY --from and bind mounts. */
  async readRoot(from: string, s: Stage, cleanups: Cleanups): Promise<string> {
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
}

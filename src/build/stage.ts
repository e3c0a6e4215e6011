/**
 * What the step kinds (metadata.ts, run.ts, copy.ts) share: a stage's evolving state, the
 * interfaces through which a step records its image and reads other stages, and small helpers.
 */
import type { Image, ImageConfig, RunConfig } from '../images/types.js';
import { parseGoDuration } from '../lib/duration.js';
import { invalid } from '../lib/errors.js';
import type { Stage } from './dockerfile.js';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** A stage as it is being built: its latest image, config and ARGs. */
export interface StageState {
  image?: Image;
  config: ImageConfig;
  args: Map<string, string>;
  cmdSet: boolean;
  epoch: Date;
}

/** A step as its image records it (and as `--cache-from` images are matched against). */
export interface StepRecord {
  createdBy: string;
  config?: RunConfig;
  cmd?: string[];
}

/** Clean-up actions a step registers; run in reverse order when it ends. */
export type Cleanups = Array<() => Promise<void>>;

/**
 * How a step commits its result (steps.ts implements it): the cache key, a cache hit, a new
 * step image, a layer from an upper dir.
 */
export interface StepRecorder {
  /** The cache key of a step on top of the stage's current image and config. */
  key(st: StageState, parts: unknown[]): string;
  /** Takes a cached image for the step into `st` (and says so in the output); false on a miss. */
  useCache(st: StageState, key: string, step: StepRecord): Promise<boolean>;
  /** Commits the stage's config (and the layer, when given) as the next step image. */
  commit(st: StageState, createdBy: string, key: string, layer?: { diffId: string }, stepCmd?: string[]): Promise<void>;
  /** Packs an overlay upper directory into a layer on top of the stage's image. */
  commitLayer(upper: string, st: StageState, alsoOmit?: ReadonlySet<string>, adopt?: boolean): Promise<{ diffId: string }>;
}

/** Read-only views of other stages and images (COPY --from, RUN --mount from=); the stage loop implements it. */
export interface StageRoots {
  /** A read-only view of `from` (a stage name or index, or an image) for stage `s`; released by `cleanups`. */
  readRoot(from: string, s: Stage, cleanups: Cleanups): Promise<string>;
}

export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export function envMap(env: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env) {
    const i = e.indexOf('=');
    if (i > 0) m.set(e.slice(0, i), e.slice(i + 1));
  }
  return m;
}

export function setEnv(env: string[], key: string, value: string): string[] {
  return [...env.filter((e) => !e.startsWith(`${key}=`) && e !== key), `${key}=${value}`];
}

/** Variables visible to an instruction: the image's ENV, then the stage's ARGs. */
export function stageVars(st: StageState): Map<string, string> {
  const m = envMap(st.config.config?.Env ?? []);
  for (const [k, v] of st.args) if (!m.has(k)) m.set(k, v);
  return m;
}

/** Go duration ("30s", "1m30s", "500ms") → nanoseconds (unsigned), with the flag in the error. */
export function durationNs(s: string, flag: string): number {
  try {
    if (!/^[+-]/.test(s)) return parseGoDuration(s);
  } catch {
    // worded below, with the flag
  }
  throw invalid(`time: invalid duration "${s}" for --${flag}`);
}

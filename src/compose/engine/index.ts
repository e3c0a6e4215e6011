/**
 * The compose engine: what `berth compose` (src/cli/compose*.ts) and the web dashboard drive.
 * Every function takes an EngineClient and a loaded Project (or a project name, for the
 * commands that work from labels) and reports progress through a ProgressSink.
 */
export { up, projectImages, replicaName, type UpOptions, type UpResult } from './up.js';
export { down, type DownOptions } from './down.js';
export { createOneoff, type RunOptions } from './run.js';
export * as ops from './ops.js';
export type { PsRow, ProjectRow, ImageRow, Target } from './ops.js';
export { streamLogs, PrefixWriter, type LogSink, type LogOptions } from './logs.js';
export { ensureImages, buildService, pullImage, pushImage, imageId } from './images.js';
export { projectContainers, nameOf, serviceOf } from './containers.js';
export { toContainer, imageName, composeLabels } from './convert.js';
export { serviceHash, canonicalJson } from './hash.js';
export { levels, withDependencies, dependencies } from './plan.js';
export { writerProgress, silentProgress, type ProgressEvent, type ProgressSink } from './progress.js';
export * as labels from './labels.js';

/**
 * buildx (../shared/tools/buildx/docker-buildx, v0.10.5) as a docker CLI plugin for tests: a
 * DOCKER_CONFIG of its own with `cli-plugins/docker-buildx`, as ../shared/tools/README.md
 * installs it for one command, and a writer of build contexts. Missing tools fail, not skip.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DOCKER, REPO, type RunOptions, type RunResult } from './daemon.js';

export const BUILDX = path.resolve(REPO, '../shared/tools/buildx/docker-buildx');

/** Anything with the docker CLI pointed at a daemon (TestDaemon, RefDockerd). */
export interface DockerRunner {
  docker(args: string[], o?: RunOptions): Promise<RunResult>;
}

/** The docker CLI with buildx installed, against one daemon. */
export type BuildxRunner = (args: string[], o?: RunOptions) => Promise<RunResult>;

/**
 * Makes `dir`/cli-plugins/docker-buildx and returns a runner of the docker CLI with
 * DOCKER_CONFIG=`dir` (120 s unless told otherwise).
 */
export function installBuildx(d: DockerRunner, dir: string): BuildxRunner {
  assert.ok(fs.existsSync(BUILDX), `buildx not found at ${BUILDX} (see ../shared/tools/README.md)`);
  assert.ok(fs.existsSync(DOCKER), `docker CLI not found at ${DOCKER}`);
  const plugin = path.join(dir, 'cli-plugins', 'docker-buildx');
  fs.mkdirSync(path.dirname(plugin), { recursive: true });
  fs.copyFileSync(BUILDX, plugin);
  fs.chmodSync(plugin, 0o755);
  return (args, o = {}) => d.docker(args, { timeout: 120_000, ...o, env: { DOCKER_CONFIG: dir, ...o.env } });
}

/** Writes the context directory `root`/`name` from a map of relative path → content (replacing an earlier one). */
export function writeContext(root: string, name: string, files: Record<string, string>): string {
  const dir = path.join(root, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

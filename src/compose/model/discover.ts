// Which files make a project and what it is called, as docker compose v2 decides: -f, else
// COMPOSE_FILE, else compose.yaml|compose.yml|docker-compose.yml|docker-compose.yaml in the working
// directory or its parents (plus the override file beside it); the name from -p,
// COMPOSE_PROJECT_NAME, `name:`, else the project directory's base name, normalised.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { invalid, notFound } from '../../lib/errors.js';

// in compose v2's order of preference (note .yml before .yaml for docker-compose and all overrides)
export const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
export const OVERRIDE_FILES = ['compose.override.yml', 'compose.override.yaml', 'docker-compose.override.yml', 'docker-compose.override.yaml'];

const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();

/** the default files of the nearest directory (cwd, then parents) that has one; `warn` hears about ignored candidates */
export function discoverFiles(cwd: string, warn: (msg: string) => void = () => {}): string[] {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const found = DEFAULT_FILES.map((f) => path.join(dir, f)).filter(isFile);
    const first = found[0];
    if (first !== undefined) {
      if (found.length > 1) warn(`Found multiple config files with supported names: ${found.join(', ')}\nUsing ${first}`);
      const overrides = OVERRIDE_FILES.map((f) => path.join(dir, f)).filter(isFile);
      if (overrides.length > 1) warn(`Found multiple override files with supported names: ${overrides.join(', ')}\nUsing ${overrides[0]}`);
      return overrides[0] === undefined ? [first] : [first, overrides[0]];
    }
    if (path.dirname(dir) === dir) break;
  }
  throw notFound('no configuration file provided: not found');
}

/** the compose files of a load: -f (relative to cwd; `-` is stdin), else COMPOSE_FILE, else discovery */
export function composeFiles(cwd: string, files: string[] | undefined, env: Record<string, string | undefined>, warn?: (msg: string) => void): string[] {
  if (files !== undefined && files.length > 0) return files.map((f) => (f === '-' ? '-' : path.resolve(cwd, f)));
  const fromEnv = env.COMPOSE_FILE;
  if (fromEnv !== undefined && fromEnv !== '') {
    const sep = env.COMPOSE_PATH_SEPARATOR ?? ':';
    return fromEnv
      .split(sep)
      .filter((f) => f !== '')
      .map((f) => path.resolve(cwd, f));
  }
  return discoverFiles(cwd, warn);
}

/** compose v2's normalisation of a name that was not given explicitly (the directory's base name) */
export function normalizeProjectName(name: string): string {
  return (name.toLowerCase().match(/[a-z0-9_-]/g) ?? []).join('').replace(/^[_-]+/, '');
}

/** an explicitly given name (-p, COMPOSE_PROJECT_NAME) must already be normal */
export function checkProjectName(name: string): string {
  if (name === '') throw invalid('project name must not be empty');
  if (normalizeProjectName(name) !== name) {
    throw invalid(
      `invalid project name ${JSON.stringify(name)}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`,
    );
  }
  return name;
}

/** -p, else COMPOSE_PROJECT_NAME (both must already be normal), else `name:` (normalised, as compose-go does), else the directory's base name (normalised) */
export function projectName(opts: { explicit?: string; env?: string; fromFile?: string; dir: string }): string {
  for (const n of [opts.explicit, opts.env]) if (n !== undefined && n !== '') return checkProjectName(n);
  const fromFile = normalizeProjectName(opts.fromFile ?? '');
  if (fromFile !== '') return fromFile;
  const name = normalizeProjectName(path.basename(opts.dir));
  if (name === '') throw invalid(`project name must not be empty (directory ${opts.dir})`);
  return name;
}

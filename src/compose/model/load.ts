// The loader: compose files and flags → the normalised Project (types.ts), as docker compose v2
// builds it. Pure: it reads files and creates nothing. Steps: files (discover.ts), .env and the
// environment, each file parsed/interpolated/validated/made canonical (source.ts), merged (merge.ts),
// `extends` (extends.ts), paths made absolute (paths.ts), `include` (include.ts), the merged model
// validated again, normalised (normalize.ts), profiles applied and consistency checked (checks.ts).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { invalid } from '../../lib/errors.js';
import { isMap, type Tree } from './canonical.js';
import { activeProfiles, checkExternal, checkServices, isEnabled } from './checks.js';
import { composeFiles, projectName } from './discover.js';
import { parseEnvFile } from './envfile.js';
import { applyExtends } from './extends.js';
import { applyIncludes } from './include.js';
import { interpolateString, type Lookup } from './interpolate.js';
import { mergeFiles, stripMarkers } from './merge.js';
import { failWith, normalizeFileObject, normalizeNetwork, normalizeService, normalizeVolume } from './normalize.js';
import { schemaError } from './parse.js';
import type { ParsedFile } from './parse.js';
import { resolveTreePaths } from './paths.js';
import { loadSource, Locator, type SourceFile } from './source.js';
import type { FileObject, LoadOptions, Network, Project, Service, Volume } from './types.js';

export type { LoadOptions, Project } from './types.js';

interface RawModel {
  tree: Tree;
  files: ParsedFile[];
}

/** read env files in order (later ones win); a bare KEY takes the process environment's value; values are interpolated (process environment first, then the values read before) */
export function readEnvFiles(files: string[], env: Record<string, string | undefined>, required: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) {
    if (!existsSync(f)) {
      if (required) throw invalid(`couldn't find env file: ${f}`);
      continue;
    }
    const lookup = (n: string): string | undefined => env[n] ?? out[n];
    const expand = (v: string, soFar: Readonly<Record<string, string>>): string => interpolateString(v, (n) => env[n] ?? soFar[n] ?? out[n]);
    Object.assign(out, parseEnvFile(f, readFileSync(f, 'utf8'), lookup, expand));
  }
  return out;
}

class Loader {
  private readonly warned = new Set<string>();

  constructor(
    private readonly home: string | undefined,
    private readonly warn: (msg: string) => void,
    private readonly stdin: () => string,
  ) {}

  private missing = (name: string): void => {
    if (this.warned.has(name)) return;
    this.warned.add(name);
    this.warn(`The "${name}" variable is not set. Defaulting to a blank string.`);
  };

  source(file: string, lookup: Lookup, cache: Map<string, SourceFile>): SourceFile {
    const cached = cache.get(file);
    if (cached !== undefined) return cached;
    if (file !== '-' && !existsSync(file)) throw invalid(`open ${file}: no such file or directory`);
    const text = file === '-' ? this.stdin() : readFileSync(file, 'utf8');
    const src = loadSource(file, text, lookup, this.missing);
    if ('version' in src.tree) {
      this.warn(`${file}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`);
      delete src.tree.version;
    }
    cache.set(file, src);
    return src;
  }

  raw(files: string[], projectDir: string, lookup: Lookup, chain: string[]): RawModel {
    // one cache per (sub-)project: its files are interpolated with its own variables
    const cache = new Map<string, SourceFile>();
    const sources = files.map((f) => this.source(f, lookup, cache));
    const locator = new Locator(sources.map((s) => s.parsed));
    let tree = stripMarkers(sources[0]?.tree ?? {}) as Tree;
    for (const s of sources.slice(1)) tree = mergeFiles(tree, s.tree);
    if (isMap(tree.services)) {
      tree.services = applyExtends(tree.services, { load: (f) => this.source(f, lookup, cache), locate: (at) => locator.locate(at), home: this.home });
    }
    tree = resolveTreePaths(tree, projectDir, this.home);
    tree = applyIncludes(tree, {
      chain: [...chain, ...files],
      locate: (at) => locator.locate(at),
      loadSub: (subFiles, subDir, envFiles, subChain) => {
        const subEnv = readEnvFiles(envFiles ?? [path.join(subDir, '.env')], {}, envFiles !== undefined);
        const sub = this.raw(subFiles, subDir, (n) => lookup(n) ?? subEnv[n], subChain);
        locator.files.push(...sub.files);
        return sub.tree;
      },
    });
    return { tree, files: locator.files };
  }
}

/** load a project the way `docker compose` does for the given flags and environment */
export async function loadProject(opts: LoadOptions = {}): Promise<Project> {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const procEnv = opts.environment ?? process.env;
  const warn = opts.warn ?? (() => {});
  const envFiles = opts.envFiles?.map((f) => path.resolve(cwd, f));
  // COMPOSE_FILE (and COMPOSE_PATH_SEPARATOR) may come from the .env of the working (or given project) directory, as in v2
  const early =
    opts.files?.length || procEnv.COMPOSE_FILE !== undefined
      ? {}
      : readEnvFiles(envFiles ?? [path.join(path.resolve(cwd, opts.projectDirectory ?? '.'), '.env')], procEnv, false);
  const files = composeFiles(cwd, opts.files, { ...early, ...procEnv }, warn);
  const first = files[0] as string;
  const projectDir = opts.projectDirectory !== undefined ? path.resolve(cwd, opts.projectDirectory) : first === '-' ? cwd : path.dirname(first);
  const dotenv = readEnvFiles(envFiles ?? [path.join(projectDir, '.env')], procEnv, envFiles !== undefined);
  const env: Record<string, string> = { ...dotenv };
  for (const [k, v] of Object.entries(procEnv)) if (v !== undefined) env[k] = v;
  const lookup: Lookup = (n) => env[n];
  const loader = new Loader(env.HOME, warn, () => opts.stdin ?? readFileSync(0, 'utf8'));
  const raw = loader.raw(files, projectDir, lookup, []);
  const locator = new Locator(raw.files);
  const tree = raw.tree;

  const bad = schemaError(tree);
  if (bad !== undefined) throw locator.error(bad.at, bad.what, bad.field);

  const name = projectName({
    explicit: opts.projectName,
    env: env.COMPOSE_PROJECT_NAME,
    fromFile: typeof tree.name === 'string' ? tree.name : undefined,
    dir: projectDir,
  });
  const fail = failWith((at, what, field) => locator.error(at, what, field));
  const raws: Record<string, Tree> = {};
  const profiled: Record<string, { profiles?: string[] }> = {};
  for (const [svcName, svc] of Object.entries(isMap(tree.services) ? tree.services : {})) {
    raws[svcName] = isMap(svc) ? svc : {};
    profiled[svcName] = { profiles: Array.isArray(raws[svcName].profiles) ? raws[svcName].profiles.map(String) : undefined };
  }
  const profiles = opts.profiles ?? (env.COMPOSE_PROFILES ?? '').split(',');
  const active = activeProfiles(profiles, profiled, opts.enableServices ?? []);
  const services: Record<string, Service> = {};
  const disabledServices: Record<string, Service> = {};
  for (const [svcName, raw] of Object.entries(raws)) {
    const enabled = isEnabled(profiled[svcName] ?? {}, active);
    const s = normalizeService(svcName, raw, { project: name, lookup, fail, readFiles: enabled });
    (enabled ? services : disabledServices)[svcName] = s;
  }

  const section = (k: string): Tree => (isMap(tree[k]) ? tree[k] : {});
  const problem = checkServices(services, disabledServices, {
    networks: section('networks'),
    volumes: section('volumes'),
    secrets: section('secrets'),
    configs: section('configs'),
  });
  if (problem !== undefined) throw locator.error(problem.at, problem.what);
  const external = checkExternal('networks', section('networks')) ?? checkExternal('volumes', section('volumes'));
  if (external !== undefined) throw locator.error(external.at, external.what);

  const networks: Record<string, Network> = {};
  for (const [k, v] of Object.entries(section('networks'))) networks[k] = normalizeNetwork(name, k, isMap(v) ? v : {});
  if (networks.default === undefined && Object.values(services).some((s) => 'default' in s.networks))
    networks.default = { name: `${name}_default`, labels: {} };
  const volumes: Record<string, Volume> = {};
  for (const [k, v] of Object.entries(section('volumes'))) volumes[k] = normalizeVolume(name, k, isMap(v) ? v : {});
  const objects = (k: string): Record<string, FileObject> => {
    const out: Record<string, FileObject> = {};
    for (const [key, v] of Object.entries(section(k))) out[key] = normalizeFileObject(name, key, isMap(v) ? v : {});
    return out;
  };
  const extensions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tree)) if (k.startsWith('x-')) extensions[k] = v;
  return {
    name,
    workingDir: projectDir,
    files: raw.files.slice(0, files.length).map((f) => f.file),
    services,
    networks,
    volumes,
    configs: objects('configs'),
    secrets: objects('secrets'),
    disabledServices,
    extensions,
    environment: env,
  };
}

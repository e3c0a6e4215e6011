/**
 * A project's images: present, pulled (per pull_policy) or built through POST /build with a tar
 * of the build context (.dockerignore applied) — the engine's side of `up`, `pull`, `build`,
 * `push`.
 */
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { Readable } from 'node:stream';
import { ApiError } from '../../client/errors.js';
import type { EngineClient } from '../../client/client.js';
import { readJsonStream, type JsonMessage } from '../../client/stream.js';
import { cleanRel, isIgnored, parseIgnore } from '../../build/ignore.js';
import { packPath } from '../../lib/tarpack.js';
import * as tarStream from 'tar-stream';
import { invalid, notFound, system } from '../../lib/errors.js';
import type { Project, Service } from '../model/types.js';
import { imageName } from './convert.js';
import type { ProgressSink } from './progress.js';

/** Splits `name[:tag]` / `name@digest` for /images/create (a port in the registry is not a tag). */
export function splitReference(ref: string): { image: string; tag: string | undefined } {
  const at = ref.indexOf('@');
  if (at >= 0) return { image: ref.slice(0, at), tag: ref.slice(at + 1) };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { image: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { image: ref, tag: 'latest' };
}

/** The image's ID, or undefined when the engine does not have it. */
export async function imageId(client: EngineClient, ref: string): Promise<string | undefined> {
  try {
    return (await client.imageInspect(ref)).Id;
  } catch (e) {
    if (e instanceof ApiError && e.statusCode === 404) return undefined;
    throw e;
  }
}

/** Reads a JSON message stream to its end; an error message fails it. */
async function drain(res: Readable, onMessage: (m: JsonMessage) => void = () => undefined): Promise<void> {
  for await (const m of readJsonStream<JsonMessage>(res)) {
    if (m.error || m.errorDetail?.message) throw system(m.errorDetail?.message ?? m.error ?? 'error');
    onMessage(m);
  }
}

/** The X-Registry-Auth header for a reference (the CLI reads the docker config's credentials). */
export type RegistryAuth = (ref: string) => Promise<string | undefined>;

export async function pullImage(client: EngineClient, ref: string, platform?: string, auth?: RegistryAuth): Promise<void> {
  const { image, tag } = splitReference(ref);
  const res = await client.imagePull({ image, tag, platform, auth: await auth?.(ref) });
  await drain(res);
}

export async function pushImage(client: EngineClient, ref: string, auth?: string): Promise<void> {
  const { image, tag } = splitReference(ref);
  await drain(await client.imagePush(image, { tag, auth }));
}

async function contextTar(dir: string, dockerfile: string | undefined, inline: string | undefined): Promise<{ body: Readable; dockerfile: string }> {
  const st = await fsp.stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw invalid(`build path ${dir} either does not exist, is not accessible, or is not a valid URL.`);
  const dfRel = cleanRel(dockerfile ?? 'Dockerfile');
  let ignoreText = '';
  for (const name of [nodePath.join(dir, `${dfRel}.dockerignore`), nodePath.join(dir, '.dockerignore')]) {
    ignoreText = await fsp.readFile(name, 'utf8').catch(() => '');
    if (ignoreText) break;
  }
  const rules = parseIgnore(ignoreText);
  const keep = new Set([dfRel, '.dockerignore']);
  const tar = packPath(dir, {
    rename: '',
    omit: (name) => isIgnored(rules, name) && !keep.has(name) && !rules.some((r) => r.exclusion && r.pattern.startsWith(`${name}/`)),
  });
  const outside = dockerfile !== undefined && nodePath.isAbsolute(dockerfile) && nodePath.relative(dir, dockerfile).startsWith('..');
  if (inline === undefined && !outside) return { body: tar, dockerfile: dfRel };
  // an inline Dockerfile, or one outside the context, travels inside it under a name of its own
  const bytes = inline !== undefined ? Buffer.from(inline) : await fsp.readFile(dockerfile as string);
  const name = `.dockerfile.compose-${Date.now().toString(36)}`;
  const extract = tarStream.extract();
  const pack = tarStream.pack();
  extract.on('entry', (header, stream, next) => stream.pipe(pack.entry(header, next)));
  extract.on('finish', () => {
    pack.entry({ name, mode: 0o600, mtime: new Date() }, bytes);
    pack.finalize();
  });
  tar.pipe(extract);
  return { body: pack as unknown as Readable, dockerfile: name };
}

export interface BuildOptions {
  noCache?: boolean;
  pull?: boolean;
  args?: Record<string, string>;
  /** build output lines (the daemon's `stream` messages) */
  onOutput?: (line: string) => void;
}

/** Builds a service's image; resolves with the image ID. */
export async function buildService(client: EngineClient, project: Project, s: Service, o: BuildOptions = {}): Promise<string> {
  const b = s.build;
  if (!b) throw invalid(`service "${s.name}" has no build section`);
  if (/^(https?|git):\/\//.test(b.context) || b.context.startsWith('git@')) throw invalid(`service "${s.name}": remote build contexts are not supported yet`);
  const ctx = await contextTar(b.context, b.dockerfile, b.dockerfile_inline);
  const tags = [imageName(project, s), ...(b.tags ?? [])];
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(b.args)) if (v !== null) args[k] = v;
  Object.assign(args, o.args ?? {});
  const headers: Record<string, string> = { 'Content-Type': 'application/x-tar' };
  if (b.secrets?.length) {
    const secrets: Record<string, string> = {};
    for (const ref of b.secrets) {
      const top = project.secrets[ref.source];
      if (!top) throw invalid(`build of service "${s.name}" refers to undefined secret ${ref.source}`);
      const content = top.file
        ? await fsp.readFile(top.file)
        : Buffer.from(top.environment ? ((project.environment ?? process.env)[top.environment] ?? '') : (top.content ?? ''));
      secrets[ref.source] = content.toString('base64');
    }
    headers['X-Berth-Build-Secrets'] = Buffer.from(JSON.stringify(secrets)).toString('base64');
  }
  const res = await client.request({
    method: 'POST',
    path: '/build',
    query: {
      t: tags,
      dockerfile: ctx.dockerfile,
      target: b.target,
      nocache: o.noCache || b.no_cache,
      pull: o.pull || b.pull,
      rm: '1',
      networkmode: b.network,
      shmsize: b.shm_size,
      extrahosts: b.extra_hosts?.join(','),
      platform: b.platforms?.[0] ?? s.platform,
      buildargs: JSON.stringify(args),
      labels: JSON.stringify(b.labels ?? {}),
      cachefrom: JSON.stringify(b.cache_from ?? []),
    },
    body: ctx.body,
    headers,
  });
  let id = '';
  await drain(res, (m) => {
    const aux = m.aux as { ID?: string } | undefined;
    if (aux?.ID) id = aux.ID;
    if (m.stream) for (const l of m.stream.split('\n')) if (l.trim()) o.onOutput?.(l);
  });
  if (!id) id = (await imageId(client, tags[0] as string)) ?? '';
  if (!id) throw notFound(`build of service "${s.name}" produced no image`);
  return id;
}

export interface EnsureImagesOptions {
  build?: boolean;
  noBuild?: boolean;
  pull?: 'always' | 'missing' | 'never' | undefined;
  quietPull?: boolean;
  progress: ProgressSink;
  onBuildOutput?: (service: string, line: string) => void;
  registryAuth?: RegistryAuth;
}

/** Makes every service's image present; resolves with service → image ID. */
export async function ensureImages(client: EngineClient, project: Project, services: string[], o: EnsureImagesOptions): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  // pulls first (in parallel, once per reference), then builds one by one as v2's classic builder does
  const pulls = new Map<string, Service[]>();
  const builds: Service[] = [];
  for (const n of services) {
    const s = project.services[n] as Service;
    const ref = imageName(project, s);
    const policy = o.pull ?? s.pull_policy ?? 'missing';
    if (s.build && (o.build || policy === 'build')) {
      builds.push(s);
      continue;
    }
    const have = policy === 'always' ? undefined : await imageId(client, ref);
    if (have) {
      ids.set(n, have);
      continue;
    }
    if (s.build && !o.noBuild && policy !== 'always') builds.push(s);
    else if (policy === 'never') throw notFound(`No such image: ${ref}`);
    else pulls.set(ref, [...(pulls.get(ref) ?? []), s]);
  }
  await Promise.all(
    [...pulls].map(async ([ref, ss]) => {
      for (const s of ss) o.progress({ kind: 'Image', name: ref, status: 'Pulling', done: false, ...(s ? {} : {}) });
      try {
        await pullImage(client, ref, ss[0]?.platform, o.registryAuth);
      } catch (e) {
        o.progress({ kind: 'Image', name: ref, status: 'Error', done: true, error: true, text: (e as Error).message });
        throw e;
      }
      o.progress({ kind: 'Image', name: ref, status: 'Pulled', done: true });
      const id = await imageId(client, ref);
      for (const s of ss) if (id) ids.set(s.name, id);
    }),
  );
  for (const s of builds) {
    const ref = imageName(project, s);
    o.progress({ kind: 'Service', name: s.name, status: 'Building', done: false });
    const id = await buildService(client, project, s, { onOutput: (l) => o.onBuildOutput?.(s.name, l) });
    ids.set(s.name, id);
    o.progress({ kind: 'Service', name: s.name, status: 'Built', done: true, text: ref === s.image ? '' : '' });
  }
  return ids;
}

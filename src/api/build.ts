/** /build and /build/prune: HTTP ⇄ the builder (classic builder stream, as the docker CLI reads it). */
import { familiarName, parseReference } from '../images/reference.js';
import { BuildStepError, type BuildOptions, type BuildResult, type BuildSink } from '../build/request.js';
import { prepareContext } from '../build/context.js';
import type { HostConfig } from '../containers/types.js';
import { decodeAuthHeader } from '../distribution/types.js';
import { invalid, messageOf } from '../lib/errors.js';
import { shortId } from '../lib/ids.js';
import { parseFilters } from '../lib/filters.js';
import { boolParam, sendError, sendJSON, type Ctx, type Router } from './router.js';
import { openJsonStream } from './streams.js';
import { jsonParamTypeError, parseJSONValue } from './validate.js';

/** The builder as the build routes call it (build/builder.ts's Builder). */
export interface BuildBackend {
  build(contextDir: string, o: BuildOptions, out: BuildSink): Promise<BuildResult>;
  prune(o: { all: boolean; filters: Map<string, string[]> }): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }>;
}

/** BuildKit builds for API clients (`version=2`, buildkit/sessionbuild.ts's SessionBuilds). */
export interface SessionBuildBackend {
  build(r: { sessionId: string; contextDir?: string; opts: BuildOptions; onStatus(msg: Buffer): void; signal: AbortSignal }): Promise<BuildResult>;
}

export interface BuildApiDeps {
  builder: BuildBackend;
  workDir: string;
  sessionBuilds: SessionBuildBackend;
}

/**
 * A JSON query parameter as dockerd decodes it: Go's texts (after dockerd's prefix for the
 * parameter) for bad JSON or a value of the wrong kind; `null` is the fallback.
 */
function jsonParam<T>(q: URLSearchParams, name: string, fallback: T, shape: 'map' | 'nullable-map' | 'list', prefix: string): T {
  const v = q.get(name);
  if (v === null || v === '') return fallback;
  const fail = (msg: string): never => {
    throw invalid(`${prefix}${msg}`);
  };
  let parsed: unknown;
  try {
    parsed = parseJSONValue(v);
  } catch (err) {
    return fail(messageOf(err));
  }
  if (parsed === null) return fallback;
  if (shape === 'list') {
    if (!Array.isArray(parsed)) return fail(jsonParamTypeError(parsed, '[]string'));
    for (const x of parsed) if (typeof x !== 'string' && x !== null) fail(jsonParamTypeError(x, 'string'));
    return (parsed as (string | null)[]).map((x) => x ?? '') as T;
  }
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    return fail(jsonParamTypeError(parsed, shape === 'map' ? 'map[string]string' : 'map[string]*string'));
  const out: Record<string, string | null> = {};
  for (const [k, x] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof x !== 'string' && x !== null) fail(jsonParamTypeError(x, 'string'));
    out[k] = x === null ? (shape === 'map' ? '' : null) : (x as string);
  }
  return out as T;
}

function numParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw invalid(`invalid ${name} parameter: ${v}`);
  return Number(v);
}

/** Build options from the query the docker CLI sends (validated before any byte of context is read). */
export function buildOptionsFromQuery(q: URLSearchParams, headers: Record<string, string | string[] | undefined>): BuildOptions {
  const hostConfig: Partial<HostConfig> = {};
  const set = (k: keyof HostConfig, v: number | string | undefined): void => {
    if (v !== undefined && v !== 0 && v !== '') (hostConfig as Record<string, unknown>)[k] = v;
  };
  set('Memory', numParam(q, 'memory'));
  set('MemorySwap', numParam(q, 'memswap'));
  set('CpuShares', numParam(q, 'cpushares'));
  set('CpuPeriod', numParam(q, 'cpuperiod'));
  set('CpuQuota', numParam(q, 'cpuquota'));
  set('ShmSize', numParam(q, 'shmsize'));
  set('CpusetCpus', q.get('cpusetcpus') ?? undefined);
  // `--add-host` (docker CLI) and docker-py's extra_hosts: one `extrahosts=host:ip` each, for
  // the RUN containers' /etc/hosts.
  const extraHosts = q.getAll('extrahosts').filter(Boolean);
  if (extraHosts.length > 0) hostConfig.ExtraHosts = extraHosts;
  const secretsHeader = headers['x-berth-build-secrets'];
  const secrets: Record<string, Buffer> = {};
  if (typeof secretsHeader === 'string' && secretsHeader !== '') {
    let decoded: Record<string, string>;
    try {
      decoded = JSON.parse(Buffer.from(secretsHeader, 'base64').toString('utf8')) as Record<string, string>;
    } catch {
      throw invalid('invalid X-Berth-Build-Secrets header');
    }
    for (const [k, v] of Object.entries(decoded)) secrets[k] = Buffer.from(v, 'base64');
  }
  const buildArgs = jsonParam<Record<string, string | null>>(q, 'buildargs', {}, 'nullable-map', 'error reading build args: ');
  const labels = jsonParam<Record<string, string>>(q, 'labels', {}, 'map', 'error reading labels: ');
  const cacheFrom = jsonParam<string[]>(q, 'cachefrom', [], 'list', '');
  const networkMode = q.get('networkmode') || undefined;
  const auth = decodeAuthHeader(headers['x-registry-auth']);
  return {
    dockerfile: q.get('dockerfile') || 'Dockerfile',
    tags: q.getAll('t').filter(Boolean),
    buildArgs,
    labels,
    ...(q.get('target') ? { target: q.get('target') as string } : {}),
    noCache: boolParam(q, 'nocache'),
    remove: q.get('rm') === null ? true : boolParam(q, 'rm'),
    forceRemove: boolParam(q, 'forcerm'),
    pull: boolParam(q, 'pull'),
    ...(networkMode ? { networkMode } : {}),
    hostConfig,
    cacheFrom,
    secrets,
    ...(auth ? { auth } : {}),
  };
}

/**
 * A `version=2` build: the context from the body (or the session with `remote=client-session`),
 * the solve's Status messages base64 in `moby.buildkit.trace` aux messages and the image ID in
 * `moby.image.id`, as dockerd streams them.
 */
async function sessionBuild(ctx: Ctx, d: BuildApiDeps, sb: SessionBuildBackend, opts: BuildOptions, signal: AbortSignal): Promise<void> {
  const q = ctx.query;
  const res = ctx.res;
  if (!res) return;
  const remote = q.get('remote') ?? '';
  const context =
    remote === 'client-session'
      ? undefined
      : await prepareContext({ body: ctx.req, ...(remote ? { remote } : {}), dockerfile: opts.dockerfile, workDir: d.workDir });
  if (context) {
    opts.dockerfile = context.dockerfile;
    if (context.dockerfileText !== undefined) opts.dockerfileText = context.dockerfileText;
  }
  // Once the context is in, dockerd's answer is a 200 stream: a missing session or a failed
  // solve is its last message.
  const out = openJsonStream(res, { eol: '\r\n' });
  try {
    const result = await sb.build({
      sessionId: q.get('session') ?? '',
      ...(context ? { contextDir: context.dir } : {}),
      opts,
      onStatus: (msg) => out.write({ id: 'moby.buildkit.trace', aux: msg.toString('base64') }),
      signal,
    });
    out.write({ id: 'moby.image.id', aux: { ID: result.image.id } });
  } catch (err) {
    out.fail(err);
  } finally {
    await context?.dispose();
  }
  out.end();
}

export function registerBuildRoutes(r: Router, d: BuildApiDeps): void {
  r.add('POST', '/build', async (ctx) => {
    const q = ctx.query;
    const opts = buildOptionsFromQuery(q, ctx.req.headers);
    const quiet = boolParam(q, 'q');
    const res = ctx.res;
    if (!res) return;
    const ac = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) ac.abort();
    });
    opts.signal = ac.signal;
    if (q.get('version') === '2') {
      await sessionBuild(ctx, d, d.sessionBuilds, opts, ac.signal);
      return;
    }
    const context = await prepareContext({
      body: ctx.req,
      ...(q.get('remote') ? { remote: q.get('remote') as string } : {}),
      dockerfile: opts.dockerfile,
      workDir: d.workDir,
    });
    opts.dockerfile = context.dockerfile;
    if (context.dockerfileText !== undefined) opts.dockerfileText = context.dockerfileText;
    // The status goes out with the first message: an error before any output (an empty or
    // unparsable Dockerfile) is an HTTP error, as dockerd answers it; later ones go in the stream.
    const out = openJsonStream(res, { eol: '\r\n', lazy: true });
    const write = out.write;
    try {
      const result = await d.builder.build(context.dir, opts, {
        stream: (text) => {
          if (!quiet) write({ stream: text });
        },
        message: (m) => {
          if (!quiet) write(m);
        },
      });
      write({ aux: { ID: result.image.id } });
      if (quiet) write({ stream: `${result.image.id}\n` });
      else {
        write({ stream: `Successfully built ${shortId(result.image.id)}\n` });
        // dockerd names each tag in its familiar form with the default tag: `foo` → `foo:latest`
        for (const t of result.tags) write({ stream: `Successfully tagged ${familiarName(parseReference(t))}\n` });
      }
    } catch (err) {
      if (!out.started) {
        sendError(ctx, err);
        return;
      }
      out.fail(err, err instanceof BuildStepError ? err.code : undefined);
    } finally {
      await context.dispose();
    }
    out.end();
  });

  r.add('POST', '/build/prune', async (ctx) => {
    const filters = parseFilters(ctx.query.get('filters'));
    const all = boolParam(ctx.query, 'all');
    const result = await d.builder.prune({ all, filters });
    sendJSON(ctx, 200, result);
  });
}

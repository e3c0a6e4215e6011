/**
 * The Dockerfile frontend (`dockerfile.v0`) on Berth's builder: the Dockerfile, `.dockerignore`
 * and the build context come from the client's session by filesync (the context with the
 * ignore file's patterns as exclude patterns, so the client leaves those files out, as BuildKit
 * does), the frontend options become the builder's BuildOptions, and the builder's classic
 * output becomes the solve's vertexes.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BuildStepError, type BuildOptions, type BuildResult, type BuildSink } from '../build/request.js';
import { parseIgnore } from '../build/ignore.js';
import { invalid, notImplemented } from '../lib/errors.js';
import { readFileInRoot } from '../lib/rootfs.js';
import { sessionCredentials } from './auth.js';
import { cacheSources } from './cacheopts.js';
import { receiveDir } from './filesync.js';
import { classicSink, type Progress } from './progress.js';
import { fetchSecrets, secretIds } from './secrets.js';
import { sessionSshAgents } from './sshforward.js';
import type { Session } from './sessions.js';

/** The builder as the frontend runs it (build/builder.ts's Builder). */
export interface DockerfileBuilder {
  build(contextDir: string, o: BuildOptions, out: BuildSink): Promise<BuildResult>;
}

export interface FrontendDeps {
  builder: DockerfileBuilder;
  /** Scratch space for contexts (the builder's work dir, emptied at daemon start). */
  workDir: string;
}

/**
 * An error's message as BuildKit words it: a failed RUN is `process "…" did not complete
 * successfully: exit code: N`, a source COPY or ADD cannot find is `failed to compute cache key:
 * "/path" not found: not found`.
 */
export function buildkitMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof BuildStepError) {
    const m = /^The command '(.*)' returned a non-zero code: (\d+)$/s.exec(msg);
    if (m) return `process "${m[1] as string}" did not complete successfully: exit code: ${m[2] as string}`;
  }
  const nf = /^(?:COPY|ADD) failed: file not found in build context or excluded by \.dockerignore: stat (.*): file does not exist$/s.exec(msg);
  if (nf) return `failed to compute cache key: "${path.posix.join('/', nf[1] as string)}" not found: not found`;
  return msg;
}

/** The frontend names Berth answers; `# syntax=` images cannot be pulled here. */
export const DOCKERFILE_FRONTENDS = new Set(['dockerfile.v0']);

/**
 * The frontend image a Dockerfile asks for: its `# syntax=` directive (the leading comment lines of
 * the `# key=value` form, as BuildKit reads them) or the BUILDKIT_SYNTAX build argument, which wins.
 */
export function requestedSyntax(text: string, attrs: Record<string, string>): string | undefined {
  const arg = attrs['build-arg:BUILDKIT_SYNTAX'];
  if (arg) return arg.trim();
  for (const line of text.split('\n')) {
    const m = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) break;
    if ((m[1] as string).toLowerCase() === 'syntax') return m[2];
  }
  return undefined;
}

/** Docker's standard Dockerfile frontend images (any tag or digest), which the built-in frontend stands for. */
const STANDARD_FRONTEND = /^(?:docker\.io\/)?docker\/dockerfile(?:-upstream)?(?::[\w][\w.-]*)?(?:@sha256:[0-9a-f]{64})?$/;

/** Refuses a `# syntax=` naming a frontend other than Docker's standard one: no frontend image runs here. */
export function checkSyntax(syntax: string | undefined): void {
  if (syntax === undefined || syntax === '' || STANDARD_FRONTEND.test(syntax)) return;
  throw notImplemented(
    `frontend image ${syntax} (# syntax=) is not supported: Berth builds with its built-in Dockerfile frontend, which stands for docker/dockerfile only`,
  );
}

/** BuildKit's frontend options (`build-arg:X`, `label:X`, `target`, `no-cache`, …) as the builder's options. */
export function buildOptionsFromFrontend(attrs: Record<string, string>, dockerfile: string, dockerfileText: string): BuildOptions {
  const buildArgs: Record<string, string | null> = {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('build-arg:')) buildArgs[k.slice('build-arg:'.length)] = v;
    else if (k.startsWith('label:')) labels[k.slice('label:'.length)] = v;
  }
  const platform = attrs['platform'];
  if (platform && platform.split(',').some((p) => p !== 'linux/amd64' && p !== 'linux/x86_64')) {
    throw notImplemented(`platform ${platform} is not supported: Berth builds for the host platform (linux/amd64)`);
  }
  const net = attrs['force-network-mode'];
  const hostConfig: BuildOptions['hostConfig'] = {};
  const hosts = attrs['add-hosts'];
  if (hosts)
    hostConfig.ExtraHosts = hosts
      .split(',')
      .filter(Boolean)
      .map((h) => h.replace('=', ':'));
  return {
    dockerfile,
    dockerfileText,
    tags: [],
    buildArgs,
    labels,
    ...(attrs['target'] ? { target: attrs['target'] } : {}),
    noCache: attrs['no-cache'] !== undefined,
    remove: true,
    forceRemove: true,
    pull: attrs['image-resolve-mode'] === 'pull',
    ...(net && net !== 'default' && net !== 'sandbox' ? { networkMode: net } : {}),
    hostConfig,
    cacheFrom: cacheSources(attrs),
    cacheFromAdds: true,
    secrets: {},
  };
}

/** Makes a fresh scratch directory under the work dir. */
async function scratch(workDir: string, kind: string): Promise<string> {
  const dir = path.join(workDir, `bk-${kind}-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

const tryRead = (dir: string, rel: string): string | undefined => {
  try {
    return readFileInRoot(dir, rel).toString('utf8');
  } catch {
    return undefined;
  }
};

/** Runs a Dockerfile build for a solve: the session's files in, the built image out. */
export async function solveDockerfile(
  d: FrontendDeps,
  session: Session,
  attrs: Record<string, string>,
  progress: Progress,
  signal: AbortSignal,
): Promise<BuildResult> {
  if (attrs['context'] && !attrs['context'].startsWith('local://'))
    throw notImplemented(`build contexts other than the client's directory are not supported yet: ${attrs['context']}`);
  const filename = attrs['filename'] || 'Dockerfile';
  const dirs: string[] = [];
  try {
    const dfDir = await scratch(d.workDir, 'dockerfile');
    dirs.push(dfDir);
    const base = path.posix.basename(filename);
    const loadDf = progress.vertex(`[internal] load build definition from ${base}`).start();
    const got = await receiveDir(session, dfDir, { dirName: 'dockerfile', includePatterns: [base, `${base}.dockerignore`] });
    loadDf.status('transferring dockerfile:', got.bytes);
    const text = tryRead(dfDir, base);
    if (text === undefined) {
      const msg = `failed to read dockerfile: open ${base}: no such file or directory`;
      loadDf.complete(msg);
      throw invalid(msg);
    }
    try {
      checkSyntax(requestedSyntax(text, attrs));
    } catch (err) {
      loadDf.complete((err as Error).message);
      throw err;
    }
    loadDf.complete();

    const loadIgnore = progress.vertex('[internal] load .dockerignore').start();
    let ignoreText = tryRead(dfDir, `${base}.dockerignore`);
    if (ignoreText === undefined) {
      const ignDir = await scratch(d.workDir, 'ignore');
      dirs.push(ignDir);
      const ign = await receiveDir(session, ignDir, { dirName: 'context', includePatterns: ['.dockerignore'] });
      loadIgnore.status('transferring context:', ign.bytes);
      ignoreText = tryRead(ignDir, '.dockerignore');
    }
    loadIgnore.complete();
    const excludes = ignoreText === undefined ? [] : parseIgnore(ignoreText).map((r) => `${r.exclusion ? '!' : ''}${r.pattern}`);

    const ctxDir = await scratch(d.workDir, 'context');
    dirs.push(ctxDir);
    const loadCtx = progress.vertex('[internal] load build context').start();
    const ctx = await receiveDir(session, ctxDir, { dirName: 'context', excludePatterns: excludes });
    loadCtx.status('transferring context:', ctx.bytes);
    loadCtx.complete();

    const opts = buildOptionsFromFrontend(attrs, base, text);
    opts.signal = signal;
    opts.secrets = await fetchSecrets(session, secretIds(text));
    opts.ssh = sessionSshAgents(session, d.workDir);
    opts.registryAuth = sessionCredentials(session);
    const sink = classicSink(progress);
    try {
      const result = await d.builder.build(ctxDir, opts, sink);
      sink.finish();
      return result;
    } catch (err) {
      sink.finish(buildkitMessage(err));
      throw err;
    }
  } finally {
    for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

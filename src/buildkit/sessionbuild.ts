/**
 * `POST /build?version=2&session=<id>`: a BuildKit build for Engine API clients (dockerode's
 * `version: '2'`, the docker CLI's DOCKER_BUILDKIT=1 without buildx). The client holds a
 * `/session` open for the registry credentials (Auth) and, with `remote=client-session`, the
 * build context and Dockerfile (FileSync); otherwise the context is the request's tar, as for a
 * classic build. Progress is the solve's Status stream, each message handed to `onStatus` (the
 * route sends it base64 in a `moby.buildkit.trace` aux message, as dockerd does).
 */
import { randomBytes } from 'node:crypto';
import { BuildStepError, type BuildOptions, type BuildResult } from '../build/request.js';
import { sessionCredentials } from './auth.js';
import { buildkitMessage, solveDockerfile, type DockerfileBuilder } from './frontend.js';
import { classicSink, Progress } from './progress.js';
import type { SessionManager } from './sessions.js';

/** Names the built image (images/service.ts's ImageService). */
export interface ImageTagger {
  tag(imageId: string, ref: string): Promise<void>;
}

export interface SessionBuildDeps {
  sessions: SessionManager;
  builder: DockerfileBuilder;
  images: ImageTagger;
  workDir: string;
}

export interface SessionBuildRequest {
  sessionId: string;
  /** The context from the request's body; absent: from the session (`remote=client-session`). */
  contextDir?: string;
  opts: BuildOptions;
  onStatus(msg: Buffer): void;
  signal: AbortSignal;
}

/** The build query's options as the Dockerfile frontend's attributes (for a context from the session). */
function frontendAttrs(o: BuildOptions): Record<string, string> {
  const attrs: Record<string, string> = { filename: o.dockerfile };
  if (o.target) attrs['target'] = o.target;
  if (o.noCache) attrs['no-cache'] = '';
  if (o.pull) attrs['image-resolve-mode'] = 'pull';
  if (o.networkMode) attrs['force-network-mode'] = o.networkMode;
  for (const [k, v] of Object.entries(o.buildArgs)) if (v !== null) attrs[`build-arg:${k}`] = v;
  for (const [k, v] of Object.entries(o.labels)) attrs[`label:${k}`] = v;
  return attrs;
}

export class SessionBuilds {
  constructor(private readonly d: SessionBuildDeps) {}

  async build(r: SessionBuildRequest): Promise<BuildResult> {
    const progress = new Progress(randomBytes(12).toString('hex'));
    const streamed = progress.subscribe((m) => r.onStatus(m), r.signal);
    try {
      const session = await this.d.sessions.get(r.sessionId);
      let result: BuildResult;
      if (r.contextDir === undefined) {
        result = await solveDockerfile(this.d, session, frontendAttrs(r.opts), progress, r.signal);
        for (const t of r.opts.tags) await this.d.images.tag(result.image.id, t);
      } else {
        const opts: BuildOptions = { ...r.opts, signal: r.signal, registryAuth: sessionCredentials(session) };
        const sink = classicSink(progress);
        try {
          result = await this.d.builder.build(r.contextDir, opts, sink);
          sink.finish();
        } catch (err) {
          sink.finish(buildkitMessage(err));
          throw err;
        }
      }
      progress.close();
      return result;
    } catch (err) {
      progress.close(buildkitMessage(err));
      // a failed RUN in BuildKit's words, as the stream's last message
      throw err instanceof BuildStepError ? new BuildStepError(buildkitMessage(err), err.code) : err;
    } finally {
      await streamed;
    }
  }
}

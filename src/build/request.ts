/** A build request as the builder takes it, where its output goes, and what it gives back. */
import type { HostConfig } from '../containers/types.js';
import type { AuthConfig } from '../distribution/types.js';
import type { Image } from '../images/types.js';
import { BerthError } from '../lib/errors.js';

export interface BuildOptions {
  /** Dockerfile path inside the context. */
  dockerfile: string;
  /** The Dockerfile's text, when the context no longer holds it (`.dockerignore` listed it). */
  dockerfileText?: string;
  tags: string[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  /** Remove intermediate containers after a successful step (`rm`, default true). */
  remove: boolean;
  /** Always remove intermediate containers (`forcerm`). */
  forceRemove: boolean;
  pull: boolean;
  networkMode?: string;
  /** Resource limits for RUN containers (memory, memswap, cpushares, cpusetcpus, cpuperiod, cpuquota, shmsize). */
  hostConfig: Partial<HostConfig>;
  cacheFrom: string[];
  /**
   * Whether `cacheFrom` images add to the local build cache, as BuildKit's cache imports do;
   * otherwise they restrict it to their history, as dockerd's classic builder does.
   */
  cacheFromAdds?: boolean;
  /** Secrets for `RUN --mount=type=secret`: id → content. */
  secrets: Record<string, Buffer>;
  /** Agents for `RUN --mount=type=ssh` (BuildKit's `--ssh`); without it such mounts get no socket. */
  ssh?: SshAgents;
  auth?: AuthConfig;
  /** Credentials for a registry domain when `auth` gives none (a BuildKit session's Auth service). */
  registryAuth?: (domain: string) => Promise<AuthConfig | undefined>;
  signal?: AbortSignal;
}

/** The ssh agents a client forwards (buildkit/sshforward.ts serves them from a session). */
export interface SshAgents {
  /**
   * A host unix socket whose connections reach the client's agent `id`, or undefined when the
   * client forwards none by that id. `close` removes it once the RUN ends.
   */
  open(id: string): Promise<{ socket: string; close(): Promise<void> } | undefined>;
}

export interface BuildSink {
  /** A line of classic build output (`{"stream": …}`). */
  stream(text: string): void;
  /** A message passed through (pull progress, aux). */
  message(msg: unknown): void;
}

export interface BuildResult {
  image: Image;
  tags: string[];
}

/** A failed RUN: the docker CLI shows `message` and exits with `code`. */
export class BuildStepError extends BerthError {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super('InvalidParameter', message);
  }
}

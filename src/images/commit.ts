/**
 * `docker commit`: a container's writable layer (the overlay upper dir, whiteouts turned into
 * `.wh.` entries) becomes a new layer on top of its image; the new image's config is the
 * container's config with the request's config and `--change` instructions over it, merged the
 * way dockerd merges them (daemon/commit.go).
 */
import type { Container } from '../containers/types.js';
import type { Snapshotter } from '../snapshots/snapshotter.js';
import { applyChanges } from './changes.js';
import type { ImageStore } from './store.js';
import type { Image, ImageConfig, RunConfig } from './types.js';

export interface CommitOptions {
  comment?: string;
  author?: string;
  /** `--change` instructions. */
  changes?: string[];
  /** Config from the request body (overrides the container's). */
  config?: RunConfig;
}

export interface CommitDeps {
  snapshots: Pick<Snapshotter, 'commit'>;
  images: ImageStore;
}

/** The part of a container's config an image keeps. */
function runConfigOf(c: Container): RunConfig {
  const k = c.Config;
  const out: RunConfig = {
    User: k.User,
    Env: [...k.Env],
    Cmd: k.Cmd,
    Entrypoint: k.Entrypoint,
    WorkingDir: k.WorkingDir,
    Labels: { ...(k.Labels ?? {}) },
    OnBuild: k.OnBuild,
  };
  if (k.ExposedPorts) out.ExposedPorts = { ...k.ExposedPorts };
  if (k.Volumes) out.Volumes = { ...k.Volumes };
  if (k.StopSignal) out.StopSignal = k.StopSignal;
  if (k.Healthcheck) out.Healthcheck = { ...k.Healthcheck };
  if (k.Shell) out.Shell = k.Shell;
  return out;
}

/** dockerd's merge(userConf, imageConf): fills what the user config leaves empty. */
export function mergeCommitConfig(user: RunConfig, base: RunConfig): RunConfig {
  const out: RunConfig = { ...user };
  if (!out.User) out.User = base.User ?? '';
  if (!out.Env || out.Env.length === 0) out.Env = base.Env ?? [];
  else {
    const keys = new Set(out.Env.map((e) => e.split('=')[0]));
    out.Env = [...out.Env, ...(base.Env ?? []).filter((e) => !keys.has(e.split('=')[0]))];
  }
  if (!out.Labels) out.Labels = base.Labels ?? {};
  else out.Labels = { ...(base.Labels ?? {}), ...out.Labels };
  if (base.ExposedPorts) out.ExposedPorts = { ...base.ExposedPorts, ...(out.ExposedPorts ?? {}) };
  if (!out.Entrypoint || out.Entrypoint.length === 0) {
    if (!out.Cmd || out.Cmd.length === 0) out.Cmd = base.Cmd ?? null;
    if (out.Entrypoint === undefined || out.Entrypoint === null) out.Entrypoint = base.Entrypoint ?? null;
  }
  if (!out.Healthcheck) {
    if (base.Healthcheck) out.Healthcheck = base.Healthcheck;
  } else if (base.Healthcheck) {
    out.Healthcheck = {
      ...base.Healthcheck,
      ...Object.fromEntries(Object.entries(out.Healthcheck).filter(([, v]) => v !== undefined && v !== 0 && !(Array.isArray(v) && v.length === 0))),
    };
  }
  if (!out.WorkingDir) out.WorkingDir = base.WorkingDir ?? '';
  if (!out.Volumes || Object.keys(out.Volumes).length === 0) {
    if (base.Volumes) out.Volumes = base.Volumes;
  } else if (base.Volumes) out.Volumes = { ...base.Volumes, ...out.Volumes };
  if (!out.StopSignal && base.StopSignal) out.StopSignal = base.StopSignal;
  if ((!out.OnBuild || out.OnBuild.length === 0) && base.OnBuild) out.OnBuild = base.OnBuild;
  if (!out.Shell && base.Shell) out.Shell = base.Shell;
  return out;
}

/**
 * Writes the new layer and image. The caller pauses the container around this (`--pause`) and
 * tags the result.
 */
export async function commitContainer(deps: CommitDeps, o: { container: Container; image: Image; upperDir: string }, opts: CommitOptions): Promise<Image> {
  // Changes are checked before any work, so a bad one changes nothing.
  const userConfig = applyChanges({ ...(opts.config ?? {}) }, opts.changes ?? []);
  const config = mergeCommitConfig(userConfig, runConfigOf(o.container));
  const parentChain = o.image.chainIds.at(-1);
  const layer = await deps.snapshots.commit(parentChain, o.upperDir);
  {
    const parent = o.image.config;
    const now = new Date().toISOString();
    const history = [
      ...(parent.history ?? []),
      {
        created: now,
        ...(opts.author ? { author: opts.author } : {}),
        created_by: [o.container.Path, ...o.container.Args].join(' '),
        ...(opts.comment ? { comment: opts.comment } : {}),
      },
    ];
    const ic: ImageConfig = {
      architecture: parent.architecture,
      os: parent.os,
      ...(parent.variant ? { variant: parent.variant } : {}),
      created: now,
      ...(opts.author ? { author: opts.author } : {}),
      ...(opts.comment ? { comment: opts.comment } : {}),
      config,
      container: o.container.ID,
      container_config: runConfigOf(o.container),
      rootfs: { type: 'layers', diff_ids: [...parent.rootfs.diff_ids, layer.diffId] },
      history,
    };
    return await deps.images.add(Buffer.from(JSON.stringify(ic)), { parent: o.image.id });
  }
}

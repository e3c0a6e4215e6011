/**
 * The registry client as the API sees it: pull, push, login, and distribution inspect.
 * Each long operation is split in two: `prepare*` does everything that can fail with a plain
 * HTTP error (bad reference, no such repository or tag, no local image), and the returned job
 * streams dockerd's JSON progress messages.
 */
import * as path from 'node:path';
import type { ContentStore } from '../content/store.js';
import type { EventBus } from '../events/bus.js';
import { invalid, unauthorized } from '../lib/errors.js';
import { familiarName, familiarRepo, type Reference } from '../images/reference.js';
import type { ImageStore } from '../images/store.js';
import type { LayerStore } from '../snapshots/layers.js';
import type { DistributionDeps } from './deps.js';
import { domainOfServerAddress, endpointsFor, validateDistributionConfig } from './endpoint.js';
import { BlobSources } from './metadata.js';
import { Progress, type ProgressSink } from './progress.js';
import { Leases } from '../content/leases.js';
import { fetchManifest, listTags, parsePlatform, pickManifest, platformString, resolvePull, runPull, translatePullError, type ResolvedPull } from './pull.js';
import { planPush, runPush } from './push.js';
import { searchRegistry, type SearchOptions, type SearchResult } from './search.js';
import { openBlob } from './remote.js';
import { RegistryError, RegistrySession } from './session.js';
import { isIndexType, type AuthConfig, type DistributionConfig, type ImageIndex, type ImageManifest, type Platform } from './types.js';

export interface DistributionServiceOptions {
  /** `<data-root>/distribution`: blob-source metadata. */
  root: string;
  content: ContentStore;
  layers: LayerStore;
  images: ImageStore;
  events: EventBus;
  config?: DistributionConfig;
  /** The daemon's leases: what a pull writes is protected from garbage collection. */
  leases?: Leases;
}

export interface Job {
  run(sink: ProgressSink): Promise<void>;
}

/** Picks the optional distribution keys out of the daemon's configuration object. */
export function distributionConfigFrom(c: { registryMirrors?: string[] | undefined; insecureRegistries?: string[] | undefined }): DistributionConfig {
  return { registryMirrors: c.registryMirrors ?? [], insecureRegistries: c.insecureRegistries ?? [] };
}

export class DistributionService {
  private readonly deps: DistributionDeps;

  constructor(o: DistributionServiceOptions) {
    const config = o.config ?? {};
    validateDistributionConfig(config);
    this.deps = {
      content: o.content,
      layers: o.layers,
      images: o.images,
      events: o.events,
      sources: new BlobSources(o.root),
      inflight: o.leases ?? new Leases(),
      config,
    };
  }

  async init(): Promise<void> {
    await this.deps.sources.init();
  }

  get config(): DistributionConfig {
    return this.deps.config;
  }

  /** The same stores and state with `extra` over the configuration (the CRI's registry hosts). */
  withConfig(extra: Partial<DistributionConfig>): DistributionService {
    const config = { ...this.deps.config, ...extra };
    validateDistributionConfig(config);
    const d = Object.create(DistributionService.prototype) as { deps: DistributionDeps };
    d.deps = { ...this.deps, config };
    return d as unknown as DistributionService;
  }

  /**
   * `POST /images/create?fromImage=`: resolves the manifest now; the job streams the pull.
   * A reference without tag or digest pulls every tag (`--all-tags`).
   */
  async preparePull(
    ref: Reference,
    opts: { platform?: string | undefined; auth?: AuthConfig | undefined; signal?: AbortSignal | undefined; allTags?: boolean },
  ): Promise<Job> {
    if (opts.platform) parsePlatform(opts.platform);
    if (opts.allTags) {
      const endpoint = endpointsFor(ref.domain, this.deps.config).at(-1);
      if (!endpoint) throw invalid(`no endpoint for ${ref.domain}`);
      const session = new RegistrySession({ endpoint, auth: opts.auth, scopes: [`repository:${ref.path}:pull`], signal: opts.signal });
      let tags: string[];
      try {
        tags = await listTags(session, ref.path);
      } catch (err) {
        throw translatePullError(err, ref);
      }
      if (tags.length === 0) throw translatePullError(new RegistryError(404, 'MANIFEST_UNKNOWN', 'manifest unknown: manifest unknown'), ref);
      return {
        run: async (sink) => {
          const progress = new Progress(sink);
          let updated = false;
          for (const tag of tags) {
            const r: Reference = { domain: ref.domain, path: ref.path, tag };
            const plan = await resolvePull(this.deps, { ref: r, platform: opts.platform, auth: opts.auth, signal: opts.signal });
            const res = await runPull(this.deps, plan, progress, opts);
            updated ||= res.updated;
          }
          progress.status(updated ? `Status: Downloaded newer image for ${familiarRepo(ref)}` : `Status: Image is up to date for ${familiarRepo(ref)}`);
        },
      };
    }
    const plan: ResolvedPull = await resolvePull(this.deps, { ref, platform: opts.platform, auth: opts.auth, signal: opts.signal });
    return {
      run: async (sink) => {
        const progress = new Progress(sink);
        const res = await runPull(this.deps, plan, progress, opts);
        const name = familiarName(ref);
        progress.status(res.updated ? `Status: Downloaded newer image for ${name}` : `Status: Image is up to date for ${name}`);
      },
    };
  }

  /** `POST /images/{name}/push`: finds the local tags now; the job streams the push. */
  preparePush(ref: Reference, opts: { auth?: AuthConfig | undefined; signal?: AbortSignal | undefined }): Job {
    if (ref.digest) throw invalid('cannot push a digest reference');
    const req = { ref, auth: opts.auth, signal: opts.signal };
    const plan = planPush(this.deps, req);
    return { run: (sink) => runPush(this.deps, plan, new Progress(sink), req) };
  }

  /** `POST /auth`: checks credentials against the registry. */
  async login(auth: AuthConfig): Promise<{ Status: string; IdentityToken: string }> {
    const domain = domainOfServerAddress(auth.serveraddress);
    const endpoint = endpointsFor(domain, this.deps.config, { push: true })[0];
    if (!endpoint) throw invalid(`no endpoint for ${domain}`);
    const session = new RegistrySession({ endpoint, auth, scopes: [] });
    try {
      await session.login();
    } catch (err) {
      if (err instanceof RegistryError && err.status === 401) {
        const msg = /login attempt/.test(err.message) ? err.message : `Get "${session.base}/v2/": ${err.message}`;
        throw unauthorized(msg);
      }
      throw err;
    }
    return { Status: 'Login Succeeded', IdentityToken: '' };
  }

  /** `GET /images/search`: the registry's v1 search (Docker Hub's index for plain terms). */
  search(term: string, o: SearchOptions): Promise<SearchResult[]> {
    return searchRegistry(this.deps.config, term, o);
  }

  /** `GET /distribution/{name}/json`: the descriptor a reference resolves to and its platforms. */
  async inspect(ref: Reference, auth?: AuthConfig): Promise<{ Descriptor: { mediaType: string; digest: string; size: number }; Platforms: Platform[] }> {
    const endpoints = endpointsFor(ref.domain, this.deps.config);
    const endpoint = endpoints.at(-1);
    if (!endpoint) throw invalid(`no endpoint for ${ref.domain}`);
    const session = new RegistrySession({ endpoint, auth, scopes: [`repository:${ref.path}:pull`] });
    try {
      const m = await fetchManifest(session, ref.path, ref.digest ?? ref.tag ?? 'latest');
      const Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
      if (isIndexType(m.mediaType)) {
        const Platforms = (m.parsed as ImageIndex).manifests.map((d) => d.platform).filter((p): p is Platform => p !== undefined);
        return { Descriptor, Platforms };
      }
      const cfgRes = await openBlob(session, ref.path, (m.parsed as ImageManifest).config.digest);
      const chunks: Buffer[] = [];
      for await (const c of cfgRes.body as AsyncIterable<Buffer>) chunks.push(c);
      const cfg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { os?: string; architecture?: string; variant?: string };
      const p: Platform = { architecture: cfg.architecture ?? '', os: cfg.os ?? '' };
      if (cfg.variant) p.variant = cfg.variant;
      return { Descriptor, Platforms: [p] };
    } catch (err) {
      throw translatePullError(err, ref);
    }
  }
}

export const distributionRoot = (dataRoot: string): string => path.join(dataRoot, 'distribution');
export { pickManifest, platformString };

/**
 * A typed Docker Engine API client over a UNIX socket or TCP.
 *
 *   const c = new EngineClient({ host: 'unix:///run/berth.sock' });
 *   const list = await c.containerList({ all: true });
 *
 * The endpoints, one method each; the connection, version negotiation and errors are the
 * transport's (transport.ts), whose public names are re-exported here.
 */
import http from 'node:http';
import type { Readable } from 'node:stream';
import { ApiError } from './errors.js';
import { Transport, encodeFilters, encodeQuery, readBody, type HijackedStream, type WaitHandle } from './transport.js';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerSummary,
  ContainerTop,
  ContainerUpdateResponse,
  ExecCreateRequest,
  ExecCreateResponse,
  ExecInspect,
  ExecStartRequest,
  FilesystemChange,
  Filters,
  ImageDeleteItem,
  ImageInspect,
  ImageSummary,
  NetworkCreateRequest,
  NetworkResource,
  PathStat,
  VolumeResource,
  Resources,
  RestartPolicy,
  SystemInfo,
  SystemVersion,
  WaitResponse,
} from './types.js';

export {
  MAX_API_VERSION,
  FALLBACK_API_VERSION,
  compareVersions,
  encodeQuery,
  encodeFilters,
  type QueryValue,
  type Query,
  type ClientOptions,
  type RequestOptions,
  type HijackedStream,
  type WaitHandle,
} from './transport.js';

export class EngineClient extends Transport {
  version(): Promise<SystemVersion> {
    return this.json({ path: '/version' });
  }

  info(): Promise<SystemInfo> {
    return this.json({ path: '/info' });
  }

  // ---- containers ----

  containerList(opts: { all?: boolean; limit?: number; size?: boolean; filters?: Filters } = {}): Promise<ContainerSummary[]> {
    return this.json({
      path: '/containers/json',
      query: { all: opts.all, limit: opts.limit && opts.limit > 0 ? opts.limit : undefined, size: opts.size, filters: encodeFilters(opts.filters) },
    });
  }

  containerCreate(body: ContainerCreateRequest, opts: { name?: string | undefined; platform?: string | undefined } = {}): Promise<ContainerCreateResponse> {
    return this.json({ method: 'POST', path: '/containers/create', query: { name: opts.name, platform: opts.platform }, json: body });
  }

  containerInspect(id: string, opts: { size?: boolean } = {}): Promise<ContainerInspect> {
    return this.json({ path: `/containers/${encodeURIComponent(id)}/json`, query: { size: opts.size } });
  }

  /** The raw inspect body, exactly as the daemon sent it. */
  async containerInspectRaw(id: string, opts: { size?: boolean } = {}): Promise<unknown> {
    return this.json({ path: `/containers/${encodeURIComponent(id)}/json`, query: { size: opts.size } });
  }

  async containerStart(id: string, opts: { detachKeys?: string } = {}): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/start`, query: { detachKeys: opts.detachKeys } });
  }

  async containerStop(id: string, opts: { signal?: string | undefined; timeout?: number | undefined } = {}): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/stop`, query: { signal: opts.signal, t: opts.timeout } });
  }

  async containerRestart(id: string, opts: { signal?: string | undefined; timeout?: number | undefined } = {}): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/restart`, query: { signal: opts.signal, t: opts.timeout } });
  }

  async containerKill(id: string, opts: { signal?: string | undefined } = {}): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/kill`, query: { signal: opts.signal } });
  }

  async containerRemove(id: string, opts: { force?: boolean; volumes?: boolean; link?: boolean } = {}): Promise<void> {
    await this.call({ method: 'DELETE', path: `/containers/${encodeURIComponent(id)}`, query: { force: opts.force, v: opts.volumes, link: opts.link } });
  }

  async containerRename(id: string, name: string): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/rename`, query: { name } });
  }

  async containerPause(id: string): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/pause` });
  }

  async containerUnpause(id: string): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/unpause` });
  }

  containerTop(id: string, opts: { psArgs?: string | undefined } = {}): Promise<ContainerTop> {
    return this.json({ path: `/containers/${encodeURIComponent(id)}/top`, query: { ps_args: opts.psArgs } });
  }

  async containerChanges(id: string): Promise<FilesystemChange[]> {
    return (await this.json<FilesystemChange[] | null>({ path: `/containers/${encodeURIComponent(id)}/changes` })) ?? [];
  }

  containerExport(id: string): Promise<http.IncomingMessage> {
    return this.request({ path: `/containers/${encodeURIComponent(id)}/export` });
  }

  containerUpdate(id: string, update: Resources & { RestartPolicy?: RestartPolicy }): Promise<ContainerUpdateResponse> {
    return this.json({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/update`, json: update });
  }

  /**
   * Registers a wait and resolves once the daemon has acknowledged it (response headers),
   * so a following start cannot race past it. `handle.result` resolves on the condition.
   */
  async containerWait(id: string, opts: { condition?: 'not-running' | 'next-exit' | 'removed' } = {}): Promise<WaitHandle> {
    const res = await this.request({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/wait`, query: { condition: opts.condition } });
    const result = readBody(res).then((b) => {
      const text = b.toString('utf8').trim();
      if (!text) throw new Error('unexpected end of wait response');
      return JSON.parse(text) as WaitResponse;
    });
    result.catch(() => undefined);
    return { result };
  }

  containerAttach(
    id: string,
    opts: { stream?: boolean; stdin?: boolean; stdout?: boolean; stderr?: boolean; logs?: boolean; detachKeys?: string | undefined } = {},
  ): Promise<HijackedStream> {
    return this.hijack({
      method: 'POST',
      path: `/containers/${encodeURIComponent(id)}/attach`,
      query: { stream: opts.stream, stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr, logs: opts.logs, detachKeys: opts.detachKeys },
    });
  }

  /** POST /containers/{id}/resize: the TTY size of the container's main process. */
  async containerResize(id: string, size: { height: number; width: number }): Promise<void> {
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/resize`, query: { h: size.height, w: size.width } });
  }

  // ---- exec ----

  execCreate(container: string, config: ExecCreateRequest): Promise<ExecCreateResponse> {
    return this.json({ method: 'POST', path: `/containers/${encodeURIComponent(container)}/exec`, json: config });
  }

  /** Starts an exec without attaching (Detach: true, or nothing attached). */
  async execStart(id: string, opts: ExecStartRequest = {}): Promise<void> {
    await this.call({ method: 'POST', path: `/exec/${encodeURIComponent(id)}/start`, json: opts });
  }

  /** Starts an exec and hijacks the connection for its streams. */
  execAttach(id: string, opts: ExecStartRequest = {}): Promise<HijackedStream> {
    return this.hijack({ method: 'POST', path: `/exec/${encodeURIComponent(id)}/start`, json: { ...opts, Detach: false } });
  }

  async execResize(id: string, size: { height: number; width: number }): Promise<void> {
    await this.call({ method: 'POST', path: `/exec/${encodeURIComponent(id)}/resize`, query: { h: size.height, w: size.width } });
  }

  execInspect(id: string): Promise<ExecInspect> {
    return this.json({ path: `/exec/${encodeURIComponent(id)}/json` });
  }

  containerLogs(
    id: string,
    opts: {
      follow?: boolean;
      stdout?: boolean;
      stderr?: boolean;
      since?: string | undefined;
      until?: string | undefined;
      timestamps?: boolean;
      details?: boolean;
      tail?: string | undefined;
    } = {},
  ): Promise<http.IncomingMessage> {
    return this.request({
      path: `/containers/${encodeURIComponent(id)}/logs`,
      query: {
        stdout: opts.stdout ?? true,
        stderr: opts.stderr ?? true,
        follow: opts.follow,
        since: opts.since,
        until: opts.until,
        timestamps: opts.timestamps,
        details: opts.details,
        tail: opts.tail,
      },
    });
  }

  /** HEAD /containers/{id}/archive: stat a path inside the container. */
  async containerStatPath(id: string, path: string): Promise<PathStat> {
    const res = await this.send(
      `/v${await this.apiVersion()}/containers/${encodeURIComponent(id)}/archive${encodeQuery({ path })}`,
      { method: 'HEAD', path: '' },
      this.agent,
    );
    res.resume();
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      // HEAD has no body: synthesize docker's message
      const msg = status === 404 ? `Could not find the file ${path} in container ${id}` : `${status} ${http.STATUS_CODES[status] ?? ''}`.trim();
      throw new ApiError(status, msg);
    }
    return decodePathStat(res.headers['x-docker-container-path-stat']);
  }

  /** GET /containers/{id}/archive: a tar of the path, plus its stat. */
  async containerGetArchive(id: string, path: string): Promise<{ stream: http.IncomingMessage; stat: PathStat }> {
    const res = await this.request({ path: `/containers/${encodeURIComponent(id)}/archive`, query: { path } });
    return { stream: res, stat: decodePathStat(res.headers['x-docker-container-path-stat']) };
  }

  /** PUT /containers/{id}/archive: extract a tar into a directory of the container. */
  async containerPutArchive(
    id: string,
    path: string,
    tar: Readable | Buffer,
    opts: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean } = {},
  ): Promise<void> {
    await this.call({
      method: 'PUT',
      path: `/containers/${encodeURIComponent(id)}/archive`,
      query: { path, noOverwriteDirNonDir: opts.noOverwriteDirNonDir ? 'true' : undefined, copyUIDGID: opts.copyUIDGID ? 'true' : undefined },
      body: tar,
      headers: { 'Content-Type': 'application/x-tar' },
    });
  }

  // ---- images ----

  imageList(opts: { all?: boolean; filters?: Filters; digests?: boolean; sharedSize?: boolean } = {}): Promise<ImageSummary[]> {
    return this.json({
      path: '/images/json',
      query: { all: opts.all, filters: encodeFilters(opts.filters), digests: opts.digests, 'shared-size': opts.sharedSize },
    });
  }

  imageInspect(name: string): Promise<ImageInspect> {
    return this.json({ path: `/images/${encodeURIComponent(name)}/json` });
  }

  async imageTag(source: string, target: { repo: string; tag?: string | undefined }): Promise<void> {
    await this.call({ method: 'POST', path: `/images/${encodeURIComponent(source)}/tag`, query: { repo: target.repo, tag: target.tag } });
  }

  async imageRemove(name: string, opts: { force?: boolean; noPrune?: boolean } = {}): Promise<ImageDeleteItem[]> {
    return (
      (await this.json<ImageDeleteItem[] | null>({
        method: 'DELETE',
        path: `/images/${encodeURIComponent(name)}`,
        query: { force: opts.force, noprune: opts.noPrune },
      })) ?? []
    );
  }

  /**
   * POST /images/create with fromSrc: import a rootfs tarball (from the body when
   * `source` is '-', else from a URL). Resolves with the JSON progress stream.
   */
  imageImport(opts: {
    source: string;
    body?: Readable | Buffer | undefined;
    repo?: string | undefined;
    tag?: string | undefined;
    message?: string | undefined;
    changes?: string[];
    platform?: string | undefined;
  }): Promise<http.IncomingMessage> {
    const changes = opts.changes ?? [];
    const qs: string[] = [encodeQuery({ fromSrc: opts.source, repo: opts.repo, tag: opts.tag, message: opts.message, platform: opts.platform }).slice(1)];
    for (const c of changes) qs.push(`changes=${encodeURIComponent(c)}`);
    const query = qs.filter((s) => s !== '').join('&');
    return this.requestRawQuery({
      method: 'POST',
      path: '/images/create',
      rawQuery: query,
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      headers: { 'Content-Type': 'application/x-tar' },
    });
  }

  /** POST /commit: the new image's ID. */
  async containerCommit(
    container: string,
    opts: {
      repo?: string | undefined;
      tag?: string | undefined;
      comment?: string | undefined;
      author?: string | undefined;
      pause?: boolean;
      changes?: string[];
    },
  ): Promise<{ Id: string }> {
    const qs = [
      encodeQuery({ container, repo: opts.repo, tag: opts.tag, comment: opts.comment, author: opts.author, pause: opts.pause === false ? '0' : '1' }).slice(1),
    ];
    for (const c of opts.changes ?? []) qs.push(`changes=${encodeURIComponent(c)}`);
    const res = await this.requestRawQuery({ method: 'POST', path: '/commit', rawQuery: qs.filter(Boolean).join('&'), json: {} });
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Id: string };
  }

  /** GET /containers/{id}/stats: a stream of JSON documents (or one with stream=false). */
  containerStats(id: string, opts: { stream: boolean; oneShot?: boolean; signal?: AbortSignal }): Promise<http.IncomingMessage> {
    return this.request({
      path: `/containers/${encodeURIComponent(id)}/stats`,
      query: { stream: opts.stream ? '1' : '0', 'one-shot': opts.oneShot },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  /** GET /events: a stream of JSON events. */
  events(opts: { since?: string | undefined; until?: string | undefined; filters?: Filters; signal?: AbortSignal }): Promise<http.IncomingMessage> {
    return this.request({
      path: '/events',
      query: { since: opts.since, until: opts.until, filters: encodeFilters(opts.filters) },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  /** POST /images/create with fromImage: pull. Resolves with the JSON progress stream. */
  imagePull(opts: { image: string; tag?: string | undefined; platform?: string | undefined; auth?: string | undefined }): Promise<http.IncomingMessage> {
    return this.request({
      method: 'POST',
      path: '/images/create',
      query: { fromImage: opts.image, tag: opts.tag, platform: opts.platform },
      ...(opts.auth ? { headers: { 'X-Registry-Auth': opts.auth } } : {}),
    });
  }

  // ---- networks ----

  networkList(opts: { filters?: Filters } = {}): Promise<NetworkResource[]> {
    return this.json({ path: '/networks', query: { filters: encodeFilters(opts.filters) } });
  }

  networkInspect(id: string): Promise<NetworkResource> {
    return this.json({ path: `/networks/${encodeURIComponent(id)}` });
  }

  networkCreate(body: NetworkCreateRequest): Promise<{ Id: string; Warning?: string }> {
    return this.json({ method: 'POST', path: '/networks/create', json: body });
  }

  async networkRemove(id: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `/networks/${encodeURIComponent(id)}` });
  }

  async networkConnect(id: string, container: string, endpoint: object = {}): Promise<void> {
    await this.call({ method: 'POST', path: `/networks/${encodeURIComponent(id)}/connect`, json: { Container: container, EndpointConfig: endpoint } });
  }

  // ---- volumes ----

  async volumeList(opts: { filters?: Filters } = {}): Promise<VolumeResource[]> {
    const res = await this.json<{ Volumes: VolumeResource[] | null }>({ path: '/volumes', query: { filters: encodeFilters(opts.filters) } });
    return res.Volumes ?? [];
  }

  volumeInspect(name: string): Promise<VolumeResource> {
    return this.json({ path: `/volumes/${encodeURIComponent(name)}` });
  }

  volumeCreate(body: { Name: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }): Promise<VolumeResource> {
    return this.json({ method: 'POST', path: '/volumes/create', json: body });
  }

  async volumeRemove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.call({ method: 'DELETE', path: `/volumes/${encodeURIComponent(name)}`, query: { force: opts.force } });
  }

  /** POST /images/{name}/push: resolves with the JSON progress stream. */
  imagePush(name: string, opts: { tag?: string | undefined; auth?: string | undefined } = {}): Promise<http.IncomingMessage> {
    return this.request({
      method: 'POST',
      path: `/images/${encodeURIComponent(name)}/push`,
      query: { tag: opts.tag },
      headers: { 'X-Registry-Auth': opts.auth ?? Buffer.from('{}').toString('base64') },
    });
  }
}

export function decodePathStat(header: string | string[] | undefined): PathStat {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h) throw new Error('unable to get stat of the path: missing X-Docker-Container-Path-Stat header');
  return JSON.parse(Buffer.from(h, 'base64').toString('utf8')) as PathStat;
}

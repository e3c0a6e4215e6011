/** /containers/…: HTTP ⇄ ContainerService. */
import type { SeqpacketSocket } from 'node-unix-socket';
import { invalid, notFound } from '../lib/errors.js';
import type { WaitCondition, WaitResult } from '../containers/waiters.js';
import { containerChanges, exportContainer, getArchive, putArchive, statPath, type FilesContainers } from '../containers/files.js';
import type { ListQuery } from '../containers/queries.js';
import { parseFilters } from '../lib/filters.js';
import type { CreateRequest } from '../containers/create.js';
import type { Container, HostConfig } from '../containers/types.js';
import type { TopResult } from '../containers/top.js';
import type { PruneResult } from '../containers/prune.js';
import { parseApiTimeNs } from '../lib/timestamp.js';
import { checkLogsReadable, containerLogs, replayLogs } from '../containers/logs.js';
import { attachStreams } from '../containers/attach.js';
import { logDetailsPrefix } from '../containers/logdetails.js';
import { boolParam, intParam, readJSON, sendEmpty, sendJSON, type Ctx, type Router } from './router.js';
import { frame, hijack, parseDetachKeys, pipeAttach, STDERR, STDOUT, streamContentType } from './streams.js';
import type { ContainerInspect, ContainerSummary } from '../engine-api/types.js';

/** The container life cycle as the /containers routes call it (containers/service.ts's ContainerService). */
export interface ContainerLifecycle extends FilesContainers {
  create(req: CreateRequest, opts: { name: string }): Promise<Container>;
  start(ref: string): Promise<void>;
  stop(ref: string, opts: { signal?: string; timeout?: number }): Promise<void>;
  restart(ref: string, opts: { signal?: string; timeout?: number }): Promise<void>;
  kill(ref: string, signal?: string): Promise<void>;
  rename(ref: string, newName: string): Promise<void>;
  update(ref: string, body: Partial<HostConfig>): Promise<string[]>;
  remove(ref: string, opts: { force: boolean; removeVolumes: boolean }): Promise<void>;
  /** Removes a legacy link (`/parent/alias`). */
  removeLink(ref: string): Promise<void>;
  wait(ref: string, condition: WaitCondition, signal?: AbortSignal): Promise<WaitResult>;
  resize(ref: string, height: number, width: number): Promise<void>;
  /** The attach socket of a running container. */
  attachSocket(c: Container): Promise<SeqpacketSocket>;
  /** Calls `hook` when the container next starts, before its process runs; returns the cancel. */
  onNextStart(id: string, hook: (socket: SeqpacketSocket | undefined) => void): () => void;
}

/** `docker ps` and `docker inspect` documents (containers/queries.ts's ContainerQueries). */
export interface ContainerViews {
  list(q: ListQuery): Promise<ContainerSummary[]>;
  /** Throws NotFound. */
  inspect(ref: string, o: { size: boolean }): Promise<ContainerInspect>;
}

export interface ContainerApiDeps {
  containers: ContainerLifecycle;
  views: ContainerViews;
  /** pause/unpause (containers/pause.ts). */
  pauses: { pause(ref: string): Promise<void>; unpause(ref: string): Promise<void> };
  /** `docker container prune` (containers/prune.ts). */
  prune: (filters: Map<string, string[]>) => Promise<PruneResult>;
  /** `docker top` (containers/top.ts). */
  top: (ref: string, psArgs: string) => Promise<TopResult>;
  /** Publishes a container event with dockerd's attributes (attach, detach). */
  publish: (c: Container, action: string) => void;
}

/** Streams a body to the response; resolves when either side is done (the client may go away). */
function sendStream(res: import('node:http').ServerResponse, body: import('node:stream').Readable): Promise<void> {
  return new Promise<void>((resolve) => {
    body.pipe(res);
    res.on('close', () => {
      body.destroy();
      resolve();
    });
    body.on('error', () => {
      res.destroy();
      resolve();
    });
  });
}

export function registerContainerRoutes(r: Router, d: ContainerApiDeps): void {
  const svc = d.containers;

  r.add('GET', '/containers/json', async (ctx) => {
    const q = ctx.query;
    sendJSON(
      ctx,
      200,
      await d.views.list({
        all: boolParam(q, 'all'),
        limit: intParam(q, 'limit') ?? -1,
        filters: parseFilters(q.get('filters')),
        size: boolParam(q, 'size'),
      }),
    );
  });

  r.add('POST', '/containers/create', async (ctx) => {
    const body = await readJSON<Record<string, unknown>>(ctx);
    const { HostConfig, NetworkingConfig, ...config } = body;
    if (HostConfig !== undefined && (typeof HostConfig !== 'object' || HostConfig === null || Array.isArray(HostConfig))) {
      throw invalid('json: cannot unmarshal HostConfig');
    }
    const req: CreateRequest = {
      Config: config,
      HostConfig: HostConfig ?? {},
      NetworkingConfig: NetworkingConfig ?? null,
    };
    const name = ctx.query.get('name') ?? '';
    const c = await svc.create(req, { name });
    sendJSON(ctx, 201, { Id: c.ID, Warnings: [] });
  });

  r.add('POST', '/containers/prune', async (ctx) => {
    sendJSON(ctx, 200, await d.prune(parseFilters(ctx.query.get('filters'))));
  });

  r.add('GET', '/containers/{id}/json', async (ctx) => {
    sendJSON(ctx, 200, await d.views.inspect(ctx.params.id as string, { size: boolParam(ctx.query, 'size') }));
  });

  r.add('POST', '/containers/{id}/start', async (ctx) => {
    await svc.start(ctx.params.id as string);
    sendEmpty(ctx, 204);
  });

  const stopOpts = (ctx: Ctx): { signal?: string; timeout?: number } => {
    const o: { signal?: string; timeout?: number } = {};
    const t = intParam(ctx.query, 't');
    if (t !== undefined) o.timeout = t;
    const s = ctx.query.get('signal');
    if (s) o.signal = s;
    return o;
  };

  r.add('POST', '/containers/{id}/stop', async (ctx) => {
    await svc.stop(ctx.params.id as string, stopOpts(ctx));
    sendEmpty(ctx, 204);
  });

  r.add('POST', '/containers/{id}/restart', async (ctx) => {
    await svc.restart(ctx.params.id as string, stopOpts(ctx));
    sendEmpty(ctx, 204);
  });

  r.add('POST', '/containers/{id}/kill', async (ctx) => {
    await svc.kill(ctx.params.id as string, ctx.query.get('signal') ?? undefined);
    sendEmpty(ctx, 204);
  });

  r.add('POST', '/containers/{id}/pause', async (ctx) => {
    await d.pauses.pause(ctx.params.id as string);
    sendEmpty(ctx, 204);
  });

  r.add('POST', '/containers/{id}/unpause', async (ctx) => {
    await d.pauses.unpause(ctx.params.id as string);
    sendEmpty(ctx, 204);
  });

  r.add('POST', '/containers/{id}/rename', async (ctx) => {
    const name = ctx.query.get('name');
    if (!name) throw invalid('name is required');
    await svc.rename(ctx.params.id as string, name);
    sendEmpty(ctx, 204);
  });

  r.add('POST', '/containers/{id}/update', async (ctx) => {
    const body = await readJSON<Record<string, unknown>>(ctx);
    const warnings = await svc.update(ctx.params.id as string, body);
    sendJSON(ctx, 200, { Warnings: warnings });
  });

  r.add('DELETE', '/containers/{id}', async (ctx) => {
    if (boolParam(ctx.query, 'link')) {
      await svc.removeLink(ctx.params.id as string);
      sendEmpty(ctx, 204);
      return;
    }
    await svc.remove(ctx.params.id as string, { force: boolParam(ctx.query, 'force'), removeVolumes: boolParam(ctx.query, 'v') });
    sendEmpty(ctx, 204);
  });

  // dockerd's link names: DELETE /containers/<parent>/<alias>?link=true
  r.add('DELETE', '/containers/{parent}/{alias}', async (ctx) => {
    if (!boolParam(ctx.query, 'link')) throw notFound('page not found');
    await svc.removeLink(`${ctx.params.parent as string}/${ctx.params.alias as string}`);
    sendEmpty(ctx, 204);
  });

  r.add('POST', '/containers/{id}/wait', async (ctx) => {
    const cond = (ctx.query.get('condition') || 'not-running') as WaitCondition;
    if (!['not-running', 'next-exit', 'removed'].includes(cond)) {
      throw invalid(`invalid condition: "${cond}"`);
    }
    const ac = new AbortController();
    const waiting = svc.wait(ctx.params.id as string, cond, ac.signal);
    const res = ctx.res;
    if (!res) return;
    // Headers go out at once, as dockerd sends them, so that clients may start the container.
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    res.on('close', () => ac.abort());
    const result = await waiting;
    res.end(JSON.stringify(result) + '\n');
  });

  r.add('POST', '/containers/{id}/resize', async (ctx) => {
    const h = intParam(ctx.query, 'h') ?? 0;
    const w = intParam(ctx.query, 'w') ?? 0;
    await svc.resize(ctx.params.id as string, h, w);
    sendEmpty(ctx, 200);
  });

  r.add('GET', '/containers/{id}/top', async (ctx) => {
    sendJSON(ctx, 200, await d.top(ctx.params.id as string, ctx.query.get('ps_args') ?? ''));
  });

  r.add('GET', '/containers/{id}/changes', async (ctx) => {
    const changes = await containerChanges(svc, ctx.params.id as string);
    sendJSON(ctx, 200, changes.length > 0 ? changes : null);
  });

  r.add('GET', '/containers/{id}/export', async (ctx) => {
    const res = ctx.res;
    if (!res) return;
    await exportContainer(svc, ctx.params.id as string, async (tar) => {
      res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      await sendStream(res, tar);
    });
  });

  /* ----------------------------------------------------------------- archive (docker cp) */

  const archivePath = (ctx: Ctx): string => {
    const p = ctx.query.get('path');
    if (p === null || p === '') throw invalid('Path cannot be empty');
    return p;
  };

  r.add('HEAD', '/containers/{id}/archive', async (ctx) => {
    const stat = await statPath(svc, ctx.params.id as string, archivePath(ctx));
    ctx.res?.writeHead(200, {
      'X-Docker-Container-Path-Stat': Buffer.from(JSON.stringify(stat)).toString('base64'),
      'Content-Type': 'application/json',
    });
    ctx.res?.end();
  });

  r.add('GET', '/containers/{id}/archive', async (ctx) => {
    const res = ctx.res;
    if (!res) return;
    await getArchive(svc, ctx.params.id as string, archivePath(ctx), async (stat, tar) => {
      res.writeHead(200, {
        'Content-Type': 'application/x-tar',
        'X-Docker-Container-Path-Stat': Buffer.from(JSON.stringify(stat)).toString('base64'),
      });
      await sendStream(res, tar);
    });
  });

  r.add('PUT', '/containers/{id}/archive', async (ctx) => {
    await putArchive(svc, ctx.params.id as string, archivePath(ctx), ctx.req, {
      noOverwriteDirNonDir: boolParam(ctx.query, 'noOverwriteDirNonDir'),
      copyUIDGID: boolParam(ctx.query, 'copyUIDGID'),
    });
    sendEmpty(ctx, 200);
  });

  /* ----------------------------------------------------------------- logs */

  r.add('GET', '/containers/{id}/logs', async (ctx) => {
    const c = svc.get(ctx.params.id as string);
    const q = ctx.query;
    const stdout = boolParam(q, 'stdout');
    const stderr = boolParam(q, 'stderr');
    if (!stdout && !stderr) throw invalid('Bad parameters: you must choose at least one stream');
    checkLogsReadable(c);
    const tailRaw = q.get('tail');
    const tail = tailRaw === null || tailRaw === '' || tailRaw === 'all' ? undefined : Number(tailRaw);
    if (tail !== undefined && !Number.isInteger(tail)) throw invalid(`invalid value for tail: ${tailRaw}`);
    const follow = boolParam(q, 'follow');
    const timestamps = boolParam(q, 'timestamps');
    const details = boolParam(q, 'details') ? Buffer.from(logDetailsPrefix(c)) : undefined;
    const sinceNs = parseApiTimeNs(q.get('since'));
    const untilNs = parseApiTimeNs(q.get('until'));
    const res = ctx.res;
    if (!res) return;
    const tty = c.Config.Tty;
    res.writeHead(200, { 'Content-Type': streamContentType(ctx, tty) });
    res.flushHeaders();
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    const find = (id: string): Container | undefined => {
      try {
        return svc.get(id);
      } catch {
        return undefined;
      }
    };
    const opts = {
      follow,
      signal: ac.signal,
      ...(tail !== undefined ? { tail } : {}),
      ...(sinceNs !== undefined ? { sinceNs } : {}),
      ...(untilNs !== undefined ? { untilNs } : {}),
      streams: { stdout, stderr },
    };
    try {
      for await (const e of containerLogs(find, c, opts)) {
        // dockerd's order: timestamp, then the details, then the line
        const line = details ? Buffer.concat([details, e.line]) : e.line;
        const payload = timestamps ? Buffer.concat([Buffer.from(`${e.time} `), line]) : line;
        const ok = res.write(tty ? payload : frame(e.stream === 'stdout' ? STDOUT : STDERR, payload));
        if (!ok) await new Promise((r2) => res.once('drain', r2));
        if (ac.signal.aborted) break;
      }
    } finally {
      res.end();
    }
  });

  /* ----------------------------------------------------------------- attach */

  r.add('POST', '/containers/{id}/attach', async (ctx) => {
    const c = svc.get(ctx.params.id as string);
    const q = ctx.query;
    const wantStdin = boolParam(q, 'stdin') && c.Config.OpenStdin;
    const wantOut = boolParam(q, 'stdout');
    const wantErr = boolParam(q, 'stderr');
    const stream = boolParam(q, 'stream');
    const logs = boolParam(q, 'logs');
    if (!stream && !logs) throw invalid('Bad parameters: you must choose at least one stream');
    const tty = c.Config.Tty;
    const conn = hijack(ctx, tty);
    if (ctx.head.length > 0) conn.unshift(ctx.head);

    if (logs) {
      for await (const e of replayLogs(c, { stdout: wantOut, stderr: wantErr })) {
        conn.write(tty ? e.line : frame(e.stream === 'stdout' ? STDOUT : STDERR, e.line));
      }
    }
    // dockerd announces the attach once the logs are replayed, before streaming
    d.publish(c, 'attach');
    if (!stream) {
      conn.end();
      return;
    }

    let detachKeys: Buffer;
    try {
      detachKeys = parseDetachKeys(q.get('detachKeys') || 'ctrl-p,ctrl-q');
    } catch (err) {
      conn.end();
      throw invalid((err as Error).message);
    }
    const bind = (sock: SeqpacketSocket | undefined): void => {
      if (!sock) {
        conn.end();
        return;
      }
      pipeAttach(conn, sock, {
        tty,
        stdin: wantStdin,
        stdout: wantOut,
        stderr: wantErr,
        detachKeys: tty ? detachKeys : Buffer.alloc(0),
        onDetach: () => d.publish(c, 'detach'),
      });
    };

    conn.on('close', await attachStreams(svc, c.ID, bind));
  });

  void notFound;
}

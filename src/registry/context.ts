/** What every request handler gets: the request, its route and identity, and the registry's parts. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authorizer, Identity } from './auth.js';
import type { RegistryConfig } from './config.js';
import type { Metrics } from './metrics.js';
import type { Route } from './routes.js';
import type { Storage } from './storage.js';
import type { Uploads } from './uploads.js';
import { regErr } from './errors.js';

export interface Deps {
  config: RegistryConfig;
  storage: Storage;
  uploads: Uploads;
  auth: Authorizer;
  metrics: Metrics;
  proxy: PullThrough | undefined;
}

/**
 * The pull-through cache as the handlers use it (proxy.ts implements it). Declared here, where it
 * is consumed, so the handlers and their context do not import the proxy (nor, through it, the
 * distribution client the proxy reads the remote with).
 */
export interface PullThrough {
  /** Refreshes a manifest from the remote into local storage; silent when the remote fails. */
  fillManifest(name: string, ref: { digest?: string; tag?: string }): Promise<void>;
  /** The remote's tag list (undefined when the remote fails). */
  tags(name: string, search: string): Promise<{ body: unknown; link: string | undefined } | undefined>;
  /** Serves a blob through the cache (from the remote on a miss). */
  serveBlob(ctx: Ctx<Extract<Route, { kind: 'blob' }>>, digest: string): Promise<void>;
}

export interface Ctx<R extends Route = Route> {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  route: R;
  id: Identity;
  /** scheme://host as the client addressed us. */
  base: string;
  head: boolean;
}

/** Refuses writes on a read-only registry or a pull-through cache. */
export function checkWritable(d: Deps): void {
  if (d.config.readOnly) throw regErr('UNSUPPORTED', 'the registry is read-only');
  if (d.proxy) throw regErr('UNSUPPORTED', 'the registry is a pull-through cache: pushes are not supported');
}

export function checkDeletable(d: Deps): void {
  if (!d.config.deleteEnabled) throw regErr('UNSUPPORTED', 'deletes are disabled on this registry');
  checkWritable(d);
}

/** Parses a non-negative integer header; undefined when absent; throws `bad` when malformed. */
export function intHeader(v: string | string[] | undefined, onBad: () => Error): number | undefined {
  if (v === undefined || Array.isArray(v)) return undefined;
  if (!/^\d+$/.test(v.trim())) throw onBad();
  return Number(v.trim());
}

/** Reads a small request body (manifests), refusing more than `limit` bytes with 413. */
export async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) {
    req.resume();
    throw regErr('SIZE_INVALID', `manifest larger than ${limit} bytes`, undefined, 413);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      req.resume();
      throw regErr('SIZE_INVALID', `manifest larger than ${limit} bytes`, undefined, 413);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Pagination: `n` and `last` over a sorted list; `next` is the last item when more remain. */
export function paginate(items: string[], url: URL, defaultMax: number | undefined): { page: string[]; next: string | undefined; n: number | undefined } {
  const nRaw = url.searchParams.get('n');
  let n: number | undefined;
  if (nRaw !== null && nRaw !== '') {
    if (!/^\d+$/.test(nRaw)) throw regErr('PAGINATION_NUMBER_INVALID', undefined, { n: nRaw });
    n = Number(nRaw);
  }
  const last = url.searchParams.get('last');
  let rest = last ? items.filter((t) => t > last) : items;
  if (n === 0) return { page: [], next: undefined, n };
  const max = n ?? defaultMax;
  if (max === undefined || rest.length <= max) return { page: rest, next: undefined, n };
  rest = rest.slice(0, max);
  return { page: rest, next: rest[rest.length - 1], n: max };
}

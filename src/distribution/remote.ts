/**
 * The distribution spec's reads of one repository through a `RegistrySession` (its auth, the
 * re-authorising retry on a 401, redirects, timeouts): a manifest by tag or digest with an Accept
 * header, a blob's response with its body as a stream, a page of the tag list. The daemon's pull
 * (`pull.ts`) and berth-registry's pull-through cache (`registry/proxy.ts`) read registries
 * through here, so there is one registry client.
 *
 * Paths are relative to the session's base (`v2/…`): the same URL as `/v2/…` for the daemon's
 * endpoints (a host without a path), and a configured remote URL with a path prefix keeps it.
 * Error statuses throw `RegistryError` (the session's rule); the caller decides what they mean.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { readAll, type HttpResponse } from './http.js';
import type { RegistrySession } from './session.js';
import { MANIFEST_ACCEPT } from './types.js';

/** The largest manifest read by default (berth-registry refuses bigger pushes with 413). */
export const MAX_MANIFEST = 4 << 20;

export interface ManifestResponse {
  /** The manifest's bytes as the registry sent them (neither verified nor parsed). */
  bytes: Buffer;
  /** `Content-Type` as sent, parameters included. */
  contentType: string | undefined;
  headers: IncomingHttpHeaders;
}

/** `GET /v2/<repo>/manifests/<tag-or-digest>`; `accept` defaults to every format Berth pulls. */
export async function getManifest(
  session: RegistrySession,
  repo: string,
  reference: string,
  o: { accept?: string; limit?: number } = {},
): Promise<ManifestResponse> {
  const res = await session.request('GET', `v2/${repo}/manifests/${reference}`, { headers: { Accept: o.accept ?? MANIFEST_ACCEPT } });
  const bytes = await readAll(res.body, o.limit ?? MAX_MANIFEST);
  return { bytes, contentType: res.headers['content-type'], headers: res.headers };
}

export interface BlobRequest {
  /** `GET` (default: the body streams) or `HEAD`. */
  method?: 'GET' | 'HEAD';
  /** Ask for the bytes from this offset on (`Range: bytes=<from>-`); the caller checks for 206. */
  from?: number;
  /** Idle timeout (ms). */
  timeout?: number;
}

/** `GET`/`HEAD /v2/<repo>/blobs/<digest>`: the response, its body not yet read. */
export function openBlob(session: RegistrySession, repo: string, digest: string, o: BlobRequest = {}): Promise<HttpResponse> {
  return session.request(o.method ?? 'GET', `v2/${repo}/blobs/${digest}`, {
    ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
    ...(o.from !== undefined ? { headers: { Range: `bytes=${o.from}-` } } : {}),
  });
}

export interface TagPage {
  /** The JSON document (`{name, tags}`), parsed. */
  body: unknown;
  /** The `Link` header as sent (the next page, when there is one). */
  link: string | undefined;
}

/**
 * One page of `GET /v2/<repo>/tags/list`: `query` is the page's query string (`?n=…&last=…`, or
 * empty); `next`, when given, is the target a previous page's Link header named, fetched instead.
 */
export async function getTagPage(session: RegistrySession, repo: string, o: { query?: string; next?: string; limit?: number } = {}): Promise<TagPage> {
  const res = await session.request('GET', o.next ?? `v2/${repo}/tags/list${o.query ?? ''}`);
  const body = JSON.parse((await readAll(res.body, o.limit ?? 16 << 20)).toString('utf8')) as unknown;
  const link = res.headers['link'];
  return { body, link: typeof link === 'string' ? link : undefined };
}

/** The target of a Link header's `rel="next"`, if any. */
export const nextLink = (link: string | undefined): string | undefined => /<([^>]+)>;\s*rel="next"/.exec(link ?? '')?.[1];

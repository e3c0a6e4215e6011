/**
 * Image references with Docker's normalisation: `busybox` is `docker.io/library/busybox:latest`.
 * Grammar facts from the distribution reference spec: lowercase path components separated by
 * `/`, an optional registry domain first, `:tag` (128 chars max), `@algo:hex` digest.
 */
import { invalid } from '../lib/errors.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;

export interface Reference {
  domain: string;
  /** Repository path without the domain, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  digest?: string;
}

/** A reference split into name, `:tag` and `@digest` as written, nothing validated or normalised. */
export interface SplitReference {
  name: string;
  tag: string | undefined;
  digest: string | undefined;
}

/**
 * The lexical split of `name[:tag][@digest]` (a `:` after the last `/` starts the tag, so
 * `localhost:5000/app` has none). Pure and dependency-free: the CLI uses it too.
 */
export function splitReference(s: string): SplitReference {
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { name: rest, tag, digest };
}

export function parseReference(input: string, opts: { defaultTag?: boolean } = {}): Reference {
  const s = input.trim();
  if (s === '') throw invalid('invalid reference format');
  const split = splitReference(s);
  const rest = split.name;
  const digest = split.digest;
  let tag = split.tag;
  if (digest !== undefined && !DIGEST.test(digest)) throw invalid(`invalid reference format`);
  if (tag !== undefined && !TAG.test(tag)) throw invalid('invalid reference format');
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (!DOMAIN.test(domain)) throw invalid('invalid reference format');
  if (domain === LEGACY_DOMAIN) domain = DEFAULT_DOMAIN;
  if (path !== path.toLowerCase()) {
    throw invalid(`invalid reference format: repository name (${path}) must be lowercase`);
  }
  if (path === '' || !path.split('/').every((c) => COMPONENT.test(c))) throw invalid('invalid reference format');
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  if ((domain + '/' + path).length > 255) throw invalid('invalid reference format: repository name must not be more than 255 characters');
  if (tag === undefined && digest === undefined && opts.defaultTag !== false) tag = 'latest';
  const ref: Reference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** `docker.io/library/busybox` */
export const repoName = (r: Reference): string => `${r.domain}/${r.path}`;

/** Fully qualified: `docker.io/library/busybox:latest`. */
export function fullName(r: Reference): string {
  let s = repoName(r);
  if (r.tag !== undefined) s += `:${r.tag}`;
  if (r.digest !== undefined) s += `@${r.digest}`;
  return s;
}

/** The short form Docker shows: `busybox:latest`, `foo/bar:1`, `localhost:5000/x:y`. */
export function familiarName(r: Reference): string {
  let name = repoName(r);
  if (r.domain === DEFAULT_DOMAIN) {
    name = r.path.startsWith(OFFICIAL_PREFIX) ? r.path.slice(OFFICIAL_PREFIX.length) : r.path;
  }
  if (r.tag !== undefined) name += `:${r.tag}`;
  if (r.digest !== undefined) name += `@${r.digest}`;
  return name;
}

export const familiarRepo = (r: Reference): string => familiarName({ domain: r.domain, path: r.path });

/** Docker-style "is this a full/short image ID" check. */
export const looksLikeId = (s: string): boolean => /^(sha256:)?[0-9a-f]{1,64}$/.test(s);

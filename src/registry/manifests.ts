/**
 * Manifest media types, parsing and validation (Docker schema 2, manifest lists, OCI manifests
 * and indexes), the references a manifest makes, content negotiation against Accept, the
 * referrer descriptor of a manifest with a `subject`, and the record `Storage.putManifest` stores.
 */
import { createHash } from 'node:crypto';
import { regErr } from './errors.js';
import { checkDigest, digestAlg, type ReferrerDescriptor, type RevisionInfo, type StoredManifest } from './storage.js';

export const MT = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerV1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerV1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

export const isIndexType = (t: string): boolean => t === MT.dockerList || t === MT.ociIndex;
export const isManifestType = (t: string): boolean => t === MT.dockerManifest || t === MT.ociManifest;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string; variant?: string };
}

export interface ParsedManifest {
  mediaType: string;
  /** Blobs that must exist in the repository (config, layers). */
  blobs: Descriptor[];
  /** Manifests that must exist in the repository (index children). */
  manifests: Descriptor[];
  subject: Descriptor | undefined;
  artifactType: string | undefined;
  annotations: Record<string, string> | undefined;
}

type Json = Record<string, unknown>;

function descriptor(v: unknown, where: string): Descriptor {
  const o = v as Json;
  if (!o || typeof o !== 'object' || typeof o.digest !== 'string' || typeof o.size !== 'number' || typeof o.mediaType !== 'string') {
    throw regErr('MANIFEST_INVALID', `invalid descriptor in ${where}`);
  }
  try {
    checkDigest(o.digest);
  } catch {
    throw regErr('MANIFEST_INVALID', `invalid digest ${o.digest} in ${where}`);
  }
  if (!Number.isSafeInteger(o.size) || o.size < 0) throw regErr('MANIFEST_INVALID', `invalid size in ${where}`);
  return o as unknown as Descriptor;
}

/** Strips parameters from a Content-Type. */
export const bareType = (ct: string | undefined): string => (ct ?? '').split(';')[0]!.trim().toLowerCase();

/**
 * Parses and validates a manifest body. `contentType` is the request's Content-Type; the manifest's
 * own mediaType wins where the header is absent or generic, and the two must agree otherwise.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: Json;
  try {
    doc = JSON.parse(body.toString('utf8')) as Json;
  } catch {
    throw regErr('MANIFEST_INVALID', 'manifest is not valid JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw regErr('MANIFEST_INVALID', 'manifest is not a JSON object');
  const header = bareType(contentType);
  const field = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  let mediaType: string;
  if (field && header && header !== field && header !== 'application/json' && header !== 'application/octet-stream') {
    throw regErr('MANIFEST_INVALID', `manifest mediaType ${field} does not match Content-Type ${header}`);
  }
  if (field) mediaType = field;
  else if (header && header !== 'application/json' && header !== 'application/octet-stream') mediaType = header;
  else if (Array.isArray(doc.manifests)) mediaType = MT.ociIndex;
  else mediaType = MT.ociManifest;

  if (mediaType === MT.dockerV1 || mediaType === MT.dockerV1Signed || doc.schemaVersion === 1) {
    throw regErr('MANIFEST_INVALID', 'schema 1 manifests are not supported');
  }
  if (doc.schemaVersion !== 2) throw regErr('MANIFEST_INVALID', 'schemaVersion must be 2');
  const subject = doc.subject !== undefined ? descriptor(doc.subject, 'subject') : undefined;
  const artifactType = typeof doc.artifactType === 'string' ? doc.artifactType : undefined;
  const annotations = doc.annotations && typeof doc.annotations === 'object' ? (doc.annotations as Record<string, string>) : undefined;
  if (isManifestType(mediaType)) {
    const config = descriptor(doc.config, 'config');
    if (!Array.isArray(doc.layers)) throw regErr('MANIFEST_INVALID', 'manifest has no layers array');
    const layers = (doc.layers as unknown[]).map((l, i) => descriptor(l, `layers[${i}]`));
    // Foreign layers (with urls) are fetched from elsewhere; they need not be in the registry.
    const blobs = [config, ...layers.filter((l) => !(l.urls && l.urls.length > 0))];
    return { mediaType, blobs, manifests: [], subject, artifactType, annotations };
  }
  if (isIndexType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw regErr('MANIFEST_INVALID', 'index has no manifests array');
    const manifests = (doc.manifests as unknown[]).map((m, i) => descriptor(m, `manifests[${i}]`));
    return { mediaType, blobs: [], manifests, subject, artifactType, annotations };
  }
  throw regErr('MANIFEST_INVALID', `unsupported manifest media type ${mediaType}`);
}

/** The referrers-API descriptor of a manifest (artifactType falls back to the config's type). */
export function referrerArtifactType(body: Buffer, parsed: ParsedManifest): string | undefined {
  if (parsed.artifactType) return parsed.artifactType;
  if (isManifestType(parsed.mediaType)) {
    const cfg = (JSON.parse(body.toString('utf8')) as { config?: { mediaType?: string } }).config;
    return cfg?.mediaType;
  }
  return undefined;
}

/** A manifest checked and described for `Storage.putManifest`, with what it references. */
export interface ManifestRecord extends StoredManifest {
  parsed: ParsedManifest;
}

/**
 * Checks a manifest body and builds its stored record: the digest (of `expected`'s algorithm,
 * sha256 otherwise) must equal `expected` when given (DIGEST_INVALID), then the body must parse
 * (MANIFEST_INVALID). Whether its references exist is the caller's check.
 */
export function manifestRecord(body: Buffer, contentType: string | undefined, expected?: string): ManifestRecord {
  const alg = expected ? digestAlg(expected) : 'sha256';
  const digest = `${alg}:${createHash(alg).update(body).digest('hex')}`;
  if (expected && expected !== digest) throw regErr('DIGEST_INVALID', 'manifest digest did not match', { expected, computed: digest });
  const parsed = parseManifest(body, contentType);
  const info: RevisionInfo = {
    digest,
    mediaType: parsed.mediaType,
    size: body.length,
    refs: [...parsed.blobs, ...parsed.manifests].map((x) => x.digest),
  };
  if (parsed.subject) info.subject = parsed.subject.digest;
  const artifactType = referrerArtifactType(body, parsed);
  if (artifactType) info.artifactType = artifactType;
  if (parsed.annotations) info.annotations = parsed.annotations;
  const referrer: ReferrerDescriptor | undefined = parsed.subject
    ? {
        mediaType: parsed.mediaType,
        size: body.length,
        digest,
        ...(artifactType ? { artifactType } : {}),
        ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
      }
    : undefined;
  return { body, parsed, info, referrer };
}

/** Parses an Accept header into bare media types (q-values ignored; q=0 dropped). */
export function acceptTypes(accept: string | string[] | undefined): string[] {
  const all = Array.isArray(accept) ? accept.join(',') : (accept ?? '');
  return all
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p && !/;\s*q=0(?:\.0*)?\s*(?:;|$)/.test(p))
    .map((p) => bareType(p));
}

/**
 * Whether a stored manifest of type `stored` may be served to a client sending `accept`.
 * No Accept header, * / *, or application/json accept anything (as distribution does).
 */
export function acceptable(stored: string, accept: string[]): boolean {
  if (accept.length === 0) return true;
  if (accept.includes('*/*') || accept.includes(stored)) return true;
  return false;
}

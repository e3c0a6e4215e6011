/**
 * Image reference helpers in the docker CLI's "familiar" form (docker.io/library/ stripped).
 */

export interface ParsedReference {
  /** familiar repository name, e.g. "busybox", "localhost:5000/app" */
  name: string;
  tag: string | undefined;
  digest: string | undefined;
}

export function parseReference(ref: string): ParsedReference {
  let rest = ref;
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
  return { name: familiarName(rest), tag, digest };
}

export function familiarName(name: string): string {
  if (name.startsWith('docker.io/library/')) return name.slice('docker.io/library/'.length);
  if (name.startsWith('docker.io/')) return name.slice('docker.io/'.length);
  return name;
}

/** "busybox" → "busybox:latest"; digests and explicit tags are kept. */
export function familiarWithDefaultTag(ref: string): string {
  const p = parseReference(ref);
  if (p.digest) return `${p.name}${p.tag ? `:${p.tag}` : ''}@${p.digest}`;
  return `${p.name}:${p.tag ?? 'latest'}`;
}

/** A raw image ID (or short ID) rather than a name. */
export function looksLikeImageId(s: string): boolean {
  return /^(sha256:)?[0-9a-f]{64}$/.test(s);
}

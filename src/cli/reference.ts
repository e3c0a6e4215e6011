/**
 * Image reference helpers in the docker CLI's "familiar" form (docker.io/library/ stripped).
 * The split itself is Docker's grammar's, from src/images/reference.ts (pure, bundled).
 */
import { splitReference } from '../images/reference.js';

/** A reference as the CLI sees it: split, not validated (the daemon validates). */
export interface ParsedReference {
  /** familiar repository name, e.g. "busybox", "localhost:5000/app" */
  name: string;
  tag: string | undefined;
  digest: string | undefined;
}

export function parseReference(ref: string): ParsedReference {
  const p = splitReference(ref);
  return { ...p, name: familiarName(p.name) };
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

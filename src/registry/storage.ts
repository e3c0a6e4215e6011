/**
 * The registry's on-disk layout and every read and write of it.
 *
 *   <root>/blobs/<alg>/<hex>                                 content, committed only once verified
 *   <root>/repositories/<name>/_layers/<digest>              blob linked into a repository
 *   <root>/repositories/<name>/_manifests/revisions/<digest> JSON: media type, size, subject, …
 *   <root>/repositories/<name>/_manifests/tags/<tag>         the tagged manifest digest
 *   <root>/repositories/<name>/_referrers/<subject>/<digest> referrer descriptor JSON
 *   <root>/uploads/<uuid>/{data,info.json}                   upload sessions (never visible)
 *
 * Every small state file is written with writeFileAtomic (temp, fsync, rename, fsync dir); a blob
 * becomes visible by renaming its fsynced upload file into blobs/ after its digest was verified.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { removeStrayTemps, syncDir, writeFileAtomic } from '../lib/atomic.js';
import { regErr } from './errors.js';

const NAME_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
/** Anything shaped like a digest (to tell a bad digest from a tag). */
const DIGESTISH_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export const isValidName = (n: string): boolean => n.length <= 255 && NAME_RE.test(n);
export const isValidTag = (t: string): boolean => TAG_RE.test(t);
export const isDigestLike = (s: string): boolean => s.includes(':') && DIGESTISH_RE.test(s);

export function checkName(name: string): void {
  if (!isValidName(name)) throw regErr('NAME_INVALID', 'invalid repository name', { name });
}

/** Validates a digest string; throws DIGEST_INVALID (400) for bad syntax or an unsupported algorithm. */
export function checkDigest(d: string): string {
  if (!DIGEST_RE.test(d)) throw regErr('DIGEST_INVALID', 'invalid digest or unsupported algorithm', { digest: d });
  return d;
}

export const digestAlg = (d: string): 'sha256' | 'sha512' => (d.startsWith('sha512:') ? 'sha512' : 'sha256');

export interface RevisionInfo {
  digest: string;
  mediaType: string;
  size: number;
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Digests this manifest references (config, layers, child manifests): kept for GC. */
  refs?: string[];
}

export interface ReferrerDescriptor {
  mediaType: string;
  size: number;
  digest: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** A validated manifest as `putManifest` stores it (built by manifests.ts `manifestRecord`). */
export interface StoredManifest {
  /** Its bytes, stored as the blob `info.digest`. */
  body: Buffer;
  info: RevisionInfo;
  /** Its entry in the referrers index of `info.subject` (present when it has a subject). */
  referrer: ReferrerDescriptor | undefined;
}

const isENOENT = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isENOENT(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

async function rmIfExists(file: string): Promise<boolean> {
  try {
    await fs.unlink(file);
    return true;
  } catch (err) {
    if (isENOENT(err)) return false;
    throw err;
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if (isENOENT(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw err;
  }
}

export class Storage {
  constructor(readonly root: string) {}

  // ---- paths (names, tags and digests are validated before they get here)
  blobPath(digest: string): string {
    const [alg, hex] = digest.split(':') as [string, string];
    return path.join(this.root, 'blobs', alg, hex);
  }
  repoDir(name: string): string {
    return path.join(this.root, 'repositories', ...name.split('/'));
  }
  private layerLink(name: string, digest: string): string {
    return path.join(this.repoDir(name), '_layers', digest);
  }
  private revisionPath(name: string, digest: string): string {
    return path.join(this.repoDir(name), '_manifests', 'revisions', digest);
  }
  private tagPath(name: string, tag: string): string {
    return path.join(this.repoDir(name), '_manifests', 'tags', tag);
  }
  private referrersDir(name: string, subject: string): string {
    return path.join(this.repoDir(name), '_referrers', subject);
  }
  get uploadsDir(): string {
    return path.join(this.root, 'uploads');
  }

  async init(o: { purgeUploadsAfterMs: number }): Promise<void> {
    await fs.mkdir(path.join(this.root, 'blobs', 'sha256'), { recursive: true });
    await fs.mkdir(path.join(this.root, 'blobs', 'sha512'), { recursive: true });
    await fs.mkdir(path.join(this.root, 'repositories'), { recursive: true });
    await fs.mkdir(this.uploadsDir, { recursive: true });
    // A crash can leave temp files next to committed state; they were never visible.
    await removeStrayTemps(path.join(this.root, 'blobs', 'sha256'));
    await removeStrayTemps(path.join(this.root, 'blobs', 'sha512'));
    await this.purgeUploads(o.purgeUploadsAfterMs);
  }

  /** Removes upload sessions untouched for longer than maxAgeMs. */
  async purgeUploads(maxAgeMs: number): Promise<number> {
    let n = 0;
    const now = Date.now();
    for (const id of await readdirOrEmpty(this.uploadsDir)) {
      const dir = path.join(this.uploadsDir, id);
      try {
        const st = await fs.stat(path.join(dir, 'data')).catch(() => fs.stat(dir));
        if (now - st.mtimeMs > maxAgeMs) {
          await fs.rm(dir, { recursive: true, force: true });
          n++;
        }
      } catch {
        /* raced with a commit */
      }
    }
    return n;
  }

  // ---- blobs
  async blobSize(digest: string): Promise<number | undefined> {
    try {
      const st = await fs.stat(this.blobPath(digest));
      return st.isFile() ? st.size : undefined;
    } catch (err) {
      if (isENOENT(err)) return undefined;
      throw err;
    }
  }

  async readBlob(digest: string): Promise<Buffer> {
    return fs.readFile(this.blobPath(digest));
  }

  /** Moves a verified, fsynced file into place as the blob (atomic; idempotent for equal content). */
  async commitBlobFile(file: string, digest: string): Promise<void> {
    const dst = this.blobPath(digest);
    await fs.mkdir(path.dirname(dst), { recursive: true });
    await fs.rename(file, dst);
    await syncDir(path.dirname(dst));
  }

  /** Writes small verified content (a manifest) as a blob. */
  async writeBlob(digest: string, data: Buffer): Promise<void> {
    const dst = this.blobPath(digest);
    if ((await this.blobSize(digest)) === data.length) return;
    await fs.mkdir(path.dirname(dst), { recursive: true });
    await writeFileAtomic(dst, data, 0o644);
  }

  async deleteBlobFile(digest: string): Promise<void> {
    await rmIfExists(this.blobPath(digest));
  }

  /** All committed blob digests. */
  async listBlobs(): Promise<string[]> {
    const out: string[] = [];
    for (const alg of ['sha256', 'sha512']) {
      for (const hex of await readdirOrEmpty(path.join(this.root, 'blobs', alg))) if (!hex.startsWith('.')) out.push(`${alg}:${hex}`);
    }
    return out;
  }

  // ---- repository links
  async linkBlob(name: string, digest: string): Promise<void> {
    const link = this.layerLink(name, digest);
    if ((await readText(link)) === digest) return;
    await fs.mkdir(path.dirname(link), { recursive: true });
    await writeFileAtomic(link, digest, 0o644);
  }

  async isBlobLinked(name: string, digest: string): Promise<boolean> {
    return (await readText(this.layerLink(name, digest))) !== undefined;
  }

  async unlinkBlob(name: string, digest: string): Promise<boolean> {
    return rmIfExists(this.layerLink(name, digest));
  }

  async listLinkedBlobs(name: string): Promise<string[]> {
    return (await readdirOrEmpty(path.join(this.repoDir(name), '_layers'))).filter((n) => !n.startsWith('.'));
  }

  /** The size of a blob visible in repository `name` (linked as a layer or a manifest there). */
  async repoBlobSize(name: string, digest: string): Promise<number | undefined> {
    if (!(await this.isBlobLinked(name, digest)) && !(await this.getRevision(name, digest))) return undefined;
    return this.blobSize(digest);
  }

  // ---- manifests
  async getRevision(name: string, digest: string): Promise<RevisionInfo | undefined> {
    const t = await readText(this.revisionPath(name, digest));
    return t === undefined ? undefined : (JSON.parse(t) as RevisionInfo);
  }

  async putRevision(name: string, info: RevisionInfo): Promise<void> {
    const file = this.revisionPath(name, info.digest);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, JSON.stringify(info), 0o644);
  }

  /**
   * Stores a manifest in repository `name` as one operation: its blob, its revision, its entry in
   * its subject's referrers index, then `tags` pointing at it. Each write is crash-safe on its own
   * (temp, fsync, rename), and the order makes whatever a crash leaves harmless: a blob without a
   * revision (gc frees it), a revision not yet tagged; never a tag or a referrer naming a
   * revision that is not there. Validation (digest, syntax, references) is the caller's.
   */
  async putManifest(name: string, m: StoredManifest, tags: readonly string[]): Promise<void> {
    await this.writeBlob(m.info.digest, m.body);
    await this.putRevision(name, m.info);
    if (m.info.subject && m.referrer) await this.addReferrer(name, m.info.subject, m.referrer);
    for (const t of tags) await this.putTag(name, t, m.info.digest);
  }

  async deleteRevision(name: string, digest: string): Promise<boolean> {
    return rmIfExists(this.revisionPath(name, digest));
  }

  async listRevisions(name: string): Promise<string[]> {
    return (await readdirOrEmpty(path.join(this.repoDir(name), '_manifests', 'revisions'))).filter((n) => !n.startsWith('.'));
  }

  async getTag(name: string, tag: string): Promise<string | undefined> {
    const t = await readText(this.tagPath(name, tag));
    return t?.trim() || undefined;
  }

  async putTag(name: string, tag: string, digest: string): Promise<void> {
    const file = this.tagPath(name, tag);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, digest, 0o644);
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    return rmIfExists(this.tagPath(name, tag));
  }

  /** Tags in ASCII order. */
  async listTags(name: string): Promise<string[]> {
    const tags = (await readdirOrEmpty(path.join(this.repoDir(name), '_manifests', 'tags'))).filter((n) => !n.startsWith('.'));
    return tags.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async repoExists(name: string): Promise<boolean> {
    try {
      const entries = await fs.readdir(this.repoDir(name));
      return entries.some((e) => e === '_manifests' || e === '_layers');
    } catch {
      return false;
    }
  }

  // ---- referrers index
  async addReferrer(name: string, subject: string, d: ReferrerDescriptor): Promise<void> {
    const dir = this.referrersDir(name, subject);
    await fs.mkdir(dir, { recursive: true });
    await writeFileAtomic(path.join(dir, d.digest), JSON.stringify(d), 0o644);
  }

  async removeReferrer(name: string, subject: string, digest: string): Promise<void> {
    await rmIfExists(path.join(this.referrersDir(name, subject), digest));
  }

  async listReferrers(name: string, subject: string): Promise<ReferrerDescriptor[]> {
    const dir = this.referrersDir(name, subject);
    const out: ReferrerDescriptor[] = [];
    for (const f of (await readdirOrEmpty(dir)).sort()) {
      if (f.startsWith('.')) continue;
      const t = await readText(path.join(dir, f));
      if (t !== undefined) out.push(JSON.parse(t) as ReferrerDescriptor);
    }
    return out;
  }

  // ---- catalog
  /** Every repository name, in ASCII order. */
  async listRepositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      if (prefix && entries.some((e) => e.name === '_manifests' || e.name === '_layers')) out.push(prefix);
      for (const e of entries) {
        if (!e.isDirectory() || e.name.startsWith('_') || e.name.startsWith('.')) continue;
        await walk(path.join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name);
      }
    };
    await walk(path.join(this.root, 'repositories'), '');
    return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

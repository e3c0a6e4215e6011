/**
 * Where layers came from and went to (dockerd's "v2 metadata"): for each diff ID, the compressed
 * blobs known to hold it and the registry repositories that have them. A push uses it to skip
 * blobs the registry already has (`HEAD`), to mount blobs from another repository of the same
 * registry, and to name the compressed digest in the manifest. One crash-safe JSON file;
 * writes are serialised.
 */
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { readJSON, writeJSONAtomic } from '../lib/atomic.js';

export interface BlobSource {
  /** Compressed blob digest (what the registry stores). */
  digest: string;
  size: number;
  mediaType: string;
  /** Registry domain (`docker.io`, `localhost:5000`). */
  registry: string;
  /** Repository path (`library/busybox`). */
  repo: string;
}

const MAX_PER_DIFF = 50;

export class BlobSources {
  private map = new Map<string, BlobSource[]>();
  private writing: Promise<void> = Promise.resolve();
  private readonly file: string;

  constructor(root: string) {
    this.file = path.join(root, 'blob-sources.json');
  }

  async init(): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    try {
      const data = await readJSON<Record<string, BlobSource[]>>(this.file);
      this.map = new Map(Object.entries(data ?? {}));
    } catch (err) {
      process.emitWarning(`distribution metadata ${this.file} unreadable, starting empty: ${(err as Error).message}`);
    }
  }

  get(diffId: string): BlobSource[] {
    return this.map.get(diffId) ?? [];
  }

  /** Finds the diff ID of a compressed blob (a layer pulled before, under any name). */
  diffIdOf(digest: string): string | undefined {
    for (const [diffId, list] of this.map) if (list.some((s) => s.digest === digest)) return diffId;
    return undefined;
  }

  async add(diffId: string, s: BlobSource): Promise<void> {
    const list = (this.map.get(diffId) ?? []).filter((x) => !(x.digest === s.digest && x.registry === s.registry && x.repo === s.repo));
    list.unshift(s);
    this.map.set(diffId, list.slice(0, MAX_PER_DIFF));
    await this.save();
  }

  async remove(diffId: string, match: (s: BlobSource) => boolean): Promise<void> {
    const list = this.map.get(diffId);
    if (!list) return;
    this.map.set(
      diffId,
      list.filter((s) => !match(s)),
    );
    await this.save();
  }

  private save(): Promise<void> {
    const next = this.writing.then(() => writeJSONAtomic(this.file, Object.fromEntries(this.map), 0o600));
    this.writing = next.catch(() => undefined);
    return next;
  }
}

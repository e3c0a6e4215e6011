/**
 * The volume record store: one directory per volume under `<data-root>/volumes/<name>/`, laid
 * out as dockerd's local driver lays it out (`_data` holds the content), plus `volume.json`, the
 * crash-safe record. A directory without a record is a create or remove that a crash cut short:
 * it is removed at start (its `_data` was never handed to a container).
 */
import { invalid } from '../lib/errors.js';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { mkdirAll, readJSON, removeStrayTemps, syncDir, writeJSONAtomic } from '../lib/atomic.js';

/** What is stored of a volume (Docker's Volume, minus the derived Mountpoint/Scope). */
export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  /** RFC 3339, seconds. */
  CreatedAt: string;
}

const RECORD = 'volume.json';

export class VolumeStore {
  private readonly records = new Map<string, VolumeRecord>();

  constructor(readonly root: string) {}

  async init(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o701 });
    await removeStrayTemps(this.root);
    for (const name of await fs.readdir(this.root)) {
      const dir = path.join(this.root, name);
      const st = await fs.lstat(dir).catch(() => undefined);
      if (!st?.isDirectory()) continue;
      await removeStrayTemps(dir);
      const rec = await readJSON<VolumeRecord>(path.join(dir, RECORD)).catch(() => undefined);
      if (rec && rec.Name === name) this.records.set(name, rec);
      else await fs.rm(dir, { recursive: true, force: true });
    }
  }

  dataDir(name: string): string {
    return path.join(this.root, name, '_data');
  }

  get(name: string): VolumeRecord | undefined {
    return this.records.get(name);
  }

  list(): VolumeRecord[] {
    return [...this.records.values()];
  }

  /** Creates `_data`, then commits the record: a crash before the record leaves nothing behind. */
  async add(rec: VolumeRecord): Promise<void> {
    const dir = path.join(this.root, rec.Name);
    const existed = await fs.stat(dir).then(
      () => true,
      () => false,
    );
    try {
      await mkdirAll(path.join(dir, '_data'), 0o755);
      await fs.chmod(dir, 0o701);
      await writeJSONAtomic(path.join(dir, RECORD), rec, 0o600);
      await syncDir(this.root);
    } catch (err) {
      // A failed create (a full disk) leaves no directory behind.
      if (!existed) await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      // A name longer than the file system allows is the client's error (dockerd's text, but 400).
      if ((err as NodeJS.ErrnoException).code === 'ENAMETOOLONG') {
        throw invalid(`create ${rec.Name}: error while creating volume root path '${dir}': mkdir ${dir}: file name too long`);
      }
      throw err;
    }
    this.records.set(rec.Name, rec);
  }

  /** Drops the record first (the commit point), then the content. */
  async remove(name: string): Promise<void> {
    const dir = path.join(this.root, name);
    await fs.rm(path.join(dir, RECORD), { force: true });
    await syncDir(dir).catch(() => undefined);
    this.records.delete(name);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

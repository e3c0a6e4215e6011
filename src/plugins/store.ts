/**
 * The managed-plugin record store: one directory per plugin under `<data-root>/plugins/<id>/`,
 * holding `rootfs/` (the plugin's files, extracted from the tar it was created from) and
 * `plugin.json`, the crash-safe record (Docker's Plugin object). The rootfs is put in place
 * before the record is committed, and a directory without a valid record is a create or remove
 * that a crash cut short: it is removed at start, as is `tmp/` (unfinished uploads).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { mkdirAll, readJSON, removeStrayTemps, syncDir, writeJSONAtomic } from '../lib/atomic.js';

/** Docker's PluginConfig (the fields dockerd 20.10 keeps, in its JSON order). */
export interface PluginConfig {
  Args: { Description: string; Name: string; Settable: string[] | null; Value: string[] | null };
  Description: string;
  DockerVersion: string;
  Documentation: string;
  Entrypoint: string[] | null;
  Env: Array<{ Description: string; Name: string; Settable: string[] | null; Value: string | null }> | null;
  Interface: { ProtocolScheme?: string; Socket: string; Types: string[] | null };
  IpcHost: boolean;
  Linux: {
    AllowAllDevices: boolean;
    Capabilities: string[] | null;
    Devices: Array<{ Description: string; Name: string; Path: string | null; Settable: string[] | null }> | null;
  };
  Mounts: PluginMount[] | null;
  Network: { Type: string };
  PidHost: boolean;
  PropagatedMount: string;
  User: { GID?: number; UID?: number };
  WorkDir: string;
  rootfs: { diff_ids: string[] | null; type: string };
}

export interface PluginMount {
  Description: string;
  Destination: string;
  Name: string;
  Options: string[] | null;
  Settable: string[] | null;
  Source: string | null;
  Type: string;
}

/** Docker's Plugin object, as stored and as inspect returns it. */
export interface PluginRecord {
  Config: PluginConfig;
  Enabled: boolean;
  Id: string;
  Name: string;
  PluginReference: string;
  Settings: {
    Args: string[];
    Devices: PluginConfig['Linux']['Devices'] & object;
    Env: string[];
    Mounts: PluginMount[];
  };
}

const RECORD = 'plugin.json';
const ID = /^[0-9a-f]{64}$/;

export class PluginStore {
  private readonly records = new Map<string, PluginRecord>();

  constructor(readonly root: string) {}

  async init(): Promise<void> {
    await mkdirAll(this.root, 0o700);
    await fs.rm(this.tmpRoot(), { recursive: true, force: true });
    for (const name of await fs.readdir(this.root)) {
      const dir = path.join(this.root, name);
      const st = await fs.lstat(dir).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory() && ID.test(name)) {
        await removeStrayTemps(dir);
        const rec = await readJSON<PluginRecord>(path.join(dir, RECORD)).catch(() => undefined);
        if (rec && rec.Id === name) {
          this.records.set(name, rec);
          continue;
        }
      }
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** Where uploads are unpacked before they become a plugin (same file system as the plugins). */
  tmpRoot(): string {
    return path.join(this.root, 'tmp');
  }

  rootfsDir(id: string): string {
    return path.join(this.root, id, 'rootfs');
  }

  get(id: string): PluginRecord | undefined {
    return this.records.get(id);
  }

  list(): PluginRecord[] {
    return [...this.records.values()];
  }

  /** Moves `rootfs` in as the plugin's files, then commits the record. */
  async add(rec: PluginRecord, rootfs: string): Promise<void> {
    const dir = path.join(this.root, rec.Id);
    await mkdirAll(dir, 0o700);
    try {
      await fs.rename(rootfs, this.rootfsDir(rec.Id));
      await writeJSONAtomic(path.join(dir, RECORD), rec);
      await syncDir(this.root);
    } catch (err) {
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }
    this.records.set(rec.Id, rec);
  }

  async update(rec: PluginRecord): Promise<void> {
    await writeJSONAtomic(path.join(this.root, rec.Id, RECORD), rec);
    this.records.set(rec.Id, rec);
  }

  /** Removes the record first (a crash after that leaves a directory that start-up removes). */
  async remove(id: string): Promise<void> {
    const dir = path.join(this.root, id);
    await fs.rm(path.join(dir, RECORD), { force: true });
    await syncDir(dir);
    this.records.delete(id);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

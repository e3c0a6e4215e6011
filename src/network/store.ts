/**
 * Network records (<data-root>/network/networks/<id>.json) and per-container network state
 * (<data-root>/network/containers/<id>.json), each written crash-safe.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJSON, removeStrayTemps, writeJSONAtomic } from '../lib/atomic.js';
import type { ContainerNetState, NetworkRecord } from './types.js';

export class NetworkStore {
  readonly networks = new Map<string, NetworkRecord>();
  readonly containers = new Map<string, ContainerNetState>();

  constructor(readonly root: string) {}

  private netFile(id: string): string {
    return path.join(this.root, 'networks', `${id}.json`);
  }
  private ctrFile(id: string): string {
    return path.join(this.root, 'containers', `${id}.json`);
  }
  ipamFile(id: string): string {
    return path.join(this.root, 'ipam', `${id}.json`);
  }

  async init(): Promise<void> {
    for (const sub of ['networks', 'containers', 'ipam']) {
      await fs.mkdir(path.join(this.root, sub), { recursive: true, mode: 0o700 });
      await removeStrayTemps(path.join(this.root, sub)).catch(() => undefined);
    }
    for (const f of await fs.readdir(path.join(this.root, 'ipam'))) {
      if (f.endsWith('.tmp')) await fs.rm(path.join(this.root, 'ipam', f), { force: true });
    }
    for (const f of await fs.readdir(path.join(this.root, 'networks'))) {
      if (!f.endsWith('.json')) continue;
      const n = await readJSON<NetworkRecord>(path.join(this.root, 'networks', f)).catch(() => undefined);
      if (n) this.networks.set(n.Id, n);
    }
    for (const f of await fs.readdir(path.join(this.root, 'containers'))) {
      if (!f.endsWith('.json')) continue;
      const s = await readJSON<ContainerNetState>(path.join(this.root, 'containers', f)).catch(() => undefined);
      if (s) this.containers.set(f.slice(0, -5), s);
    }
  }

  async saveNetwork(n: NetworkRecord): Promise<void> {
    await writeJSONAtomic(this.netFile(n.Id), n);
    this.networks.set(n.Id, n);
  }

  async removeNetwork(id: string): Promise<void> {
    await fs.rm(this.netFile(id), { force: true });
    this.networks.delete(id);
  }

  has(id: string): boolean {
    return this.containers.has(id);
  }

  state(id: string): ContainerNetState {
    let s = this.containers.get(id);
    if (!s) {
      s = { networks: {}, endpoints: {}, ports: [] };
      this.containers.set(id, s);
    }
    return s;
  }

  async saveState(id: string): Promise<void> {
    await writeJSONAtomic(this.ctrFile(id), this.state(id));
  }

  async removeState(id: string): Promise<void> {
    await fs.rm(this.ctrFile(id), { force: true });
    this.containers.delete(id);
  }
}

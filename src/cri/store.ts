/**
 * What CRI knows of its pod sandboxes and containers beyond the Berth container records they
 * are (`<data-root>/cri/{sandboxes,containers}/<id>.json`): metadata, labels, annotations, the
 * sandbox's state, network namespace and CNI result, the container's log path.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJSON, writeJSONAtomic } from '../lib/atomic.js';
import type { CniResult, PortMapping } from './cni.js';

export interface PodMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

export interface SandboxRecord {
  /** The infra container's Berth id. */
  id: string;
  metadata: PodMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Nanoseconds since the epoch (a decimal string). */
  createdAt: string;
  state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  /** The bind-mounted network namespace CNI configured (absent: host network). */
  netns?: string;
  network?: string;
  cniResult?: CniResult;
  ip: string;
  additionalIps: string[];
  portMappings: PortMapping[];
  hostNetwork: boolean;
  pidMode: 'POD' | 'CONTAINER' | 'NODE';
  ipcMode: 'POD' | 'NODE';
  logDirectory: string;
  runtimeHandler: string;
  cgroupParent: string;
}

export interface ContainerRecord {
  id: string;
  sandboxId: string;
  metadata: { name: string; attempt: number };
  labels: Record<string, string>;
  annotations: Record<string, string>;
  createdAt: string;
  /** ImageSpec.image as asked, and the image id it resolved to. */
  image: string;
  imageRef: string;
  logPath: string;
  mounts: Array<{ container_path: string; host_path: string; readonly: boolean; selinux_relabel: boolean; propagation: string }>;
}

class Table<T extends { id: string }> {
  private readonly items = new Map<string, T>();
  constructor(private readonly dir: string) {}

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const f of await fs.readdir(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const r = await readJSON<T>(path.join(this.dir, f)).catch(() => undefined);
      if (r?.id) this.items.set(r.id, r);
    }
  }

  get(id: string): T | undefined {
    return this.items.get(id);
  }

  /** By full id or unique prefix. */
  find(idOrPrefix: string): T | undefined {
    if (idOrPrefix === '') return undefined;
    const exact = this.items.get(idOrPrefix);
    if (exact) return exact;
    const hits = [...this.items.values()].filter((r) => r.id.startsWith(idOrPrefix));
    return hits.length === 1 ? hits[0] : undefined;
  }

  list(): T[] {
    return [...this.items.values()];
  }

  async save(r: T): Promise<void> {
    await writeJSONAtomic(path.join(this.dir, `${r.id}.json`), r, 0o600);
    this.items.set(r.id, r);
  }

  async delete(id: string): Promise<void> {
    this.items.delete(id);
    await fs.rm(path.join(this.dir, `${id}.json`), { force: true });
  }
}

export class CriStore {
  readonly sandboxes: Table<SandboxRecord>;
  readonly containers: Table<ContainerRecord>;

  constructor(root: string) {
    this.sandboxes = new Table(path.join(root, 'sandboxes'));
    this.containers = new Table(path.join(root, 'containers'));
  }

  async init(): Promise<void> {
    await this.sandboxes.init();
    await this.containers.init();
  }
}

/** Now as CRI's timestamps: nanoseconds since the epoch, as a decimal string. */
export function nowNs(): string {
  return String(BigInt(Date.now()) * 1_000_000n);
}

/** An RFC 3339 time (a Berth record's) as nanoseconds; 0 for Docker's zero time. */
export function isoToNs(iso: string): string {
  if (!iso || iso.startsWith('0001-')) return '0';
  const m = /\.(\d+)Z$/.exec(iso);
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '0';
  const frac = m ? (m[1] as string).padEnd(9, '0').slice(0, 9) : '000000000';
  return String(BigInt(Math.floor(ms / 1000)) * 1_000_000_000n + BigInt(frac));
}

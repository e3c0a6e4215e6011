/**
 * The volume service: Docker's `local` volume driver. Create / inspect / list / remove / prune,
 * who uses a volume (any container whose record mounts it, running or not: a volume in use is
 * never removed), and the driver's own mounts for volumes created with `--opt type/device/o`
 * (mounted when the first container starts, unmounted when the last one stops).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { EventBus } from '../events/bus.js';
import { conflict, invalid, isCategory, messageOf, notFound, system } from '../lib/errors.js';
import { isMounted, unmount } from '../lib/syscalls.js';
import { matchLabels } from '../lib/filters.js';
import type { VolumeRecord, VolumeStore } from './store.js';

/** Docker's label on volumes created without a name (what `volume prune` removes by default). */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const LOCAL_OPTIONS = new Set(['type', 'device', 'o', 'size']);

/** Docker's Volume object, as inspect and list return it. */
export interface VolumeView {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
  UsageData?: { Size: number; RefCount: number };
}

export interface CreateVolumeRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface VolumeServiceOptions {
  store: VolumeStore;
  events: EventBus;
}

export class VolumeService {
  /** Containers that have a volume mounted right now (the driver's mount reference count). */
  private readonly active = new Map<string, Set<string>>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private usersOf: (name: string) => string[] = () => [];

  constructor(private readonly o: VolumeServiceOptions) {}

  /** Who references a volume (container IDs): given by the wiring, from the container records. */
  setUsers(fn: (name: string) => string[]): void {
    this.usersOf = fn;
  }

  private async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chain = prev.then(() => mine);
    this.locks.set(name, chain);
    await prev.catch(() => undefined);
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(name) === chain) this.locks.delete(name);
    }
  }

  view(rec: VolumeRecord): VolumeView {
    return {
      CreatedAt: rec.CreatedAt,
      Driver: rec.Driver,
      Labels: rec.Labels,
      Mountpoint: this.o.store.dataDir(rec.Name),
      Name: rec.Name,
      Options: rec.Options,
      Scope: 'local',
    };
  }

  /** The host directory a volume's content lives in. */
  dataDir(name: string): string {
    return this.o.store.dataDir(name);
  }

  /* ------------------------------------------------------------------ create */

  /**
   * Creates a volume; an existing volume of that name is returned as it is (as dockerd does).
   * An empty name makes an anonymous volume with a random 64-hex name.
   */
  async create(req: CreateVolumeRequest, opts: { anonymous?: boolean } = {}): Promise<VolumeView> {
    // A volume created without a name is anonymous (what prune removes by default), as dockerd
    // 23+ makes it whether a container or `POST /volumes/create` asks for it.
    const anonymous = opts.anonymous === true || !req.Name;
    const name = req.Name || randomBytes(32).toString('hex');
    const driver = req.Driver || 'local';
    if (driver !== 'local') throw notFound(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    if (!VALID_NAME.test(name)) {
      if (name.length === 1 && /^[a-zA-Z0-9]$/.test(name)) {
        throw invalid(`create ${name}: volume name is too short, names should be at least two alphanumeric characters`);
      }
      throw invalid(
        `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
      );
    }
    return this.withLock(name, async () => {
      const existing = this.o.store.get(name);
      if (existing) return this.view(existing);
      const options = req.DriverOpts && Object.keys(req.DriverOpts).length > 0 ? { ...req.DriverOpts } : null;
      if (options) validateOptions(name, options);
      let labels: Record<string, string> | null = req.Labels && Object.keys(req.Labels).length > 0 ? { ...req.Labels } : null;
      if (req.Labels && !labels) labels = {};
      if (anonymous) labels = { ...(labels ?? {}), [ANONYMOUS_LABEL]: '' };
      const rec: VolumeRecord = {
        Name: name,
        Driver: 'local',
        Labels: labels,
        Options: options ?? (req.DriverOpts ? {} : null),
        CreatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      };
      await this.o.store.add(rec);
      this.o.events.publish('volume', 'create', name, { driver: 'local' });
      return this.view(rec);
    });
  }

  /* ------------------------------------------------------------------ queries */

  get(name: string): VolumeView {
    const rec = this.o.store.get(name);
    if (!rec) throw notFound(`get ${name}: no such volume`);
    return this.view(rec);
  }

  exists(name: string): boolean {
    return this.o.store.get(name) !== undefined;
  }

  isAnonymous(name: string): boolean {
    const labels = this.o.store.get(name)?.Labels;
    return labels !== null && labels !== undefined && ANONYMOUS_LABEL in labels;
  }

  /** `GET /volumes` with Docker's filters: dangling, label, name, driver. */
  list(filters: Map<string, string[]>): VolumeView[] {
    for (const k of filters.keys()) {
      if (!['dangling', 'label', 'name', 'driver'].includes(k)) throw invalid(`Invalid filter '${k}'`);
    }
    let dangling: boolean | undefined;
    for (const v of filters.get('dangling') ?? []) {
      if (!['true', 'false', '1', '0'].includes(v.toLowerCase())) throw invalid(`Invalid filter 'dangling=[${v}]'`);
      dangling = v === 'true' || v === '1';
    }
    return this.o.store
      .list()
      .filter((rec) => {
        if (dangling !== undefined && (this.usersOf(rec.Name).length === 0) !== dangling) return false;
        const names = filters.get('name');
        if (names && !names.some((n) => rec.Name.includes(n))) return false;
        const drivers = filters.get('driver');
        if (drivers && !drivers.includes(rec.Driver)) return false;
        const labels = filters.get('label');
        if (labels && !matchLabels(rec.Labels ?? {}, labels)) return false;
        return true;
      })
      .map((rec) => this.view(rec));
  }

  /** The Volumes part of `GET /system/df`: every volume with its size and reference count. */
  async usage(): Promise<VolumeView[]> {
    const out: VolumeView[] = [];
    for (const rec of this.o.store.list()) {
      const size = await dirSize(this.o.store.dataDir(rec.Name)).catch(() => -1);
      out.push({ ...this.view(rec), UsageData: { Size: size, RefCount: this.usersOf(rec.Name).length } });
    }
    return out;
  }

  /* ------------------------------------------------------------------ remove */

  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.withLock(name, async () => {
      const rec = this.o.store.get(name);
      if (!rec) {
        if (opts.force) return;
        throw notFound(`get ${name}: no such volume`);
      }
      const users = this.usersOf(name);
      if (users.length > 0) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
      await this.unmountDriver(rec).catch(() => undefined);
      await this.o.store.remove(name);
      this.o.events.publish('volume', 'destroy', name, { driver: 'local' });
    });
  }

  /**
   * `POST /volumes/prune`: unused volumes; only anonymous ones unless `all` (API ≥ 1.42), every
   * unused one before 1.42. Filters: label, label!.
   */
  async prune(opts: { all: boolean; filters: Map<string, string[]> }): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    for (const k of opts.filters.keys()) {
      if (!['label', 'label!', 'all'].includes(k)) throw invalid(`Invalid filter '${k}'`);
    }
    const all = opts.all || (opts.filters.get('all') ?? []).some((v) => v === 'true' || v === '1');
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const rec of this.o.store.list()) {
      const labels = rec.Labels ?? {};
      if (!all && !(ANONYMOUS_LABEL in labels)) continue;
      const want = opts.filters.get('label');
      if (want && !matchLabels(labels, want)) continue;
      const not = opts.filters.get('label!');
      if (not && not.some((l) => matchLabels(labels, [l]))) continue;
      if (this.usersOf(rec.Name).length > 0) continue;
      const size = await dirSize(this.o.store.dataDir(rec.Name)).catch(() => 0);
      try {
        await this.remove(rec.Name);
        deleted.push(rec.Name);
        reclaimed += size;
      } catch (err) {
        if (!isCategory(err, 'Conflict') && !isCategory(err, 'NotFound')) throw err;
      }
    }
    this.o.events.publish('volume', 'prune', '', { reclaimed: String(reclaimed) });
    return { VolumesDeleted: deleted, SpaceReclaimed: reclaimed };
  }

  /* ------------------------------------------------------------------ mount / unmount */

  /**
   * A container starts using a volume: the driver mounts it if it has options and is not
   * mounted yet. Returns the host directory to bind into the container.
   */
  async mount(name: string, container: string, event: { destination: string; rw: boolean; propagation: string }): Promise<string> {
    return this.withLock(name, async () => {
      const rec = this.o.store.get(name);
      if (!rec) throw notFound(`get ${name}: no such volume`);
      const users = this.active.get(name) ?? new Set<string>();
      if (users.size === 0) await this.mountDriver(rec);
      users.add(container);
      this.active.set(name, users);
      this.o.events.publish('volume', 'mount', name, {
        container,
        destination: event.destination,
        driver: 'local',
        propagation: event.propagation,
        'read/write': String(event.rw),
      });
      return this.o.store.dataDir(name);
    });
  }

  /** A container stopped using a volume; the last one out unmounts the driver's mount. */
  async unmount(name: string, container: string): Promise<void> {
    await this.withLock(name, async () => {
      const users = this.active.get(name);
      if (!users?.has(container)) return;
      users.delete(container);
      const rec = this.o.store.get(name);
      if (users.size === 0) {
        this.active.delete(name);
        if (rec) await this.unmountDriver(rec);
      }
      this.o.events.publish('volume', 'unmount', name, { container, driver: 'local' });
    });
  }

  /** Live restore: a container that kept running while berthd was down still uses its volumes. */
  adopt(name: string, container: string): void {
    if (!this.o.store.get(name)) return;
    const users = this.active.get(name) ?? new Set<string>();
    users.add(container);
    this.active.set(name, users);
  }

  /** At start, after adoption: driver mounts nobody uses any more (a crash) are undone. */
  async reconcile(): Promise<void> {
    for (const rec of this.o.store.list()) {
      if (!rec.Options?.type && !rec.Options?.device) continue;
      if ((this.active.get(rec.Name)?.size ?? 0) > 0) continue;
      await this.unmountDriver(rec).catch(() => undefined);
    }
  }

  private async mountDriver(rec: VolumeRecord): Promise<void> {
    const o = rec.Options;
    if (!o || (!o.type && !o.device)) return;
    const target = this.o.store.dataDir(rec.Name);
    if (await isMounted(target)) return;
    const args = ['-t', o.type || 'none'];
    let data = o.o ?? '';
    if (o.size) data = data ? `${data},size=${o.size}` : `size=${o.size}`;
    if (data) args.push('-o', data);
    args.push(o.device ?? '', target);
    await new Promise<void>((resolve, reject) =>
      execFile('mount', args, (err, _out, stderr) =>
        err ? reject(system(`error while mounting volume '${target}': ${(stderr || messageOf(err)).trim()}`)) : resolve(),
      ),
    );
  }

  private async unmountDriver(rec: VolumeRecord): Promise<void> {
    const o = rec.Options;
    if (!o || (!o.type && !o.device)) return;
    const target = this.o.store.dataDir(rec.Name);
    if (await isMounted(target)) unmount(target);
  }
}

function validateOptions(name: string, opts: Record<string, string>): void {
  for (const k of Object.keys(opts)) {
    if (!LOCAL_OPTIONS.has(k)) throw invalid(`create ${name}: invalid option: "${k}"`);
  }
  if (opts.type && !opts.device) throw invalid(`create ${name}: missing required option: "device"`);
  if (opts.device && !opts.type) throw invalid(`create ${name}: missing required option: "type"`);
}

/** Bytes of the regular files under a directory (symlinks not followed), as dockerd counts. */
export async function dirSize(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const ent of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) await walk(p);
      else if (ent.isFile()) total += (await fs.lstat(p)).size;
    }
  };
  await walk(dir);
  return total;
}

/**
 * Container records: one directory per container under `containers/<id>/`, its record in
 * `config.v2.json` written crash-safe. Names and ID prefixes resolve through in-memory indexes
 * rebuilt on load.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJSON, removeStrayTemps, writeJSONAtomic } from '../lib/atomic.js';
import { conflict, invalid, notFound } from '../lib/errors.js';
import { PrefixIndex } from '../lib/ids.js';
import { setTopDir } from '../lib/syscalls.js';
import type { Container } from './types.js';

const RECORD = 'config.v2.json';

export class ContainerStore {
  private readonly byId = new Map<string, Container>();
  private readonly byName = new Map<string, string>();
  private readonly index = new PrefixIndex();

  constructor(readonly root: string) {}

  dir(id: string): string {
    return path.join(this.root, id);
  }

  async init(): Promise<Container[]> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o710 });
    setTopDir(this.root); // each container's upper dir is a tree of its own (see setTopDir)
    const loaded: Container[] = [];
    for (const id of await fs.readdir(this.root)) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      await removeStrayTemps(this.dir(id));
      let c: Container | undefined;
      try {
        c = await readJSON<Container>(path.join(this.dir(id), RECORD));
      } catch (err) {
        process.emitWarning(`container ${id}: unreadable record (${(err as Error).message}); skipped`);
        continue;
      }
      if (!c) {
        // Created directory but the record never landed: a create that crashed half-way.
        await fs.rm(this.dir(id), { recursive: true, force: true });
        continue;
      }
      this.insert(c);
      loaded.push(c);
    }
    return loaded;
  }

  private insert(c: Container): void {
    this.byId.set(c.ID, c);
    this.byName.set(c.Name, c.ID);
    this.index.add(c.ID);
  }

  /** Reserves the name and records the container (its directory must exist). */
  async add(c: Container): Promise<void> {
    if (this.byName.has(c.Name)) throw this.nameConflict(c.Name, this.byName.get(c.Name) as string);
    this.insert(c);
    try {
      await this.save(c);
    } catch (err) {
      this.forget(c);
      throw err;
    }
  }

  nameConflict(name: string, holder: string): Error {
    return conflict(
      `Conflict. The container name "${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
  }

  hasName(name: string): boolean {
    return this.byName.has(name);
  }

  async save(c: Container): Promise<void> {
    await writeJSONAtomic(path.join(this.dir(c.ID), RECORD), c);
  }

  async rename(c: Container, newName: string): Promise<void> {
    const holder = this.byName.get(newName);
    if (holder !== undefined) throw this.nameConflict(newName, holder);
    const old = c.Name;
    this.byName.delete(old);
    this.byName.set(newName, c.ID);
    c.Name = newName;
    try {
      await this.save(c);
    } catch (err) {
      this.byName.delete(newName);
      this.byName.set(old, c.ID);
      c.Name = old;
      throw err;
    }
  }

  private forget(c: Container): void {
    this.byId.delete(c.ID);
    if (this.byName.get(c.Name) === c.ID) this.byName.delete(c.Name);
    this.index.delete(c.ID);
  }

  async remove(c: Container): Promise<void> {
    this.forget(c);
    await this.removeDir(c.ID);
  }

  /** Drops a container from the indexes only (its directory stays until removeDir). */
  detach(c: Container): void {
    this.forget(c);
  }

  /** Removes a container's directory: the record first (the commit point), then the rest. */
  async removeDir(id: string): Promise<void> {
    await fs.rm(path.join(this.dir(id), RECORD), { force: true });
    await fs.rm(this.dir(id), { recursive: true, force: true });
  }

  list(): Container[] {
    return [...this.byId.values()];
  }

  /** By full ID, name (with or without `/`), or unique ID prefix — Docker's order. */
  find(ref: string): Container | undefined {
    if (ref === '') return undefined;
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const byName = this.byName.get(ref.startsWith('/') ? ref : `/${ref}`);
    if (byName) return this.byId.get(byName);
    const id = this.index.get(ref, 'container');
    return id ? this.byId.get(id) : undefined;
  }

  get(ref: string): Container {
    if (ref === '') throw invalid('No container name or ID supplied');
    const c = this.find(ref);
    if (!c) throw notFound(`No such container: ${ref}`);
    return c;
  }
}

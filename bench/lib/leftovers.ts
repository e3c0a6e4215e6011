/**
 * What a bench's daemons can leave on the host beyond their roots: mounts under the roots
 * (unmounted deepest first, lazily when busy) and the empty cgroup directories under their
 * cgroup parents (cgroup v1 controllers or the v2 hierarchy).
 */
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { run } from './exec.js';
import { mountsUnder } from './procs.js';

/** Unmounts every mount under roots, deepest first; `umount -l` when a plain umount fails. */
export function unmountUnder(roots: string[]): Promise<void> {
  const targets = mountsUnder(roots).sort((a, b) => b.split('/').length - a.split('/').length);
  return targets.reduce(async (prev, mp) => {
    await prev;
    const r = await run('umount', [mp], { timeoutMs: 15_000 });
    if (r.code !== 0) await run('umount', ['-l', mp], { timeoutMs: 15_000 });
  }, Promise.resolve());
}

/** Removes the (empty) cgroup directories under the bench's cgroup parents, deepest first. */
export function removeCgroups(parents: string[]): void {
  const base = '/sys/fs/cgroup';
  let controllers: string[] = [];
  try {
    controllers = readdirSync(base).map((c) => path.join(base, c));
  } catch {
    return;
  }
  const dirs = existsSync(path.join(base, 'cgroup.controllers')) ? [base] : controllers;
  const walk = (dir: string): void => {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => path.join(dir, e.name));
    } catch {
      return;
    }
    for (const e of entries) walk(e);
    try {
      rmdirSync(dir);
    } catch {
      /* busy or not empty: leave it */
    }
  };
  for (const d of dirs) for (const parent of parents) walk(path.join(d, parent.replace(/^\//, '')));
}

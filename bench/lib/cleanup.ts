/**
 * bench/run.ts's clean-up, idempotent, so it also clears what a killed earlier run left: the
 * daemons' containers, the daemons, leftover monitors, mounts under the bench roots, the cgroup
 * directories, the roots, sockets and pidfiles, and the bench networks; and the one-bench-at-a-time
 * lock.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { killLeftoverMonitors, monitorsOf, pidfileDaemon, removeAllContainers, stopDaemon, type DaemonSpec } from './daemons.js';
import { removeCgroups, unmountUnder } from './leftovers.js';
import { removeBenchNetworks } from './network.js';
import { listProcs, mountsUnder, readProc } from './procs.js';
import { say } from './report.js';

export interface CleanupReport {
  containersRemoved: number;
  monitorsKilled: number;
  mountsLeft: string[];
  processesLeft: number;
}

/** Idempotent: also run before the bench to clear what a killed earlier run left. */
export async function cleanup(specs: DaemonSpec[]): Promise<CleanupReport> {
  let containersRemoved = 0;
  for (const spec of specs) {
    try {
      containersRemoved += await removeAllContainers(spec);
    } catch (err) {
      say(`  ! ${spec.key}: ${(err as Error).message}`);
    }
  }
  for (const spec of specs) await stopDaemon(spec);
  let monitorsKilled = 0;
  for (const spec of specs) monitorsKilled += await killLeftoverMonitors(spec);
  const roots = specs.flatMap((s) => [s.dataRoot, s.execRoot]);
  await unmountUnder(roots);
  removeCgroups(specs.map((s) => s.cgroupParent));
  const mountsLeft = mountsUnder(roots);
  if (mountsLeft.length === 0) {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  } else {
    say(`  ! still mounted, so the roots are kept: ${mountsLeft.join(', ')}`);
  }
  for (const s of specs) {
    rmSync(s.sock, { force: true });
    rmSync(s.pidfile, { force: true });
  }
  for (const what of removeBenchNetworks()) say(`  removed ${what}`);
  const procs = listProcs();
  const processesLeft = specs.reduce((n, s) => n + monitorsOf(s, procs).length + (pidfileDaemon(s) !== undefined ? 1 : 0), 0);
  return { containersRemoved, monitorsKilled, mountsLeft, processesLeft };
}

export const LOCK = '/run/berth-bench.lock';

/** Takes the bench lock; returns the pid of a live bench that holds it instead. */
export function takeLock(): number | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(LOCK, `${process.pid}\n`, { flag: 'wx' });
      return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number(readFileSync(LOCK, 'utf8').trim());
    const holder = Number.isInteger(pid) && pid > 1 ? readProc(pid) : undefined;
    if (holder && holder.argv.some((a) => a.endsWith(path.join('bench', 'run.js')))) return pid;
    rmSync(LOCK, { force: true }); // stale: its bench is gone
  }
  return undefined;
}

export function releaseLock(): void {
  try {
    if (Number(readFileSync(LOCK, 'utf8').trim()) === process.pid) rmSync(LOCK, { force: true });
  } catch {
    /* not ours or gone */
  }
}

/**
 * bench/run.ts's two daemons: berthd and the reference dockerd, each on its own socket, roots,
 * pidfile and cgroup parent; their start (log in dist/bench/<key>.log, ready on /_ping), their
 * containers' removal through the API, their stop (SIGTERM, then SIGKILL after 30 s, dockerd's
 * containerd with it) and the container monitors each leaves (conmon; containerd-shim-runc-v2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, closeSync } from 'node:fs';
import path from 'node:path';
import { berthdNetArgs, dockerdNetArgs } from './network.js';
import { api, ping, sleep } from './exec.js';
import { OUT_DIR, REPO } from './paths.js';
import { alive, listProcs, readProc, waitGone, type Proc } from './procs.js';
import { say } from './report.js';

export interface DaemonSpec {
  key: 'berthd' | 'dockerd';
  sock: string;
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  cgroupParent: string;
  log: string;
}

export const BERTHD: DaemonSpec = {
  key: 'berthd',
  sock: '/run/berth-bench.sock',
  dataRoot: '/var/lib/berth-bench',
  execRoot: '/run/berth-bench',
  pidfile: '/run/berth-bench.pid',
  cgroupParent: '/berth-bench',
  log: path.join(OUT_DIR, 'berthd.log'),
};

export const DOCKERD: DaemonSpec = {
  key: 'dockerd',
  sock: '/run/berth-bench-dockerd.sock',
  dataRoot: '/var/lib/berth-bench-dockerd',
  execRoot: '/run/berth-bench-dockerd',
  pidfile: '/run/berth-bench-dockerd.pid',
  cgroupParent: '/berth-bench-dockerd',
  log: path.join(OUT_DIR, 'dockerd.log'),
};

/** berthd's container monitors: conmon processes whose command line mentions its exec-root. */
export function conmonsOf(spec: DaemonSpec, procs = listProcs()): Proc[] {
  return procs.filter((p) => p.comm === 'conmon' && p.argv.some((a) => a.includes(`${spec.execRoot}/`)));
}

/** dockerd's container monitors: containerd-shim-runc-v2 processes of its containerd. */
export function shimsOf(spec: DaemonSpec, procs = listProcs()): Proc[] {
  return procs.filter((p) => path.basename(p.argv[0] ?? '').startsWith('containerd-shim') && p.argv.some((a) => a.includes(`${spec.execRoot}/`)));
}

/** The containerd that dockerd started for spec (its config lives under the exec-root). */
export function containerdOf(spec: DaemonSpec, procs = listProcs()): Proc | undefined {
  return procs.find((p) => p.comm === 'containerd' && p.argv.some((a) => a.startsWith(`${spec.execRoot}/containerd/`)));
}

export function monitorsOf(spec: DaemonSpec, procs = listProcs()): Proc[] {
  return spec.key === 'berthd' ? conmonsOf(spec, procs) : shimsOf(spec, procs);
}

export interface Running {
  spec: DaemonSpec;
  child: ChildProcess | undefined;
  pid: number;
}

export const running = new Map<DaemonSpec['key'], Running>();

/** The flags both daemons take by the same names: socket, roots, pidfile. */
function rootArgs(spec: DaemonSpec): string[] {
  return ['-H', `unix://${spec.sock}`, '--data-root', spec.dataRoot, '--exec-root', spec.execRoot, '--pidfile', spec.pidfile];
}

export function berthdArgs(spec: DaemonSpec): string[] {
  return [path.join(REPO, 'bin', 'berthd'), ...rootArgs(spec), '--cgroup-parent', spec.cgroupParent, ...berthdNetArgs()];
}

export function dockerdArgs(spec: DaemonSpec): string[] {
  return [
    ...rootArgs(spec),
    ...dockerdNetArgs(),
    '--iptables=false',
    '--ip-masq=false',
    // Its own cgroup parent, so the bench never shares /docker with another dockerd on the machine.
    '--cgroup-parent',
    spec.cgroupParent,
  ];
}

export async function startDaemon(spec: DaemonSpec, cmd: string, args: string[]): Promise<Running> {
  mkdirSync(OUT_DIR, { recursive: true });
  const fd = openSync(spec.log, 'w');
  // Detached: a ^C on the terminal reaches only the bench, which then removes the containers
  // through the API before it stops the daemons.
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], cwd: REPO });
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${cmd}`);
  const r: Running = { spec, child, pid };
  running.set(spec.key, r);
  let exited = false;
  child.on('exit', () => (exited = true));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await ping(spec.sock)) return r;
    if (exited) break;
    await sleep(100);
  }
  const tail = readFileSync(spec.log, 'utf8').trim().split('\n').slice(-10).join('\n  ');
  throw new Error(`${spec.key} did not answer on ${spec.sock}${exited ? ' (it exited)' : ' within 60 s'}; log ${spec.log}:\n  ${tail}`);
}

export async function removeAllContainers(spec: DaemonSpec): Promise<number> {
  if (!(await ping(spec.sock))) return 0;
  const list = await api(spec.sock, 'GET', '/containers/json?all=1');
  if (list.status !== 200) throw new Error(`${spec.key}: listing containers: HTTP ${list.status} ${list.body}`);
  const ids = (JSON.parse(list.body) as Array<{ Id: string }>).map((c) => c.Id);
  // Four at a time: cleanup, not a figure.
  const queue = [...ids];
  const failures: string[] = [];
  const worker = async (): Promise<void> => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      try {
        const r = await api(spec.sock, 'DELETE', `/containers/${id}?force=1&v=1`, 60_000);
        if (r.status !== 204 && r.status !== 404) failures.push(`${id.slice(0, 12)}: HTTP ${r.status} ${r.body.trim()}`);
      } catch (err) {
        failures.push(`${id.slice(0, 12)}: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  if (failures.length > 0) say(`  ! ${spec.key}: could not remove ${failures.length} container(s): ${failures.join('; ')}`);
  return ids.length;
}

/** The pid in spec's pidfile, when that process is still the daemon we started on these roots. */
export function pidfileDaemon(spec: DaemonSpec): number | undefined {
  try {
    const pid = Number(readFileSync(spec.pidfile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    const p = readProc(pid);
    if (p && p.argv.join(' ').includes(spec.execRoot)) return pid;
  } catch {
    /* no pidfile */
  }
  return undefined;
}

export async function stopDaemon(spec: DaemonSpec): Promise<void> {
  const pids = new Set<number>();
  const r = running.get(spec.key);
  if (r && alive(r.pid)) pids.add(r.pid);
  const fromFile = pidfileDaemon(spec);
  if (fromFile !== undefined) pids.add(fromFile);
  const containerd = spec.key === 'dockerd' ? containerdOf(spec) : undefined;
  const all = [...pids, ...(containerd ? [containerd.pid] : [])];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  if (!(await waitGone(all, 30_000))) {
    say(`  ! ${spec.key} did not stop within 30 s; killing it`);
    for (const pid of all) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await waitGone(all, 5_000);
  }
  running.delete(spec.key);
}

/** SIGKILLs monitors left on spec's roots, and the container processes under them first. */
export async function killLeftoverMonitors(spec: DaemonSpec): Promise<number> {
  const procs = listProcs();
  const monitors = monitorsOf(spec, procs);
  if (monitors.length === 0) return 0;
  const ids = new Set(monitors.map((m) => m.pid));
  const children = procs.filter((p) => ids.has(p.ppid)).map((p) => p.pid);
  for (const pid of [...children, ...ids]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await waitGone([...children, ...ids], 5_000);
  return monitors.length;
}

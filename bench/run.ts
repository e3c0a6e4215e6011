/**
 * `make bench`: berthd and dockerd side by side on this machine.
 *
 * Starts its own berthd and its own dockerd (each on private sockets and roots), loads the same
 * busybox into both, then measures
 *   1. `docker run --rm busybox true` through the real docker CLI (median / min of N runs),
 *      with and without `--network none`;
 *   2. the same through `bin/berth run --rm` (berth is a Docker client, so it drives dockerd too);
 *   3. 20 × `run -d busybox sleep 300` started in parallel (wall time);
 *   4. memory (VmRSS from /proc): daemons idle and with those 20 containers, and the per-container
 *      monitor (conmon for berthd, containerd-shim-runc-v2 for dockerd);
 *   5. berthd/dockerd ratios; a markdown table at the end and JSON in dist/bench/results.json.
 * Cleans up on success, failure, SIGINT/SIGTERM and its own overall time limit.
 *
 * Environment: BENCH_RUNS (default 10), BENCH_WARMUP (2), BENCH_PARALLEL (20),
 * BENCH_PARALLEL_ROUNDS (3), BENCH_TIMEOUT (seconds for the whole bench, 900).
 */
import { median, say } from './common.js';
import { observeRows } from './observe.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync, closeSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { berthdNetArgs, dockerdNetArgs, prepareDockerdBridge, removeBenchNetworks, throughput, type Throughput } from './network.js';

// ---------------------------------------------------------------------------------------------
// Settings

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository: dist/bench/run.js sits two levels below it. */
const ROOT = path.resolve(HERE, '..', '..');
const OUT_DIR = path.join(ROOT, 'dist', 'bench');

function intEnv(name: string, def: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`bench: ${name}=${raw} is not an integer >= ${min}\n`);
    process.exit(2);
  }
  return n;
}

const RUNS = intEnv('BENCH_RUNS', 10, 1);
const WARMUP = intEnv('BENCH_WARMUP', 2, 0);
const PARALLEL = intEnv('BENCH_PARALLEL', 20, 1);
const PARALLEL_ROUNDS = intEnv('BENCH_PARALLEL_ROUNDS', 3, 1);
const HTTP_REQUESTS = intEnv('BENCH_HTTP_REQUESTS', 500, 1);
const TIMEOUT_S = intEnv('BENCH_TIMEOUT', 900, 30);
/** Any one client command (a run, a bootstrap) gets this long. */
const COMMAND_TIMEOUT_MS = 120_000;

interface DaemonSpec {
  key: 'berthd' | 'dockerd';
  sock: string;
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  cgroupParent: string;
  log: string;
}

const BERTHD: DaemonSpec = {
  key: 'berthd',
  sock: '/run/berth-bench.sock',
  dataRoot: '/var/lib/berth-bench',
  execRoot: '/run/berth-bench',
  pidfile: '/run/berth-bench.pid',
  cgroupParent: '/berth-bench',
  log: path.join(OUT_DIR, 'berthd.log'),
};

const DOCKERD: DaemonSpec = {
  key: 'dockerd',
  sock: '/run/berth-bench-dockerd.sock',
  dataRoot: '/var/lib/berth-bench-dockerd',
  execRoot: '/run/berth-bench-dockerd',
  pidfile: '/run/berth-bench-dockerd.pid',
  cgroupParent: '/berth-bench-dockerd',
  log: path.join(OUT_DIR, 'dockerd.log'),
};

// ---------------------------------------------------------------------------------------------
// Small helpers

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function which(name: string, preferred: string[] = []): string | undefined {
  for (const p of preferred) if (isExecutable(p)) return p;
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    const st = statSync(p);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds (process.hrtime). */
  ms: number;
  timedOut: boolean;
}

/** Runs a command to completion (bounded by timeoutMs), timing it with process.hrtime. */
function run(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ code: null, signal: null, stdout: '', stderr: (err as Error).message, ms: 0, timedOut: false });
      return;
    }
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < 1 << 20) stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 1 << 20) stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? COMMAND_TIMEOUT_MS);
    child.on('error', (err) => {
      stderr += err.message;
    });
    child.on('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms, timedOut });
    });
  });
}

function describeFailure(what: string, r: ExecResult): string {
  const why = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit status ${r.code}`;
  const err = (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n  ');
  return `${what}: ${why}${err ? `\n  ${err}` : ''}`;
}

/** One request to an Engine API on a UNIX socket (bounded). */
function api(sock: string, method: string, urlPath: string, timeoutMs = 15_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path: urlPath, headers: { Host: 'localhost' }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} on ${sock}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function ping(sock: string): Promise<boolean> {
  if (!existsSync(sock)) return false;
  try {
    const r = await api(sock, 'GET', '/_ping', 2_000);
    return r.status === 200;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// /proc

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  argv: string[];
}

function readProc(pid: number): Proc | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? '0');
    const comm = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '';
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s !== '');
    return { pid, ppid, comm, argv };
  } catch {
    return undefined;
  }
}

function listProcs(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) out.push(p);
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Mem {
  /** VmRSS in KiB, from /proc/<pid>/status. */
  rssKb: number;
  /** Pss in KiB, from /proc/<pid>/smaps_rollup (shared pages divided among their users). */
  pssKb: number;
}

function readMem(pid: number): Mem | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (!rss?.[1]) return undefined;
    let pssKb = 0;
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      pssKb = Number(/^Pss:\s+(\d+)\s+kB/m.exec(rollup)?.[1] ?? '0');
    } catch {
      /* smaps_rollup is optional */
    }
    return { rssKb: Number(rss[1]), pssKb };
  } catch {
    return undefined;
  }
}

/** berthd's container monitors: conmon processes whose command line mentions its exec-root. */
function conmonsOf(spec: DaemonSpec, procs = listProcs()): Proc[] {
  return procs.filter((p) => p.comm === 'conmon' && p.argv.some((a) => a.includes(`${spec.execRoot}/`)));
}

/** dockerd's container monitors: containerd-shim-runc-v2 processes of its containerd. */
function shimsOf(spec: DaemonSpec, procs = listProcs()): Proc[] {
  return procs.filter((p) => path.basename(p.argv[0] ?? '').startsWith('containerd-shim') && p.argv.some((a) => a.includes(`${spec.execRoot}/`)));
}

/** The containerd that dockerd started for spec (its config lives under the exec-root). */
function containerdOf(spec: DaemonSpec, procs = listProcs()): Proc | undefined {
  return procs.find((p) => p.comm === 'containerd' && p.argv.some((a) => a.startsWith(`${spec.execRoot}/containerd/`)));
}

function monitorsOf(spec: DaemonSpec, procs = listProcs()): Proc[] {
  return spec.key === 'berthd' ? conmonsOf(spec, procs) : shimsOf(spec, procs);
}

function mountsUnder(roots: string[]): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const mp = field.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (roots.some((r) => mp === r || mp.startsWith(`${r}/`))) out.push(mp);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting

interface Series {
  label: string;
  ms: number[];
  median: number;
  min: number;
  max: number;
  mean: number;
}

function series(label: string, ms: number[]): Series {
  return {
    label,
    ms: ms.map((x) => Math.round(x * 10) / 10),
    median: median(ms),
    min: Math.min(...ms),
    max: Math.max(...ms),
    mean: ms.reduce((a, b) => a + b, 0) / ms.length,
  };
}

const fmtMs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const fmtMb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? '—' : `${(a / b).toFixed(2)}`;

// ---------------------------------------------------------------------------------------------
// Daemons

interface Running {
  spec: DaemonSpec;
  child: ChildProcess | undefined;
  pid: number;
}

const running = new Map<DaemonSpec['key'], Running>();

function berthdArgs(spec: DaemonSpec): string[] {
  return [
    path.join(ROOT, 'bin', 'berthd'),
    '-H',
    `unix://${spec.sock}`,
    '--data-root',
    spec.dataRoot,
    '--exec-root',
    spec.execRoot,
    '--pidfile',
    spec.pidfile,
    '--cgroup-parent',
    spec.cgroupParent,
    ...berthdNetArgs(),
  ];
}

function dockerdArgs(spec: DaemonSpec): string[] {
  return [
    '-H',
    `unix://${spec.sock}`,
    '--data-root',
    spec.dataRoot,
    '--exec-root',
    spec.execRoot,
    '--pidfile',
    spec.pidfile,
    ...dockerdNetArgs(),
    '--iptables=false',
    '--ip-masq=false',
    // Its own cgroup parent, so the bench never shares /docker with another dockerd on the machine.
    '--cgroup-parent',
    spec.cgroupParent,
  ];
}

async function startDaemon(spec: DaemonSpec, cmd: string, args: string[]): Promise<Running> {
  mkdirSync(OUT_DIR, { recursive: true });
  const fd = openSync(spec.log, 'w');
  // Detached: a ^C on the terminal reaches only the bench, which then removes the containers
  // through the API before it stops the daemons.
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], cwd: ROOT });
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

async function removeAllContainers(spec: DaemonSpec): Promise<number> {
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

async function waitGone(pids: number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (pids.every((p) => !alive(p))) return true;
    await sleep(100);
  }
  return pids.every((p) => !alive(p));
}

/** The pid in spec's pidfile, when that process is still the daemon we started on these roots. */
function pidfileDaemon(spec: DaemonSpec): number | undefined {
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

async function stopDaemon(spec: DaemonSpec): Promise<void> {
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
async function killLeftoverMonitors(spec: DaemonSpec): Promise<number> {
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

function unmountUnder(roots: string[]): Promise<void> {
  const targets = mountsUnder(roots).sort((a, b) => b.split('/').length - a.split('/').length);
  return targets.reduce(async (prev, mp) => {
    await prev;
    const r = await run('umount', [mp], { timeoutMs: 15_000 });
    if (r.code !== 0) await run('umount', ['-l', mp], { timeoutMs: 15_000 });
  }, Promise.resolve());
}

/** Removes the (empty) cgroup directories under the bench's cgroup parents, deepest first. */
function removeCgroups(parents: string[]): void {
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

interface CleanupReport {
  containersRemoved: number;
  monitorsKilled: number;
  mountsLeft: string[];
  processesLeft: number;
}

/** Idempotent: also run before the bench to clear what a killed earlier run left. */
async function cleanup(specs: DaemonSpec[]): Promise<CleanupReport> {
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

const LOCK = '/run/berth-bench.lock';

/** Takes the bench lock; returns the pid of a live bench that holds it instead. */
function takeLock(): number | undefined {
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

function releaseLock(): void {
  try {
    if (Number(readFileSync(LOCK, 'utf8').trim()) === process.pid) rmSync(LOCK, { force: true });
  } catch {
    /* not ours or gone */
  }
}

// ---------------------------------------------------------------------------------------------
// Clients

interface Client {
  key: 'docker' | 'berth';
  /** What the table calls it. */
  name: string;
  cmd: string;
  env(spec: DaemonSpec): NodeJS.ProcessEnv;
}

function dockerClient(bin: string): Client {
  return {
    key: 'docker',
    name: 'docker',
    cmd: bin,
    env: (spec) => {
      const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${spec.sock}` };
      delete env['DOCKER_CONTEXT'];
      return env;
    },
  };
}

const BERTH: Client = {
  key: 'berth',
  name: 'berth',
  cmd: path.join(ROOT, 'bin', 'berth'),
  env: (spec) => ({ ...process.env, BERTH_HOST: `unix://${spec.sock}` }),
};

// ---------------------------------------------------------------------------------------------
// Measurements

interface Target {
  spec: DaemonSpec;
  client: Client;
  args: string[];
}

/**
 * Sequential latency of each target (a client, its arguments, a daemon). The targets take turns
 * round by round (docker→berthd, docker→dockerd, docker --network none→berthd, ...), one command at
 * a time, so a change in background load during the bench hits every row alike instead of the rows
 * measured last.
 */
async function latency(targets: Target[]): Promise<Series[]> {
  const times: number[][] = targets.map(() => []);
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const [t, target] of targets.entries()) {
      const r = await run(target.client.cmd, target.args, { env: target.client.env(target.spec) });
      if (r.code !== 0) throw new Error(describeFailure(`${target.client.name} ${target.args.join(' ')} (${target.spec.key})`, r));
      if (i >= WARMUP) times[t]?.push(r.ms);
    }
  }
  return targets.map((target, t) => series(`${target.client.name} ${target.args.join(' ')} → ${target.spec.key}`, times[t] ?? []));
}

interface MemorySample {
  daemonKb: Record<string, number>;
  daemonPssKb: Record<string, number>;
  daemonTotalKb: number;
  monitors?: { count: number; rssKb: number; pssKb: number; perContainerRssKb: number; perContainerPssKb: number };
}

function sampleMemory(spec: DaemonSpec, withContainers: number): MemorySample {
  const procs = listProcs();
  const r = running.get(spec.key);
  if (!r) throw new Error(`${spec.key} is not running`);
  const parts: Array<[string, number]> = [[spec.key, r.pid]];
  if (spec.key === 'dockerd') {
    const cd = containerdOf(spec, procs);
    if (!cd) throw new Error('cannot find the containerd of the bench dockerd');
    parts.push(['containerd', cd.pid]);
  }
  const daemonKb: Record<string, number> = {};
  const daemonPssKb: Record<string, number> = {};
  let total = 0;
  for (const [name, pid] of parts) {
    const m = readMem(pid);
    if (!m) throw new Error(`cannot read the memory of ${name} (pid ${pid})`);
    daemonKb[name] = m.rssKb;
    daemonPssKb[name] = m.pssKb;
    total += m.rssKb;
  }
  const sample: MemorySample = { daemonKb, daemonPssKb, daemonTotalKb: total };
  if (withContainers > 0) {
    const mons = monitorsOf(spec, procs);
    let rss = 0;
    let pss = 0;
    for (const p of mons) {
      const m = readMem(p.pid);
      if (m) {
        rss += m.rssKb;
        pss += m.pssKb;
      }
    }
    sample.monitors = {
      count: mons.length,
      rssKb: rss,
      pssKb: pss,
      perContainerRssKb: rss / withContainers,
      perContainerPssKb: pss / withContainers,
    };
  }
  return sample;
}

async function countRunning(spec: DaemonSpec): Promise<number> {
  const r = await api(spec.sock, 'GET', '/containers/json');
  if (r.status !== 200) throw new Error(`${spec.key}: listing containers: HTTP ${r.status}`);
  return (JSON.parse(r.body) as unknown[]).length;
}

/** PARALLEL × `run -d busybox sleep 300` started at once; wall time until the last client exits. */
async function parallelStart(client: Client, spec: DaemonSpec): Promise<number> {
  const env = client.env(spec);
  const start = process.hrtime.bigint();
  const results = await Promise.all(
    Array.from({ length: PARALLEL }, () => run(client.cmd, ['run', '-d', 'busybox', 'sleep', '300'], { env })),
  );
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const bad = results.filter((r) => r.code !== 0);
  if (bad.length > 0) throw new Error(describeFailure(`${bad.length}/${PARALLEL} of ${client.name} run -d (${spec.key})`, bad[0] as ExecResult));
  const n = await countRunning(spec);
  if (n !== PARALLEL) throw new Error(`${spec.key}: ${n} containers running after ${PARALLEL} × ${client.name} run -d`);
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Main

interface Machine {
  date: string;
  nproc: number;
  kernel: string;
  os: string;
  node: string;
  loadavgStart: number[];
  loadavgEnd?: number[];
  versions: Record<string, string>;
}

async function firstLine(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 10_000 });
  return r.code === 0 ? (r.stdout.trim().split('\n')[0] ?? '') : '';
}

async function machineFacts(dockerBin: string | undefined, dockerdBin: string | undefined): Promise<Machine> {
  let osName = os.type();
  try {
    osName = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? osName;
  } catch {
    /* keep os.type() */
  }
  const nproc = Number(await firstLine('nproc', [])) || os.availableParallelism();
  const versions: Record<string, string> = {
    runc: await firstLine('runc', ['--version']),
    conmon: await firstLine('conmon', ['--version']),
  };
  if (dockerBin) versions['docker CLI'] = await firstLine(dockerBin, ['--version']);
  if (dockerdBin) {
    versions['dockerd'] = await firstLine(dockerdBin, ['--version']);
    versions['containerd'] = await firstLine('containerd', ['--version']);
  }
  return {
    date: new Date().toISOString(),
    nproc,
    kernel: os.release(),
    os: osName,
    node: process.version,
    loadavgStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    versions,
  };
}

interface Row {
  figure: string;
  berthd: string;
  dockerd: string;
  ratio: string;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    say('bench: needs root (it starts daemons and containers)');
    process.exit(2);
  }
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'daemon', 'main.js')) || !existsSync(path.join(ROOT, 'dist', 'berth.mjs'))) {
    say('bench: build first (npm run build)');
    process.exit(2);
  }
  const dockerBin = which('docker', ['/usr/local/bin/docker']);
  const dockerdBin = which('dockerd', ['/usr/sbin/dockerd']);
  const specs = dockerdBin ? [BERTHD, DOCKERD] : [BERTHD];
  const machine = await machineFacts(dockerBin, dockerdBin);

  // One bench at a time: a second one would clean away the first one's daemons.
  const other = takeLock();
  if (other !== undefined) {
    say(`bench: another bench (pid ${other}) is running; its lock is ${LOCK}`);
    process.exit(2);
  }
  process.on('exit', () => releaseLock());

  let finished = false;
  let aborting = false;
  let cleaning: Promise<CleanupReport> | undefined;
  const doCleanup = (): Promise<CleanupReport> => (cleaning ??= cleanup(specs));
  const abort = (why: string): void => {
    if (finished || aborting) return;
    aborting = true;
    say(`\nbench: ${why}; cleaning up`);
    void doCleanup().then(
      (r) => {
        say(`  mounts left under the bench roots: ${r.mountsLeft.length}; bench processes left: ${r.processesLeft}`);
        process.exit(130);
      },
      () => process.exit(130),
    );
  };
  process.on('SIGINT', () => abort('interrupted'));
  process.on('SIGTERM', () => abort('terminated'));
  const overall = setTimeout(() => abort(`over the ${TIMEOUT_S} s limit (BENCH_TIMEOUT)`), TIMEOUT_S * 1000);
  overall.unref();

  say(`Berth benchmarks — ${machine.date}`);
  say(`machine: ${machine.os}, kernel ${machine.kernel}, nproc ${machine.nproc}, node ${machine.node}, load ${machine.loadavgStart.join(' ')}`);
  for (const [k, v] of Object.entries(machine.versions)) if (v) say(`  ${k}: ${v}`);
  say(`runs: ${RUNS} timed after ${WARMUP} warm-up (BENCH_RUNS), parallel: ${PARALLEL} containers × ${PARALLEL_ROUNDS} rounds`);
  if (!dockerdBin) say('note: dockerd is not installed; the dockerd column is skipped');
  if (!dockerBin) say('note: the docker CLI is not installed; only the berth CLI is measured');
  say();

  const results: Record<string, unknown> = { machine, settings: { runs: RUNS, warmup: WARMUP, parallel: PARALLEL, parallelRounds: PARALLEL_ROUNDS } };
  const rows: Row[] = [];
  const notes: string[] = [];
  let failure: Error | undefined;

  try {
    // A killed earlier run may have left daemons, containers or mounts on these roots.
    const pre = await cleanup(specs);
    if (pre.containersRemoved + pre.monitorsKilled > 0) say(`(cleared leftovers of an earlier run: ${pre.containersRemoved} containers, ${pre.monitorsKilled} monitors)`);

    // --- daemons and busybox
    say('starting berthd and dockerd on their own sockets and roots ...');
    const berthd = await startDaemon(BERTHD, process.execPath, berthdArgs(BERTHD));
    if (dockerdBin) prepareDockerdBridge();
    const dockerd = dockerdBin ? await startDaemon(DOCKERD, dockerdBin, dockerdArgs(DOCKERD)) : undefined;
    const daemonVersions: Record<string, string> = {};
    for (const s of specs) {
      const v = await api(s.sock, 'GET', '/version');
      daemonVersions[s.key] = (JSON.parse(v.body) as { Version?: string }).Version ?? '?';
    }
    results['daemonVersions'] = daemonVersions;
    say(`  berthd ${daemonVersions['berthd']} pid ${berthd.pid}${dockerd ? `, dockerd ${daemonVersions['dockerd']} pid ${dockerd.pid}` : ''}`);
    for (const s of specs) {
      const r = await run(BERTH.cmd, ['image', 'bootstrap', 'busybox'], { env: BERTH.env(s) });
      if (r.code !== 0) throw new Error(describeFailure(`berth image bootstrap busybox (${s.key})`, r));
      say(`  busybox into ${s.key}: ${r.stdout.trim().split('\n').pop() ?? ''} (${fmtMs(r.ms)})`);
    }
    await sleep(1000);
    const idle: Record<string, MemorySample> = {};
    for (const s of specs) idle[s.key] = sampleMemory(s, 0);
    results['memoryIdle'] = idle;
    say();

    // --- latency
    const lat: Record<string, Series> = {};
    const variants: Array<{ client: Client; extra: string[]; figure: string }> = [];
    if (dockerBin) {
      const docker = dockerClient(dockerBin);
      variants.push({ client: docker, extra: [], figure: `\`docker run --rm busybox true\` (docker CLI; median of ${RUNS}, min)` });
      variants.push({ client: docker, extra: ['--network', 'none'], figure: 'same with `--network none`' });
    }
    variants.push({ client: BERTH, extra: [], figure: `\`berth run --rm busybox true\` (berth CLI; median of ${RUNS}, min)` });
    variants.push({ client: BERTH, extra: ['--network', 'none'], figure: 'same with `--network none`' });
    const targets = variants.flatMap((v) => specs.map((spec) => ({ spec, client: v.client, args: ['run', '--rm', ...v.extra, 'busybox', 'true'] })));
    say(`run --rm busybox true: ${variants.length} commands × ${specs.length} daemons, taking turns, ${WARMUP} warm-up + ${RUNS} timed rounds ...`);
    const got = await latency(targets);
    for (const [vi, v] of variants.entries()) {
      const args = ['run', '--rm', ...v.extra, 'busybox', 'true'];
      say(`  ${v.client.name} ${args.join(' ')}`);
      const per = specs.map((_, si) => got[vi * specs.length + si]);
      for (const [si, s] of per.entries()) {
        if (!s) continue;
        lat[`${v.client.key}${v.extra.length ? '-network-none' : ''}:${specs[si]?.key}`] = s;
        say(`    ${(specs[si]?.key ?? '').padEnd(8)} median ${fmtMs(s.median).padStart(7)}  min ${fmtMs(s.min).padStart(7)}  max ${fmtMs(s.max).padStart(7)}   [${s.ms.map((x) => Math.round(x)).join(' ')}]`);
      }
      const [b, d] = per;
      rows.push({
        figure: v.figure,
        berthd: b ? `${fmtMs(b.median)} (min ${fmtMs(b.min)})` : '—',
        dockerd: d ? `${fmtMs(d.median)} (min ${fmtMs(d.min)})` : '—',
        ratio: ratio(b?.median, d?.median),
      });
    }
    notes.push(
      'Both daemons run with a default bridge: berthd `--bridge bnbench0 --bip 10.231.253.1/24`, dockerd `--bridge bndref` (10.232.0.1/24, made by the bench) ' +
        'with `--iptables=false`, so a default container gets a veth pair on the bridge in both; `--network none` skips that. ' +
        'dockerd joins even the null network through a `libnetwork-setkey` prestart hook (runc re-executes the dockerd binary).',
    );

    // --- published-port throughput
    {
      const client = dockerBin ? dockerClient(dockerBin) : BERTH;
      const tp: Record<string, Throughput[]> = {};
      say(`published port: ${client.name} run -d -p 127.0.0.1::80 busybox httpd; ${HTTP_REQUESTS} GETs on 127.0.0.1, a new connection each ...`);
      for (const spec of specs) {
        const r = await run(client.cmd, ['run', '-d', '-p', '127.0.0.1::80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'], { env: client.env(spec) });
        if (r.code !== 0) throw new Error(describeFailure(`httpd on ${spec.key}`, r));
        const id = r.stdout.trim().split('\n').pop() ?? '';
        const info = await api(spec.sock, 'GET', `/containers/${id}/json`);
        const port = Number((JSON.parse(info.body) as { NetworkSettings: { Ports: Record<string, Array<{ HostPort: string }>> } }).NetworkSettings.Ports['80/tcp']?.[0]?.HostPort);
        tp[spec.key] = [await throughput(port, HTTP_REQUESTS, 1), await throughput(port, HTTP_REQUESTS, 8)];
        for (const t of tp[spec.key] ?? []) say(`  ${spec.key.padEnd(8)} concurrency ${t.concurrency}: ${Math.round(t.perSecond)} req/s (${fmtMs(t.ms)})`);
        await removeAllContainers(spec);
      }
      results['portThroughput'] = tp;
      for (const [i, label] of ['one at a time', '8 in flight'].entries()) {
        const b = tp['berthd']?.[i];
        const d = tp['dockerd']?.[i];
        rows.push({
          figure: `published port: HTTP GETs on 127.0.0.1 to busybox httpd, ${label} (req/s, higher is better)`,
          berthd: b ? `${Math.round(b.perSecond)}/s` : '—',
          dockerd: d ? `${Math.round(d.perSecond)}/s` : '—',
          ratio: ratio(b?.perSecond, d?.perSecond),
        });
      }
      notes.push('Published ports: berthd DNATs in the kernel (iptables, `route_localnet` for 127.0.0.1); dockerd here relays through its userland docker-proxy (its iptables rules are off, as everywhere in this bench).');
      say();
    }

    // --- client start-up alone, to read the berth rows against
    const startup: Record<string, Series> = {};
    const startupClients: Array<[string, string, string[]]> = [['berth', BERTH.cmd, ['--version']]];
    if (dockerBin) startupClients.push(['docker', dockerBin, ['--version']]);
    for (const [name, cmd, args] of startupClients) {
      const ms: number[] = [];
      for (let i = 0; i < WARMUP + RUNS; i++) {
        const r = await run(cmd, args);
        if (r.code !== 0) throw new Error(describeFailure(`${name} ${args.join(' ')}`, r));
        if (i >= WARMUP) ms.push(r.ms);
      }
      startup[name] = series(`${name} ${args.join(' ')}`, ms);
    }
    results['clientStartup'] = startup;
    const bs = startup['berth'];
    const ds = startup['docker'];
    say(`client start-up alone: berth --version median ${fmtMs(bs?.median ?? NaN)}${ds ? `, docker --version median ${fmtMs(ds.median)}` : ''}`);
    notes.push(
      `The berth CLI is a Node program: starting it alone (\`berth --version\`) takes ${fmtMs(bs?.median ?? NaN)} (median)` +
        `${ds ? ` against ${fmtMs(ds.median)} for the Go docker CLI` : ''}; the berth rows include that cost, and ${PARALLEL} berth clients started at once on ${machine.nproc} cores are mostly client start-up.`,
    );
    results['latency'] = lat;
    say();

    // --- parallel starts and memory with containers running
    const par: Record<string, Series> = {};
    const withContainers: Record<string, MemorySample> = {};
    const clients = dockerBin ? [dockerClient(dockerBin), BERTH] : [BERTH];
    for (const client of clients) {
      const walls: Record<string, number[]> = {};
      say(`${PARALLEL} × ${client.name} run -d busybox sleep 300 in parallel, ${PARALLEL_ROUNDS} round(s) per daemon ...`);
      for (let round = 0; round < PARALLEL_ROUNDS; round++) {
        for (const s of specs) {
          const ms = await parallelStart(client, s);
          (walls[s.key] ??= []).push(ms);
          // Memory with the containers running: sampled once, in the docker CLI's last round.
          if (client === clients[0] && round === PARALLEL_ROUNDS - 1) {
            await sleep(1000);
            withContainers[s.key] = sampleMemory(s, PARALLEL);
            const mons = withContainers[s.key]?.monitors;
            if (mons && mons.count !== PARALLEL) notes.push(`${s.key}: found ${mons.count} monitor processes for ${PARALLEL} containers.`);
          }
          await removeAllContainers(s);
        }
      }
      const got = specs.map((s) => series(`${PARALLEL} × ${client.name} run -d → ${s.key}`, walls[s.key] ?? []));
      for (const [i, s] of got.entries()) {
        par[`${client.key}:${specs[i]?.key}`] = s;
        say(`  ${(specs[i]?.key ?? '').padEnd(8)} median ${fmtMs(s.median).padStart(7)}  min ${fmtMs(s.min).padStart(7)}   [${s.ms.map((x) => fmtMs(x)).join(', ')}]`);
      }
      const [b, d] = got;
      const of = PARALLEL_ROUNDS > 1 ? `; median of ${PARALLEL_ROUNDS} rounds, min` : '';
      rows.push({
        figure: `${PARALLEL} × \`${client.name} run -d busybox sleep 300\` in parallel (wall${of})`,
        berthd: b ? `${fmtMs(b.median)}${PARALLEL_ROUNDS > 1 ? ` (min ${fmtMs(b.min)})` : ''}` : '—',
        dockerd: d ? `${fmtMs(d.median)}${PARALLEL_ROUNDS > 1 ? ` (min ${fmtMs(d.min)})` : ''}` : '—',
        ratio: ratio(b?.median, d?.median),
      });
    }
    results['parallel'] = par;
    results['memoryWithContainers'] = withContainers;
    say();

    // --- memory rows
    const describe = (m: MemorySample | undefined): string => {
      if (!m) return '—';
      const parts = Object.entries(m.daemonKb);
      if (parts.length === 1) return fmtMb(m.daemonTotalKb);
      return `${fmtMb(m.daemonTotalKb)} (${parts.map(([k, v]) => `${k} ${fmtMb(v)}`).join(' + ')})`;
    };
    const bi = idle['berthd'];
    const di = idle['dockerd'];
    const bw = withContainers['berthd'];
    const dw = withContainers['dockerd'];
    say('memory (VmRSS from /proc/<pid>/status):');
    say(`  idle:            berthd ${describe(bi)}${di ? `;  dockerd ${describe(di)}` : ''}`);
    say(`  ${PARALLEL} containers:   berthd ${describe(bw)}${dw ? `;  dockerd ${describe(dw)}` : ''}`);
    const mon = (m: MemorySample | undefined, what: string): string =>
      m?.monitors ? `${fmtMb(m.monitors.perContainerRssKb)} RSS, ${fmtMb(m.monitors.perContainerPssKb)} PSS (${m.monitors.count} × ${what})` : '—';
    say(`  per container:   berthd ${mon(bw, 'conmon')}${dw ? `;  dockerd ${mon(dw, 'containerd-shim-runc-v2')}` : ''}`);
    rows.push({ figure: 'daemon RSS, idle (after start and the busybox import)', berthd: describe(bi), dockerd: describe(di), ratio: ratio(bi?.daemonTotalKb, di?.daemonTotalKb) });
    rows.push({ figure: `daemon RSS with ${PARALLEL} containers running`, berthd: describe(bw), dockerd: describe(dw), ratio: ratio(bw?.daemonTotalKb, dw?.daemonTotalKb) });
    rows.push({
      figure: 'per-container monitor RSS',
      berthd: bw?.monitors ? `${fmtMb(bw.monitors.perContainerRssKb)} (conmon)` : '—',
      dockerd: dw?.monitors ? `${fmtMb(dw.monitors.perContainerRssKb)} (containerd-shim-runc-v2)` : '—',
      ratio: ratio(bw?.monitors?.perContainerRssKb, dw?.monitors?.perContainerRssKb),
    });
    const total = (m: MemorySample | undefined): number | undefined => (m?.monitors ? m.daemonTotalKb + m.monitors.rssKb : undefined);
    const bt = total(bw);
    const dt = total(dw);
    rows.push({
      figure: `engine total with ${PARALLEL} containers (daemons + monitors)`,
      berthd: bt !== undefined ? fmtMb(bt) : '—',
      dockerd: dt !== undefined ? fmtMb(dt) : '—',
      ratio: ratio(bt, dt),
    });
    notes.push('RSS counts shared pages (libc, the Go runtime text of the shims) in every process; the PSS figures in results.json divide them among their users.');
    say();

    // --- observability: exec round trip, logs --tail on a large log (bench/observe.ts)
    const obs = await observeRows({ specs, client: dockerBin ? dockerClient(dockerBin) : BERTH, runs: RUNS, warmup: WARMUP, run, say, fmtMs, ratio });
    rows.push(...obs.rows);
    notes.push(...obs.notes);
    results['observe'] = obs.results;
  } catch (err) {
    failure = err as Error;
  }

  // --- cleanup, always (when aborting, the abort handler has it and exits)
  if (aborting) return;
  say('cleaning up ...');
  const report = await doCleanup();
  finished = true;
  clearTimeout(overall);
  machine.loadavgEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  results['cleanup'] = report;
  say(
    `  removed ${report.containersRemoved} container(s); daemons stopped; leftover monitors killed: ${report.monitorsKilled}; ` +
      `mounts left under the bench roots: ${report.mountsLeft.length}; bench processes left: ${report.processesLeft}`,
  );
  if (failure) {
    say(`\nbench FAILED: ${failure.message}`);
    process.exit(1);
  }
  if (report.mountsLeft.length > 0 || report.processesLeft > 0) notes.push('cleanup left mounts or processes behind (see above).');

  results['table'] = rows;
  results['notes'] = notes;
  mkdirSync(OUT_DIR, { recursive: true });
  const jsonFile = path.join(OUT_DIR, 'results.json');
  writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);

  say();
  say(`## Berth vs dockerd — ${machine.date.slice(0, 10)}, ${machine.os}, kernel ${machine.kernel}, nproc ${machine.nproc}`);
  say();
  say('| figure | berthd | dockerd | berthd/dockerd |');
  say('| --- | --- | --- | --- |');
  for (const r of rows) say(`| ${r.figure} | ${r.berthd} | ${r.dockerd} | ${r.ratio} |`);
  say();
  for (const n of notes) say(`- ${n}`);
  say(`- load average at start ${machine.loadavgStart.join(' ')}, at end ${machine.loadavgEnd.join(' ')}.`);
  say();
  say(`JSON: ${path.relative(process.cwd(), jsonFile) || jsonFile}`);
}

main().catch((err: unknown) => {
  say(`bench: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});

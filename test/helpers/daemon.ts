/**
 * Shared helpers for the integration suite: each test file starts its own real berthd in a
 * temporary root (data-root, exec-root, pidfile, socket and cgroup parent all unique), runs the
 * real `berth` and `docker` CLIs against it, talks raw HTTP to its socket, and cleans every trace
 * up afterwards (containers, daemon, conmon processes, mounts, the root, cgroups) even when a
 * test failed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file compiles to dist/test/helpers/daemon.js). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BERTHD = path.join(REPO, 'bin/berthd');
export const BERTH = path.join(REPO, 'bin/berth');
export const DOCKER = '/usr/local/bin/docker';
/** cri-tools' crictl (v1.26.1), for daemons serving CRI. */
export const CRICTL = '/work/shared/tools/cri/crictl';
export const HAVE_DOCKER = fs.existsSync(DOCKER);
export const NO_DOCKER_MSG = `docker CLI not found at ${DOCKER}: docker-CLI cases skipped`;

/** The CLIs every command is run through: berth always, docker when installed. */
export type CliName = 'berth' | 'docker';
export const CLIS: CliName[] = ['berth', 'docker'];

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface WaitOptions {
  timeout?: number;
  interval?: number;
  /** Shown in the error when the deadline passes. */
  what?: string;
}

/**
 * Polls `fn` until it returns a truthy value (which is returned) or the deadline passes (then it
 * throws, with the last value or error seen).
 */
export async function waitFor<T>(fn: () => T | Promise<T>, o: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeout = o.timeout ?? 10_000;
  const interval = o.interval ?? 50;
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${o.what ?? 'condition'} (last: ${detail})`);
    }
    await sleep(interval);
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** A description for assertion messages. */
  desc: string;
}

export interface RunOptions {
  input?: string | Buffer;
  timeout?: number;
  env?: Record<string, string>;
  cwd?: string;
}

/** Runs a program, capturing stdout, stderr and exit status; kills it at the timeout. */
export function run(file: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: { ...process.env, ...o.env },
      cwd: o.cwd ?? REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined);
    if (o.input !== undefined) child.stdin.end(o.input);
    else child.stdin.end();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeout ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      const desc = `${path.basename(file)} ${args.join(' ')}${timedOut ? ' (TIMED OUT)' : ''} → code ${code}\nstdout: ${stdout}\nstderr: ${stderr}`;
      resolve({ code, signal, stdout, stderr, desc });
    });
  });
}

export interface ApiResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = any>(): T;
}

export interface ApiRequest {
  method?: string;
  path: string;
  body?: unknown;
  /** Raw body (sent as is); `body` is sent as JSON. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  timeout?: number;
}

/** A tiny Engine API client over the daemon's UNIX socket. */
export class Api {
  constructor(readonly socketPath: string) {}

  request(r: ApiRequest): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      let payload: Buffer | undefined;
      const headers: Record<string, string> = { ...r.headers };
      if (r.raw !== undefined) payload = Buffer.from(r.raw);
      else if (r.body !== undefined) {
        payload = Buffer.from(JSON.stringify(r.body));
        headers['Content-Type'] ??= 'application/json';
      }
      if (payload) headers['Content-Length'] = String(payload.length);
      const req = http.request({ socketPath: this.socketPath, method: r.method ?? 'GET', path: r.path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text,
            json: () => JSON.parse(text),
          });
        });
      });
      const timer = setTimeout(() => req.destroy(new Error(`API ${r.method ?? 'GET'} ${r.path} timed out`)), r.timeout ?? 30_000);
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.end(payload);
    });
  }

  get(p: string): Promise<ApiResponse> {
    return this.request({ path: p });
  }

  post(p: string, body?: unknown): Promise<ApiResponse> {
    return this.request({ method: 'POST', path: p, ...(body !== undefined ? { body } : {}) });
  }

  delete(p: string): Promise<ApiResponse> {
    return this.request({ method: 'DELETE', path: p });
  }

  /** GET /containers/{id}/json, parsed; throws when it is not 200. */
  async inspect(id: string): Promise<any> {
    const r = await this.get(`/containers/${encodeURIComponent(id)}/json`);
    if (r.status !== 200) throw new Error(`inspect ${id}: ${r.status} ${r.text}`);
    return r.json();
  }

  async ping(): Promise<boolean> {
    try {
      const r = await this.request({ path: '/_ping', timeout: 2000 });
      return r.status === 200 && r.text === 'OK';
    } catch {
      return false;
    }
  }
}

export interface StartOptions {
  /** Reuse the roots of an earlier daemon (live-restore tests). */
  reuse?: TestDaemon;
  /** Bootstrap busybox:latest (default true). */
  busybox?: boolean;
  /** The default bridge (berthd's --bridge; default `none`, so no test file creates berth0). */
  bridge?: string;
  /** The default bridge's --bip. */
  bip?: string;
  /** More berthd arguments (e.g. another -H and --tlsverify with its files). */
  args?: string[];
  /** Serve CRI on `<root>/cri.sock` (default false: `--cri=false`, so parallel daemons never share /run/berth/cri.sock). */
  cri?: boolean;
  /** Called with the new root before the first daemon starts (e.g. to mount a file system at `<root>/data`). */
  prepareRoot?: (root: string) => void;
}

/** One berthd started by a test, with its own roots, socket and cgroup parent. */
export class TestDaemon {
  proc?: ChildProcess;
  private logChunks: string[] = [];
  private netArgs: string[] = ['--bridge', 'none'];
  private extraArgs: string[] = [];
  private criArgs: string[] = ['--cri=false'];
  readonly api: Api;

  private constructor(
    readonly root: string,
    readonly suffix: string,
  ) {
    this.api = new Api(this.socket);
  }

  get socket(): string {
    return path.join(this.root, 's.sock');
  }
  /** The CRI socket (served only when started with `cri: true`). */
  get criSocket(): string {
    return path.join(this.root, 'cri.sock');
  }
  get criEndpoint(): string {
    return `unix://${this.criSocket}`;
  }
  get host(): string {
    return `unix://${this.socket}`;
  }
  get dataRoot(): string {
    return path.join(this.root, 'data');
  }
  get execRoot(): string {
    return path.join(this.root, 'exec');
  }
  get pidfile(): string {
    return path.join(this.root, 'berthd.pid');
  }
  /** The cgroup parent, e.g. `/berth-test-Ab12Cd`. */
  get cgroupParent(): string {
    return `/berth-test-${this.suffix}`;
  }
  get pid(): number {
    return this.proc?.pid ?? 0;
  }
  /** Everything the daemon(s) printed so far. */
  get log(): string {
    return this.logChunks.join('');
  }

  /** Host path of a cgroup v1 file of a container, e.g. cgroupFile('memory', id, 'memory.limit_in_bytes'). */
  cgroupFile(controller: string, id: string, file: string): string {
    return path.join('/sys/fs/cgroup', controller, this.cgroupParent, id, file);
  }

  readCgroup(controller: string, id: string, file: string): string {
    return fs.readFileSync(this.cgroupFile(controller, id, file), 'utf8').trim();
  }

  static async start(o: StartOptions = {}): Promise<TestDaemon> {
    let d: TestDaemon;
    if (o.reuse) {
      d = new TestDaemon(o.reuse.root, o.reuse.suffix);
      d.logChunks = o.reuse.logChunks;
      d.netArgs = o.reuse.netArgs;
      d.extraArgs = o.reuse.extraArgs;
      d.criArgs = o.reuse.criArgs;
    } else {
      const root = fs.mkdtempSync('/tmp/berth-test-');
      d = new TestDaemon(root, path.basename(root).slice('berth-test-'.length));
      fs.mkdirSync(path.join(root, 'docker-config'));
      try {
        o.prepareRoot?.(root);
      } catch (err) {
        await d.cleanup();
        throw err;
      }
    }
    if (!o.reuse) d.netArgs = ['--bridge', o.bridge ?? 'none', ...(o.bip ? ['--bip', o.bip] : [])];
    if (o.args) d.extraArgs = o.args;
    if (o.cri !== undefined) d.criArgs = o.cri ? ['--cri-socket', d.criSocket] : ['--cri=false'];
    try {
      await d.spawnDaemon();
      if (o.busybox ?? !o.reuse) {
        const r = await d.berth(['image', 'bootstrap', 'busybox'], { timeout: 120_000 });
        if (r.code !== 0) throw new Error(`busybox bootstrap failed: ${r.desc}`);
      }
    } catch (err) {
      await d.cleanup();
      throw err;
    }
    return d;
  }

  private async spawnDaemon(): Promise<void> {
    const args = [
      BERTHD,
      '--data-root',
      this.dataRoot,
      '--exec-root',
      this.execRoot,
      '--pidfile',
      this.pidfile,
      '-H',
      this.host,
      '--cgroup-parent',
      this.cgroupParent,
      '--config-file',
      this.configFile(),
      ...this.netArgs,
      ...this.criArgs,
      ...this.extraArgs,
    ];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO });
    this.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => this.logChunks.push(d.toString()));
    proc.stderr?.on('data', (d: Buffer) => this.logChunks.push(d.toString()));
    let exited = false;
    proc.on('exit', (code, sig) => {
      exited = true;
      this.logChunks.push(`[berthd pid ${proc.pid} exited: code ${code} signal ${sig}]\n`);
    });
    await waitFor(
      async () => {
        if (exited) throw new Error(`berthd exited during startup:\n${this.log}`);
        return this.api.ping();
      },
      { timeout: 20_000, what: 'berthd to answer /_ping' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- berthd log ---\n${this.log}`);
    });
    // CRI listens a moment after the Engine API.
    if (this.criArgs.includes('--cri-socket')) await waitFor(() => fs.existsSync(this.criSocket), { timeout: 20_000, what: 'the CRI socket' });
  }

  /** An empty daemon.json in the root, so no host-wide /etc/berth/daemon.json leaks in. */
  private configFile(): string {
    const f = path.join(this.root, 'daemon.json');
    if (!fs.existsSync(f)) fs.writeFileSync(f, '{}\n');
    return f;
  }

  private cliEnv(extra?: Record<string, string>): Record<string, string> {
    return {
      BERTH_HOST: this.host,
      DOCKER_HOST: this.host,
      DOCKER_CONFIG: path.join(this.root, 'docker-config'),
      DOCKER_CLI_HINTS: 'false',
      ...extra,
    };
  }

  berth(args: string[], o: RunOptions = {}): Promise<RunResult> {
    return run(process.execPath, [BERTH, ...args], { ...o, env: this.cliEnv(o.env) });
  }

  docker(args: string[], o: RunOptions = {}): Promise<RunResult> {
    return run(DOCKER, args, { ...o, env: this.cliEnv(o.env) });
  }

  cli(which: CliName, args: string[], o: RunOptions = {}): Promise<RunResult> {
    return which === 'berth' ? this.berth(args, o) : this.docker(args, o);
  }

  /** State of a container via the API. */
  async state(id: string): Promise<any> {
    return (await this.api.inspect(id)).State;
  }

  /** SIGKILLs the daemon process only (containers and their monitors keep running). */
  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await gone;
  }

  /** SIGTERMs the daemon and waits for it to exit (SIGKILL after 15 s). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 15_000);
    await gone;
    clearTimeout(t);
  }

  /**
   * Removes every trace of this daemon: force-removes its containers through the API, stops it,
   * kills leftover monitors and runtime containers, unmounts, removes the root and the cgroups.
   * Never throws; returns the problems it met.
   */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    const step = async (what: string, fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
      }
    };
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null && fs.existsSync(this.criSocket)) {
      // CRI's pods first, through CRI (CNI DEL runs; the Engine API refuses CRI's containers).
      await step('remove CRI pods', async () => {
        if (!fs.existsSync(CRICTL)) return;
        const ep = `unix://${this.criSocket}`;
        await run(CRICTL, ['-r', ep, '-i', ep, '--timeout', '60s', 'rmp', '-fa'], { timeout: 120_000 });
      });
    }
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      await step('remove containers', async () => {
        const r = await this.api.request({ path: '/containers/json?all=1', timeout: 10_000 });
        const list = r.json<{ Id: string }[]>();
        await Promise.all(list.map((c) => this.api.request({ method: 'DELETE', path: `/containers/${c.Id}?force=1`, timeout: 20_000 }).catch(() => undefined)));
      });
    }
    await step('stop daemon', () => this.stop());
    await step('runc delete', () => {
      const runcRoot = path.join(this.execRoot, 'runc');
      if (!fs.existsSync(runcRoot)) return;
      const ls = spawnSync('runc', ['--root', runcRoot, 'list', '-q'], { encoding: 'utf8', timeout: 10_000 });
      for (const id of (ls.stdout ?? '').split('\n').filter(Boolean)) {
        spawnSync('runc', ['--root', runcRoot, 'delete', '-f', id], { timeout: 10_000 });
      }
    });
    await step('kill monitors', () => killProcessesMatching(this.execRoot));
    await step('unmount', () => unmountUnder(this.root));
    await step('rm root', () => fs.rmSync(this.root, { recursive: true, force: true, maxRetries: 3 }));
    await step('rmdir cgroups', () => removeCgroups(this.cgroupParent));
    return problems;
  }

  /** What is left of this daemon on the host (monitors, mounts, the root, cgroups); [] when clean. */
  leftovers(): string[] {
    const out: string[] = [];
    for (const pid of conmonsMatching(this.execRoot)) out.push(`conmon ${pid}`);
    for (const m of mountsUnder(this.root)) out.push(`mount ${m}`);
    if (fs.existsSync(this.root)) out.push(`dir ${this.root}`);
    for (const c of cgroupDirs(this.cgroupParent)) out.push(`cgroup ${c}`);
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) out.push(`berthd ${this.proc.pid}`);
    return out;
  }
}

/** The `after` hook of every test file: cleans up and fails when anything leaked. */
export async function cleanupAndCheck(d: TestDaemon | undefined): Promise<void> {
  if (!d) return;
  const problems = await d.cleanup();
  const left = d.leftovers();
  if (problems.length || left.length) {
    throw new Error(`cleanup of ${d.root} incomplete:\n${[...problems, ...left].join('\n')}\n--- berthd log ---\n${d.log.slice(-4000)}`);
  }
}

/** PIDs of conmon processes whose command line mentions `needle`. */
export function conmonsMatching(needle: string): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.startsWith('conmon\0') && cmd.includes(needle)) pids.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return pids;
}

function killProcessesMatching(needle: string): void {
  for (const pid of conmonsMatching(needle)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Mount points under `root`, deepest first, from /proc/self/mountinfo. */
export function mountsUnder(root: string): string[] {
  const text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const points = new Set<string>();
  for (const line of text.split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const p = mp.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (p === root || p.startsWith(root + '/')) points.add(p);
  }
  return [...points].sort((a, b) => b.length - a.length);
}

function unmountUnder(root: string): void {
  for (let round = 0; round < 3; round++) {
    const points = mountsUnder(root);
    if (points.length === 0) return;
    for (const p of points) spawnSync('umount', ['-l', p], { timeout: 10_000 });
  }
}

/** The cgroup directories of a parent, in every mounted hierarchy. */
export function cgroupDirs(parent: string): string[] {
  const out: string[] = [];
  for (const ctl of fs.readdirSync('/sys/fs/cgroup')) {
    const dir = path.join('/sys/fs/cgroup', ctl, parent);
    if (fs.existsSync(dir)) out.push(dir);
  }
  return out;
}

function removeCgroups(parent: string): void {
  const rmTree = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) rmTree(path.join(dir, e.name));
    }
    fs.rmdirSync(dir);
  };
  const errors: string[] = [];
  for (const dir of cgroupDirs(parent)) {
    try {
      rmTree(dir);
    } catch (err) {
      errors.push(`${dir}: ${(err as Error).message}`);
    }
  }
  if (errors.length) throw new Error(errors.join('; '));
}

/** Whether a process exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export const HEX64 = /^[0-9a-f]{64}$/;

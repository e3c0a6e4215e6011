/**
 * Builds: ../shared/bench/debian-curl (FROM debian:bookworm, apt-get install curl, COPY) built
 * cold (--no-cache), fully cached, and after a change to the COPYed file — berthd (docker CLI,
 * classic builder stream) beside dockerd's classic builder and dockerd's BuildKit (Debian's
 * docker 20.10 client, DOCKER_BUILDKIT=1), and through buildx (the docker CLI 28 with buildx v0.10.5 as its
 * plugin, so `docker build` speaks BuildKit's API) against berthd and against dockerd 20.10's BuildKit.
 *
 * Both daemons get the same debian:bookworm (debootstrap minbase via `berth image bootstrap
 * debian:bookworm`, saved from berthd and loaded into dockerd) and a bridge with outbound NAT,
 * so apt-get reaches Debian's archive from both.
 *
 *   node dist/bench/build.js      (BENCH_BUILD_ROUNDS=2: median of N cold/cached/changed builds)
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DOCKER, DOCKERD, REPO, startBenchDaemon, waitFor } from './registry-harness.js';
import { removeCgroups } from './lib/leftovers.js';
import { mountsUnder } from './lib/procs.js';
import { fmtMs, median, say } from './lib/report.js';
import { berthdNetArgs, dockerdNetArgs, prepareDockerdBridge, removeBenchNetworks } from './lib/network.js';

const ROUNDS = Math.max(1, Number(process.env['BENCH_BUILD_ROUNDS'] ?? 2) || 2);
const SRC = path.resolve(REPO, '..', 'shared', 'bench', 'debian-curl');
const ROOT = '/var/lib/berth-bench-build';
const WORK = `${ROOT}/work`;
const CTX = `${WORK}/ctx`;
const BERTHD = {
  sock: '/run/berth-bench-build.sock',
  data: `${ROOT}/berthd`,
  exec: '/run/berth-bench-build',
  pid: '/run/berth-bench-build.pid',
  cg: '/berth-bench-build',
};
const DREF = {
  sock: '/run/berth-bench-build-dockerd.sock',
  data: `${ROOT}/dockerd`,
  exec: '/run/berth-bench-build-dockerd',
  pid: '/run/berth-bench-build-dockerd.pid',
  cg: '/berth-bench-build-dockerd',
};
/** Debian's docker 20.10 client: it speaks BuildKit to dockerd 20.10 without the buildx plugin. */
const DOCKER_2010 = '/usr/bin/docker';
/** buildx v0.10.5 (../shared/tools/buildx): with it installed, the docker CLI 28's `docker build` is a BuildKit build. */
const BUILDX = path.resolve(REPO, '..', 'shared', 'tools', 'buildx', 'docker-buildx');
/** A DOCKER_CONFIG with buildx as a CLI plugin, for the buildx rows only. */
const BUILDX_CONFIG = `${WORK}/buildx-config`;
const NAT_TAG = 'berth-bench-build';
const DREF_SUBNET = '10.232.0.0/24';

function timed(bin: string, args: string[], env: Record<string, string>): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, args, {
    encoding: 'utf8',
    env: { ...process.env, DOCKER_CLI_HINTS: 'false', DOCKER_CONFIG: `${WORK}/docker-config`, ...env },
    timeout: 900_000,
    maxBuffer: 64 << 20,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status}): ${r.stderr?.slice(-2000)}${r.stdout?.slice(-2000)}`);
  return ms;
}

function natRule(op: '-A' | '-D'): void {
  spawnSync(
    'iptables',
    ['-w', '-t', 'nat', op, 'POSTROUTING', '-s', DREF_SUBNET, '!', '-o', 'bndref', '-j', 'MASQUERADE', '-m', 'comment', '--comment', NAT_TAG],
    { stdio: 'ignore' },
  );
}

function start(kind: 'berthd' | 'dockerd'): Promise<ChildProcess> {
  return kind === 'berthd'
    ? startBenchDaemon('berthd', BERTHD, ROOT, berthdNetArgs())
    : startBenchDaemon('dockerd', DREF, ROOT, [...dockerdNetArgs(), '--iptables=false', '--ip-masq=false']);
}

async function stop(p: ChildProcess | undefined, sock: string): Promise<void> {
  if (!p || p.exitCode !== null) return;
  const ids = spawnSync(DOCKER, ['-H', `unix://${sock}`, 'ps', '-aq'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);
  if (ids.length) spawnSync(DOCKER, ['-H', `unix://${sock}`, 'rm', '-f', ...ids], { stdio: 'ignore' });
  p.kill('SIGTERM');
  await waitFor(() => p.exitCode !== null || p.signalCode !== null, { timeout: 30_000, what: 'daemon exit' }).catch(() => p.kill('SIGKILL'));
}

function cleanupDisk(): void {
  for (const d of [BERTHD, DREF]) {
    // Deepest first: a mount point sorts after the mounts below it in reverse order.
    for (const m of mountsUnder([d.exec, d.data]).sort().reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    rmSync(d.exec, { recursive: true, force: true });
    rmSync(d.sock, { force: true });
    rmSync(d.pid, { force: true });
    // The empty cgroup directories the daemons made under their --cgroup-parent.
    removeCgroups([d.cg]);
  }
  rmSync(ROOT, { recursive: true, force: true });
}

interface Row {
  name: string;
  cold: number;
  cached: number;
  changed: number;
}

interface Target {
  name: string;
  bin: string;
  sock: string;
  env: Record<string, string>;
}

async function main(): Promise<void> {
  if (!existsSync(SRC)) {
    say(`bench/build: ${SRC} not found; skipped`);
    return;
  }
  const haveDockerd = existsSync(DOCKERD);
  cleanupDisk();
  mkdirSync(CTX, { recursive: true });
  cpSync(path.join(SRC, 'Dockerfile'), path.join(CTX, 'Dockerfile'));
  let berthd: ChildProcess | undefined;
  let dockerd: ChildProcess | undefined;
  const rows: Row[] = [];
  try {
    berthd = await start('berthd');
    say('bootstrapping debian:bookworm in berthd (debootstrap minbase)…');
    timed(process.execPath, [path.join(REPO, 'bin/berth'), 'image', 'bootstrap', 'debian:bookworm'], { BERTH_HOST: `unix://${BERTHD.sock}` });
    const targets: Target[] = [{ name: 'berthd (docker CLI, classic API)', bin: DOCKER, sock: BERTHD.sock, env: { DOCKER_BUILDKIT: '0' } }];
    const haveBuildx = existsSync(BUILDX);
    if (haveBuildx) {
      mkdirSync(path.join(BUILDX_CONFIG, 'cli-plugins'), { recursive: true });
      cpSync(BUILDX, path.join(BUILDX_CONFIG, 'cli-plugins', 'docker-buildx'));
      chmodSync(path.join(BUILDX_CONFIG, 'cli-plugins', 'docker-buildx'), 0o755);
      targets.push({ name: 'berthd (docker CLI + buildx)', bin: DOCKER, sock: BERTHD.sock, env: { DOCKER_CONFIG: BUILDX_CONFIG } });
    } else say(`buildx not found at ${BUILDX}: no buildx rows`);
    if (haveDockerd) {
      prepareDockerdBridge();
      natRule('-A');
      dockerd = await start('dockerd');
      const tar = `${WORK}/debian.tar`;
      timed(process.execPath, [path.join(REPO, 'bin/berth'), 'save', '-o', tar, 'debian:bookworm'], { BERTH_HOST: `unix://${BERTHD.sock}` });
      timed(DOCKER, ['-H', `unix://${DREF.sock}`, 'load', '-i', tar], {});
      targets.push({ name: 'dockerd classic builder', bin: DOCKER, sock: DREF.sock, env: { DOCKER_BUILDKIT: '0' } });
      if (existsSync(DOCKER_2010)) targets.push({ name: 'dockerd BuildKit', bin: DOCKER_2010, sock: DREF.sock, env: { DOCKER_BUILDKIT: '1' } });
      if (haveBuildx) targets.push({ name: 'dockerd BuildKit (docker CLI + buildx)', bin: DOCKER, sock: DREF.sock, env: { DOCKER_CONFIG: BUILDX_CONFIG } });
    } else say('dockerd not installed: berthd only');
    // Round by round, every engine in turn: a change in the machine's load (the cold builds
    // fetch from Debian's archive) hits every row alike rather than whichever ran last.
    const times = targets.map(() => ({ cold: [] as number[], cached: [] as number[], changed: [] as number[] }));
    for (let i = 0; i < ROUNDS; i++) {
      for (const [k, t] of targets.entries()) {
        const m = times[k] as { cold: number[]; cached: number[]; changed: number[] };
        const build = (extra: string[]): number => timed(t.bin, ['-H', `unix://${t.sock}`, 'build', '-q', ...extra, '-t', 'bench-build:latest', CTX], t.env);
        writeFileSync(path.join(CTX, 'hello.txt'), `hello ${i}\n`);
        m.cold.push(build(['--no-cache']));
        m.cached.push(build([]));
        writeFileSync(path.join(CTX, 'hello.txt'), `hello changed ${i} ${Date.now()}\n`);
        m.changed.push(build([]));
        say(`${t.name}: cold ${m.cold.at(-1)?.toFixed(0)} ms, cached ${m.cached.at(-1)?.toFixed(0)} ms, after COPY change ${m.changed.at(-1)?.toFixed(0)} ms`);
      }
    }
    for (const [k, t] of targets.entries()) {
      const m = times[k] as { cold: number[]; cached: number[]; changed: number[] };
      rows.push({ name: t.name, cold: median(m.cold), cached: median(m.cached), changed: median(m.changed) });
    }
  } finally {
    await stop(dockerd, DREF.sock);
    await stop(berthd, BERTHD.sock);
    natRule('-D');
    removeBenchNetworks();
    cleanupDisk();
  }
  say('');
  say(`| debian-curl build (median of ${ROUNDS}) | cold (--no-cache) | fully cached | after a COPY change |`);
  say('| --- | --- | --- | --- |');
  for (const r of rows) say(`| ${r.name} | ${fmtMs(r.cold)} | ${fmtMs(r.cached)} | ${fmtMs(r.changed)} |`);
  // Each berthd row beside the dockerd rows reached the same way (classic API; BuildKit).
  const pairs: Array<[string, string]> = [
    ['berthd (docker CLI, classic API)', 'dockerd classic builder'],
    ['berthd (docker CLI, classic API)', 'dockerd BuildKit'],
    ['berthd (docker CLI + buildx)', 'dockerd BuildKit (docker CLI + buildx)'],
    ['berthd (docker CLI + buildx)', 'dockerd BuildKit'],
  ];
  for (const [bn, rn] of pairs) {
    const b = rows.find((x) => x.name === bn);
    const r = rows.find((x) => x.name === rn);
    if (b && r) say(`| ${bn} / ${rn} | ${(b.cold / r.cold).toFixed(2)} | ${(b.cached / r.cached).toFixed(2)} | ${(b.changed / r.changed).toFixed(2)} |`);
  }
  mkdirSync(path.join(REPO, 'dist', 'bench'), { recursive: true });
  writeFileSync(path.join(REPO, 'dist', 'bench', 'build.json'), JSON.stringify({ rounds: ROUNDS, rows }, null, 2));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/build: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});

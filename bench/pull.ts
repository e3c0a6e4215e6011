/**
 * Image pull and unpack: berthd beside Debian's dockerd, same registry, same docker CLI.
 *
 * The image: debian:bookworm from `berth image bootstrap debian` (debootstrap minbase) plus a
 * second layer of real files from this host (BENCH_PULL_EXTRA, default /usr/lib/python3.11 and
 * /usr/share/doc), ~200 MB unpacked. berthd loads it and pushes it (gzip) to Debian's
 * docker-registry on loopback (berth-registry when that is not installed). Then, per round and
 * daemon: remove the image, time `docker pull` (wall clock), and time `docker load` of the
 * uncompressed archive (unpack throughput, MB/s of layer tar bytes).
 *
 *   node dist/bench/pull.js      (BENCH_PULL_ROUNDS=3)
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { removeCgroups } from './lib/leftovers.js';
import { mountsUnder, treeCpuSeconds } from './lib/procs.js';
import { median, say } from './lib/report.js';
import { BerthRegistry, CncfRegistry, DOCKER, DOCKERD, HAVE, REPO, startBenchDaemon, stopProcess, type Target } from './registry-harness.js';

const ROUNDS = Math.max(1, Number(process.env['BENCH_PULL_ROUNDS'] ?? 3) || 3);
const EXTRA = (process.env['BENCH_PULL_EXTRA'] ?? '/usr/lib/python3.11,/usr/share/doc').split(',').filter((p) => existsSync(p));
const ROOT = '/var/lib/berth-bench-pull';
const BERTHD = {
  sock: '/run/berth-bench-pull.sock',
  data: `${ROOT}/berthd`,
  exec: '/run/berth-bench-pull',
  pid: '/run/berth-bench-pull.pid',
  cg: '/berth-bench-pull',
};
const DOCKERD_R = {
  sock: '/run/berth-bench-pull-dockerd.sock',
  data: `${ROOT}/dockerd`,
  exec: '/run/berth-bench-pull-dockerd',
  pid: '/run/berth-bench-pull-dockerd.pid',
  cg: '/berth-bench-pull-dockerd',
};
const WORK = `${ROOT}/work`;

function cli(host: string, args: string[], o: { timeout?: number } = {}): { ms: number; out: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(DOCKER, args, {
    encoding: 'utf8',
    timeout: o.timeout ?? 600_000,
    env: { ...process.env, DOCKER_HOST: `unix://${host}`, DOCKER_CONFIG: path.join(WORK, 'docker-config'), DOCKER_CLI_HINTS: 'false' },
    maxBuffer: 64 << 20,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} (${host}) failed: ${r.stderr || r.error?.message}`);
  return { ms, out: r.stdout };
}

function berth(args: string[]): string {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin/berth'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, BERTH_HOST: `unix://${BERTHD.sock}` },
    timeout: 900_000,
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`berth ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function startDaemon(kind: 'berthd' | 'dockerd'): Promise<ChildProcess> {
  return kind === 'berthd'
    ? startBenchDaemon('berthd', BERTHD, ROOT, ['--bridge', 'none'])
    : startBenchDaemon('dockerd', DOCKERD_R, ROOT, ['--bridge', 'none', '--iptables=false', '--ip-masq=false']);
}

const stop = (proc: ChildProcess | undefined): Promise<void> => stopProcess(proc, 30_000);

function cleanupRoots(): void {
  for (let i = 0; i < 3; i++) for (const mp of mountsUnder([ROOT, BERTHD.exec, DOCKERD_R.exec])) spawnSync('umount', ['-l', mp]);
  for (const p of [ROOT, BERTHD.exec, DOCKERD_R.exec, BERTHD.sock, DOCKERD_R.sock, BERTHD.pid, DOCKERD_R.pid]) rmSync(p, { recursive: true, force: true });
  removeCgroups([BERTHD.cg, DOCKERD_R.cg]);
}

/** Makes the two-layer image in berthd (debootstrap + host files) and returns the archive and its layer bytes. */
function makeImage(name: string): { archive: string; layerBytes: number } {
  berth(['image', 'bootstrap', 'debian:bookworm']);
  const base = path.join(WORK, 'base');
  mkdirSync(base, { recursive: true });
  berth(['save', '-o', path.join(WORK, 'base.tar'), 'debian:bookworm']);
  spawnSync('tar', ['-xf', path.join(WORK, 'base.tar'), '-C', base]);
  const manifest = JSON.parse(readFileSync(path.join(base, 'manifest.json'), 'utf8')) as Array<{ Config: string; Layers: string[] }>;
  const m0 = manifest[0] as { Config: string; Layers: string[] };
  const config = JSON.parse(readFileSync(path.join(base, m0.Config), 'utf8')) as { rootfs: { diff_ids: string[] }; history: Array<Record<string, unknown>> };
  const extra = path.join(base, 'extra.tar');
  const t = spawnSync(
    'tar',
    ['--sort=name', '--mtime=2024-01-01', '--owner=0', '--group=0', '--numeric-owner', '-cf', extra, ...EXTRA.map((p) => p.replace(/^\//, ''))],
    { cwd: '/' },
  );
  if (t.status !== 0) throw new Error(`tar of ${EXTRA.join(' ')} failed: ${String(t.stderr)}`);
  const digest = `sha256:${spawnSync('sha256sum', [extra], { encoding: 'utf8' }).stdout.split(' ')[0]}`;
  config.rootfs.diff_ids.push(digest);
  config.history.push({ created: '2024-01-01T00:00:00Z', created_by: `/bin/sh -c #(nop) ADD ${EXTRA.join(' ')} /` });
  writeFileSync(path.join(base, 'config2.json'), JSON.stringify(config));
  writeFileSync(path.join(base, 'manifest.json'), JSON.stringify([{ Config: 'config2.json', RepoTags: [name], Layers: [...m0.Layers, 'extra.tar'] }]));
  for (const f of ['index.json', 'oci-layout', 'repositories']) rmSync(path.join(base, f), { force: true });
  const archive = path.join(WORK, 'bench-image.tar');
  spawnSync('tar', ['-cf', archive, '-C', base, '.']);
  const layerBytes = [...m0.Layers.map((l) => path.join(base, l)), extra].reduce((n, f) => n + statSync(f).size, 0);
  rmSync(base, { recursive: true, force: true });
  rmSync(path.join(WORK, 'base.tar'), { force: true });
  berth(['rmi', 'debian:bookworm']);
  return { archive, layerBytes };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root');
  if (!existsSync(DOCKERD) || !existsSync(DOCKER)) {
    say('pull bench: dockerd or the docker CLI not installed; skipped');
    return;
  }
  cleanupRoots();
  mkdirSync(WORK, { recursive: true });
  let berthd: ChildProcess | undefined;
  let dockerd: ChildProcess | undefined;
  let reg: Target | undefined;
  const cleanup = async (): Promise<void> => {
    await stop(berthd);
    await stop(dockerd);
    await reg?.stop().catch(() => undefined);
    cleanupRoots();
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    berthd = await startDaemon('berthd');
    dockerd = await startDaemon('dockerd');
    reg = HAVE.cncf ? await CncfRegistry.start() : await BerthRegistry.start({ args: ['--access-log', 'off'] });
    const name = `${reg.host}/bench/debian:big`;
    say(`pull bench: making the image (debootstrap minbase + ${EXTRA.join(', ')})…`);
    const { archive, layerBytes } = makeImage(name);
    const mb = layerBytes / 1e6;
    cli(BERTHD.sock, ['load', '-q', '-i', archive]);
    cli(BERTHD.sock, ['push', name]);
    const id = cli(BERTHD.sock, ['image', 'inspect', '-f', '{{.Id}}', name]).out.trim();
    say(`pull bench: ${name}, ${mb.toFixed(0)} MB of layer tars, registry ${reg.kind === 'cncf' ? 'docker-registry' : 'berth-registry'}, ${ROUNDS} rounds`);
    const res: Record<'berthd' | 'dockerd', { pull: number[]; load: number[]; pullCpu: number[] }> = {
      berthd: { pull: [], load: [], pullCpu: [] },
      dockerd: { pull: [], load: [], pullCpu: [] },
    };
    const pids = { berthd: berthd.pid as number, dockerd: dockerd.pid as number };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [k, sock] of [
        ['berthd', BERTHD.sock],
        ['dockerd', DOCKERD_R.sock],
      ] as const) {
        spawnSync(DOCKER, ['-H', `unix://${sock}`, 'rmi', '-f', name], { stdio: 'ignore' });
        const cpu0 = treeCpuSeconds(pids[k]);
        const pull = cli(sock, ['pull', '-q', name]).ms;
        const pullCpu = treeCpuSeconds(pids[k]) - cpu0;
        const got = cli(sock, ['image', 'inspect', '-f', '{{.Id}}', name]).out.trim();
        if (got !== id) throw new Error(`${k} pulled ${got}, expected ${id}`);
        cli(sock, ['rmi', '-f', name]);
        const load = cli(sock, ['load', '-q', '-i', archive]).ms;
        res[k].pull.push(pull);
        res[k].load.push(load);
        res[k].pullCpu.push(pullCpu);
        say(
          `  round ${r + 1} ${k}: pull ${(pull / 1000).toFixed(2)} s (daemon CPU ${pullCpu.toFixed(2)} s), load ${(load / 1000).toFixed(2)} s (${(mb / (load / 1000)).toFixed(0)} MB/s)`,
        );
      }
    }
    const b = res.berthd;
    const d = res.dockerd;
    say('');
    say('| figure | berthd | dockerd 20.10 | dockerd / berthd |');
    say('| --- | --- | --- | --- |');
    say(
      `| pull of ${mb.toFixed(0)} MB (2 layers, gzip) from a loopback registry, median | ${(median(b.pull) / 1000).toFixed(2)} s | ${(median(d.pull) / 1000).toFixed(2)} s | ${(median(d.pull) / median(b.pull)).toFixed(2)}× |`,
    );
    say(
      `| daemon CPU time (user + system) per pull, median | ${median(b.pullCpu).toFixed(2)} s | ${median(d.pullCpu).toFixed(2)} s | ${(median(d.pullCpu) / median(b.pullCpu)).toFixed(2)}× |`,
    );
    say(
      `| unpack (docker load of the uncompressed archive), median | ${(mb / (median(b.load) / 1000)).toFixed(0)} MB/s | ${(mb / (median(d.load) / 1000)).toFixed(0)} MB/s | ${(median(d.load) / median(b.load)).toFixed(2)}× |`,
    );
    mkdirSync(path.join(REPO, 'dist', 'bench'), { recursive: true });
    writeFileSync(
      path.join(REPO, 'dist', 'bench', 'pull-results.json'),
      JSON.stringify({ image: name, layerBytes, rounds: ROUNDS, extra: EXTRA, results: res }, null, 2),
    );
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`pull bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

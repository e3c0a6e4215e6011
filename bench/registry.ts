/**
 * Registry throughput: push and pull of a ~200 MB image (BENCH_REG_LAYERS layers of
 * BENCH_REG_LAYER_MB MB of random data, made on the fly) through berth-registry and Debian's
 * CNCF distribution registry (docker-registry), with the same client: a small Node client that
 * uploads the layers in parallel as docker does (POST, one streamed PATCH, PUT ?digest=) and
 * pulls them in parallel (GET, hashing every byte). Both registries run side by side and the
 * rounds alternate between them (berth first on even rounds, cncf first on odd ones), so a change
 * of the machine's load hits both alike. Per round and registry: MB/s of the push and the pull,
 * and the registry process's CPU seconds (utime + stime from /proc/<pid>/stat) for each. Prints
 * every round, medians, the ratio of the medians and the median of the per-round ratios; JSON in
 * dist/bench/registry-results.json.
 *
 *   node dist/bench/registry.js  (BENCH_REG_ROUNDS=7 BENCH_REG_WARMUP=1 BENCH_REG_LAYERS=4 BENCH_REG_LAYER_MB=50)
 *   BENCH_REG_BERTH_ARGS='--sendfile always' node dist/bench/registry.js   (extra berth-registry flags)
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as http from 'node:http';
import * as path from 'node:path';
import { cpuSeconds } from './lib/procs.js';
import { median } from './lib/report.js';
import { BerthRegistry, CncfRegistry, HAVE, REPO, type Target } from './registry-harness.js';
import type { ChildProcess } from 'node:child_process';

const num = (k: string, d: number): number => {
  const v = Number(process.env[k]);
  return Number.isFinite(v) && v > 0 ? v : d;
};
const ROUNDS = num('BENCH_REG_ROUNDS', 7);
const WARMUP =
  Number.isFinite(Number(process.env.BENCH_REG_WARMUP)) && process.env.BENCH_REG_WARMUP !== '' && process.env.BENCH_REG_WARMUP !== undefined
    ? Number(process.env.BENCH_REG_WARMUP)
    : 1;
const LAYERS = num('BENCH_REG_LAYERS', 4);
const LAYER_MB = num('BENCH_REG_LAYER_MB', 50);

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function call(
  base: string,
  method: string,
  p: string,
  o: { headers?: Record<string, string | number>; body?: Buffer | NodeJS.ReadableStream; sink?: (c: Buffer) => void } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(p, base), { method, headers: o.headers ?? {}, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => (o.sink ? o.sink(c) : chunks.push(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (o.body === undefined) req.end();
    else if (Buffer.isBuffer(o.body)) req.end(o.body);
    else o.body.pipe(req);
  });
}

interface Layer {
  file: string;
  digest: string;
  size: number;
}

async function makeLayers(dir: string): Promise<Layer[]> {
  const out: Layer[] = [];
  for (let i = 0; i < LAYERS; i++) {
    const file = path.join(dir, `layer${i}`);
    const h = createHash('sha256');
    const ws = createWriteStream(file);
    for (let mb = 0; mb < LAYER_MB; mb++) {
      const chunk = randomBytes(1 << 20);
      h.update(chunk);
      if (!ws.write(chunk)) await new Promise<void>((r) => ws.once('drain', () => r()));
    }
    await new Promise<void>((r) => ws.end(r));
    out.push({ file, digest: `sha256:${h.digest('hex')}`, size: LAYER_MB << 20 });
  }
  return out;
}

async function pushLayer(base: string, repo: string, l: Layer): Promise<void> {
  const post = await call(base, 'POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'Content-Length': 0 } });
  if (post.status !== 202) throw new Error(`POST ${post.status} ${String(post.body)}`);
  const patch = await call(base, 'PATCH', String(post.headers.location), {
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': l.size },
    body: createReadStream(l.file, { highWaterMark: 1 << 20 }),
  });
  if (patch.status !== 202) throw new Error(`PATCH ${patch.status} ${String(patch.body)}`);
  const u = new URL(String(patch.headers.location), base);
  u.searchParams.set('digest', l.digest);
  const put = await call(base, 'PUT', u.pathname + u.search, { headers: { 'Content-Length': 0 } });
  if (put.status !== 201) throw new Error(`PUT ${put.status} ${String(put.body)}`);
}

async function push(base: string, repo: string, layers: Layer[], config: Buffer, manifest: Buffer): Promise<void> {
  await Promise.all(layers.map((l) => pushLayer(base, repo, l)));
  const c = await call(base, 'POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'Content-Length': 0 } });
  const u = new URL(String(c.headers.location), base);
  u.searchParams.set('digest', `sha256:${createHash('sha256').update(config).digest('hex')}`);
  const cp = await call(base, 'PUT', u.pathname + u.search, {
    body: config,
    headers: { 'Content-Length': config.length, 'Content-Type': 'application/octet-stream' },
  });
  if (cp.status !== 201) throw new Error(`config PUT ${cp.status}`);
  const m = await call(base, 'PUT', `/v2/${repo}/manifests/latest`, {
    body: manifest,
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Content-Length': manifest.length },
  });
  if (m.status !== 201) throw new Error(`manifest PUT ${m.status} ${String(m.body)}`);
}

async function pull(base: string, repo: string): Promise<number> {
  const m = await call(base, 'GET', `/v2/${repo}/manifests/latest`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  if (m.status !== 200) throw new Error(`manifest GET ${m.status}`);
  const man = JSON.parse(m.body.toString()) as { config: { digest: string }; layers: { digest: string; size: number }[] };
  let bytes = 0;
  await Promise.all(
    [man.config, ...man.layers].map(async (d) => {
      const h = createHash('sha256');
      const r = await call(base, 'GET', `/v2/${repo}/blobs/${d.digest}`, {
        sink: (c) => {
          h.update(c);
          bytes += c.length;
        },
      });
      if (r.status !== 200) throw new Error(`blob GET ${r.status}`);
      if (`sha256:${h.digest('hex')}` !== d.digest) throw new Error(`digest mismatch on ${d.digest}`);
    }),
  );
  return bytes;
}

interface Sample {
  round: number;
  pushMBs: number;
  pullMBs: number;
  pushCpu: number;
  pullCpu: number;
  clientPushCpu: number;
  clientPullCpu: number;
}

const clientCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** One push and one pull of the image into a new repository; `r` < 0 is a warm-up. */
async function round(t: Target, pid: number, r: number, layers: Layer[], config: Buffer, manifest: Buffer): Promise<Sample> {
  const total = layers.reduce((n, l) => n + l.size, 0) / 1e6;
  const repo = `bench/img${r < 0 ? `w${-r}` : r}`;
  let c0 = cpuSeconds(pid);
  let k0 = clientCpu();
  let t0 = process.hrtime.bigint();
  await push(t.base, repo, layers, config, manifest);
  const pushS = Number(process.hrtime.bigint() - t0) / 1e9;
  const pushCpu = cpuSeconds(pid) - c0;
  const clientPushCpu = clientCpu() - k0;
  c0 = cpuSeconds(pid);
  k0 = clientCpu();
  t0 = process.hrtime.bigint();
  const bytes = await pull(t.base, repo);
  const pullS = Number(process.hrtime.bigint() - t0) / 1e9;
  const pullCpu = cpuSeconds(pid) - c0;
  const clientPullCpu = clientCpu() - k0;
  if (bytes < total * 1e6) throw new Error(`pull got ${bytes} bytes, want ≥ ${total * 1e6}`);
  const s = { round: r, pushMBs: total / pushS, pullMBs: total / pullS, pushCpu, pullCpu, clientPushCpu, clientPullCpu };
  process.stdout.write(
    `  ${r < 0 ? 'warm-up' : `round ${r + 1}`} ${t.kind.padEnd(5)}: push ${s.pushMBs.toFixed(0)} MB/s (${pushS.toFixed(2)} s, server CPU ${pushCpu.toFixed(2)} s, client ${clientPushCpu.toFixed(2)} s), ` +
      `pull ${s.pullMBs.toFixed(0)} MB/s (${pullS.toFixed(2)} s, server CPU ${pullCpu.toFixed(2)} s, client ${clientPullCpu.toFixed(2)} s)\n`,
  );
  return s;
}

const pidOf = (t: Target): number => {
  const p = (t as unknown as { proc?: ChildProcess }).proc?.pid;
  if (p === undefined) throw new Error(`${t.kind}: no process id`);
  return p;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-regbench-'));
  const running: Target[] = [];
  const cleanup = async (): Promise<void> => {
    for (const t of running.splice(0)) await t.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  try {
    process.stdout.write(`registry bench: ${LAYERS} × ${LAYER_MB} MB random layers, ${ROUNDS} rounds, same Node client for both\n`);
    if (process.env.BENCH_REG_BERTH_ARGS) process.stdout.write(`  berth-registry flags: ${process.env.BENCH_REG_BERTH_ARGS}\n`);
    const layers = await makeLayers(dir);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: `sha256:${createHash('sha256').update(config).digest('hex')}`,
          size: config.length,
        },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
      }),
    );
    const targets: Target[] = [];
    const extra = (process.env.BENCH_REG_BERTH_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
    const berth = await BerthRegistry.start({ args: ['--access-log', 'off', ...extra] });
    running.push(berth);
    targets.push(berth);
    if (HAVE.cncf) {
      const cncf = await CncfRegistry.start();
      running.push(cncf);
      targets.push(cncf);
    } else process.stdout.write('  docker-registry not installed: no comparison\n');
    const results: Record<string, Sample[]> = Object.fromEntries(targets.map((t) => [t.kind, [] as Sample[]]));
    for (let w = 1; w <= WARMUP; w++) for (const t of targets) await round(t, pidOf(t), -w, layers, config, manifest);
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) results[t.kind]!.push(await round(t, pidOf(t), r, layers, config, manifest));
    }
    const total = layers.reduce((n, l) => n + l.size, 0) / 1e6;
    const med = (k: string, f: (s: Sample) => number): number => median(results[k]!.map(f));
    const row = (k: string): string =>
      `| ${k === 'berth' ? 'berth-registry' : 'docker-registry 2.8'} | ${med(k, (s) => s.pushMBs).toFixed(0)} | ${med(k, (s) => s.pullMBs).toFixed(0)} | ` +
      `${med(k, (s) => s.pushCpu).toFixed(2)} | ${med(k, (s) => s.pullCpu).toFixed(2)} | ${med(k, (s) => s.clientPushCpu).toFixed(2)} / ${med(k, (s) => s.clientPullCpu).toFixed(2)} |`;
    process.stdout.write(
      `\n${ROUNDS} rounds of ${total.toFixed(0)} MB, alternating, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n` +
        `| registry | push MB/s (median) | pull MB/s (median) | server CPU s per push | server CPU s per pull | client CPU s push / pull |\n| --- | --- | --- | --- | --- | --- |\n${row('berth')}\n`,
    );
    if (results.cncf) {
      process.stdout.write(`${row('cncf')}\n`);
      const b = results.berth!;
      const c = results.cncf;
      const paired = (f: (s: Sample) => number): number => median(b.map((s, i) => f(s) / f(c[i]!)));
      process.stdout.write(
        `| ratio berth/cncf (of medians) | ${(med('berth', (s) => s.pushMBs) / med('cncf', (s) => s.pushMBs)).toFixed(2)} | ${(med('berth', (s) => s.pullMBs) / med('cncf', (s) => s.pullMBs)).toFixed(2)} | ` +
          `${(med('berth', (s) => s.pushCpu) / med('cncf', (s) => s.pushCpu)).toFixed(2)} | ${(med('berth', (s) => s.pullCpu) / med('cncf', (s) => s.pullCpu)).toFixed(2)} | |\n` +
          `| ratio berth/cncf (median of per-round ratios) | ${paired((s) => s.pushMBs).toFixed(2)} | ${paired((s) => s.pullMBs).toFixed(2)} | ${paired((s) => s.pushCpu).toFixed(2)} | ${paired((s) => s.pullCpu).toFixed(2)} | |\n`,
      );
    }
    const outDir = path.join(REPO, 'dist', 'bench');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(
      path.join(outDir, 'registry-results.json'),
      JSON.stringify(
        { date: new Date().toISOString(), loadavg: os.loadavg(), layers: LAYERS, layerMB: LAYER_MB, rounds: ROUNDS, warmup: WARMUP, results },
        null,
        2,
      ),
    );
  } finally {
    await cleanup();
    agent.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`registry bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

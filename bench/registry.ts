/**
 * Registry throughput: push and pull of a ~200 MB image (BENCH_REG_LAYERS layers of
 * BENCH_REG_LAYER_MB MB of random data, made on the fly) through berth-registry and Debian's
 * CNCF distribution registry (docker-registry), with the same client: a small Node client that
 * uploads the layers in parallel as docker does (POST, one streamed PATCH, PUT ?digest=) and
 * pulls them in parallel (GET, hashing every byte). Prints MB/s per round, medians and the
 * berth/cncf ratio; JSON in dist/bench/registry-results.json.
 *
 *   node dist/bench/registry.js        (BENCH_REG_ROUNDS=3 BENCH_REG_LAYERS=4 BENCH_REG_LAYER_MB=50)
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { median } from './common.js';
import { BerthRegistry, CncfRegistry, HAVE, REPO, type Target } from './registry-harness.js';

const num = (k: string, d: number): number => {
  const v = Number(process.env[k]);
  return Number.isFinite(v) && v > 0 ? v : d;
};
const ROUNDS = num('BENCH_REG_ROUNDS', 3);
const LAYERS = num('BENCH_REG_LAYERS', 4);
const LAYER_MB = num('BENCH_REG_LAYER_MB', 50);

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function call(base: string, method: string, p: string, o: { headers?: Record<string, string | number>; body?: Buffer | NodeJS.ReadableStream; sink?: (c: Buffer) => void } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
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
  if (post.status !== 202) throw new Error(`POST ${post.status} ${post.body}`);
  const patch = await call(base, 'PATCH', String(post.headers.location), {
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': l.size },
    body: createReadStream(l.file, { highWaterMark: 1 << 20 }),
  });
  if (patch.status !== 202) throw new Error(`PATCH ${patch.status} ${patch.body}`);
  const u = new URL(String(patch.headers.location), base);
  u.searchParams.set('digest', l.digest);
  const put = await call(base, 'PUT', u.pathname + u.search, { headers: { 'Content-Length': 0 } });
  if (put.status !== 201) throw new Error(`PUT ${put.status} ${put.body}`);
}

async function push(base: string, repo: string, layers: Layer[], config: Buffer, manifest: Buffer): Promise<void> {
  await Promise.all(layers.map((l) => pushLayer(base, repo, l)));
  const c = await call(base, 'POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'Content-Length': 0 } });
  const u = new URL(String(c.headers.location), base);
  u.searchParams.set('digest', `sha256:${createHash('sha256').update(config).digest('hex')}`);
  const cp = await call(base, 'PUT', u.pathname + u.search, { body: config, headers: { 'Content-Length': config.length, 'Content-Type': 'application/octet-stream' } });
  if (cp.status !== 201) throw new Error(`config PUT ${cp.status}`);
  const m = await call(base, 'PUT', `/v2/${repo}/manifests/latest`, { body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Content-Length': manifest.length } });
  if (m.status !== 201) throw new Error(`manifest PUT ${m.status} ${m.body}`);
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

async function measure(t: Target, layers: Layer[], config: Buffer, manifest: Buffer): Promise<{ push: number[]; pull: number[] }> {
  const total = layers.reduce((n, l) => n + l.size, 0) / 1e6;
  const res = { push: [] as number[], pull: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    const repo = `bench/img${r}`;
    let t0 = process.hrtime.bigint();
    await push(t.base, repo, layers, config, manifest);
    const pushS = Number(process.hrtime.bigint() - t0) / 1e9;
    t0 = process.hrtime.bigint();
    await pull(t.base, repo);
    const pullS = Number(process.hrtime.bigint() - t0) / 1e9;
    res.push.push(total / pushS);
    res.pull.push(total / pullS);
    process.stdout.write(`  ${t.kind.padEnd(5)} round ${r + 1}: push ${(total / pushS).toFixed(0)} MB/s (${pushS.toFixed(2)} s), pull ${(total / pullS).toFixed(0)} MB/s (${pullS.toFixed(2)} s)\n`);
  }
  return res;
}

async function main(): Promise<void> {
  const dir = mkdtempSync('/tmp/berth-regbench-');
  const running: Target[] = [];
  const cleanup = async (): Promise<void> => {
    for (const t of running.splice(0)) await t.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  try {
    process.stdout.write(`registry bench: ${LAYERS} × ${LAYER_MB} MB random layers, ${ROUNDS} rounds, same Node client for both\n`);
    const layers = await makeLayers(dir);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${createHash('sha256').update(config).digest('hex')}`, size: config.length },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
      }),
    );
    const results: Record<string, { push: number[]; pull: number[] }> = {};
    const berth = await BerthRegistry.start({ args: ['--access-log', 'off'] });
    running.push(berth);
    results.berth = await measure(berth, layers, config, manifest);
    await berth.stop();
    running.splice(running.indexOf(berth), 1);
    if (HAVE.cncf) {
      const cncf = await CncfRegistry.start();
      running.push(cncf);
      results.cncf = await measure(cncf, layers, config, manifest);
    } else process.stdout.write('  docker-registry not installed: no comparison\n');
    const row = (k: string): string => {
      const r = results[k]!;
      return `| ${k === 'berth' ? 'berth-registry' : 'docker-registry 2.8'} | ${median(r.push).toFixed(0)} | ${median(r.pull).toFixed(0)} |`;
    };
    process.stdout.write(`\n| registry | push MB/s (median) | pull MB/s (median) |\n| --- | --- | --- |\n${row('berth')}\n`);
    if (results.cncf) {
      process.stdout.write(`${row('cncf')}\n`);
      const b = results.berth!;
      const c = results.cncf;
      process.stdout.write(`| ratio berth/cncf | ${(median(b.push) / median(c.push)).toFixed(2)} | ${(median(b.pull) / median(c.pull)).toFixed(2)} |\n`);
    }
    const outDir = path.join(REPO, 'dist', 'bench');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'registry-results.json'), JSON.stringify({ layers: LAYERS, layerMB: LAYER_MB, rounds: ROUNDS, results }, null, 2));
  } finally {
    await cleanup();
    agent.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`registry bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

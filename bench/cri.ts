/**
 * CRI latency: `critest -benchmark` against berthd and against containerd 1.6 (Debian's package,
 * its CRI plugin) in the same run, through test/cri/compare-critest.sh (BENCH=1): the same
 * stand-in images in one local berth-registry, each daemon on its own roots, socket and CNI
 * bridge, the anchor's benchmark-params.yaml (/work/shared/cri-anchor/setup). Prints the median
 * per operation (as the anchor's bench-summary.py) with berthd/containerd ratios, writes
 * dist/bench/cri-results.json. The script cleans up (pods, daemons, shims, mounts, bridges, NAT
 * rules, shm segments) on success, failure and SIGINT/SIGTERM.
 *
 *   node dist/bench/cri.js      (BENCH_CRI_SAMPLES=50: pods and containers per benchmark; images 2/5 of it)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { firstLine } from './lib/machine.js';
import { OUT_DIR, REPO } from './lib/paths.js';
import { median, say } from './lib/report.js';

const WORK = '/tmp/berth-bench-cri';
const SAMPLES = Math.max(4, Number(process.env['BENCH_CRI_SAMPLES'] ?? 50) || 50);
const SIDES = ['berthd', 'containerd'] as const;
type Side = (typeof SIDES)[number];

/** critest's operation names in its JSON files -> the row label (the anchor's summary order). */
const OPS: [string, string][] = [
  ['CreateContainer', 'CreateContainer'],
  ['StartContainer', 'StartContainer'],
  ['StatusContainer', 'StatusContainer'],
  ['StopContainer', 'StopContainer'],
  ['RemoveContainer', 'RemoveContainer'],
  ['CreatePod', 'RunPodSandbox'],
  ['StatusPod', 'StatusPod'],
  ['StopPod', 'StopPod'],
  ['RemovePod', 'RemovePod'],
  ['PullImage', 'PullImage'],
  ['StatusImage', 'StatusImage'],
  ['RemoveImage', 'RemoveImage'],
  ['ListImages', 'ListImages'],
];

interface BenchFile {
  operationsNames?: string[];
  datapoints?: { operationsDurationsNs?: number[]; startTime?: number; endTime?: number }[];
}

/** Operation -> samples in ms, from every *_benchmark_data.json critest wrote for one daemon. */
function readSide(dir: string): Map<string, number[]> {
  const ops = new Map<string, number[]>();
  if (!existsSync(dir)) return ops;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('_benchmark_data.json'))) {
    const d = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as BenchFile;
    const names = d.operationsNames ?? [];
    names.forEach((op, i) => {
      const v = (d.datapoints ?? []).map((p) => (p.operationsDurationsNs?.[i] ?? NaN) / 1e6).filter(Number.isFinite);
      ops.set(op, [...(ops.get(op) ?? []), ...v]);
    });
  }
  return ops;
}

/** Runs compare-critest.sh in benchmark mode, its output passed through; resolves with its exit code. */
function runCompare(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(path.join(REPO, 'test/cri/compare-critest.sh'), [], {
      env: { ...process.env, BENCH: '1', KEEP: '1', WORK, BENCH_CRI_SAMPLES: String(SAMPLES) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    // The script cleans up on TERM/INT (its EXIT trap); wait for it rather than leaving it behind.
    const forward = (): void => void child.kill('SIGTERM');
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, sig) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (sig ? 130 : 1));
    });
  });
}

async function main(): Promise<void> {
  const load0 = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const date = new Date().toISOString();
  const containerd = await firstLine('containerd', ['--version']);
  say(`CRI bench — ${date}: critest -benchmark, ${SAMPLES} pods/containers per benchmark, berthd and ${containerd || 'containerd'}`);
  const rc = await runCompare();
  const load1 = os.loadavg().map((x) => Math.round(x * 100) / 100);
  if (rc === 130) {
    say('cri bench: interrupted (cleaned up)');
    process.exit(130);
  }
  const data: Record<Side, Map<string, number[]>> = {
    berthd: readSide(path.join(WORK, 'report/berthd/bench')),
    containerd: readSide(path.join(WORK, 'report/containerd/bench')),
  };
  const summaries: Record<string, string> = {};
  for (const s of SIDES) {
    const f = path.join(WORK, `report/${s}/summary.txt`);
    summaries[s] = existsSync(f) ? readFileSync(f, 'utf8').trim() : '(no summary)';
  }
  const rows: { operation: string; berthd: number; containerd: number; nBerthd: number; nContainerd: number; ratio: number }[] = [];
  for (const [op, label] of OPS) {
    const b = data.berthd.get(op) ?? [];
    const c = data.containerd.get(op) ?? [];
    rows.push({ operation: label, berthd: median(b), containerd: median(c), nBerthd: b.length, nContainerd: c.length, ratio: median(b) / median(c) });
  }
  const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '—');
  say();
  say(`## CRI: berthd vs containerd 1.6 — ${date.slice(0, 10)}, ${os.cpus().length} cores, critest v1.26.1 -benchmark`);
  say();
  say('| operation (median, ms) | berthd | containerd | berthd/containerd |');
  say('| --- | --- | --- | --- |');
  for (const r of rows) say(`| ${r.operation} (N ${r.nBerthd}/${r.nContainerd}) | ${f2(r.berthd)} | ${f2(r.containerd)} | ${f2(r.ratio)} |`);
  say();
  for (const s of SIDES) say(`- ${summaries[s]}`);
  say(`- load average at start ${load0.join(' ')}, at end ${load1.join(' ')}.`);
  mkdirSync(OUT_DIR, { recursive: true });
  const samples = Object.fromEntries(SIDES.map((s) => [s, Object.fromEntries([...data[s]].map(([k, v]) => [k, v.map((x) => Math.round(x * 100) / 100)]))]));
  const jsonFile = path.join(OUT_DIR, 'cri-results.json');
  writeFileSync(
    jsonFile,
    `${JSON.stringify({ date, containerd, samplesPerBenchmark: SAMPLES, loadavgStart: load0, loadavgEnd: load1, summaries, rows, samples }, null, 2)}\n`,
  );
  say(`JSON: ${path.relative(process.cwd(), jsonFile) || jsonFile}`);
  const missing = rows.filter((r) => r.nBerthd === 0 || r.nContainerd === 0).map((r) => r.operation);
  if (rc !== 0 || missing.length > 0) {
    say(`cri bench FAILED: compare-critest.sh exit ${rc}${missing.length ? `; no samples for ${missing.join(', ')}` : ''}`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`cri bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

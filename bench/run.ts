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
 *   5. compose: `up -d`/`down -v` of a ten-service app, berth compose and docker-compose 1.29;
 *   6. berthd/dockerd ratios; a markdown table at the end and JSON in dist/bench/results.json.
 * Cleans up on success, failure, SIGINT/SIGTERM and its own overall time limit.
 *
 * Environment: BENCH_RUNS (default 10), BENCH_WARMUP (2), BENCH_PARALLEL (20),
 * BENCH_PARALLEL_ROUNDS (3), BENCH_HTTP_REQUESTS (500), BENCH_TIMEOUT (seconds for the whole
 * bench, 900), BENCH_LOG_MB (1024, the log of the `logs --tail` figure), BENCH_GROUPS (a comma list of
 * latency, parallel, observe, compose: only those groups; default all).
 *
 * This file is the entry: the order of the groups and the report around them. The plumbing is in
 * bench/lib/ (daemons, clean-up, clients, commands, /proc, settings, report formats), each group's
 * measurements in bench/groups/ (latency, ports, startup, parallel, memory, observe).
 */
import { mkdirSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanup, LOCK, releaseLock, takeLock, type CleanupReport } from './lib/cleanup.js';
import { BERTH, dockerClient } from './lib/clients.js';
import { BERTHD, berthdArgs, DOCKERD, dockerdArgs, startDaemon } from './lib/daemons.js';
import { api, describeFailure, run, sleep, which } from './lib/exec.js';
import { machineFacts } from './lib/machine.js';
import { prepareDockerdBridge } from './lib/network.js';
import { OUT_DIR, REPO } from './lib/paths.js';
import { fmtMs, ratio, say, type Row } from './lib/report.js';
import { groupOn, PARALLEL, PARALLEL_ROUNDS, RUNS, TIMEOUT_S, WARMUP } from './lib/settings.js';
import type { RunContext } from './groups/context.js';
import { latencyRows } from './groups/latency.js';
import { sampleMemory, memoryRows, type MemorySample } from './groups/memory.js';
import { observeRows } from './groups/observe.js';
import { parallelRows } from './groups/parallel.js';
import { portRows } from './groups/ports.js';
import { clientStartup } from './groups/startup.js';
import { composeRows } from './groups/compose.js';

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    say('bench: needs root (it starts daemons and containers)');
    process.exit(2);
  }
  if (!existsSync(path.join(REPO, 'dist', 'src', 'daemon', 'main.js')) || !existsSync(path.join(REPO, 'dist', 'berth.mjs'))) {
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
    if (pre.containersRemoved + pre.monitorsKilled > 0)
      say(`(cleared leftovers of an earlier run: ${pre.containersRemoved} containers, ${pre.monitorsKilled} monitors)`);

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

    const ctx: RunContext = { specs, dockerBin, machine, rows, notes, results };
    if (groupOn('latency')) {
      results['latency'] = await latencyRows(ctx);
      await portRows(ctx);
      await clientStartup(ctx);
    }
    if (groupOn('parallel')) {
      const withContainers = await parallelRows(ctx);
      memoryRows(ctx, idle, withContainers);
    }

    // --- observability: exec round trip, logs --tail on a large log (bench/observe.ts)
    if (groupOn('observe')) {
      const obs = await observeRows({ specs, client: dockerBin ? dockerClient(dockerBin) : BERTH, runs: RUNS, warmup: WARMUP, run, say, fmtMs, ratio });
      rows.push(...obs.rows);
      notes.push(...obs.notes);
      results['observe'] = obs.results;
    }

    // --- compose: up -d / down -v of a ten-service app (bench/groups/compose.ts)
    if (groupOn('compose')) await composeRows(ctx);
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

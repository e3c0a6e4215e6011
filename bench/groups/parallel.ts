/**
 * PARALLEL × `run -d busybox sleep 300` started at once on each daemon (wall time until the last
 * client exits), PARALLEL_ROUNDS rounds per client; the memory with the containers running is
 * sampled in the first client's last round.
 */
import { BERTH, dockerClient, type Client } from '../lib/clients.js';
import { removeAllContainers, type DaemonSpec } from '../lib/daemons.js';
import { api, describeFailure, run, sleep, type ExecResult } from '../lib/exec.js';
import { fmtMs, ratio, say, series, type Series } from '../lib/report.js';
import { PARALLEL, PARALLEL_ROUNDS } from '../lib/settings.js';
import type { RunContext } from './context.js';
import { sampleMemory, type MemorySample } from './memory.js';

async function countRunning(spec: DaemonSpec): Promise<number> {
  const r = await api(spec.sock, 'GET', '/containers/json');
  if (r.status !== 200) throw new Error(`${spec.key}: listing containers: HTTP ${r.status}`);
  return (JSON.parse(r.body) as unknown[]).length;
}

/** PARALLEL × `run -d busybox sleep 300` started at once; wall time until the last client exits. */
async function parallelStart(client: Client, spec: DaemonSpec): Promise<number> {
  const env = client.env(spec);
  const start = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: PARALLEL }, () => run(client.cmd, ['run', '-d', 'busybox', 'sleep', '300'], { env })));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const bad = results.filter((r) => r.code !== 0);
  if (bad.length > 0) throw new Error(describeFailure(`${bad.length}/${PARALLEL} of ${client.name} run -d (${spec.key})`, bad[0] as ExecResult));
  const n = await countRunning(spec);
  if (n !== PARALLEL) throw new Error(`${spec.key}: ${n} containers running after ${PARALLEL} × ${client.name} run -d`);
  return ms;
}

/** The parallel rows; returns the memory samples taken with PARALLEL containers running. */
export async function parallelRows({ specs, dockerBin, rows, notes, results }: RunContext): Promise<Record<string, MemorySample>> {
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
      say(
        `  ${(specs[i]?.key ?? '').padEnd(8)} median ${fmtMs(s.median).padStart(7)}  min ${fmtMs(s.min).padStart(7)}   [${s.ms.map((x) => fmtMs(x)).join(', ')}]`,
      );
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
  return withContainers;
}

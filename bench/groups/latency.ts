/**
 * `run --rm busybox true` latency: the docker CLI (with and without `--network none`) and
 * bin/berth the same, against each daemon, taking turns round by round.
 */
import type { DaemonSpec } from '../lib/daemons.js';
import { BERTH, dockerClient, type Client } from '../lib/clients.js';
import { describeFailure, run } from '../lib/exec.js';
import { fmtMs, ratio, say, series, type Series } from '../lib/report.js';
import { RUNS, WARMUP } from '../lib/settings.js';
import type { RunContext } from './context.js';

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

/** The latency rows and their note; returns the series for results.json's `latency`. */
export async function latencyRows({ specs, dockerBin, rows, notes }: RunContext): Promise<Record<string, Series>> {
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
      say(
        `    ${(specs[si]?.key ?? '').padEnd(8)} median ${fmtMs(s.median).padStart(7)}  min ${fmtMs(s.min).padStart(7)}  max ${fmtMs(s.max).padStart(7)}   [${s.ms.map((x) => Math.round(x)).join(' ')}]`,
      );
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
  return lat;
}

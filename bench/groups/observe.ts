/**
 * Observability figures for bench/run.ts, berthd beside dockerd with the same client:
 *   - `exec` round trip: `<client> exec <running container> true`, taking turns between daemons;
 *   - `logs --tail 10` on a 1 GB log (BENCH_LOG_MB), written by a container through each
 *     daemon's own log path (conmon's k8s-file / dockerd's json-file) with max-size above it.
 */
import { statSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { median } from '../lib/report.js';

export interface ObserveSpec {
  key: 'berthd' | 'dockerd';
  dataRoot: string;
}

export interface ObserveClient {
  name: string;
  cmd: string;
  env(spec: ObserveSpec): NodeJS.ProcessEnv;
}

export interface ObserveDeps<S extends ObserveSpec> {
  specs: S[];
  client: ObserveClient;
  runs: number;
  warmup: number;
  run: (
    cmd: string,
    args: string[],
    o: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ) => Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>;
  say: (line?: string) => void;
  fmtMs: (ms: number) => string;
  ratio: (a: number | undefined, b: number | undefined) => string;
}

export interface ObserveRow {
  figure: string;
  berthd: string;
  dockerd: string;
  ratio: string;
}

const LOG_MB = Math.max(1, Number(process.env['BENCH_LOG_MB'] ?? 1024) || 1024);

async function must<S extends ObserveSpec>(d: ObserveDeps<S>, spec: S, args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await d.run(d.client.cmd, args, { env: d.client.env(spec), timeoutMs });
  if (r.code !== 0) throw new Error(`${d.client.name} ${args.join(' ')} (${spec.key}) → ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** Sum of the log files of a container (all rotations), from the daemon's data root. */
function logBytes(spec: ObserveSpec, id: string): number {
  const dir = path.join(spec.dataRoot, 'containers', id);
  let total = 0;
  for (const f of readdirSync(dir)) {
    if ((f.startsWith('container.log') && !f.endsWith('.cur')) || f.endsWith('-json.log')) total += statSync(path.join(dir, f)).size;
  }
  return total;
}

async function timed<S extends ObserveSpec>(d: ObserveDeps<S>, argsOf: (spec: S) => string[]): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (let i = 0; i < d.warmup + d.runs; i++) {
    for (const spec of d.specs) {
      const args = argsOf(spec);
      const r = await d.run(d.client.cmd, args, { env: d.client.env(spec), timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`${d.client.name} ${args.join(' ')} (${spec.key}) → ${r.code}: ${r.stderr.trim()}`);
      if (i >= d.warmup) out.set(spec.key, [...(out.get(spec.key) ?? []), r.ms]);
    }
  }
  return out;
}

function row<S extends ObserveSpec>(d: ObserveDeps<S>, figure: string, times: Map<string, number[]>): ObserveRow {
  const b = times.get('berthd');
  const k = times.get('dockerd');
  const cell = (xs: number[] | undefined): string => (xs ? `${d.fmtMs(median(xs))} (min ${d.fmtMs(Math.min(...xs))})` : '—');
  for (const [key, xs] of times)
    d.say(
      `    ${key.padEnd(8)} median ${d.fmtMs(median(xs)).padStart(7)}  min ${d.fmtMs(Math.min(...xs)).padStart(7)}   [${xs.map((x) => Math.round(x)).join(' ')}]`,
    );
  return { figure, berthd: cell(b), dockerd: cell(k), ratio: d.ratio(b ? median(b) : undefined, k ? median(k) : undefined) };
}

export async function observeRows<S extends ObserveSpec>(
  d: ObserveDeps<S>,
): Promise<{ rows: ObserveRow[]; notes: string[]; results: Record<string, unknown> }> {
  const rows: ObserveRow[] = [];
  const notes: string[] = [];
  const results: Record<string, unknown> = {};

  // --- exec round trip
  const ids = new Map<string, string>();
  for (const spec of d.specs) ids.set(spec.key, await must(d, spec, ['run', '-d', 'busybox', 'sleep', '600']));
  d.say(`${d.client.name} exec <container> true: ${d.warmup} warm-up + ${d.runs} timed rounds, taking turns ...`);
  const exec = await timed(d, (spec) => ['exec', ids.get(spec.key) as string, 'true']);
  rows.push(row(d, `\`${d.client.name} exec <running container> true\` round trip (median of ${d.runs}, min)`, exec));
  results['exec'] = Object.fromEntries(exec);

  // --- logs --tail 10 on a large log
  const lineLen = 1000;
  const lines = Math.ceil((LOG_MB * 1024 * 1024) / lineLen);
  const cap = `${LOG_MB * 2 + 64}m`;
  d.say(`writing a ${LOG_MB} MiB log (${lines} lines of ${lineLen} bytes) in one container per daemon ...`);
  const logIds = new Map<string, string>();
  for (const spec of d.specs) {
    const t0 = Date.now();
    const id = await must(d, spec, [
      'run',
      '-d',
      '--log-opt',
      `max-size=${cap}`,
      'busybox',
      'sh',
      '-c',
      `yes "$(printf %0${lineLen - 1}d 0)" | head -n ${lines}`,
    ]);
    await must(d, spec, ['wait', id], 1_800_000);
    logIds.set(spec.key, id);
    const bytes = logBytes(spec, id);
    d.say(`  ${spec.key}: log written in ${d.fmtMs(Date.now() - t0)}, ${(bytes / 1024 / 1024).toFixed(0)} MiB on disk`);
    results[`logBytes:${spec.key}`] = bytes;
  }
  d.say(`${d.client.name} logs --tail 10 <container> ...`);
  const tail = await timed(d, (spec) => ['logs', '--tail', '10', logIds.get(spec.key) as string]);
  rows.push(
    row(d, `\`${d.client.name} logs --tail 10\` on a ${LOG_MB >= 1024 ? `${LOG_MB / 1024} GiB` : `${LOG_MB} MiB`} log (median of ${d.runs}, min)`, tail),
  );
  results['logsTail'] = Object.fromEntries(tail);
  notes.push(
    `The large log: ${lines} lines of ${lineLen} bytes from \`yes | head\`, written through each daemon's own log path (berthd: conmon's k8s-file; dockerd: json-file), ` +
      `with \`--log-opt max-size=${cap}\` so neither rotates. berthd finds the last lines by reading backwards from the end.`,
  );
  for (const spec of d.specs) {
    await must(d, spec, ['rm', '-f', ids.get(spec.key) as string, logIds.get(spec.key) as string]);
  }
  return { rows, notes, results };
}

/**
 * bench/run.ts's knobs, read once from the environment: BENCH_RUNS (default 10), BENCH_WARMUP
 * (2), BENCH_PARALLEL (20), BENCH_PARALLEL_ROUNDS (3), BENCH_HTTP_REQUESTS (500), BENCH_TIMEOUT
 * (seconds for the whole bench, 900). A value that is not an integer ≥ its minimum ends the bench.
 */

function intEnv(name: string, def: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`bench: ${name}=${raw} is not an integer >= ${min}\n`);
    process.exit(2);
  }
  return n;
}

export const RUNS = intEnv('BENCH_RUNS', 10, 1);
export const WARMUP = intEnv('BENCH_WARMUP', 2, 0);
export const PARALLEL = intEnv('BENCH_PARALLEL', 20, 1);
export const PARALLEL_ROUNDS = intEnv('BENCH_PARALLEL_ROUNDS', 3, 1);
export const HTTP_REQUESTS = intEnv('BENCH_HTTP_REQUESTS', 500, 1);
export const TIMEOUT_S = intEnv('BENCH_TIMEOUT', 900, 30);

/** BENCH_GROUPS: a comma list of run.ts's groups (latency, parallel, observe, compose) to run; default all. */
const GROUPS = (process.env['BENCH_GROUPS'] ?? '')
  .split(',')
  .map((g) => g.trim())
  .filter((g) => g !== '');
const KNOWN_GROUPS = ['latency', 'parallel', 'observe', 'compose'];
for (const g of GROUPS) {
  if (!KNOWN_GROUPS.includes(g)) {
    process.stderr.write(`bench: BENCH_GROUPS names ${g}; the groups are ${KNOWN_GROUPS.join(', ')}\n`);
    process.exit(2);
  }
}
export const groupOn = (name: string): boolean => GROUPS.length === 0 || GROUPS.includes(name);

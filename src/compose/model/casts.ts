// The typed fields whose schema also admits a string (so `${VAR}` can fill them): after
// interpolation such a string must read as the field's type, as docker compose v2 casts them —
// `retries: thirty` or `privileged: maybe` is the file's error (located), not a NaN or a silent
// false further on. Runs on one file's interpolated tree, before its canonical form.
import { isMap, type Fail, type Tree } from './canonical.js';

type Kind = 'integer' | 'number' | 'boolean';

// paths under a service; '*' is any key or list index
const SERVICE: Array<[string[], Kind]> = [
  [['cpu_count'], 'integer'],
  [['cpu_percent'], 'number'],
  [['cpu_period'], 'integer'],
  [['cpu_quota'], 'integer'],
  [['cpu_rt_period'], 'integer'],
  [['cpu_rt_runtime'], 'integer'],
  [['cpu_shares'], 'integer'],
  [['cpus'], 'number'],
  [['init'], 'boolean'],
  [['deploy', 'replicas'], 'integer'],
  [['deploy', 'restart_policy', 'max_attempts'], 'integer'],
  [['healthcheck', 'retries'], 'integer'],
  [['healthcheck', 'disable'], 'boolean'],
  [['oom_kill_disable'], 'boolean'],
  [['oom_score_adj'], 'integer'],
  [['pids_limit'], 'integer'],
  [['ports', '*', 'target'], 'integer'],
  [['privileged'], 'boolean'],
  [['read_only'], 'boolean'],
  [['scale'], 'integer'],
  [['stdin_open'], 'boolean'],
  [['tty'], 'boolean'],
  [['ulimits', '*'], 'integer'],
  [['ulimits', '*', 'soft'], 'integer'],
  [['ulimits', '*', 'hard'], 'integer'],
  [['volumes', '*', 'read_only'], 'boolean'],
];
const TOP: Array<[string[], Kind]> = [
  ...SERVICE.map(([p, k]): [string[], Kind] => [['services', '*', ...p], k]),
  ...['internal', 'attachable', 'enable_ipv6', 'external'].map((f): [string[], Kind] => [['networks', '*', f], 'boolean']),
  ...['volumes', 'secrets', 'configs'].map((s): [string[], Kind] => [[s, '*', 'external'], 'boolean']),
];

const READS: Record<Kind, (s: string) => boolean> = {
  integer: (s) => /^[+-]?\d+$/.test(s.trim()),
  number: (s) => s.trim() !== '' && Number.isFinite(Number(s)),
  boolean: (s) => /^(y|yes|true|on|n|no|false|off)$/i.test(s.trim()),
};

/** fail at the first string that does not read as its field's type */
export function checkCasts(data: Tree, fail: Fail): void {
  for (const [pattern, kind] of TOP) visit(data, pattern, [], kind, fail);
}

function visit(node: unknown, rest: string[], at: Array<string | number>, kind: Kind, fail: Fail): void {
  if (rest.length === 0) {
    if (typeof node === 'string' && !READS[kind](node)) fail(at, `must be ${kind === 'integer' ? 'an integer' : `a ${kind}`} (got "${node}")`);
    return;
  }
  const [seg, ...more] = rest as [string, ...string[]];
  if (Array.isArray(node)) {
    if (seg === '*') node.forEach((x, i) => visit(x, more, [...at, i], kind, fail));
    return;
  }
  if (!isMap(node)) return;
  if (seg === '*') for (const [k, x] of Object.entries(node)) visit(x, more, [...at, k], kind, fail);
  else if (seg in node) visit(node[seg], more, [...at, seg], kind, fail);
}

/**
 * Compose figures for bench/run.ts (issue 16): `up -d` and `down` of a ten-service application —
 * one service with a named volume that the nine others depend on, all on the project's default
 * network — by `berth compose` and by Debian's docker-compose 1.29, each on berthd and on dockerd.
 * The table's ratio is `berth compose` on berthd against docker-compose 1.29 on dockerd (the
 * issue's target: at most 0.5); the other pairs go into the notes and results.json.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BERTH } from '../lib/clients.js';
import type { DaemonSpec } from '../lib/daemons.js';
import { describeFailure, run } from '../lib/exec.js';
import { fmtMs, median, ratio, say } from '../lib/report.js';
import type { RunContext } from './context.js';

const SERVICES = 10;
const ROUNDS = Math.max(1, Number(process.env['BENCH_COMPOSE_ROUNDS'] ?? 3) || 3);
const DOCKER_COMPOSE = '/usr/bin/docker-compose';

interface Tool {
  key: 'berth-compose' | 'docker-compose';
  name: string;
  cmd: string;
  args(file: string, project: string, verb: string[]): string[];
  env(spec: DaemonSpec): NodeJS.ProcessEnv;
}

const TOOLS: Tool[] = [
  {
    key: 'berth-compose',
    name: 'berth compose',
    cmd: BERTH.cmd,
    args: (file, project, verb) => ['compose', '-f', file, '-p', project, ...verb],
    env: (spec) => ({ ...BERTH.env(spec), DOCKER_HOST: `unix://${spec.sock}` }),
  },
  {
    key: 'docker-compose',
    name: 'docker-compose 1.29',
    cmd: DOCKER_COMPOSE,
    args: (file, project, verb) => ['-f', file, '-p', project, ...verb],
    env: (spec) => {
      const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${spec.sock}`, COMPOSE_INTERACTIVE_NO_CLI: '1' };
      delete env['DOCKER_CONTEXT'];
      return env;
    },
  },
];

/**
 * Each service's command: a shell that ends on SIGTERM as a real service does (a bare `sleep` as
 * PID 1 ignores it, and every `down` would time each container's stop out at 10 s).
 */
const CMD = `    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]`;

/** The application: `db` with a named volume, nine services depending on it. */
function composeFile(): string {
  const lines = ['services:', '  db:', '    image: busybox', CMD, '    volumes:', '      - data:/data'];
  for (let i = 1; i < SERVICES; i++) {
    lines.push(`  app${i}:`, '    image: busybox', CMD, '    environment:', `      INDEX: "${i}"`, '    depends_on:', '      - db');
  }
  lines.push('volumes:', '  data: {}', '');
  return lines.join('\n');
}

type Times = Record<string, { up: number[]; down: number[] }>;

async function measure(tool: Tool, spec: DaemonSpec, file: string, times: Times): Promise<void> {
  const key = `${tool.key}@${spec.key}`;
  const project = `bench${tool.key.replace(/[^a-z]/g, '')}`;
  const env = tool.env(spec);
  const entry: { up: number[]; down: number[] } = { up: [], down: [] };
  times[key] = entry;
  // A killed earlier run may have left the project behind.
  await run(tool.cmd, tool.args(file, project, ['down', '-v', '--remove-orphans']), { env, timeoutMs: 120_000 });
  for (let i = 0; i < ROUNDS; i++) {
    const up = await run(tool.cmd, tool.args(file, project, ['up', '-d']), { env, timeoutMs: 180_000 });
    if (up.code !== 0) {
      await run(tool.cmd, tool.args(file, project, ['down', '-v', '--remove-orphans']), { env, timeoutMs: 120_000 });
      throw new Error(describeFailure(`${tool.name} up -d (${spec.key})`, up));
    }
    const down = await run(tool.cmd, tool.args(file, project, ['down', '-v']), { env, timeoutMs: 180_000 });
    if (down.code !== 0) throw new Error(describeFailure(`${tool.name} down -v (${spec.key})`, down));
    entry.up.push(up.ms);
    entry.down.push(down.ms);
  }
  say(`  ${tool.name.padEnd(20)} on ${spec.key.padEnd(8)} up -d ${fmtMs(median(entry.up))}, down -v ${fmtMs(median(entry.down))} (medians of ${ROUNDS})`);
}

export async function composeRows({ specs, rows, notes, results }: RunContext): Promise<void> {
  say(`compose: up -d and down -v of a ${SERVICES}-service application (busybox shells that end on SIGTERM, a named volume, depends_on), ${ROUNDS} rounds ...`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-bench-compose-'));
  const file = path.join(dir, 'compose.yaml');
  writeFileSync(file, composeFile());
  const times: Times = {};
  const failures: string[] = [];
  try {
    for (const tool of TOOLS) {
      if (tool.key === 'docker-compose' && !existsSync(DOCKER_COMPOSE)) {
        failures.push(`docker-compose 1.29 is not installed at ${DOCKER_COMPOSE}`);
        continue;
      }
      for (const spec of specs) {
        try {
          await measure(tool, spec, file, times);
        } catch (err) {
          delete times[`${tool.key}@${spec.key}`];
          failures.push((err as Error).message.split('\n')[0] ?? String(err));
          say(`  ${tool.name} on ${spec.key}: FAILED — ${(err as Error).message}`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  results['compose'] = { services: SERVICES, rounds: ROUNDS, times, failures };
  const med = (key: string, what: 'up' | 'down'): number | undefined => {
    const xs = times[key]?.[what];
    return xs && xs.length > 0 ? median(xs) : undefined;
  };
  for (const what of ['up', 'down'] as const) {
    const b = med('berth-compose@berthd', what);
    const d = med('docker-compose@dockerd', what);
    rows.push({
      figure: `compose: \`${what === 'up' ? 'up -d' : 'down -v'}\` of a ${SERVICES}-service app — berth compose on berthd vs docker-compose 1.29 on dockerd`,
      berthd: b === undefined ? '—' : fmtMs(b),
      dockerd: d === undefined ? '—' : fmtMs(d),
      ratio: ratio(b, d),
    });
  }
  const pair = (a: string, b: string, what: 'up' | 'down'): string =>
    `${fmtMs(med(a, what) ?? NaN)} vs ${fmtMs(med(b, what) ?? NaN)} (${ratio(med(a, what), med(b, what))})`;
  if (times['docker-compose@berthd'] && times['docker-compose@dockerd'])
    notes.push(
      `docker-compose 1.29 on berthd vs on dockerd: up -d ${pair('docker-compose@berthd', 'docker-compose@dockerd', 'up')}, down -v ${pair('docker-compose@berthd', 'docker-compose@dockerd', 'down')}.`,
    );
  if (times['berth-compose@dockerd'] && times['docker-compose@dockerd'])
    notes.push(
      `berth compose vs docker-compose 1.29, both on dockerd: up -d ${pair('berth-compose@dockerd', 'docker-compose@dockerd', 'up')}, down -v ${pair('berth-compose@dockerd', 'docker-compose@dockerd', 'down')}.`,
    );
  for (const f of failures) notes.push(`compose: ${f}`);
}

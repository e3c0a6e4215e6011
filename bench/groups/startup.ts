/** Client start-up alone (`berth --version`, `docker --version`), to read the berth rows against. */
import { describeFailure, run } from '../lib/exec.js';
import { fmtMs, series, say, type Series } from '../lib/report.js';
import { PARALLEL, RUNS, WARMUP } from '../lib/settings.js';
import { BERTH } from '../lib/clients.js';
import type { RunContext } from './context.js';

export async function clientStartup({ dockerBin, machine, notes, results }: RunContext): Promise<void> {
  const startup: Record<string, Series> = {};
  const startupClients: Array<[string, string, string[]]> = [['berth', BERTH.cmd, ['--version']]];
  if (dockerBin) startupClients.push(['docker', dockerBin, ['--version']]);
  for (const [name, cmd, args] of startupClients) {
    const ms: number[] = [];
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const r = await run(cmd, args);
      if (r.code !== 0) throw new Error(describeFailure(`${name} ${args.join(' ')}`, r));
      if (i >= WARMUP) ms.push(r.ms);
    }
    startup[name] = series(`${name} ${args.join(' ')}`, ms);
  }
  results['clientStartup'] = startup;
  const bs = startup['berth'];
  const ds = startup['docker'];
  say(`client start-up alone: berth --version median ${fmtMs(bs?.median ?? NaN)}${ds ? `, docker --version median ${fmtMs(ds.median)}` : ''}`);
  notes.push(
    `The berth CLI is a Node program: starting it alone (\`berth --version\`) takes ${fmtMs(bs?.median ?? NaN)} (median)` +
      `${ds ? ` against ${fmtMs(ds.median)} for the Go docker CLI` : ''}; the berth rows include that cost, and ${PARALLEL} berth clients started at once on ${machine.nproc} cores are mostly client start-up.`,
  );
  say();
}

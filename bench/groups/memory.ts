/**
 * Memory (VmRSS and Pss from /proc): a daemon's sample (dockerd counted with its containerd) with
 * its container monitors, and the memory rows from the idle and the with-containers samples.
 */
import { containerdOf, monitorsOf, running, type DaemonSpec } from '../lib/daemons.js';
import { listProcs, readMem } from '../lib/procs.js';
import { fmtMb, ratio, say } from '../lib/report.js';
import { PARALLEL } from '../lib/settings.js';
import type { RunContext } from './context.js';

export interface MemorySample {
  daemonKb: Record<string, number>;
  daemonPssKb: Record<string, number>;
  daemonTotalKb: number;
  monitors?: { count: number; rssKb: number; pssKb: number; perContainerRssKb: number; perContainerPssKb: number };
}

export function sampleMemory(spec: DaemonSpec, withContainers: number): MemorySample {
  const procs = listProcs();
  const r = running.get(spec.key);
  if (!r) throw new Error(`${spec.key} is not running`);
  const parts: Array<[string, number]> = [[spec.key, r.pid]];
  if (spec.key === 'dockerd') {
    const cd = containerdOf(spec, procs);
    if (!cd) throw new Error('cannot find the containerd of the bench dockerd');
    parts.push(['containerd', cd.pid]);
  }
  const daemonKb: Record<string, number> = {};
  const daemonPssKb: Record<string, number> = {};
  let total = 0;
  for (const [name, pid] of parts) {
    const m = readMem(pid);
    if (!m) throw new Error(`cannot read the memory of ${name} (pid ${pid})`);
    daemonKb[name] = m.rssKb;
    daemonPssKb[name] = m.pssKb;
    total += m.rssKb;
  }
  const sample: MemorySample = { daemonKb, daemonPssKb, daemonTotalKb: total };
  if (withContainers > 0) {
    const mons = monitorsOf(spec, procs);
    let rss = 0;
    let pss = 0;
    for (const p of mons) {
      const m = readMem(p.pid);
      if (m) {
        rss += m.rssKb;
        pss += m.pssKb;
      }
    }
    sample.monitors = {
      count: mons.length,
      rssKb: rss,
      pssKb: pss,
      perContainerRssKb: rss / withContainers,
      perContainerPssKb: pss / withContainers,
    };
  }
  return sample;
}

export function memoryRows({ rows, notes }: RunContext, idle: Record<string, MemorySample>, withContainers: Record<string, MemorySample>): void {
  const describe = (m: MemorySample | undefined): string => {
    if (!m) return '—';
    const parts = Object.entries(m.daemonKb);
    if (parts.length === 1) return fmtMb(m.daemonTotalKb);
    return `${fmtMb(m.daemonTotalKb)} (${parts.map(([k, v]) => `${k} ${fmtMb(v)}`).join(' + ')})`;
  };
  const bi = idle['berthd'];
  const di = idle['dockerd'];
  const bw = withContainers['berthd'];
  const dw = withContainers['dockerd'];
  say('memory (VmRSS from /proc/<pid>/status):');
  say(`  idle:            berthd ${describe(bi)}${di ? `;  dockerd ${describe(di)}` : ''}`);
  say(`  ${PARALLEL} containers:   berthd ${describe(bw)}${dw ? `;  dockerd ${describe(dw)}` : ''}`);
  const mon = (m: MemorySample | undefined, what: string): string =>
    m?.monitors ? `${fmtMb(m.monitors.perContainerRssKb)} RSS, ${fmtMb(m.monitors.perContainerPssKb)} PSS (${m.monitors.count} × ${what})` : '—';
  say(`  per container:   berthd ${mon(bw, 'conmon')}${dw ? `;  dockerd ${mon(dw, 'containerd-shim-runc-v2')}` : ''}`);
  rows.push({
    figure: 'daemon RSS, idle (after start and the busybox import)',
    berthd: describe(bi),
    dockerd: describe(di),
    ratio: ratio(bi?.daemonTotalKb, di?.daemonTotalKb),
  });
  rows.push({
    figure: `daemon RSS with ${PARALLEL} containers running`,
    berthd: describe(bw),
    dockerd: describe(dw),
    ratio: ratio(bw?.daemonTotalKb, dw?.daemonTotalKb),
  });
  rows.push({
    figure: 'per-container monitor RSS',
    berthd: bw?.monitors ? `${fmtMb(bw.monitors.perContainerRssKb)} (conmon)` : '—',
    dockerd: dw?.monitors ? `${fmtMb(dw.monitors.perContainerRssKb)} (containerd-shim-runc-v2)` : '—',
    ratio: ratio(bw?.monitors?.perContainerRssKb, dw?.monitors?.perContainerRssKb),
  });
  const total = (m: MemorySample | undefined): number | undefined => (m?.monitors ? m.daemonTotalKb + m.monitors.rssKb : undefined);
  const bt = total(bw);
  const dt = total(dw);
  rows.push({
    figure: `engine total with ${PARALLEL} containers (daemons + monitors)`,
    berthd: bt !== undefined ? fmtMb(bt) : '—',
    dockerd: dt !== undefined ? fmtMb(dt) : '—',
    ratio: ratio(bt, dt),
  });
  notes.push(
    'RSS counts shared pages (libc, the Go runtime text of the shims) in every process; the PSS figures in results.json divide them among their users.',
  );
  say();
}

/**
 * Published-port throughput: busybox httpd behind `-p 127.0.0.1::80` on each daemon, fetched over
 * loopback with a new connection per GET, one at a time and 8 in flight.
 */
import http from 'node:http';
import { BERTH, dockerClient } from '../lib/clients.js';
import { removeAllContainers } from '../lib/daemons.js';
import { api, describeFailure, run } from '../lib/exec.js';
import { fmtMs, ratio, say } from '../lib/report.js';
import { HTTP_REQUESTS } from '../lib/settings.js';
import type { RunContext } from './context.js';

function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/hostname', agent: false, timeout: 5000 }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export interface Throughput {
  requests: number;
  concurrency: number;
  ms: number;
  perSecond: number;
}

/** `requests` GETs (a new connection each, as a curl loop) with `concurrency` in flight. */
export async function throughput(port: number, requests: number, concurrency: number): Promise<Throughput> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await get(port);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`127.0.0.1:${port} never answered: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next++;
        await get(port);
      }
    }),
  );
  const ms = performance.now() - t0;
  return { requests, concurrency, ms, perSecond: (requests * 1000) / ms };
}

export async function portRows({ specs, dockerBin, rows, notes, results }: RunContext): Promise<void> {
  const client = dockerBin ? dockerClient(dockerBin) : BERTH;
  const tp: Record<string, Throughput[]> = {};
  say(`published port: ${client.name} run -d -p 127.0.0.1::80 busybox httpd; ${HTTP_REQUESTS} GETs on 127.0.0.1, a new connection each ...`);
  for (const spec of specs) {
    const r = await run(client.cmd, ['run', '-d', '-p', '127.0.0.1::80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'], { env: client.env(spec) });
    if (r.code !== 0) throw new Error(describeFailure(`httpd on ${spec.key}`, r));
    const id = r.stdout.trim().split('\n').pop() ?? '';
    const info = await api(spec.sock, 'GET', `/containers/${id}/json`);
    const port = Number(
      (JSON.parse(info.body) as { NetworkSettings: { Ports: Record<string, Array<{ HostPort: string }>> } }).NetworkSettings.Ports['80/tcp']?.[0]?.HostPort,
    );
    tp[spec.key] = [await throughput(port, HTTP_REQUESTS, 1), await throughput(port, HTTP_REQUESTS, 8)];
    for (const t of tp[spec.key] ?? []) say(`  ${spec.key.padEnd(8)} concurrency ${t.concurrency}: ${Math.round(t.perSecond)} req/s (${fmtMs(t.ms)})`);
    await removeAllContainers(spec);
  }
  results['portThroughput'] = tp;
  for (const [i, label] of ['one at a time', '8 in flight'].entries()) {
    const b = tp['berthd']?.[i];
    const d = tp['dockerd']?.[i];
    rows.push({
      figure: `published port: HTTP GETs on 127.0.0.1 to busybox httpd, ${label} (req/s, higher is better)`,
      berthd: b ? `${Math.round(b.perSecond)}/s` : '—',
      dockerd: d ? `${Math.round(d.perSecond)}/s` : '—',
      ratio: ratio(b?.perSecond, d?.perSecond),
    });
  }
  notes.push(
    'Published ports: berthd DNATs in the kernel (iptables, `route_localnet` for 127.0.0.1); dockerd here relays through its userland docker-proxy (its iptables rules are off, as everywhere in this bench).',
  );
  say();
}

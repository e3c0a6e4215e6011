import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { emptyStats, parseBlkioV1, parseIoStatV2, sampleStats, systemCpuUsage, parseNetDev } from './stats.js';
import type { Container } from './types.js';

const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

const c = { ID: 'c1', Name: '/web', State: { Running: true } } as unknown as Container;

test('system CPU time and blkio parsing', () => {
  assert.equal(systemCpuUsage('cpu  100 0 50 1000 10 0 5 7 0 0\ncpu0 1 2 3\n'), (1165 * 1e9) / 100);
  assert.deepEqual(parseBlkioV1(['8:0 Read 4096', '8:0 Write 512', '8:0 Total 4608', 'Total 4608']), [
    { major: 8, minor: 0, op: 'Read', value: 4096 },
    { major: 8, minor: 0, op: 'Write', value: 512 },
    { major: 8, minor: 0, op: 'Total', value: 4608 },
  ]);
  const v2 = parseIoStatV2(['259:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0']);
  assert.deepEqual(v2.bytes, [
    { major: 259, minor: 0, op: 'read', value: 10 },
    { major: 259, minor: 0, op: 'write', value: 20 },
  ]);
  assert.deepEqual(v2.ios, [
    { major: 259, minor: 0, op: 'read', value: 1 },
    { major: 259, minor: 0, op: 'write', value: 2 },
  ]);
  const e = emptyStats(c);
  assert.equal(e.read, '0001-01-01T00:00:00Z');
  assert.equal(e.blkio_stats.io_service_bytes_recursive, null);
});

test('a sample from a fake cgroup v2 tree', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-stats2-'));
  roots.push(root);
  const d = join(root, 'berth/c1');
  mkdirSync(d, { recursive: true });
  const put = (f: string, t: string): void => writeFileSync(join(d, f), `${t}\n`);
  put('memory.current', '4096');
  put('memory.max', 'max');
  put('memory.stat', 'anon 100\nfile 200\ninactive_file 50');
  put('pids.current', '3');
  put('pids.max', '20');
  put('cpu.stat', 'usage_usec 7\nuser_usec 5\nsystem_usec 2\nnr_periods 4\nnr_throttled 1\nthrottled_usec 3');
  put('io.stat', '8:0 rbytes=10 wbytes=20 rios=1 wios=2');
  const layout = { version: 2 as const, controllers: {}, unified: root };
  const s = sampleStats(c, '/berth/c1', undefined, layout);
  assert.equal(s.memory_stats.usage, 4096);
  assert.equal(s.memory_stats.limit, totalmem());
  assert.equal(s.memory_stats.stats?.['inactive_file'], 50);
  assert.deepEqual(s.pids_stats, { current: 3, limit: 20 });
  assert.equal(s.cpu_stats.cpu_usage.total_usage, 7000);
  assert.equal(s.cpu_stats.cpu_usage.usage_in_usermode, 5000);
  assert.equal(s.cpu_stats.cpu_usage.percpu_usage, undefined);
  assert.deepEqual(s.cpu_stats.throttling_data, { periods: 4, throttled_periods: 1, throttled_time: 3000 });
  assert.equal(s.blkio_stats.io_service_bytes_recursive?.length, 2);
  assert.equal(s.blkio_stats.io_queue_recursive, null);
  assert.equal(s.preread, '0001-01-01T00:00:00Z');
  const next = sampleStats(c, '/berth/c1', s, layout);
  assert.equal(next.preread, s.read);
  assert.deepEqual(next.precpu_stats, s.cpu_stats);
});

test('parseNetDev: per-interface counters from /proc/<pid>/net/dev, loopback left out', () => {
  const text = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0',
    '  eth0:    1296      14    1    2    0     0          0         0      726       9    3    4    0     0       0          0',
    '  eth1:10000000   70000    0    0    0     0          0         0 20000000   80000    0    0    0     0       0          0',
  ].join('\n');
  assert.deepEqual(parseNetDev(text), {
    eth0: { rx_bytes: 1296, rx_packets: 14, rx_errors: 1, rx_dropped: 2, tx_bytes: 726, tx_packets: 9, tx_errors: 3, tx_dropped: 4 },
    eth1: { rx_bytes: 10000000, rx_packets: 70000, rx_errors: 0, rx_dropped: 0, tx_bytes: 20000000, tx_packets: 80000, tx_errors: 0, tx_dropped: 0 },
  });
  assert.deepEqual(parseNetDev(text.split('\n').slice(0, 3).join('\n')), {});
});

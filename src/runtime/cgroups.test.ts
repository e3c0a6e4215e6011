import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupDirs, parseCgroupLayout, readLimits, readOomKilled, readStats, resourcesToRuncUpdate } from './cgroups.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

test('layout detection: hybrid v1 and unified v2', () => {
  const h = parseCgroupLayout(HYBRID);
  assert.equal(h.version, 1);
  assert.equal(h.controllers['memory'], '/sys/fs/cgroup/memory');
  assert.equal(h.controllers['name=systemd'], '/sys/fs/cgroup/systemd');
  assert.equal(h.unified, '/sys/fs/cgroup/unified');
  assert.ok(cgroupDirs('/berth/x', h).includes('/sys/fs/cgroup/unified/berth/x'));
  assert.ok(cgroupDirs('berth/x', h).includes('/sys/fs/cgroup/memory/berth/x'));
  const v2 = parseCgroupLayout('30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n');
  assert.deepEqual(v2, { version: 2, controllers: {}, unified: '/sys/fs/cgroup' });
  assert.deepEqual(cgroupDirs('/berth/x', v2), ['/sys/fs/cgroup/berth/x']);
});

test('v1 limits, stats and OOM kills from a fake tree', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-cg1-'));
  dirs.push(root);
  const layout = {
    version: 1 as const,
    controllers: {
      memory: join(root, 'memory'),
      cpu: join(root, 'cpu'),
      cpuacct: join(root, 'cpuacct'),
      pids: join(root, 'pids'),
      cpuset: join(root, 'cpuset'),
    },
  };
  const put = (ctl: string, file: string, text: string): void => {
    const d = join(root, ctl, 'berth/c1');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, file), text + '\n');
  };
  put('memory', 'memory.limit_in_bytes', '67108864');
  put('memory', 'memory.memsw.limit_in_bytes', '9223372036854771712');
  put('memory', 'memory.soft_limit_in_bytes', '9223372036854771712');
  put('memory', 'memory.usage_in_bytes', '1234');
  put('memory', 'memory.max_usage_in_bytes', '5678');
  put('memory', 'memory.stat', 'cache 10\nrss 20');
  put('memory', 'memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 3');
  put('cpu', 'cpu.cfs_quota_us', '-1');
  put('cpu', 'cpu.cfs_period_us', '100000');
  put('cpu', 'cpu.shares', '1024');
  put('cpu', 'cpu.stat', 'nr_periods 5\nnr_throttled 1\nthrottled_time 99');
  put('cpuacct', 'cpuacct.usage', '4000');
  put('cpuacct', 'cpuacct.usage_percpu', '3000 1000');
  put('cpuacct', 'cpuacct.stat', 'user 2\nsystem 1');
  put('pids', 'pids.max', 'max');
  put('pids', 'pids.current', '2');
  put('cpuset', 'cpuset.cpus', '0-1');
  assert.deepEqual(readLimits('/berth/c1', layout), {
    memory: 67108864,
    memorySwap: null,
    memoryReservation: null,
    cpuQuota: null,
    cpuPeriod: 100000,
    cpuShares: 1024,
    cpusetCpus: '0-1',
    pidsMax: null,
  });
  const s = readStats('/berth/c1', layout);
  assert.equal(s.memoryUsage, 1234);
  assert.equal(s.memoryMaxUsage, 5678);
  assert.equal(s.memoryLimit, 67108864);
  assert.deepEqual(s.memoryStat, { cache: 10, rss: 20 });
  assert.equal(s.pidsCurrent, 2);
  assert.equal(s.pidsLimit, null);
  assert.equal(s.cpuUsageNs, 4000);
  assert.deepEqual(s.cpuPerCpuNs, [3000, 1000]);
  assert.equal(s.cpuUserNs, 2e7);
  assert.deepEqual(s.throttling, { periods: 5, throttledPeriods: 1, throttledTimeNs: 99 });
  assert.equal(readOomKilled('/berth/c1', layout), 3);
  assert.equal(readOomKilled('/berth/gone', layout), 0);
  assert.deepEqual(readLimits('/berth/gone', layout), {});
});

test('v2 limits, stats and OOM kills from a fake tree', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-cg2-'));
  dirs.push(root);
  const layout = { version: 2 as const, controllers: {}, unified: root };
  const d = join(root, 'berth/c1');
  mkdirSync(d, { recursive: true });
  const put = (f: string, t: string): void => writeFileSync(join(d, f), t + '\n');
  put('memory.max', '67108864');
  put('memory.swap.max', '67108864');
  put('memory.low', '0');
  put('memory.current', '4096');
  put('memory.peak', '8192');
  put('cpu.max', '50000 100000');
  put('cpu.weight', '39');
  put('pids.max', '20');
  put('pids.current', '3');
  put('cpu.stat', 'usage_usec 7\nuser_usec 5\nsystem_usec 2');
  put('memory.events', 'low 0\nhigh 0\nmax 4\noom 2\noom_kill 1');
  const l = readLimits('/berth/c1', layout);
  assert.equal(l.memory, 67108864);
  assert.equal(l.memorySwap, 134217728);
  assert.equal(l.cpuQuota, 50000);
  assert.equal(l.cpuPeriod, 100000);
  assert.ok(Math.abs((l.cpuShares ?? 0) - 1024) < 30, String(l.cpuShares));
  assert.equal(l.pidsMax, 20);
  const s = readStats('/berth/c1', layout);
  assert.equal(s.cpuUsageNs, 7000);
  assert.equal(s.memoryUsage, 4096);
  assert.equal(s.memoryMaxUsage, 8192);
  assert.equal(s.pidsCurrent, 3);
  assert.equal(readOomKilled('/berth/c1', layout), 1);
  put('cpu.max', 'max 100000');
  assert.equal(readLimits('/berth/c1', layout).cpuQuota, null);
});

test('runc update payload', () => {
  const MiB = 1024 * 1024;
  assert.deepEqual(resourcesToRuncUpdate({ memory: 128 * MiB, memorySwap: 256 * MiB, nanoCpus: 2e9, pidsLimit: 0, cpusetCpus: '0' }), {
    memory: { limit: 128 * MiB, swap: 256 * MiB },
    cpu: { period: 100000, quota: 200000, cpus: '0' },
    pids: { limit: -1 },
  });
  assert.deepEqual(resourcesToRuncUpdate({ memorySwap: -1 }, { swapAccounting: false }), {});
  assert.deepEqual(resourcesToRuncUpdate({ cpuShares: 256, blkioWeight: 500, pidsLimit: 50 }), {
    cpu: { shares: 256 },
    pids: { limit: 50 },
    blockIO: { weight: 500 },
  });
});

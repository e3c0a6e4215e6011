/**
 * Resource limits: run flags land in the container's cgroup (read from the host, cgroup v1),
 * `update` changes a running container, limits are enforced (pids, OOM kill → 137 + OOMKilled; a
 * child OOM-killed while PID 1 exits 0 → 0 + OOMKilled, as dockerd).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLIS, HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, type RunOptions, type RunResult } from './helpers/daemon.js';
import { RefDockerd } from './helpers/dockerd.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { exits, lines, ok } from './helpers/assert.js';

let d: TestDaemon;
const V1 = fs.existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes');
const MiB = 1024 * 1024;

before(async () => {
  d = await TestDaemon.start();
});

after(async () => {
  await cleanupAndCheck(d);
});

const T = { timeout: 120_000, skip: V1 ? false : 'these checks read cgroup v1 files; this host has no v1 memory hierarchy' };

for (const cli of CLIS) {
  const skip = cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false;
  describe(`resources via ${cli}`, { skip }, () => {
    const x = (args: string[], o?: RunOptions) => d.cli(cli, args, o);

    it('no limits by default', T, async () => {
      const id = ok(await x(['run', '-d', 'busybox', 'sleep', '300']));
      assert.ok(Number(d.readCgroup('memory', id, 'memory.limit_in_bytes')) > 1 << 40, 'memory unlimited');
      assert.equal(d.readCgroup('pids', id, 'pids.max'), 'max');
      assert.equal(d.readCgroup('cpu', id, 'cpu.cfs_quota_us'), '-1');
      assert.equal(d.readCgroup('cpu', id, 'cpu.shares'), '1024');
      // The container's process is in its cgroup.
      const pid = (await d.state(id)).Pid;
      assert.ok(d.readCgroup('memory', id, 'cgroup.procs').split('\n').includes(String(pid)));
      ok(await x(['rm', '-f', id]));
    });

    it('--memory, --memory-swap, --cpus, --cpu-shares, --cpuset-cpus, --pids-limit', T, async () => {
      const id = ok(
        await x([
          'run',
          '-d',
          '--memory',
          '32m',
          '--cpus',
          '0.5',
          '--cpu-shares',
          '512',
          '--cpuset-cpus',
          '0',
          '--pids-limit',
          '20',
          'busybox',
          'sleep',
          '300',
        ]),
      );
      assert.equal(d.readCgroup('memory', id, 'memory.limit_in_bytes'), String(32 * MiB));
      // Docker's default swap: twice the memory limit.
      if (fs.existsSync(d.cgroupFile('memory', id, 'memory.memsw.limit_in_bytes'))) {
        assert.equal(d.readCgroup('memory', id, 'memory.memsw.limit_in_bytes'), String(64 * MiB));
      }
      assert.equal(d.readCgroup('cpu', id, 'cpu.cfs_quota_us'), '50000');
      assert.equal(d.readCgroup('cpu', id, 'cpu.cfs_period_us'), '100000');
      assert.equal(d.readCgroup('cpu', id, 'cpu.shares'), '512');
      assert.equal(d.readCgroup('cpuset', id, 'cpuset.cpus'), '0');
      assert.equal(d.readCgroup('pids', id, 'pids.max'), '20');
      const hc = (await d.api.inspect(id)).HostConfig;
      assert.equal(hc.Memory, 32 * MiB);
      assert.equal(hc.NanoCpus, 500_000_000);
      assert.equal(hc.CpuShares, 512);
      assert.equal(hc.CpusetCpus, '0');
      assert.equal(hc.PidsLimit, 20);

      // update changes the live cgroup and the record.
      ok(await x(['update', '--memory', '64m', '--pids-limit', '30', id]));
      assert.equal(d.readCgroup('memory', id, 'memory.limit_in_bytes'), String(64 * MiB));
      assert.equal(d.readCgroup('pids', id, 'pids.max'), '30');
      ok(await x(['update', '--cpus', '0.25', '--memory', '96m', '--memory-swap', '192m', id]));
      assert.equal(d.readCgroup('cpu', id, 'cpu.cfs_quota_us'), '25000');
      assert.equal(d.readCgroup('memory', id, 'memory.limit_in_bytes'), String(96 * MiB));
      if (fs.existsSync(d.cgroupFile('memory', id, 'memory.memsw.limit_in_bytes'))) {
        assert.equal(d.readCgroup('memory', id, 'memory.memsw.limit_in_bytes'), String(192 * MiB));
      }
      const hc2 = (await d.api.inspect(id)).HostConfig;
      assert.equal(hc2.Memory, 96 * MiB);
      assert.equal(hc2.MemorySwap, 192 * MiB);
      assert.equal(hc2.PidsLimit, 30);
      assert.equal(hc2.NanoCpus, 250_000_000);
      assert.equal((await d.state(id)).Status, 'running');
      ok(await x(['rm', '-f', id]));
    });

    it('--memory-swap equal to --memory disables swap; limits are visible inside', T, async () => {
      const id = ok(await x(['run', '-d', '--memory', '48m', '--memory-swap', '48m', 'busybox', 'sleep', '300']));
      if (fs.existsSync(d.cgroupFile('memory', id, 'memory.memsw.limit_in_bytes'))) {
        assert.equal(d.readCgroup('memory', id, 'memory.memsw.limit_in_bytes'), String(48 * MiB));
      }
      assert.equal((await d.api.inspect(id)).HostConfig.MemorySwap, 48 * MiB);
      ok(await x(['rm', '-f', id]));
      const inside = ok(await x(['run', '--rm', '--memory', '40m', 'busybox', 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes']));
      assert.equal(inside, String(40 * MiB));
    });

    it('--pids-limit is enforced', T, async () => {
      const r = await x(['run', '--rm', '--pids-limit', '10', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); done; wait']);
      assert.notEqual(r.code, 0, r.desc);
      assert.match(r.stderr, /can't fork|Resource temporarily unavailable/, r.desc);
    });

    it('an out-of-memory container exits 137 with OOMKilled', T, async () => {
      const name = `oom-${cli}`;
      const r = await x(['run', '--name', name, '--memory', '16m', '--memory-swap', '16m', 'busybox', 'tail', '/dev/zero'], { timeout: 60_000 });
      exits(r, 137);
      const st = await d.state(name);
      assert.equal(st.Status, 'exited');
      assert.equal(st.ExitCode, 137);
      assert.equal(st.OOMKilled, true);
      assert.equal(ok(await x(['inspect', '-f', '{{.State.OOMKilled}}', name])), 'true');
      // A container killed by a signal but not by OOM says so.
      const k = ok(await x(['run', '-d', '--memory', '16m', 'busybox', 'sleep', '300']));
      ok(await x(['kill', k]));
      assert.equal(ok(await x(['wait', k])), '137');
      assert.equal((await d.state(k)).OOMKilled, false);
      ok(await x(['rm', '-f', name, k]));
    });

    it('a child OOM-killed while PID 1 exits 0: exit code 0 with OOMKilled (as dockerd)', T, async () => {
      const name = `oom-child-${cli}`;
      const r = await x(['run', '--name', name, '--memory', '8m', '--memory-swap', '8m', 'busybox', 'sh', '-c', 'tail /dev/zero; echo after-oom; exit 0'], {
        timeout: 60_000,
      });
      exits(r, 0);
      assert.match(r.stdout, /after-oom/, r.desc);
      const st = await d.state(name);
      assert.equal(st.ExitCode, 0);
      assert.equal(st.OOMKilled, true);
      assert.equal(ok(await x(['inspect', '-f', '{{.State.ExitCode}} {{.State.OOMKilled}}', name])), '0 true');
      assert.equal(ok(await x(['wait', name])), '0');
      ok(await x(['rm', name]));
    });

    it('--device creates the host node in the container; --device-cgroup-rule reaches devices.list', T, async () => {
      // As dockerd: the node has the host's numbers, mode and owner, and the cgroup allows it.
      const out = ok(
        await x([
          'run',
          '--rm',
          '--device',
          '/dev/null:/dev/mynull',
          '--device',
          '/dev/zero:/dev/myzero:r',
          'busybox',
          'sh',
          '-c',
          'stat -c "%t:%T %a" /dev/mynull /dev/myzero; echo hi > /dev/mynull && head -c 2 /dev/myzero | od -An -tx1',
        ]),
      );
      assert.deepEqual(lines(out), ['1:3 666', '1:5 666', '00 00']);
      const id = ok(
        await x([
          'run',
          '-d',
          '--device-cgroup-rule',
          'c 1:3 rwm',
          '--device-cgroup-rule',
          'b 7:* rw',
          '--device',
          '/dev/full:/dev/f',
          'busybox',
          'sleep',
          '300',
        ]),
      );
      const list = d.readCgroup('devices', id, 'devices.list').split('\n');
      for (const rule of ['c 1:3 rwm', 'b 7:* rw', 'c 1:7 rwm', 'c 10:200 rwm']) assert.ok(list.includes(rule), `${rule} in ${list.join(', ')}`);
      const hc = (await d.api.inspect(id)).HostConfig;
      assert.deepEqual(hc.Devices, [{ PathOnHost: '/dev/full', PathInContainer: '/dev/f', CgroupPermissions: 'rwm' }]);
      assert.deepEqual(hc.DeviceCgroupRules, ['c 1:3 rwm', 'b 7:* rw']);
      ok(await x(['rm', '-f', id]));
      // A directory gives every device node under it.
      const dir = fs.mkdtempSync(`${d.root}/devdir-`);
      fs.mkdirSync(`${dir}/sub`);
      assert.equal(spawnSync('mknod', [`${dir}/sub/z`, 'c', '1', '5']).status, 0);
      assert.equal(ok(await x(['run', '--rm', '--device', `${dir}:/dev/dd`, 'busybox', 'stat', '-c', '%n %t:%T', '/dev/dd/sub/z'])), '/dev/dd/sub/z 1:5');
      fs.rmSync(dir, { recursive: true });
      // A missing host device fails the start with dockerd's message.
      const r = await x(['run', '--rm', '--device', '/dev/berth-no-such-device', 'busybox', 'true']);
      assert.notEqual(r.code, 0, r.desc);
      assert.match(r.stderr, /error gathering device information while adding custom device "\/dev\/berth-no-such-device": no such file or directory/, r.desc);
    });

    it('update changes only what it names: the zeros the docker CLI sends leave the limits set at create', T, async () => {
      const id = ok(
        await x([
          'run',
          '-d',
          '--memory',
          '64m',
          '--cpu-shares',
          '512',
          '--cpuset-cpus',
          '0',
          '--pids-limit',
          '20',
          '--restart',
          'on-failure:3',
          'busybox',
          'sleep',
          '300',
        ]),
      );
      const memsw = fs.existsSync(d.cgroupFile('memory', id, 'memory.memsw.limit_in_bytes'));
      ok(await x(['update', '--cpus', '1', id]));
      assert.equal(d.readCgroup('cpu', id, 'cpu.cfs_quota_us'), '100000');
      assert.equal(d.readCgroup('memory', id, 'memory.limit_in_bytes'), String(64 * MiB));
      if (memsw) assert.equal(d.readCgroup('memory', id, 'memory.memsw.limit_in_bytes'), String(128 * MiB));
      assert.equal(d.readCgroup('cpu', id, 'cpu.shares'), '512');
      assert.equal(d.readCgroup('cpuset', id, 'cpuset.cpus'), '0');
      assert.equal(d.readCgroup('pids', id, 'pids.max'), '20');
      const hc = (await d.api.inspect(id)).HostConfig;
      assert.deepEqual(
        [hc.Memory, hc.MemorySwap, hc.CpuShares, hc.NanoCpus, hc.CpusetCpus, hc.PidsLimit, hc.RestartPolicy],
        [64 * MiB, 128 * MiB, 512, 1e9, '0', 20, { Name: 'on-failure', MaximumRetryCount: 3 }],
      );
      // Memory below the swap limit keeps the swap; above it without a new swap is dockerd's conflict.
      ok(await x(['update', '--memory', '100m', id]));
      assert.equal((await d.api.inspect(id)).HostConfig.MemorySwap, 128 * MiB);
      const over = await x(['update', '--memory', '256m', id]);
      assert.notEqual(over.code, 0, over.desc);
      assert.match(over.stderr, /Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time/, over.desc);
      ok(await x(['update', '--memory', '256m', '--memory-swap', '512m', id]));
      assert.equal(d.readCgroup('memory', id, 'memory.limit_in_bytes'), String(256 * MiB));
      assert.equal(d.readCgroup('cpu', id, 'cpu.cfs_quota_us'), '100000');
      ok(await x(['rm', '-f', id]));
      // Nano CPUs cannot replace a CPU quota set at create (nor the other way round).
      // (created by the docker CLI: berth run has no --cpu-quota)
      const q = ok(await d.cli('docker', ['run', '-d', '--cpu-quota', '50000', 'busybox', 'sleep', '300']));
      const cpus = await x(['update', '--cpus', '1', q]);
      assert.notEqual(cpus.code, 0, cpus.desc);
      assert.match(cpus.stderr, /Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set/, cpus.desc);
      ok(await x(['update', '--cpu-shares', '256', q]));
      assert.equal(d.readCgroup('cpu', q, 'cpu.cfs_quota_us'), '50000');
      assert.equal((await d.api.inspect(q)).HostConfig.CpuQuota, 50000);
      ok(await x(['rm', '-f', q]));
    });

    it('invalid values are refused', T, async () => {
      const r = await x(['run', '--rm', '--memory', '1k', 'busybox', 'true']);
      exits(r, 125);
      assert.match(r.stderr, /Minimum memory limit allowed is 6MB/);
      const cs = await x(['run', '--rm', '--cpuset-cpus', '999', 'busybox', 'true']);
      exits(cs, 125);
      assert.match(cs.stderr, /Requested CPUs are not available - requested 999, available: 0/);
    });
  });
}

describe('update sequences side by side with dockerd (docker CLI)', () => {
  let ref: RefDockerd | undefined;
  before(async () => {
    ref = await RefDockerd.start('berth-resources-dockerd-');
    const file = path.join(d.root, 'busybox-for-dockerd.tar');
    ok(await d.berth(['save', '-o', file, 'busybox']));
    ok(await ref.docker(['load', '-i', file]));
    fs.rmSync(file);
  });
  after(async () => ref?.stop());

  /** Runs `docker run -d <create> busybox sleep 300`, then each update; the outcomes and the limits in inspect. */
  const sequence = async (docker: (args: string[]) => Promise<RunResult>, create: string[], updates: string[][]): Promise<unknown[]> => {
    const id = ok(await docker(['run', '-d', ...create, 'busybox', 'sleep', '300']));
    const out: unknown[] = [];
    for (const u of updates) {
      const r = await docker(['update', ...u, id]);
      // the error text without the container ID, which differs
      out.push(r.code === 0 ? 'ok' : r.stderr.trim().replaceAll(id, '<id>'));
    }
    const hc = JSON.parse(ok(await docker(['inspect', '-f', '{{json .HostConfig}}', id]))) as Record<string, unknown>;
    ok(await docker(['rm', '-f', id]));
    const fields = ['Memory', 'MemorySwap', 'MemoryReservation', 'CpuShares', 'NanoCpus', 'CpuQuota', 'CpuPeriod', 'CpusetCpus', 'PidsLimit', 'RestartPolicy'];
    return [...out, Object.fromEntries(fields.map((f) => [f, hc[f]]))];
  };

  const cases: Array<[string, string[], string[][]]> = [
    [
      'memory, reservation, shares, cpuset, pids and restart set at create',
      ['--memory', '64m', '--memory-reservation', '32m', '--cpu-shares', '512', '--cpuset-cpus', '0', '--pids-limit', '20', '--restart', 'on-failure:3'],
      [
        ['--cpus', '1'],
        ['--cpu-shares', '256'],
        ['--memory', '100m'],
        ['--memory', '256m'],
        ['--memory-swap', '512m'],
        ['--memory', '256m'],
        ['--memory-reservation', '16m'],
        ['--pids-limit', '-1'],
        ['--restart', 'always'],
      ],
    ],
    [
      'a CPU quota and period',
      ['--cpu-quota', '50000', '--cpu-period', '100000', '--pids-limit', '10'],
      [
        ['--cpus', '1'],
        ['--cpu-shares', '100'],
        ['--cpu-quota', '20000'],
      ],
    ],
    [
      'Nano CPUs',
      ['--cpus', '0.5', '--pids-limit', '10'],
      [
        ['--cpu-quota', '20000'],
        ['--cpu-period', '50000'],
        ['--cpus', '0.25'],
        ['--memory', '64m', '--memory-swap', '128m'],
      ],
    ],
  ];
  for (const [what, create, updates] of cases) {
    it(`same outcomes and inspect: ${what}`, T, async () => {
      const theirs = await sequence((a) => (ref as RefDockerd).docker(a), create, updates);
      const ours = await sequence((a) => d.cli('docker', a), create, updates);
      assert.deepEqual(ours, theirs);
    });
  }
});

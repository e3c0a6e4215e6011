import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PATH, buildEnv, buildSpec, mergeTmpfsOptions, type SpecOptions } from './spec.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, capabilityMask, effectiveCapabilities } from './capabilities.js';
import { parseSecurityOpt } from './security.js';
import { isCategory } from '../lib/errors.js';

const base: SpecOptions = {
  id: 'abc123',
  rootfsPath: '/var/lib/berth/rootfs/abc123',
  args: ['sh'],
  hostname: 'abc123',
  etcFiles: { hostnamePath: '/c/hostname', hostsPath: '/c/hosts', resolvConfPath: '/c/resolv.conf' },
};

test('default spec has Docker namespaces, caps, masks and mounts', () => {
  const s = buildSpec(base);
  assert.equal(s.ociVersion, '1.0.2-dev');
  assert.deepEqual(s.linux.namespaces.map((n) => n.type).sort(), ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
  assert.deepEqual(s.process.capabilities?.bounding, [...DEFAULT_CAPABILITIES]);
  assert.deepEqual(s.process.capabilities?.effective, [...DEFAULT_CAPABILITIES]);
  assert.deepEqual(s.process.capabilities?.permitted, [...DEFAULT_CAPABILITIES]);
  assert.equal(s.process.capabilities?.inheritable, undefined);
  assert.equal(s.process.capabilities?.ambient, undefined);
  assert.equal(capabilityMask(DEFAULT_CAPABILITIES), 0xa80425fbn);
  assert.ok(s.linux.maskedPaths?.includes('/proc/kcore'));
  assert.ok(s.linux.maskedPaths?.includes('/sys/devices/virtual/powercap'));
  assert.ok(s.linux.readonlyPaths?.includes('/proc/sys'));
  assert.deepEqual(
    s.mounts.map((m) => m.destination),
    ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm', '/etc/resolv.conf', '/etc/hostname', '/etc/hosts'],
  );
  const dev = s.mounts.find((m) => m.destination === '/dev');
  assert.deepEqual(dev?.options, ['nosuid', 'strictatime', 'mode=755', 'size=65536k']);
  const pts = s.mounts.find((m) => m.destination === '/dev/pts');
  assert.deepEqual(pts?.options, ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']);
  const sys = s.mounts.find((m) => m.destination === '/sys');
  assert.ok(sys?.options?.includes('ro'));
  const shm = s.mounts.find((m) => m.destination === '/dev/shm');
  assert.ok(shm?.options?.includes('size=67108864'));
  const hosts = s.mounts.find((m) => m.destination === '/etc/hosts');
  assert.deepEqual(hosts, { destination: '/etc/hosts', type: 'bind', source: '/c/hosts', options: ['rbind', 'rprivate'] });
  assert.equal(s.linux.cgroupsPath, '/berth/abc123');
  assert.equal(s.hostname, 'abc123');
  assert.deepEqual(s.process.env, [`PATH=${DEFAULT_PATH}`, 'HOSTNAME=abc123']);
  assert.deepEqual(s.process.user, { uid: 0, gid: 0, additionalGids: [0] });
  assert.equal(s.process.cwd, '/');
  assert.equal(s.process.terminal, false);
  assert.equal(s.linux.sysctl?.['net.ipv4.ip_unprivileged_port_start'], '0');
  assert.equal(s.linux.seccomp?.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.linux.seccomp?.defaultErrnoRet, 1);
  const devs = s.linux.resources?.devices ?? [];
  assert.deepEqual(devs[0], { allow: false, access: 'rwm' });
  assert.ok(devs.some((d) => d.allow && d.type === 'c' && d.major === 1 && d.minor === 3));
  assert.ok(devs.some((d) => d.allow && d.type === 'c' && d.major === 136 && d.minor === undefined));
  assert.equal(s.root.readonly, undefined);
  assert.equal(s.process.noNewPrivileges, undefined);
});

test('readonly rootfs makes etc binds read-only', () => {
  const s = buildSpec({ ...base, readonlyRootfs: true });
  assert.equal(s.root.readonly, true);
  for (const d of ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf']) {
    assert.ok(s.mounts.find((m) => m.destination === d)?.options?.includes('ro'), d);
  }
});

test('privileged: all caps, all devices, no masks, no seccomp, rw sys', () => {
  const s = buildSpec({ ...base, privileged: true, capDrop: ['NET_RAW'] });
  assert.deepEqual(s.process.capabilities?.bounding, [...ALL_CAPABILITIES]);
  assert.deepEqual(s.linux.resources?.devices, [{ allow: true, access: 'rwm' }]);
  assert.equal(s.linux.maskedPaths, undefined);
  assert.equal(s.linux.readonlyPaths, undefined);
  assert.equal(s.linux.seccomp, undefined);
  assert.ok(!s.mounts.find((m) => m.destination === '/sys')?.options?.includes('ro'));
  assert.ok(!s.mounts.find((m) => m.destination === '/sys/fs/cgroup')?.options?.includes('ro'));
});

test('capability arithmetic follows Docker', () => {
  assert.deepEqual(effectiveCapabilities({ capAdd: ['net_admin'] }), [...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN']);
  assert.deepEqual(effectiveCapabilities({ capAdd: ['CAP_NET_ADMIN', 'NET_ADMIN'] }), [...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN']);
  assert.ok(!effectiveCapabilities({ capDrop: ['CHOWN'] }).includes('CAP_CHOWN'));
  assert.deepEqual(effectiveCapabilities({ capDrop: ['ALL'], capAdd: ['chown'] }), ['CAP_CHOWN']);
  assert.deepEqual(effectiveCapabilities({ capDrop: ['all'] }), []);
  assert.deepEqual(effectiveCapabilities({ privileged: true, hostCapabilities: ['CAP_KILL', 'CAP_CHOWN'] }), ['CAP_CHOWN', 'CAP_KILL']);
  const all = effectiveCapabilities({ capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] });
  assert.equal(all.length, ALL_CAPABILITIES.length - 1);
  assert.throws(
    () => effectiveCapabilities({ capAdd: ['FOO'] }),
    (e: unknown) => isCategory(e, 'InvalidParameter') && /unknown capability: "CAP_FOO"/.test(String(e)),
  );
});

test('seccomp follows capabilities', () => {
  const withAdmin = buildSpec({ ...base, capAdd: ['SYS_ADMIN'] });
  const names = (withAdmin.linux.seccomp?.syscalls ?? []).flatMap((r) => r.names);
  assert.ok(names.includes('mount'));
  assert.ok(!(withAdmin.linux.seccomp?.syscalls ?? []).some((r) => r.names.includes('clone3') && r.action === 'SCMP_ACT_ERRNO'));
  const plain = buildSpec(base);
  assert.ok(!(plain.linux.seccomp?.syscalls ?? []).flatMap((r) => r.names).includes('mount'));
  assert.equal(buildSpec({ ...base, securityOpt: ['seccomp=unconfined'] }).linux.seccomp, undefined);
});

test('security options', () => {
  assert.equal(buildSpec({ ...base, securityOpt: ['no-new-privileges'] }).process.noNewPrivileges, true);
  assert.equal(buildSpec({ ...base, securityOpt: ['no-new-privileges:true'] }).process.noNewPrivileges, true);
  assert.equal(buildSpec({ ...base, securityOpt: ['no-new-privileges=false'] }).process.noNewPrivileges, undefined);
  assert.equal(buildSpec({ ...base, noNewPrivileges: true }).process.noNewPrivileges, true);
  const s = buildSpec({ ...base, securityOpt: ['apparmor=unconfined', 'label=disable', 'label=type:foo_t'] });
  assert.ok(s.linux.seccomp);
  assert.throws(() => parseSecurityOpt(['bogus']), /invalid --security-opt 1: "bogus"/);
  assert.throws(() => parseSecurityOpt(['foo=bar']), /invalid --security-opt 2: "foo=bar"/);
  assert.throws(() => parseSecurityOpt(['no-new-privileges=maybe']), /invalid --security-opt 2/);
  const sp = buildSpec({ ...base, securityOpt: ['systempaths=unconfined'] });
  assert.equal(sp.linux.maskedPaths, undefined);
  const custom = buildSpec({
    ...base,
    securityOpt: [
      'seccomp=' +
        JSON.stringify({
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_CHOWN'] } }],
        }),
    ],
  });
  assert.deepEqual(custom.linux.seccomp, {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }],
  });
});

test('env defaults as Docker', () => {
  assert.deepEqual(buildEnv({ hostname: 'h', tty: true, env: ['A=1', 'PATH=/x', 'HOSTNAME=other'] }), ['PATH=/x', 'HOSTNAME=other', 'TERM=xterm', 'A=1']);
  assert.deepEqual(buildEnv({ hostname: 'h', env: ['HOSTNAME'] }), [`PATH=${DEFAULT_PATH}`]);
  const s = buildSpec({ ...base, tty: true });
  assert.equal(s.process.terminal, true);
  assert.ok(s.process.env?.includes('TERM=xterm'));
});

test('resources: Docker semantics', () => {
  const MiB = 1024 * 1024;
  let s = buildSpec({ ...base, resources: { memory: 64 * MiB } });
  assert.deepEqual(s.linux.resources?.memory, { limit: 64 * MiB, swap: 128 * MiB });
  s = buildSpec({ ...base, resources: { memory: 64 * MiB, memorySwap: -1 } });
  assert.deepEqual(s.linux.resources?.memory, { limit: 64 * MiB, swap: -1 });
  s = buildSpec({ ...base, resources: { memory: 64 * MiB, memorySwap: 100 * MiB, memoryReservation: 32 * MiB } });
  assert.deepEqual(s.linux.resources?.memory, { limit: 64 * MiB, swap: 100 * MiB, reservation: 32 * MiB });
  s = buildSpec({ ...base, resources: { memory: 64 * MiB }, swapAccounting: false });
  assert.deepEqual(s.linux.resources?.memory, { limit: 64 * MiB });
  s = buildSpec({ ...base, resources: { nanoCpus: 1_500_000_000, cpuShares: 512, cpusetCpus: '0', pidsLimit: 100 } });
  assert.deepEqual(s.linux.resources?.cpu, { shares: 512, period: 100000, quota: 150000, cpus: '0' });
  assert.deepEqual(s.linux.resources?.pids, { limit: 100 });
  s = buildSpec({ ...base, resources: { oomKillDisable: true, blkioWeight: 300, cpuPeriod: 50000, cpuQuota: 25000 } });
  assert.deepEqual(s.linux.resources?.memory, { disableOOMKiller: true });
  assert.deepEqual(s.linux.resources?.blockIO, { weight: 300 });
  assert.deepEqual(s.linux.resources?.cpu, { period: 50000, quota: 25000 });
  assert.throws(() => buildSpec({ ...base, resources: { memory: 1024 } }), /Minimum memory limit allowed is 6MB/);
  assert.throws(
    () => buildSpec({ ...base, resources: { memory: 64 * MiB, memorySwap: 32 * MiB } }),
    /Minimum memoryswap limit should be larger than memory limit/,
  );
  assert.throws(() => buildSpec({ ...base, resources: { nanoCpus: 1e9, cpuPeriod: 1000 } }), /Nano CPUs and CPU Period cannot both be set/);
});

test('namespace modes', () => {
  const s = buildSpec({
    ...base,
    network: { kind: 'host' },
    uts: { kind: 'host' },
    ipc: { kind: 'host' },
    pid: { kind: 'path', path: '/proc/42/ns/pid' },
    cgroupns: 'host',
  });
  assert.deepEqual(s.linux.namespaces, [{ type: 'mount' }, { type: 'pid', path: '/proc/42/ns/pid' }]);
  assert.equal(s.hostname, undefined);
  assert.equal(s.linux.sysctl, undefined);
  assert.deepEqual(
    s.mounts.find((m) => m.destination === '/dev/shm'),
    {
      destination: '/dev/shm',
      type: 'bind',
      source: '/dev/shm',
      options: ['rbind', 'rprivate'],
    },
  );
  const j = buildSpec({ ...base, network: { kind: 'path', path: '/var/run/netns/x' } });
  assert.deepEqual(
    j.linux.namespaces.find((n) => n.type === 'network'),
    { type: 'network', path: '/var/run/netns/x' },
  );
  assert.equal(j.linux.sysctl, undefined);
});

test('mounts: init, tmpfs, shm size, user mounts replace defaults', () => {
  const s = buildSpec({
    ...base,
    init: '/usr/bin/tini-static',
    shmSize: 1024 * 1024,
    tmpfs: { '/run': 'rw,exec,size=10m' },
    mounts: [
      { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'rprivate'] },
      { destination: '/etc/hosts', type: 'bind', source: '/mine', options: ['rbind', 'ro'] },
    ],
    sysctls: { 'net.core.somaxconn': '1024' },
    ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }],
    oomScoreAdj: 100,
    user: { uid: 1000, gid: 100, additionalGids: [100, 10] },
    cwd: '/work',
    domainname: 'example.org',
  });
  assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', 'sh']);
  assert.deepEqual(
    s.mounts.find((m) => m.destination === '/sbin/docker-init'),
    {
      destination: '/sbin/docker-init',
      type: 'bind',
      source: '/usr/bin/tini-static',
      options: ['bind', 'ro'],
    },
  );
  assert.ok(s.mounts.find((m) => m.destination === '/dev/shm')?.options?.includes('size=1048576'));
  assert.deepEqual(s.mounts.find((m) => m.destination === '/run')?.options, ['nosuid', 'nodev', 'rprivate', 'rw', 'exec', 'size=10m']);
  assert.equal(s.mounts.filter((m) => m.destination === '/etc/hosts').length, 1);
  assert.equal(s.mounts.find((m) => m.destination === '/etc/hosts')?.source, '/mine');
  assert.deepEqual(
    s.mounts.slice(7).map((m) => m.destination),
    ['/run', '/data', '/etc/resolv.conf', '/etc/hostname', '/sbin/docker-init', '/etc/hosts'],
  );
  const nested = buildSpec({
    ...base,
    mounts: [
      { destination: '/data/sub', type: 'bind', source: '/a' },
      { destination: '/data', type: 'bind', source: '/b' },
    ],
  });
  const order = nested.mounts.map((m) => m.destination);
  assert.ok(order.indexOf('/data') < order.indexOf('/data/sub'), order.join(' '));
  assert.equal(s.linux.sysctl?.['net.core.somaxconn'], '1024');
  assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 }]);
  assert.equal(s.process.oomScoreAdj, 100);
  assert.deepEqual(s.process.user, { uid: 1000, gid: 100, additionalGids: [100, 10] });
  assert.equal(s.process.cwd, '/work');
  assert.equal(s.domainname, 'example.org');
});

test('tmpfs option merging', () => {
  assert.deepEqual(mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'exec', 'size=1m', 'size=2m']), ['nosuid', 'nodev', 'exec', 'size=2m']);
});

test('bad input is rejected', () => {
  assert.throws(() => buildSpec({ ...base, rootfsPath: 'relative' }), /must be absolute/);
  assert.throws(() => buildSpec({ ...base, args: [] }), /No command specified/);
  assert.throws(() => buildSpec({ ...base, network: { kind: 'path', path: 'x' } }), /namespace path/);
});

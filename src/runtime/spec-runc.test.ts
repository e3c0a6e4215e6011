/**
 * Runs real containers with runc from buildSpec's output and checks the isolation from
 * inside and from the host. Skipped when runc or busybox is missing or we are not root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildSpec, type SpecOptions } from './spec.js';
import { capabilityMask, DEFAULT_CAPABILITIES, hostBoundingCapabilities } from './capabilities.js';
import { listHostDevices } from './resources.js';
import { resolveUser } from './user.js';
import { cgroupDir, cgroupDirs, detectCgroups, readLimits, readOomKilled, readStats, resourcesToRuncUpdate, swapAccountingEnabled } from './cgroups.js';

const RUNC = '/usr/sbin/runc';
const BUSYBOX = '/bin/busybox';
const canRun = process.getuid?.() === 0 && existsSync(RUNC) && existsSync(BUSYBOX);
const skip = canRun ? false : 'needs root, runc and busybox-static';

const tag = randomBytes(4).toString('hex');
const cgroupParent = `/berth-spec-test/${tag}`;
let work = '';
let rootfs = '';
let runcRoot = '';
let seq = 0;
const started: string[] = [];
const cgroupPaths: string[] = [];

before(() => {
  if (!canRun) return;
  work = mkdtempSync(join(tmpdir(), 'berth-runc-test-'));
  runcRoot = join(work, 'state');
  rootfs = join(work, 'rootfs');
  mkdirSync(runcRoot);
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'home/alice']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
  for (const cmd of ['sh', 'cat', 'id', 'ls', 'grep', 'echo', 'sleep', 'wc', 'hostname', 'true', 'head', 'tail', 'tr', 'stat', 'mount']) {
    linkSync(join(rootfs, 'bin/busybox'), join(rootfs, 'bin', cmd));
  }
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nusers:x:100:\nwheel:x:10:alice\n');
  for (const f of ['hostname', 'hosts', 'resolv.conf']) writeFileSync(join(work, f), f === 'hostname' ? 'berthtest\n' : '');
});

after(() => {
  if (!canRun) return;
  for (const id of started) spawnSync(RUNC, ['--root', runcRoot, 'delete', '-f', id], { stdio: 'ignore' });
  // Remove the container cgroups (deepest first), then our parent, then the shared root if empty.
  const layout = detectCgroups();
  for (const p of [...cgroupPaths, cgroupParent, '/berth-spec-test']) {
    for (const dir of cgroupDirs(p, layout)) {
      try {
        rmdirSync(dir);
      } catch {
        /* absent or still used by another run */
      }
    }
  }
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options for a test container; `args` run under `sh -c` unless raw. */
function specFor(script: string, extra: Partial<SpecOptions> = {}): { id: string; opts: SpecOptions } {
  const id = `berth-spec-${tag}-${++seq}`;
  const cgroupsPath = `${cgroupParent}/${seq}`;
  cgroupPaths.push(cgroupsPath);
  const opts: SpecOptions = {
    id,
    rootfsPath: rootfs,
    args: ['/bin/sh', '-c', script],
    hostname: 'berthtest',
    etcFiles: {
      hostnamePath: join(work, 'hostname'),
      hostsPath: join(work, 'hosts'),
      resolvConfPath: join(work, 'resolv.conf'),
    },
    cgroupsPath,
    swapAccounting: swapAccountingEnabled(),
    ...extra,
  };
  return { id, opts };
}

/**
 * `runc run` a container; `whileRunning` is called once the container prints "READY" and
 * the container is released (its stdin closed) when it returns.
 */
async function run(
  script: string,
  extra: Partial<SpecOptions> = {},
  whileRunning?: (id: string, cgroupsPath: string) => void | Promise<void>,
): Promise<RunResult> {
  const { id, opts } = specFor(script, extra);
  const bundle = join(work, id);
  mkdirSync(bundle);
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(buildSpec(opts), null, 2));
  started.push(id);
  const child = spawn(RUNC, ['--root', runcRoot, 'run', '--bundle', bundle, id], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let ready: () => void = () => {};
  const readyP = new Promise<void>((r) => (ready = r));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('READY')) ready();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  if (whileRunning) {
    const first = await Promise.race([readyP.then(() => 'ready' as const), exited.then(() => 'exited' as const)]);
    try {
      if (first === 'ready') await whileRunning(id, opts.cgroupsPath ?? '');
    } finally {
      child.stdin.end();
    }
  } else {
    child.stdin.end();
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
  const code = await exited;
  clearTimeout(timer);
  spawnSync(RUNC, ['--root', runcRoot, 'delete', '-f', id], { stdio: 'ignore' });
  return { code, stdout, stderr };
}

test('runs as root with Docker default capabilities', { skip }, async () => {
  const r = await run('id; grep -E "^Cap(Bnd|Eff|Prm|Inh|Amb)" /proc/self/status');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^uid=0\(root\) gid=0\(root\)/m);
  const mask = capabilityMask(DEFAULT_CAPABILITIES).toString(16).padStart(16, '0');
  assert.match(r.stdout, new RegExp(`CapBnd:\\s+${mask}`));
  assert.match(r.stdout, new RegExp(`CapEff:\\s+${mask}`));
  assert.match(r.stdout, /CapInh:\s+0000000000000000/);
  assert.match(r.stdout, /CapAmb:\s+0000000000000000/);
});

test('masked and read-only paths, seccomp, private network, hostname, env', { skip }, async () => {
  const r = await run(
    [
      // /proc/kcore is masked too, but this kernel has none; timer_list is root-readable and non-empty on the host.
      'echo timer_list=$(wc -c < /proc/timer_list)',
      'echo kcore=$(wc -c < /proc/kcore 2>/dev/null || echo absent)',
      'echo acpi=$(ls /proc/acpi | wc -l)',
      'if echo 1 > /proc/sys/vm/drop_caches; then echo sys=writable; else echo sys=readonly; fi',
      'if echo x > /sys/kernel/uevent_helper; then echo sysfs=writable; else echo sysfs=readonly; fi',
      'grep Seccomp: /proc/self/status',
      'grep NoNewPrivs: /proc/self/status',
      'echo net=$(ls /sys/class/net)',
      'echo host=$(hostname)',
      'echo path=$PATH home=$HOSTNAME',
      'echo shm=$(stat -f -c %b:%S /dev/shm)',
      'if mount -t tmpfs none /tmp 2>/dev/null; then echo mount=allowed; else echo mount=denied; fi',
      'ls -l /dev/null',
    ].join('; '),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^timer_list=0$/m);
  assert.match(r.stdout, existsSync('/proc/kcore') ? /^kcore=0$/m : /^kcore=absent$/m);
  assert.match(r.stdout, /^acpi=0$/m);
  assert.match(r.stdout, /^sys=readonly$/m);
  assert.match(r.stdout, /^sysfs=readonly$/m);
  assert.match(r.stdout, /^Seccomp:\s+2$/m);
  assert.match(r.stdout, /^NoNewPrivs:\s+0$/m);
  assert.match(r.stdout, /^net=lo$/m);
  assert.match(r.stdout, /^host=berthtest$/m);
  assert.match(r.stdout, /^path=\/usr\/local\/sbin:\/usr\/local\/bin:\/usr\/sbin:\/usr\/bin:\/sbin:\/bin home=berthtest$/m);
  // 64 MiB shm: blocks × block size.
  const shm = /^shm=(\d+):(\d+)$/m.exec(r.stdout);
  assert.ok(shm, r.stdout);
  assert.equal(Number(shm[1]) * Number(shm[2]), 64 * 1024 * 1024);
  assert.match(r.stdout, /^mount=denied$/m);
  assert.match(r.stdout, /^crw-rw-rw-\s+1 root\s+root\s+1,\s+3 .*\/dev\/null$/m);
});

test('no-new-privileges and a resolved non-root user', { skip }, async () => {
  const user = resolveUser({ rootfs, user: 'alice' });
  const r = await run('id; grep NoNewPrivs: /proc/self/status; grep CapEff: /proc/self/status', {
    user,
    securityOpt: ['no-new-privileges'],
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^uid=1000\(alice\) gid=100\(users\) groups=(100\(users\),10\(wheel\)|10\(wheel\),100\(users\))$/m);
  assert.match(r.stdout, /^NoNewPrivs:\s+1$/m);
  assert.match(r.stdout, /^CapEff:\s+0000000000000000$/m);
});

test('memory, cpu and pids limits are applied to the cgroup', { skip }, async () => {
  const MiB = 1024 * 1024;
  const layout = detectCgroups();
  let seen: ReturnType<typeof readLimits> | undefined;
  let stats: ReturnType<typeof readStats> | undefined;
  let hostLimit = '';
  const r = await run(
    'echo READY; read x; true',
    { resources: { memory: 64 * MiB, nanoCpus: 500_000_000, pidsLimit: 20, cpuShares: 512 } },
    (_id, cgroupsPath) => {
      seen = readLimits(cgroupsPath, layout);
      stats = readStats(cgroupsPath, layout);
      if (layout.version === 1) {
        const dir = cgroupDir(cgroupsPath, 'memory', layout);
        hostLimit = spawnSync('cat', [join(dir ?? '/nonexistent', 'memory.limit_in_bytes')])
          .stdout.toString()
          .trim();
      }
    },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(seen, 'container never became ready: ' + r.stderr);
  if (layout.version === 1) assert.equal(hostLimit, String(64 * MiB));
  assert.equal(seen.memory, 64 * MiB);
  if (swapAccountingEnabled(layout)) assert.equal(seen.memorySwap, 128 * MiB);
  assert.equal(seen.cpuQuota, 50000);
  assert.equal(seen.cpuPeriod, 100000);
  assert.equal(seen.cpuShares, 512);
  assert.equal(seen.pidsMax, 20);
  assert.ok((stats?.pidsCurrent ?? 0) >= 1);
  assert.ok((stats?.memoryUsage ?? 0) > 0);
  assert.ok((stats?.cpuUsageNs ?? 0) > 0);
});

test('runc update applies resourcesToRuncUpdate output', { skip }, async () => {
  const MiB = 1024 * 1024;
  let before: ReturnType<typeof readLimits> | undefined;
  let afterUpdate: ReturnType<typeof readLimits> | undefined;
  let updateErr = '';
  const r = await run('echo READY; read x; true', { resources: { memory: 64 * MiB, pidsLimit: 20 } }, (id, cgroupsPath) => {
    before = readLimits(cgroupsPath);
    const payload = resourcesToRuncUpdate(
      { memory: 96 * MiB, memorySwap: 192 * MiB, nanoCpus: 250_000_000, pidsLimit: 0, cpuShares: 256 },
      { swapAccounting: swapAccountingEnabled() },
    );
    const u = spawnSync(RUNC, ['--root', runcRoot, 'update', '--resources', '-', id], { input: JSON.stringify(payload) });
    updateErr = u.stderr.toString() + (u.status === 0 ? '' : ` (status ${u.status})`);
    afterUpdate = readLimits(cgroupsPath);
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(updateErr, '');
  assert.equal(before?.memory, 64 * MiB);
  assert.equal(before?.pidsMax, 20);
  assert.equal(afterUpdate?.memory, 96 * MiB);
  if (swapAccountingEnabled()) assert.equal(afterUpdate?.memorySwap, 192 * MiB);
  assert.equal(afterUpdate?.cpuQuota, 25000);
  assert.equal(afterUpdate?.cpuPeriod, 100000);
  assert.equal(afterUpdate?.cpuShares, 256);
  assert.equal(afterUpdate?.pidsMax, null);
});

test('pids limit bounds a fork bomb', { skip }, async () => {
  const r = await run('i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); done 2>&1; echo spawned; kill $(jobs -p) 2>/dev/null; true', {
    resources: { pidsLimit: 10 },
  });
  assert.match(r.stdout + r.stderr, /can't fork|Resource temporarily unavailable/);
});

test('an OOM kill is counted', { skip }, async () => {
  const MiB = 1024 * 1024;
  let oom = -1;
  // tail -c buffers its input: the kernel's OOM killer kills it, the shell goes on.
  const r = await run(
    'head -c 200000000 /dev/zero | tail -c 150000000 > /dev/null; echo READY; read x; true',
    { resources: { memory: 16 * MiB, memorySwap: 16 * MiB } },
    (_id, cgroupsPath) => {
      oom = readOomKilled(cgroupsPath);
    },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(oom >= 1, `oom_kill count ${oom}`);
});

test('private cgroup namespace and read-only cgroup controllers', { skip }, async () => {
  // As with dockerd + runc 1.1 on cgroup v1, the tmpfs at /sys/fs/cgroup stays writable; the
  // controller mounts under it are read-only.
  const probe = detectCgroups().version === 1 ? '/sys/fs/cgroup/memory/x' : '/sys/fs/cgroup/x';
  const r = await run(`cat /proc/self/cgroup; if mkdir ${probe} 2>/dev/null; then echo cg=writable; else echo cg=readonly; fi`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^cg=readonly$/m);
  assert.ok(!r.stdout.includes('berth-spec-test'), r.stdout);
});

test('init binary runs as PID 1', { skip: skip || (existsSync('/usr/bin/tini-static') ? false : 'no tini-static') }, async () => {
  const r = await run('cat /proc/1/cmdline | tr "\\0" " "; echo', { init: '/usr/bin/tini-static' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\/sbin\/docker-init -- \/bin\/sh -c/m);
});

test('privileged container: host caps, devices, no seccomp, mount allowed', { skip }, async () => {
  const host = hostBoundingCapabilities();
  const r = await run(
    'grep -E "^(CapBnd|Seccomp):" /proc/self/status; ls /dev/kvm /dev/loop0 2>&1; if mount -t tmpfs none /tmp; then echo mount=ok; fi; echo timer_list=$(wc -c < /proc/timer_list)',
    { privileged: true, hostCapabilities: host, privilegedDevices: listHostDevices() },
  );
  assert.equal(r.code, 0, r.stderr);
  const mask = capabilityMask(host).toString(16).padStart(16, '0');
  assert.match(r.stdout, new RegExp(`CapBnd:\\s+${mask}`));
  assert.match(r.stdout, /^Seccomp:\s+0$/m);
  assert.match(r.stdout, /^mount=ok$/m);
  assert.doesNotMatch(r.stdout, /^timer_list=0$/m);
  if (existsSync('/dev/loop0')) assert.match(r.stdout, /^\/dev\/loop0$/m);
});

/**
 * A full disk: berthd's data root is a small ext4 file system on a loop device, filled to the last
 * block; then tag, rmi, commit, pause, unpause, create, network create, volume create and load
 * (and start, update, rename, import) each fail with "no space left on device" and change
 * nothing — not the API's listings, not inspect, not the records a restarted daemon reads.
 * `stop` and `rm -f` go through (as with dockerd: an exit is a fact, a removal frees space). The loop device and its image are
 * removed even when a case fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DOCKER, HAVE_DOCKER, TestDaemon, cleanupAndCheck, mountsUnder, processAlive, type RunResult } from './helpers/daemon.js';
import { ok } from './helpers/assert.js';

let d: TestDaemon | undefined;
let imgDir = '';
let dataRoot = '';
const suffix = Math.random().toString(36).slice(2, 7);
const bridge = `bh4en${suffix}`;
const subnet = `10.204.${Math.floor(Math.random() * 250) + 2}.0/24`;

function sh(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function availBytes(): number {
  const st = fs.statfsSync(dataRoot);
  return st.bavail * st.bsize;
}

/** Fills the data root to the last block: one large preallocated file, then single blocks. */
function fill(): void {
  const big = availBytes() - 256 * 1024;
  if (big > 0) assert.equal(sh('fallocate', ['-l', String(big), path.join(dataRoot, 'fill-big')]).code, 0, 'fallocate');
  for (let i = 0; availBytes() > 0 && i < 4096; i++) {
    sh('dd', ['if=/dev/zero', `of=${path.join(dataRoot, `fill-${i}`)}`, 'bs=4096', 'count=64']);
    sh('sync', []);
  }
  assert.equal(availBytes(), 0, 'the data root is full');
}

function free(): void {
  for (const f of fs.readdirSync(dataRoot)) if (f.startsWith('fill-')) fs.rmSync(path.join(dataRoot, f), { force: true });
  sh('sync', []);
}

function assertNoSpace(r: RunResult): void {
  assert.notEqual(r.code, 0, r.desc);
  assert.match(r.stderr, /no space left on device/, r.desc);
}

function dirNames(p: string): string[] {
  try {
    return fs.readdirSync(p).sort();
  } catch {
    return [];
  }
}

/** What the daemon shows and keeps: listings, container states, and the stores' entries on disk. */
async function snapshot(daemon: TestDaemon, ids: string[]): Promise<Record<string, unknown>> {
  const images = (await daemon.api.get('/images/json?all=1')).json<Array<{ Id: string; RepoTags: string[] | null }>>();
  const containers = (await daemon.api.get('/containers/json?all=1')).json<Array<{ Id: string; Names: string[] }>>();
  const states: Record<string, unknown> = {};
  for (const id of ids) {
    const s = await daemon.state(id);
    states[id] = { Status: s.Status, Running: s.Running, Paused: s.Paused, Pid: s.Pid };
  }
  const networks = (await daemon.api.get('/networks')).json<Array<{ Name: string }>>();
  const volumes = (await daemon.api.get('/volumes')).json<{ Volumes: Array<{ Name: string }> | null }>();
  return {
    images: images.map((i) => `${i.Id} ${(i.RepoTags ?? []).sort().join(',')}`).sort(),
    containers: containers.map((c) => `${c.Id} ${c.Names.join(',')}`).sort(),
    states,
    networks: networks.map((n) => n.Name).sort(),
    volumes: (volumes.Volumes ?? []).map((v) => v.Name).sort(),
    disk: {
      layers: dirNames(path.join(dataRoot, 'layers')).filter((n) => !n.startsWith('tmp-')),
      blobs: dirNames(path.join(dataRoot, 'content', 'blobs')),
      containers: dirNames(path.join(dataRoot, 'containers')),
      volumes: dirNames(path.join(dataRoot, 'volumes')),
      networks: dirNames(path.join(dataRoot, 'network', 'networks')),
    },
  };
}

before(async () => {
  assert.ok(HAVE_DOCKER, `the docker CLI is needed at ${DOCKER}`);
  imgDir = fs.mkdtempSync('/tmp/berth-enospc-');
  const img = path.join(imgDir, 'disk.img');
  d = await TestDaemon.start({
    prepareRoot: (root) => {
      dataRoot = path.join(root, 'data');
      fs.mkdirSync(dataRoot);
      fs.writeFileSync(img, '');
      fs.truncateSync(img, 96 << 20);
      let r = sh('mkfs.ext4', ['-q', '-F', '-m', '0', '-b', '4096', img]);
      if (r.code !== 0) throw new Error(`mkfs.ext4: ${r.out}`);
      r = sh('mount', ['-o', 'loop', img, dataRoot]);
      if (r.code !== 0) throw new Error(`mount -o loop: ${r.out}`);
    },
  });
});

after(async () => {
  try {
    if (dataRoot && fs.existsSync(dataRoot)) free();
    await cleanupAndCheck(d);
  } finally {
    // cleanupAndCheck unmounted the data root (lazily); the loop device goes with its image.
    if (dataRoot) sh('umount', [dataRoot]);
    const img = path.join(imgDir, 'disk.img');
    if (imgDir) {
      for (const line of sh('losetup', ['-j', img]).out.split('\n')) {
        const dev = line.split(':')[0];
        if (dev?.startsWith('/dev/loop')) sh('losetup', ['-d', dev]);
      }
      fs.rmSync(imgDir, { recursive: true, force: true });
    }
  }
});

describe('a full data root: failed operations change nothing', () => {
  let running = '';
  let paused = '';
  let created = '';
  let stopping = '';
  let loadTar = '';
  let before: Record<string, unknown> = {};

  it('sets up while there is space', { timeout: 120_000 }, async () => {
    const dm = d as TestDaemon;
    ok(await dm.docker(['tag', 'busybox', `crash/keep:${suffix}`]));
    running = ok(await dm.docker(['run', '-d', '--name', `en-run-${suffix}`, 'busybox', 'sleep', '300']));
    ok(await dm.docker(['exec', running, 'sh', '-c', 'echo data > /committed-file']));
    paused = ok(await dm.docker(['run', '-d', '--name', `en-paused-${suffix}`, 'busybox', 'sleep', '300']));
    ok(await dm.docker(['pause', paused]));
    created = ok(await dm.docker(['create', '--name', `en-created-${suffix}`, 'busybox', 'sleep', '300']));
    stopping = ok(await dm.docker(['run', '-d', '--name', `en-stop-${suffix}`, 'busybox', 'sleep', '300']));
    // An image whose layer the store does not have, saved outside the data root, for `load`.
    ok(await dm.docker(['run', '--name', `en-src-${suffix}`, 'busybox', 'sh', '-c', 'echo load > /load-file']));
    ok(await dm.docker(['commit', `en-src-${suffix}`, `crash/load:${suffix}`]));
    loadTar = path.join(imgDir, 'load.tar');
    ok(await dm.docker(['save', '-o', loadTar, `crash/load:${suffix}`]));
    ok(await dm.docker(['rm', `en-src-${suffix}`]));
    ok(await dm.docker(['rmi', `crash/load:${suffix}`]));
    fs.writeFileSync(path.join(imgDir, 'rootfs.tar'), spawnSync('tar', ['-C', '/etc', '-c', 'hostname', 'os-release']).stdout);
    before = await snapshot(dm, [running, paused, created]);
    assert.equal(dm.readCgroup('freezer', paused, 'freezer.state'), 'FROZEN');
    fill();
  });

  it('tag and rmi fail and keep the tags', { timeout: 60_000 }, async () => {
    const dm = d as TestDaemon;
    assertNoSpace(await dm.docker(['tag', 'busybox', `crash/t1:${suffix}`]));
    assertNoSpace(await dm.docker(['rmi', `crash/keep:${suffix}`]));
    assert.deepEqual(await snapshot(dm, [running, paused, created]), before);
  });

  it('commit fails, leaves no image and the container running, not paused', { timeout: 60_000 }, async () => {
    const dm = d as TestDaemon;
    assertNoSpace(await dm.docker(['commit', running, `crash/c1:${suffix}`]));
    assert.equal(dm.readCgroup('freezer', running, 'freezer.state'), 'THAWED');
    assert.deepEqual(await snapshot(dm, [running, paused, created]), before);
  });

  it('pause and unpause fail and leave the freezer as it was', { timeout: 60_000 }, async () => {
    const dm = d as TestDaemon;
    assertNoSpace(await dm.docker(['pause', running]));
    assert.equal(dm.readCgroup('freezer', running, 'freezer.state'), 'THAWED');
    assertNoSpace(await dm.docker(['unpause', paused]));
    assert.equal(dm.readCgroup('freezer', paused, 'freezer.state'), 'FROZEN');
    assert.deepEqual(await snapshot(dm, [running, paused, created]), before);
  });

  it('create, network create and volume create fail and make nothing', { timeout: 60_000 }, async () => {
    const dm = d as TestDaemon;
    assertNoSpace(await dm.docker(['create', '--name', `en-new-${suffix}`, 'busybox']));
    assertNoSpace(await dm.docker(['create', '-v', '/anon', 'busybox']));
    assertNoSpace(await dm.docker(['network', 'create', '--subnet', subnet, '-o', `com.docker.network.bridge.name=${bridge}`, `en-net-${suffix}`]));
    assert.notEqual(sh('ip', ['link', 'show', bridge]).code, 0, `bridge ${bridge} is not left behind`);
    assertNoSpace(await dm.docker(['volume', 'create', `en-vol-${suffix}`]));
    assert.deepEqual(await snapshot(dm, [running, paused, created]), before);
  });

  it('start, update and rename fail and change nothing', { timeout: 60_000 }, async () => {
    const dm = d as TestDaemon;
    const r = await dm.docker(['start', created]);
    const st = fs.statfsSync(dataRoot);
    assert.match(r.stderr, /no space left on device/, `${r.desc}\nfree blocks: ${st.bfree}, available: ${st.bavail}`);
    assert.notEqual(r.code, 0);
    const runcState = path.join(dm.execRoot, 'runc', created);
    assert.ok(!fs.existsSync(runcState), 'no runtime state of the failed start');
    assert.deepEqual(mountsUnder(path.join(dm.execRoot, 'containers', created)), [], 'no rootfs mount of the failed start');
    const limit = dm.readCgroup('memory', running, 'memory.limit_in_bytes');
    assertNoSpace(await dm.docker(['update', '--memory', '64m', '--memory-swap', '128m', running]));
    assert.equal(dm.readCgroup('memory', running, 'memory.limit_in_bytes'), limit, 'the cgroup keeps its limit');
    assert.equal((await dm.api.inspect(running)).HostConfig.Memory, 0);
    assertNoSpace(await dm.docker(['rename', created, `en-renamed-${suffix}`]));
    assertNoSpace(await dm.docker(['import', path.join(imgDir, 'rootfs.tar'), `crash/imp:${suffix}`]));
    assert.deepEqual(await snapshot(dm, [running, paused, created]), before);
  });

  it('stop on a full disk stops the container (the exit is applied again after a restart)', { timeout: 60_000 }, async () => {
    const dm = d as TestDaemon;
    const pid = (await dm.state(stopping)).Pid as number;
    ok(await dm.docker(['stop', '-t', '1', stopping]));
    const s = await dm.state(stopping);
    assert.equal(s.Status, 'exited');
    assert.ok(!processAlive(pid));
  });

  it('load fails and leaves no layer, blob or ingest', { timeout: 60_000 }, async () => {
    const dm = d as TestDaemon;
    assertNoSpace(await dm.docker(['load', '-i', loadTar]));
    assert.deepEqual(await snapshot(dm, [running, paused, created]), before);
    assert.deepEqual(dirNames(path.join(dataRoot, 'content', 'ingest')), [], 'ingest is empty');
    assert.deepEqual(
      dirNames(path.join(dataRoot, 'layers')).filter((n) => n.startsWith('tmp-')),
      [],
      'no half-made layer',
    );
  });

  it('the records a restarted daemon reads show no change either', { timeout: 90_000 }, async () => {
    const dm = d as TestDaemon;
    free();
    await dm.stop();
    d = await TestDaemon.start({ reuse: dm });
    assert.deepEqual(await snapshot(d, [running, paused, created]), before);
    assert.equal(d.readCgroup('freezer', paused, 'freezer.state'), 'FROZEN');
    assert.equal(d.readCgroup('freezer', running, 'freezer.state'), 'THAWED');
    const st = await d.state(stopping);
    assert.equal(st.Status, 'exited', 'the stop made on a full disk holds after a restart');
    assert.equal(st.ExitCode, 137);
    // And with space again, the same operations work.
    ok(await d.docker(['tag', 'busybox', `crash/t1:${suffix}`]));
    ok(await d.docker(['unpause', paused]));
    ok(await d.docker(['rmi', `crash/t1:${suffix}`]));
  });

  it('rm -f on a full disk removes the container completely', { timeout: 60_000 }, async () => {
    const dm = d as TestDaemon;
    const pid = (await dm.state(running)).Pid as number;
    assert.ok(processAlive(pid));
    fill();
    const r = await dm.docker(['rm', '-f', running]);
    assert.equal(r.code, 0, r.desc);
    assert.equal((await dm.api.get(`/containers/${running}/json`)).status, 404);
    assert.ok(!processAlive(pid), 'its process is gone');
    assert.ok(!fs.existsSync(path.join(dataRoot, 'containers', running)), 'its directory is gone');
    free();
    await dm.stop();
    d = await TestDaemon.start({ reuse: dm });
    assert.equal((await d.api.get(`/containers/${running}/json`)).status, 404, 'still gone after a restart');
  });
});

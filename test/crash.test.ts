/**
 * Crashes mid-operation: berthd is SIGKILLed while 10 `run -d` are in flight (right after the
 * requests go out, and at random delays up to 500 ms), while a `commit` holds its container
 * paused, during a `load`, during a build's RUN step and during an `rm -v`. A new berthd on the
 * same roots must reconcile, with no user action: every container runs (process alive, `exec`
 * works) or is cleanly Created/Exited so that `start` runs it normally; no `runc init` waiting,
 * no runc container in `created`, no rootfs mount of a stopped container, no orphan conmon; no
 * half-made layer, blob or ingest; the committing container thawed; build step containers gone;
 * `rm -v` either finished (volumes gone too) or not begun (container and volumes there).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DOCKER,
  HAVE_DOCKER,
  TestDaemon,
  cleanupAndCheck,
  conmonsMatching,
  mountsUnder,
  processAlive,
  sleep,
  waitFor,
  type RunResult,
} from './helpers/daemon.js';
import { ok } from './helpers/assert.js';

let d: TestDaemon;
const suffix = Math.random().toString(36).slice(2, 7);

before(async () => {
  assert.ok(HAVE_DOCKER, `the docker CLI is needed at ${DOCKER}`);
  d = await TestDaemon.start();
});

after(async () => {
  await cleanupAndCheck(d);
});

/**
 * Kills berthd with SIGKILL and starts a new one on the same roots; returns what the crash left
 * for the new daemon to reconcile (runc states, runc inits), for the test's diagnostics.
 */
async function crashAndRestart(): Promise<string> {
  await d.kill9();
  let runc = '';
  try {
    const states = runcList().map((r) => r.status);
    runc = `${states.filter((x) => x === 'created').length} created / ${states.length}`;
  } catch (err) {
    runc = (err as Error).message.trim();
  }
  const dirs = names(path.join(d.execRoot, 'runc')).length;
  const left = `runc: ${runc} (${dirs} state dirs); runc init: ${runcInits().length}`;
  const t0 = Date.now();
  d = await TestDaemon.start({ reuse: d });
  return `${left}; restart with recovery until /_ping answers: ${Date.now() - t0} ms`;
}

/** runc's containers (throws when runc cannot list them, e.g. a state dir a crash left half-made). */
function runcList(): Array<{ id: string; status: string }> {
  const r = spawnSync('runc', ['--root', path.join(d.execRoot, 'runc'), 'list', '--format', 'json'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`runc list: ${r.stderr}`);
  const text = (r.stdout ?? '').trim();
  return text === '' || text === 'null' ? [] : (JSON.parse(text) as Array<{ id: string; status: string }>);
}

/** `runc init` processes in this daemon's cgroups (a half-started container waiting on its exec fifo). */
function runcInits(): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (path.basename(argv[0] ?? '') !== 'runc' || argv[1] !== 'init') continue;
      if (fs.readFileSync(`/proc/${e}/cgroup`, 'utf8').includes(d.cgroupParent)) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const diff of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? diff : `sha256:${createHash('sha256').update(`${prev} ${diff}`).digest('hex')}`);
  }
  return out;
}

function names(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Every layer and blob on disk belongs to an image; no half-made layer, no ingest. */
async function assertStoreClean(): Promise<void> {
  const images = (await d.api.get('/images/json?all=1')).json<Array<{ Id: string }>>();
  const layers = new Set<string>();
  const blobs = new Set<string>();
  for (const img of images) {
    const ins = (await d.api.get(`/images/${img.Id}/json`)).json<{ RootFS: { Layers: string[] } }>();
    blobs.add(img.Id.slice(7));
    for (const l of ins.RootFS.Layers) blobs.add(l.slice(7));
    for (const c of chainIds(ins.RootFS.Layers)) layers.add(c.slice(7));
  }
  const data = d.dataRoot;
  const strayLayers = names(path.join(data, 'layers')).filter((n) => !layers.has(n));
  assert.deepEqual(strayLayers, [], 'no layer that no image uses (nor a tmp- one)');
  const strayBlobs = names(path.join(data, 'content', 'blobs', 'sha256')).filter((n) => !blobs.has(n));
  assert.deepEqual(strayBlobs, [], 'no blob that no image uses');
  assert.deepEqual(names(path.join(data, 'content', 'ingest')), [], 'no ingest left');
}

/**
 * The reconciled state: running containers run (and `exec` works); the others are cleanly
 * stopped, with no runtime state, no runc init, no mount, no monitor; `start` runs them.
 */
async function assertReconciled(what: string): Promise<void> {
  const list = (await d.api.get('/containers/json?all=1')).json<Array<{ Id: string }>>();
  const running: string[] = [];
  const stopped: string[] = [];
  for (const c of list) {
    const s = await d.state(c.Id);
    if (s.Running) {
      assert.ok(processAlive(s.Pid), `${what}: ${c.Id.slice(0, 12)} runs with a live process`);
      running.push(c.Id);
    } else {
      assert.ok(['created', 'exited'].includes(s.Status), `${what}: ${c.Id.slice(0, 12)} is ${s.Status}`);
      stopped.push(c.Id);
    }
  }
  const runc = runcList();
  for (const r of runc) {
    assert.notEqual(r.status, 'created', `${what}: runc container ${r.id.slice(0, 12)} left in created`);
    assert.ok(running.includes(r.id), `${what}: runc state of a non-running container ${r.id.slice(0, 12)} (${r.status})`);
  }
  assert.deepEqual(runcInits(), [], `${what}: no runc init left waiting`);
  for (const id of stopped) assert.deepEqual(mountsUnder(path.join(d.execRoot, 'containers', id)), [], `${what}: no mount of stopped ${id.slice(0, 12)}`);
  assert.equal(conmonsMatching(d.execRoot).length, running.length, `${what}: one conmon per running container, no orphan`);
  await Promise.all(running.map(async (id) => ok(await d.docker(['exec', id, 'true']))));
  // Stopped ones start normally and stay up (no stale exit of an old monitor: no instant 137).
  await Promise.all(
    stopped.map(async (id) => {
      const r = await d.docker(['start', id], { timeout: 30_000 });
      assert.equal(r.code, 0, `${what}: ${r.desc}\n--- berthd log ---\n${d.log.slice(-3000)}`);
    }),
  );
  await sleep(300);
  for (const id of stopped) {
    const s = await d.state(id);
    assert.ok(s.Running && processAlive(s.Pid), `${what}: ${id.slice(0, 12)} runs after start (${JSON.stringify(s)})`);
  }
  await Promise.all([...running, ...stopped].map(async (id) => ok(await d.docker(['exec', id, 'true']))));
}

async function removeAll(): Promise<void> {
  const list = (await d.api.get('/containers/json?all=1')).json<Array<{ Id: string }>>();
  await Promise.all(list.map(async (c) => ok(await d.docker(['rm', '-f', c.Id]))));
}

describe('kill -9 of berthd during 10 parallel run -d', () => {
  // Fixed and random delays after the requests go out, and two kills timed on the runtime's
  // state: at the first runc container (a start half-way: `created`, `runc init` waiting) and at
  // the fifth.
  const rounds: Array<{ delay?: number; runcStates?: number }> = [
    { delay: 0 },
    { delay: Math.floor(Math.random() * 500) },
    { delay: Math.floor(Math.random() * 500) },
    { runcStates: 1 },
    { runcStates: 5 },
  ];
  for (const [round, when] of rounds.entries()) {
    const label = when.delay !== undefined ? `${when.delay} ms after the requests are sent` : `once ${when.runcStates} runc container(s) exist`;
    it(`killed ${label} (round ${round + 1})`, { timeout: 180_000 }, async (t) => {
      const runs: Array<Promise<RunResult>> = [];
      for (let i = 0; i < 10; i++) runs.push(d.docker(['run', '-d', '--name', `cr-${suffix}-${round}-${i}`, 'busybox', 'sleep', '300']));
      if (when.delay !== undefined) await sleep(when.delay);
      else {
        const runcRoot = path.join(d.execRoot, 'runc');
        await waitFor(() => names(runcRoot).length >= (when.runcStates ?? 1), { timeout: 30_000, interval: 1, what: 'runc containers' });
      }
      t.diagnostic(`left by the crash: ${await crashAndRestart()}`);
      await Promise.all(runs);
      await assertReconciled(`round ${round + 1} (${label})`);
      await removeAll();
    });
  }
});

describe('kill -9 of berthd in the middle of other operations', () => {
  it('a commit holding its container paused: the container is thawed', { timeout: 180_000 }, async () => {
    const id = ok(await d.docker(['run', '-d', '--name', `cr-commit-${suffix}`, 'busybox', 'sleep', '300']));
    // A big upper dir, so the commit takes a while with the container frozen.
    ok(await d.docker(['exec', id, 'sh', '-c', 'dd if=/dev/urandom of=/big bs=1M count=96 2>/dev/null']));
    const commit = d.api
      .request({ method: 'POST', path: `/commit?container=${id}&repo=cr-commit&tag=${suffix}&pause=1`, timeout: 120_000 })
      .catch(() => undefined);
    await waitFor(() => d.readCgroup('freezer', id, 'freezer.state') === 'FROZEN', { timeout: 20_000, interval: 5, what: 'commit to freeze the container' });
    await crashAndRestart();
    await commit;
    const s = await d.state(id);
    assert.equal(s.Running, true);
    assert.equal(s.Paused, false);
    assert.equal(d.readCgroup('freezer', id, 'freezer.state'), 'THAWED');
    assert.ok(!fs.existsSync(path.join(d.execRoot, 'containers', id, 'commit-paused')), 'no marker left');
    ok(await d.docker(['exec', id, 'true']));
    await assertReconciled('commit');
    await assertStoreClean();
    await removeAll();
  });

  it('a load: no half-loaded layer, blob or ingest', { timeout: 180_000 }, async () => {
    const tmp = fs.mkdtempSync('/tmp/berth-crash-load-');
    try {
      ok(await d.docker(['run', '--name', `cr-src-${suffix}`, 'busybox', 'sh', '-c', 'dd if=/dev/urandom of=/big bs=1M count=64 2>/dev/null']));
      ok(await d.docker(['commit', `cr-src-${suffix}`, `cr-load:${suffix}`]));
      const tar = path.join(tmp, 'load.tar');
      ok(await d.docker(['save', '-o', tar, `cr-load:${suffix}`]));
      ok(await d.docker(['rm', `cr-src-${suffix}`]));
      ok(await d.docker(['rmi', `cr-load:${suffix}`]));
      await assertStoreClean();
      const load = d.docker(['load', '-i', tar]);
      // Killed once the load has begun writing (the archive unpacked in the ingest area, or a layer under way).
      await waitFor(
        () => names(path.join(d.dataRoot, 'content', 'ingest')).length > 0 || names(path.join(d.dataRoot, 'layers')).some((n) => n.startsWith('tmp-')),
        { timeout: 20_000, interval: 2, what: 'the load to begin' },
      );
      await crashAndRestart();
      await load;
      await assertStoreClean();
      const images = (await d.api.get('/images/json')).json<Array<{ RepoTags: string[] | null }>>();
      assert.ok(!images.some((i) => (i.RepoTags ?? []).includes(`cr-load:${suffix}`)), 'the interrupted load did not land');
      // And the same archive loads afterwards.
      ok(await d.docker(['load', '-i', tar]));
      ok(await d.docker(['rmi', `cr-load:${suffix}`]));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("a build's RUN step: its container is gone", { timeout: 180_000 }, async () => {
    const ctx = fs.mkdtempSync('/tmp/berth-crash-build-');
    try {
      fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM busybox\nRUN echo step-${suffix} && sleep 60\n`);
      const build = d.docker(['build', '-t', `cr-build:${suffix}`, ctx], { env: { DOCKER_BUILDKIT: '0' }, timeout: 120_000 });
      const step = await waitFor(
        async () => {
          const list = (await d.api.get('/containers/json')).json<Array<{ Id: string; Command: string }>>();
          return list.find((c) => c.Command.includes(`step-${suffix}`));
        },
        { timeout: 30_000, what: 'the RUN step container' },
      );
      await crashAndRestart();
      await build;
      assert.equal((await d.api.get(`/containers/${step.Id}/json`)).status, 404, 'the step container is removed');
      assert.deepEqual(mountsUnder(path.join(d.execRoot, 'containers', step.Id)), [], 'no mount of the step container');
      await assertReconciled('build');
      await assertStoreClean();
    } finally {
      fs.rmSync(ctx, { recursive: true, force: true });
    }
  });

  it('rm -f of 5 running containers: each is gone or whole', { timeout: 180_000 }, async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(ok(await d.docker(['run', '-d', '--name', `cr-rmf-${suffix}-${i}`, 'busybox', 'sleep', '300'])));
    const rms = ids.map((id) => d.docker(['rm', '-f', id]));
    await sleep(Math.floor(Math.random() * 300));
    await crashAndRestart();
    await Promise.all(rms);
    await assertReconciled('rm -f');
    await removeAll();
    assert.deepEqual(runcList(), [], 'no runc container left');
    assert.equal(conmonsMatching(d.execRoot).length, 0, 'no conmon left');
  });

  it('an rm -v: finished with its anonymous volumes, or not begun', { timeout: 180_000 }, async () => {
    // Many files in the volume, so its removal takes a while.
    const id = ok(
      await d.docker(['run', '--name', `cr-rmv-${suffix}`, '-v', '/anon', 'busybox', 'sh', '-c', 'cd /anon && for i in $(seq 1 4000); do echo $i > f$i; done']),
    );
    const cid = ok(await d.docker(['inspect', '-f', '{{.Id}}', `cr-rmv-${suffix}`]));
    assert.ok(cid.length === 64, id);
    const vol = ok(await d.docker(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', cid]));
    assert.ok(vol.length === 64, 'an anonymous volume');
    const record = path.join(d.dataRoot, 'containers', cid, 'config.v2.json');
    const rm = d.docker(['rm', '-v', cid]);
    await waitFor(() => !fs.existsSync(record) || fs.readFileSync(record, 'utf8').includes('"Status":"removing"'), {
      timeout: 20_000,
      interval: 1,
      what: 'the removal to begin',
    });
    await crashAndRestart();
    await rm;
    const container = (await d.api.get(`/containers/${cid}/json`)).status;
    const volume = (await d.api.get(`/volumes/${vol}`)).status;
    assert.ok((container === 404 && volume === 404) || (container === 200 && volume === 200), `container ${container}, volume ${volume}: all or nothing`);
    assert.ok(!fs.existsSync(path.join(d.dataRoot, 'volumes', vol)) || volume === 200, 'no volume directory without its record');
    if (container === 200) ok(await d.docker(['rm', '-v', cid]));
    assert.equal((await d.api.get(`/volumes/${vol}`)).status, 404);
  });
});

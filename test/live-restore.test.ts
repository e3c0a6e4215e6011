/**
 * Live restore: berthd is SIGKILLed while containers run; their monitors (conmon) and processes
 * survive; a new berthd on the same roots adopts the running ones and applies exits that happened
 * while it was down (exit code and logs kept). Attach-socket links in <exec-root>/sock go with their
 * container, and stale ones are removed at start.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, conmonsMatching, processAlive, waitFor } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { ok } from './helpers/assert.js';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.start();
});

after(async () => {
  await cleanupAndCheck(d);
});

describe('live restore after kill -9 of berthd', () => {
  let sleeper = '';
  let ender = '';
  let paused = '';
  let sleeperPid = 0;
  let enderPid = 0;
  let monitors: number[] = [];

  it('containers survive the daemon being killed', { timeout: 60_000 }, async () => {
    sleeper = ok(await d.berth(['run', '-d', '--name', 'lr-sleeper', 'busybox', 'sh', '-c', 'echo started; exec sleep 300']));
    // The ender waits for a file the test writes once berthd is dead, so it ends while no daemon
    // runs however slow the machine is.
    ender = ok(await d.berth(['run', '-d', '--name', 'lr-ender', 'busybox', 'sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.1; done; echo done; exit 7']));
    paused = ok(await d.berth(['run', '-d', '--name', 'lr-paused', 'busybox', 'sleep', '300']));
    ok(await d.berth(['pause', paused]));
    await waitFor(async () => (await d.berth(['logs', sleeper])).stdout === 'started\n', { what: 'sleeper log' });
    sleeperPid = (await d.state(sleeper)).Pid;
    enderPid = (await d.state(ender)).Pid;
    monitors = conmonsMatching(d.execRoot);
    assert.equal(monitors.length, 3, 'one conmon per container');

    const daemonPid = d.pid;
    await d.kill9();
    assert.ok(!processAlive(daemonPid), 'berthd is gone');
    assert.equal(await d.api.ping(), false, 'the socket no longer answers');
    for (const pid of [sleeperPid, enderPid]) assert.ok(processAlive(pid), `container process ${pid} survives`);
    for (const pid of monitors) assert.ok(processAlive(pid), `conmon ${pid} survives`);

    // The ender exits while no daemon runs; its monitor records the exit and goes away.
    fs.writeFileSync(`${d.execRoot}/containers/${ender}/rootfs/tmp/go`, '');
    await waitFor(() => !processAlive(enderPid), { timeout: 15_000, what: 'the ender to exit' });
    // conmon writes the exit file after it reaps the process: a moment after the process is gone.
    await waitFor(() => fs.existsSync(`${d.execRoot}/exits/${ender}`), { timeout: 10_000, what: 'conmon to write the exit file' });
    assert.ok(processAlive(sleeperPid));
  });

  it('a new daemon on the same roots adopts and reconciles', { timeout: 90_000 }, async () => {
    assert.ok(sleeper && ender, 'previous step ran');
    await d.kill9(); // in case the previous step failed before killing it: never leave it orphaned
    d = await TestDaemon.start({ reuse: d });

    const s = await d.state(sleeper);
    assert.equal(s.Status, 'running');
    assert.equal(s.Pid, sleeperPid);
    assert.ok(processAlive(sleeperPid));

    const e = await waitFor(
      async () => {
        const st = await d.state(ender);
        return st.Status === 'exited' ? st : undefined;
      },
      { timeout: 10_000, what: 'ender exited' },
    );
    assert.equal(e.ExitCode, 7);
    assert.equal(e.Running, false);
    const logs = await d.berth(['logs', ender]);
    assert.equal(logs.stdout, 'done\n', logs.desc);
    assert.equal(ok(await d.berth(['wait', ender])), '7');

    const p = await d.state(paused);
    assert.equal(p.Status, 'paused');
    assert.equal(d.readCgroup('freezer', paused, 'freezer.state'), 'FROZEN');
    ok(await d.berth(['unpause', paused]));
    assert.equal((await d.state(paused)).Status, 'running');

    // ps lists what the new daemon knows.
    const ps = ok(await d.berth(['ps', '--format', '{{.Names}}']));
    assert.deepEqual(new Set(ps.split('\n')), new Set(['lr-sleeper', 'lr-paused']));

    // logs, stop, wait, rm -f work on an adopted container.
    assert.equal((await d.berth(['logs', sleeper])).stdout, 'started\n');
    const waiter = d.berth(['wait', sleeper], { timeout: 30_000 });
    ok(await d.berth(['stop', '-t', '1', sleeper]));
    assert.equal(ok(await waiter), '137');
    const st = await d.state(sleeper);
    assert.equal(st.Status, 'exited');
    assert.ok(!processAlive(sleeperPid), 'sleeper process gone');
    ok(await d.berth(['rm', '-f', sleeper, ender, paused]));
    await waitFor(() => conmonsMatching(d.execRoot).length === 0, { timeout: 10_000, what: 'monitors gone' });
    assert.equal(ok(await d.berth(['ps', '-aq'])), '');
  });

  it('an adopted container is usable through the docker CLI', { timeout: 60_000, skip: HAVE_DOCKER ? false : NO_DOCKER_MSG }, async () => {
    const id = ok(await d.docker(['run', '-d', '--name', 'lr-docker', 'busybox', 'sh', '-c', 'echo hi; exec sleep 300']));
    const pid = (await d.state(id)).Pid;
    await d.kill9();
    assert.ok(processAlive(pid));
    d = await TestDaemon.start({ reuse: d });
    assert.equal(ok(await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Pid}}', id])), `running ${pid}`);
    assert.equal(ok(await d.docker(['logs', id])), 'hi');
    assert.equal(ok(await d.docker(['rm', '-f', id])), id);
    assert.ok(await waitFor(() => !processAlive(pid), { what: 'process gone after rm -f' }));
  });

  it('attach-socket links in <exec-root>/sock: removed with the container, stale ones at start', { timeout: 60_000 }, async () => {
    const sockDir = path.join(d.execRoot, 'sock');
    const gone = ok(await d.berth(['run', '-d', 'busybox', 'true']));
    const live = ok(await d.berth(['run', '-d', 'busybox', 'sleep', '300']));
    const link = (id: string): string => path.join(sockDir, id.slice(0, 12));
    await waitFor(async () => (await d.state(gone)).Status === 'exited', { what: 'first container exited' });
    assert.ok(fs.lstatSync(link(gone)).isSymbolicLink(), 'a started container has its link');
    ok(await d.berth(['rm', gone]));
    assert.ok(!fs.existsSync(link(gone)) && !lexists(link(gone)), 'rm removes the link');
    // Links left by a daemon that did not remove them (or containers removed behind its back).
    fs.symlinkSync(path.join(d.execRoot, 'containers', 'f'.repeat(64)), path.join(sockDir, 'ffffffffffff'));
    fs.symlinkSync('/nonexistent-berth-exec-dir', path.join(sockDir, 'x0123456789abcde'));
    await d.kill9();
    d = await TestDaemon.start({ reuse: d });
    assert.ok(!lexists(path.join(sockDir, 'ffffffffffff')), 'stale container link removed at start');
    assert.ok(!lexists(path.join(sockDir, 'x0123456789abcde')), 'stale exec link removed at start');
    assert.ok(fs.lstatSync(link(live)).isSymbolicLink(), 'the running container keeps its link');
    assert.equal(ok(await d.berth(['exec', live, 'echo', 'still attached'])), 'still attached');
    ok(await d.berth(['rm', '-f', live]));
    assert.ok(!lexists(link(live)), 'rm -f removes the link');
    assert.deepEqual(fs.readdirSync(sockDir), [], 'nothing left in sock/');
  });
});

function lexists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

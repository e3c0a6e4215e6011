/**
 * Restart policies: on-failure:N, always, unless-stopped, no — while the daemon runs and across
 * a daemon restart (always comes back even after a manual stop, unless-stopped does not).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLIS, HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, sleep, waitFor, type RunOptions } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { ok } from './helpers/assert.js';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.start();
});

after(async () => {
  await cleanupAndCheck(d);
});

const T = { timeout: 120_000 };

/** Observes a container for `ms` and returns the states seen (a negative check needs a window). */
async function observe(id: string, ms: number): Promise<{ statuses: Set<string>; restartCounts: Set<number> }> {
  const statuses = new Set<string>();
  const restartCounts = new Set<number>();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const c = await d.api.inspect(id);
    statuses.add(c.State.Status);
    restartCounts.add(c.RestartCount);
    await sleep(100);
  }
  return { statuses, restartCounts };
}

const stamp = (id: string) =>
  d.api.inspect(id).then((c) => ({ count: c.RestartCount as number, status: c.State.Status as string, started: c.State.StartedAt as string }));

for (const cli of CLIS) {
  const skip = cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false;
  describe(`restart policies via ${cli}`, { skip }, () => {
    const x = (args: string[], o?: RunOptions) => d.cli(cli, args, o);

    it('on-failure:2 restarts twice, then stays exited', T, async () => {
      const id = ok(await x(['run', '-d', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 1']));
      const c = await waitFor(
        async () => {
          const c = await d.api.inspect(id);
          return c.RestartCount === 2 && c.State.Status === 'exited' ? c : undefined;
        },
        { timeout: 20_000, what: 'RestartCount 2 and exited' },
      );
      assert.equal(c.State.ExitCode, 1);
      assert.equal(c.HostConfig.RestartPolicy.Name, 'on-failure');
      assert.equal(c.HostConfig.RestartPolicy.MaximumRetryCount, 2);
      // No third restart (the next back-off would be 400 ms).
      const seen = await observe(id, 1500);
      assert.deepEqual([...seen.restartCounts], [2]);
      assert.deepEqual([...seen.statuses], ['exited']);
      assert.equal(ok(await x(['inspect', '-f', '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}', id])), '2 exited 1');
    });

    it('on-failure does not restart a clean exit', T, async () => {
      const id = ok(await x(['run', '-d', '--restart', 'on-failure', 'busybox', 'true']));
      await waitFor(async () => (await stamp(id)).status === 'exited', { what: 'exit' });
      const seen = await observe(id, 800);
      assert.deepEqual([...seen.restartCounts], [0]);
    });

    it('always restarts and RestartCount grows; unless-stopped stops restarting after stop', T, async () => {
      const always = ok(await x(['run', '-d', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.3; exit 0']));
      const first = await stamp(always);
      const s = await waitFor(
        async () => {
          const s = await stamp(always);
          return s.count >= 3 ? s : undefined;
        },
        { timeout: 20_000, what: 'always: RestartCount ≥ 3' },
      );
      assert.notEqual(s.started, first.started);

      const us = ok(await x(['run', '-d', '--restart', 'unless-stopped', 'busybox', 'sh', '-c', 'sleep 0.3; exit 3']));
      await waitFor(async () => (await stamp(us)).count >= 1, { timeout: 20_000, what: 'unless-stopped: a restart' });
      ok(await x(['stop', '-t', '1', us]));
      const stopped = await stamp(us);
      assert.equal(stopped.status, 'exited');
      const seen = await observe(us, 1500);
      assert.deepEqual([...seen.statuses], ['exited'], 'no restart after stop');
      assert.deepEqual([...seen.restartCounts], [stopped.count]);

      // always also stops restarting after a manual stop (until the daemon restarts).
      ok(await x(['stop', '-t', '1', always]));
      const aStopped = await stamp(always);
      const aSeen = await observe(always, 1000);
      assert.deepEqual([...aSeen.statuses], ['exited']);
      assert.deepEqual([...aSeen.restartCounts], [aStopped.count]);
      // start resets the manual stop: it restarts again.
      ok(await x(['start', always]));
      await waitFor(async () => (await stamp(always)).count > aStopped.count, { timeout: 20_000, what: 'always restarting after start' });
      ok(await x(['rm', '-f', always, us]));
    });

    it('no never restarts', T, async () => {
      const id = ok(await x(['run', '-d', '--restart', 'no', 'busybox', 'sh', '-c', 'exit 1']));
      await waitFor(async () => (await stamp(id)).status === 'exited', { what: 'exit' });
      const seen = await observe(id, 1000);
      assert.deepEqual([...seen.restartCounts], [0]);
      assert.deepEqual([...seen.statuses], ['exited']);
      assert.equal((await d.api.inspect(id)).HostConfig.RestartPolicy.Name, 'no');
    });

    it('update --restart changes the policy', T, async () => {
      const id = ok(await x(['run', '-d', 'busybox', 'sleep', '300']));
      ok(await x(['update', '--restart', 'on-failure:3', id]));
      const rp = (await d.api.inspect(id)).HostConfig.RestartPolicy;
      assert.deepEqual({ Name: rp.Name, MaximumRetryCount: rp.MaximumRetryCount }, { Name: 'on-failure', MaximumRetryCount: 3 });
      ok(await x(['rm', '-f', id]));
    });
  });
}

describe('restart policies across a daemon restart', () => {
  it('always comes back after a manual stop, unless-stopped and no do not; running ones keep running', T, async () => {
    const x = (args: string[]) => d.berth(args);
    const always = ok(await x(['run', '-d', '--restart', 'always', '--name', 'dr-always', 'busybox', 'sleep', '300']));
    const us = ok(await x(['run', '-d', '--restart', 'unless-stopped', '--name', 'dr-us', 'busybox', 'sleep', '300']));
    const usRunning = ok(await x(['run', '-d', '--restart', 'unless-stopped', '--name', 'dr-us-running', 'busybox', 'sleep', '300']));
    const no = ok(await x(['run', '-d', '--restart', 'no', '--name', 'dr-no', 'busybox', 'sleep', '300']));
    ok(await x(['stop', '-t', '1', always, us, no]));
    const runningPid = (await d.state(usRunning)).Pid;

    await d.stop();
    d = await TestDaemon.start({ reuse: d });

    const a = await waitFor(
      async () => {
        const s = await d.state(always);
        return s.Status === 'running' ? s : undefined;
      },
      { timeout: 20_000, what: 'always container restarted by the new daemon' },
    );
    assert.ok(a.Pid > 0);
    const r = await d.state(usRunning);
    assert.equal(r.Status, 'running');
    assert.equal(r.Pid, runningPid, 'the running container was not restarted');
    assert.equal((await d.state(us)).Status, 'exited');
    assert.equal((await d.state(no)).Status, 'exited');
  });
});

/**
 * Healthchecks: --health-* flags and HEALTHCHECK from the image, State.Health (status, streak,
 * the last five probe results), health_status events, `ps` status text and health filter,
 * timeouts, the start period, --no-healthcheck, bad values, and probes resuming after a
 * daemon restart. Checked against dockerd 20.10's observed behaviour.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLIS, HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, waitFor, type RunOptions } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { fails, ok } from './helpers/assert.js';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.start();
});

after(async () => {
  await cleanupAndCheck(d);
});

const T = { timeout: 120_000 };

/** Past events of a container, from the daemon's history. */
async function eventsOf(id: string, sinceSec: number): Promise<string[]> {
  const until = Date.now() / 1000 + 0.001;
  const filters = encodeURIComponent(JSON.stringify({ container: [id] }));
  const r = await d.api.get(`/events?since=${sinceSec}&until=${until}&filters=${filters}`);
  assert.equal(r.status, 200, r.text);
  return r.text
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { Action: string }).Action);
}

const health = async (id: string): Promise<any> => (await d.api.inspect(id)).State.Health;

for (const cli of CLIS) {
  const skip = cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false;
  describe(`healthchecks via ${cli}`, { skip }, () => {
    const x = (args: string[], o?: RunOptions) => d.cli(cli, args, o);

    it('a passing check: starting, then healthy with its output logged; unhealthy once stopped', T, async () => {
      const t0 = Date.now() / 1000 - 1;
      const id = ok(
        await x(['run', '-d', '--name', `hok-${cli}`, '--health-cmd', 'echo probe-out; exit 0', '--health-interval', '300ms', 'busybox', 'sleep', '300']),
      );
      const first = await health(id);
      assert.ok(first, 'State.Health exists right after start');
      assert.ok(['starting', 'healthy'].includes(first.Status), JSON.stringify(first));
      const h = await waitFor(
        async () => {
          const h = await health(id);
          return h.Status === 'healthy' && h.Log.length >= 2 ? h : undefined;
        },
        { timeout: 20_000, what: 'healthy with two probes' },
      );
      assert.equal(h.FailingStreak, 0);
      for (const e of h.Log) {
        assert.equal(e.ExitCode, 0);
        assert.equal(e.Output, 'probe-out\n');
        assert.ok(Date.parse(e.End) >= Date.parse(e.Start));
      }
      const cfg = (await d.api.inspect(id)).Config.Healthcheck;
      assert.deepEqual(cfg.Test, ['CMD-SHELL', 'echo probe-out; exit 0']);
      assert.equal(cfg.Interval, 300_000_000);
      // Only the last five results are kept.
      await waitFor(async () => ((await health(id)).Log.length === 5 ? true : undefined), { timeout: 20_000, what: 'five log entries' });
      const later = await waitFor(
        async () => {
          const h2 = await health(id);
          return h2.Log[0].Start !== h.Log[0].Start && h2.Log.length === 5 ? h2 : undefined;
        },
        { timeout: 20_000, what: 'the log to roll' },
      );
      assert.equal(later.Log.length, 5);
      // ps: status text and the health filter.
      assert.match(ok(await x(['ps', '--filter', `name=hok-${cli}`, '--format', '{{.Status}}'])), /^Up .* \(healthy\)$/);
      assert.equal(ok(await x(['ps', '-q', '--no-trunc', '--filter', 'health=healthy', '--filter', `name=hok-${cli}`])), id);
      assert.equal(ok(await x(['ps', '-q', '--filter', 'health=unhealthy', '--filter', `name=hok-${cli}`])), '');
      assert.equal(ok(await x(['ps', '-q', '--filter', 'health=none', '--filter', `name=hok-${cli}`])), '');
      fails(await x(['ps', '--filter', 'health=bogus']), 1, /Unrecognised filter value for health: bogus/);
      // Events: exec_create/exec_start/exec_die for probes and one health_status: healthy.
      const evs = await eventsOf(id, t0);
      assert.ok(evs.includes('exec_create: /bin/sh -c echo probe-out; exit 0'), evs.join('\n'));
      assert.ok(evs.includes('exec_start: /bin/sh -c echo probe-out; exit 0'), evs.join('\n'));
      assert.ok(evs.includes('exec_die'), evs.join('\n'));
      assert.equal(evs.filter((e) => e === 'health_status: healthy').length, 1, evs.join('\n'));
      // Stopped: dockerd reports unhealthy (the monitor stopped), keeping the log.
      ok(await x(['stop', '-t', '1', id]));
      const stopped = await health(id);
      assert.equal(stopped.Status, 'unhealthy');
      assert.equal(stopped.Log.length, 5);
      const n = (await eventsOf(id, t0)).filter((e) => e.startsWith('exec_create')).length;
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal((await eventsOf(id, t0)).filter((e) => e.startsWith('exec_create')).length, n, 'no probes after stop');
      // Started again: starting from a clean streak.
      ok(await x(['start', id]));
      await waitFor(async () => ((await health(id)).Status === 'healthy' ? true : undefined), { timeout: 20_000, what: 'healthy again' });
      ok(await x(['rm', '-f', id]));
    });

    it('a failing check turns unhealthy after --health-retries failures', T, async () => {
      const t0 = Date.now() / 1000 - 1;
      const id = ok(
        await x(['run', '-d', '--health-cmd', 'echo bad >&2; exit 3', '--health-interval', '200ms', '--health-retries', '2', 'busybox', 'sleep', '300']),
      );
      const h = await waitFor(
        async () => {
          const h = await health(id);
          return h.Status === 'unhealthy' ? h : undefined;
        },
        { timeout: 20_000, what: 'unhealthy' },
      );
      assert.ok(h.FailingStreak >= 2, JSON.stringify(h));
      assert.equal(h.Log.at(-1).ExitCode, 3);
      assert.equal(h.Log.at(-1).Output, 'bad\n');
      assert.match(ok(await x(['ps', '--filter', `id=${id}`, '--format', '{{.Status}}'])), /\(unhealthy\)$/);
      const evs = await eventsOf(id, t0);
      assert.deepEqual(
        evs.filter((e) => e.startsWith('health_status')),
        ['health_status: unhealthy'],
      );
      ok(await x(['rm', '-f', id]));
    });

    it('a probe that outlives --health-timeout is killed and logged with exit code -1', T, async () => {
      const id = ok(
        await x([
          'run',
          '-d',
          '--health-cmd',
          'sleep 30',
          '--health-interval',
          '200ms',
          '--health-timeout',
          '300ms',
          '--health-retries',
          '1',
          'busybox',
          'sleep',
          '300',
        ]),
      );
      const h = await waitFor(
        async () => {
          const h = await health(id);
          return h.Log.length >= 1 ? h : undefined;
        },
        { timeout: 20_000, what: 'a timed-out probe' },
      );
      assert.equal(h.Log[0].ExitCode, -1);
      assert.equal(h.Log[0].Output, 'Health check exceeded timeout (300ms)');
      assert.equal(h.Status, 'unhealthy');
      // The probe process was killed: no `sleep 30` left but PID 1's.
      await waitFor(
        async () => {
          const top = ok(await x(['top', id]));
          return top.split('\n').filter((l) => /sleep 30$/.test(l)).length === 0 ? true : undefined;
        },
        { timeout: 10_000, what: 'the timed-out probe to be gone' },
      );
      ok(await x(['rm', '-f', id]));
    });

    it('failures within --health-start-period do not count; --health-start-interval paces probes then', T, async () => {
      const id = ok(
        await x([
          'run',
          '-d',
          '--health-cmd',
          'exit 1',
          '--health-interval',
          '1h',
          '--health-retries',
          '1',
          '--health-start-period',
          '1h',
          '--health-start-interval',
          '200ms',
          'busybox',
          'sleep',
          '300',
        ]),
      );
      const h = await waitFor(
        async () => {
          const h = await health(id);
          return h.Log.length >= 3 ? h : undefined;
        },
        { timeout: 20_000, what: 'three probes at the start interval' },
      );
      assert.equal(h.Status, 'starting');
      assert.equal(h.FailingStreak, 0);
      ok(await x(['rm', '-f', id]));
    });

    it('HEALTHCHECK from the image; --no-healthcheck disables it; flags override fields', T, async () => {
      const src = ok(await x(['create', 'busybox', 'true']));
      const img = `hc-img-${cli}:1`;
      ok(await x(['commit', '--change', 'HEALTHCHECK --interval=250ms --retries=4 CMD ["/bin/sh", "-c", "echo from-image"]', src, img]));
      const ic = JSON.parse(ok(await x(['image', 'inspect', '-f', '{{json .Config.Healthcheck}}', img])));
      assert.deepEqual(ic, { Test: ['CMD', '/bin/sh', '-c', 'echo from-image'], Interval: 250_000_000, Retries: 4 });
      const a = ok(await x(['run', '-d', img, 'sleep', '300']));
      const h = await waitFor(
        async () => {
          const h = await health(a);
          return h.Status === 'healthy' ? h : undefined;
        },
        { timeout: 20_000, what: 'healthy from the image healthcheck' },
      );
      assert.equal(h.Log[0].Output, 'from-image\n');
      const b = ok(await x(['run', '-d', '--no-healthcheck', img, 'sleep', '300']));
      // As dockerd merges it: NONE over the image's test, its other fields kept.
      assert.deepEqual((await d.api.inspect(b)).Config.Healthcheck, { Test: ['NONE'], Interval: 250_000_000, Retries: 4 });
      assert.equal((await d.api.inspect(b)).State.Health, undefined);
      assert.match(ok(await x(['ps', '--filter', `id=${b}`, '--format', '{{.Status}}'])), /^Up [^(]*$/);
      const c = ok(await x(['run', '-d', '--health-retries', '7', img, 'sleep', '300']));
      const cc = (await d.api.inspect(c)).Config.Healthcheck;
      assert.deepEqual(cc.Test, ['CMD', '/bin/sh', '-c', 'echo from-image']);
      assert.equal(cc.Retries, 7);
      assert.equal(cc.Interval, 250_000_000);
      for (const id of [a, b, c, src]) ok(await x(['rm', '-f', id]));
      ok(await x(['rmi', img]));
    });

    it('bad healthcheck values are refused and create nothing', T, async () => {
      const before = ok(await x(['ps', '-aq']))
        .split('\n')
        .filter(Boolean).length;
      fails(await x(['run', '-d', '--no-healthcheck', '--health-cmd', 'true', 'busybox']), 125, /--no-healthcheck conflicts with --health-\* options/);
      fails(
        await x(['run', '-d', '--health-interval', 'soon', 'busybox']),
        125,
        /invalid argument "soon" for "--health-interval" flag: time: invalid duration "soon"/,
      );
      fails(await x(['run', '-d', '--health-cmd', 'true', '--health-interval', '10us', 'busybox']), 125, /Interval in Healthcheck cannot be less than 1ms/);
      fails(await x(['run', '-d', '--health-cmd', 'true', '--health-retries', '-1', 'busybox']), 125, /--health-retries cannot be negative/);
      assert.equal(
        ok(await x(['ps', '-aq']))
          .split('\n')
          .filter(Boolean).length,
        before,
      );
    });
  });
}

describe('healthchecks over the API and across a daemon restart', () => {
  it('Interval/Timeout/Retries validation (400, dockerd text)', T, async () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ Test: ['CMD', 'true'], Interval: 5 }, 'Interval in Healthcheck cannot be less than 1ms'],
      [{ Test: ['CMD', 'true'], Timeout: 999 }, 'Timeout in Healthcheck cannot be less than 1ms'],
      [{ Test: ['CMD', 'true'], StartPeriod: 10 }, 'StartPeriod in Healthcheck cannot be less than 1ms'],
      [{ Test: ['CMD', 'true'], Retries: -2 }, 'Retries in Healthcheck cannot be negative'],
    ];
    for (const [hc, msg] of bad) {
      const r = await d.api.post('/containers/create', { Image: 'busybox', Cmd: ['true'], Healthcheck: hc });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json().message, msg);
    }
  });

  it('probes resume after berthd restarts (live restore)', T, async () => {
    const id = ok(await d.berth(['run', '-d', '--health-cmd', 'echo again', '--health-interval', '300ms', 'busybox', 'sleep', '300']));
    await waitFor(async () => ((await health(id)).Status === 'healthy' ? true : undefined), { timeout: 20_000, what: 'healthy' });
    await d.stop();
    const lastBefore = (
      await (async () => {
        d = await TestDaemon.start({ reuse: d });
        return health(id);
      })()
    ).Log.at(-1).Start as string;
    const h = await waitFor(
      async () => {
        const h = await health(id);
        return h.Status === 'healthy' && Date.parse(h.Log.at(-1).Start) > Date.parse(lastBefore) ? h : undefined;
      },
      { timeout: 20_000, what: 'a new probe after the restart' },
    );
    assert.equal(h.Log.at(-1).Output, 'again\n');
    ok(await d.berth(['rm', '-f', id]));
  });
});

/**
 * Logs beyond the basics: json-file rotation options (`--log-opt max-size/max-file`, daemon.json
 * `log-opts`), Berth's default cap, bad options refused, `--since`/`--until`/`--tail` over a
 * multi-megabyte log and across rotated files, `logs -f` across rotations, through restarts,
 * and ending when the container is removed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLIS, HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, waitFor, type RunOptions } from './helpers/daemon.js';
import { cleanupAndCheck, conmonsMatching } from './helpers/daemon.js';
import { fails, lines, ok } from './helpers/assert.js';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.start();
});

after(async () => {
  await cleanupAndCheck(d);
});

const T = { timeout: 180_000 };

/** The numbers of `line N` outputs, checked to be consecutive. */
function numbers(out: string): number[] {
  const ns = lines(out).map((l) => Number(/line (\d+)$/.exec(l)?.[1]));
  for (let i = 1; i < ns.length; i++) assert.equal(ns[i], (ns[i - 1] as number) + 1, `gap after line ${ns[i - 1]}`);
  return ns;
}

const logDir = async (id: string): Promise<string[]> =>
  fs
    .readdirSync(path.join(d.dataRoot, 'containers', id))
    .filter((f) => f.startsWith('container.log'))
    .sort();

for (const cli of CLIS) {
  const skip = cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false;
  describe(`logs via ${cli}`, { skip }, () => {
    const x = (args: string[], o?: RunOptions) => d.cli(cli, args, o);

    it('--details prefixes the log-opt labels/env attributes (sorted, escaped) or a blank; after --timestamps', T, async () => {
      const a = ok(
        await x([
          'run',
          '-d',
          '-l',
          'zz=last one',
          '-l',
          'aa=1',
          '-e',
          'MODE=x&y',
          '--log-opt',
          'labels=zz,aa',
          '--log-opt',
          'env=MODE',
          'busybox',
          'sh',
          '-c',
          'echo out; echo err >&2',
        ]),
      );
      const b = ok(await x(['run', '-d', 'busybox', 'echo', 'plain']));
      try {
        await waitFor(async () => (await d.state(a)).Running === false && (await d.state(b)).Running === false, { what: 'containers to exit' });
        const r = await x(['logs', '--details', a]);
        assert.equal(r.code, 0, r.stderr);
        // as dockerd 20.10 prints them: stdout and stderr each on their stream
        assert.equal(r.stdout, 'MODE=x%26y,aa=1,zz=last+one out\n');
        assert.equal(r.stderr, 'MODE=x%26y,aa=1,zz=last+one err\n');
        assert.equal(ok(await x(['logs', '--details', b])), ' plain'.trim());
        const raw = await x(['logs', '--details', b]);
        assert.equal(raw.stdout, ' plain\n');
        const ts = lines((await x(['logs', '--details', '--timestamps', a])).stdout)[0] ?? '';
        assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z MODE=x%26y,aa=1,zz=last\+one out$/);
        // without --details: the bare line
        assert.equal((await x(['logs', b])).stdout, 'plain\n');
      } finally {
        await d.api.delete(`/containers/${a}?force=1`);
        await d.api.delete(`/containers/${b}?force=1`);
      }
    });

    it('logs of a TTY container are the terminal bytes, unframed (ONLCR applied, as dockerd shows them)', T, async () => {
      const id = ok(await x(['run', '-d', '-t', 'busybox', 'sh', '-c', 'printf "a\\r\\nb\\n"']));
      try {
        await waitFor(async () => (await d.state(id)).Running === false, { what: 'container to exit' });
        const r = await x(['logs', id]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'a\r\r\nb\r\n');
        assert.equal(r.stderr, '');
      } finally {
        await d.api.delete(`/containers/${id}?force=1`);
      }
    });

    it('max-size/max-file keep the newest lines in at most max-file files, none lost in between', T, async () => {
      const id = ok(
        await x([
          'run',
          '-d',
          '--log-opt',
          'max-size=2k',
          '--log-opt',
          'max-file=3',
          'busybox',
          'sh',
          '-c',
          'i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo line $i; sleep 0.002; done',
        ]),
      );
      assert.equal(ok(await x(['wait', id])), '0');
      assert.deepEqual(JSON.parse(ok(await x(['inspect', '-f', '{{json .HostConfig.LogConfig}}', id]))), {
        Type: 'json-file',
        Config: { 'max-file': '3', 'max-size': '2k' },
      });
      // The rotator catches up on the last rotation.
      await waitFor(async () => ((await logDir(id)).includes('container.log.2') ? true : undefined), { what: 'two rotated files' });
      const files = await logDir(id);
      assert.ok(
        files.every((f) => ['container.log', 'container.log.1', 'container.log.2', 'container.log.cur'].includes(f)),
        files.join(' '),
      );
      for (const f of files) assert.ok(fs.statSync(path.join(d.dataRoot, 'containers', id, f)).size <= 2000, f);
      const ns = numbers(ok(await x(['logs', id])));
      assert.equal(ns.at(-1), 600);
      assert.ok((ns[0] as number) > 1 && ns.length >= 60, `kept ${ns.length} lines from ${ns[0]}`);
      // --tail spans the rotated files.
      const tail = numbers(ok(await x(['logs', '--tail', String(ns.length - 5), id])));
      assert.equal(tail.length, ns.length - 5);
      assert.equal(tail.at(-1), 600);
      ok(await x(['rm', id]));
    });

    it('the default caps a log at 20 MB × 5 files without showing in inspect; bad options are refused and create nothing', T, async () => {
      // As dockerd: inspect shows what the user set ({} when nothing); the cap is the engine's.
      const id = ok(await x(['run', '-d', 'busybox', 'sleep', '60']));
      assert.deepEqual((await d.api.inspect(id)).HostConfig.LogConfig, { Type: 'json-file', Config: {} });
      const cmdline = (pid: number): string[] => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const [mon] = conmonsMatching(id);
      assert.ok(mon, 'no conmon for the container');
      const args = cmdline(mon);
      assert.equal(args[args.indexOf('--log-size-max') + 1], '20000000', args.join(' '));
      ok(await x(['rm', '-f', id]));
      // A max-file without a max-size keeps what the user set in inspect, and the cap's size.
      const id2 = ok(await x(['run', '-d', '--log-opt', 'max-file=100', 'busybox', 'sleep', '60']));
      assert.deepEqual((await d.api.inspect(id2)).HostConfig.LogConfig, { Type: 'json-file', Config: { 'max-file': '100' } });
      const [mon2] = conmonsMatching(id2);
      assert.ok(mon2, 'no conmon for the second container');
      const args2 = cmdline(mon2);
      assert.equal(args2[args2.indexOf('--log-size-max') + 1], '20000000', args2.join(' '));
      ok(await x(['rm', '-f', id2]));
      const before = ok(await x(['ps', '-aq']))
        .split('\n')
        .filter(Boolean).length;
      fails(await x(['run', '--log-opt', 'max-size=abc', 'busybox', 'true']), 125, /failed to initialize logging driver: invalid size: 'abc'/);
      fails(await x(['run', '--log-opt', 'max-size=0', 'busybox', 'true']), 125, /max-size must be a positive number/);
      fails(await x(['run', '--log-opt', 'max-file=0', '--log-opt', 'max-size=1m', 'busybox', 'true']), 125, /max-file cannot be less than 1/);
      fails(await x(['run', '--log-opt', 'bogus=1', 'busybox', 'true']), 125, /unknown log opt 'bogus' for json-file log driver/);
      fails(await x(['run', '--log-driver', 'nosuch', 'busybox', 'true']), 125, /error looking up logging plugin nosuch: plugin "nosuch" not found/);
      assert.equal(
        ok(await x(['ps', '-aq']))
          .split('\n')
          .filter(Boolean).length,
        before,
      );
    });

    it("the none driver keeps no log; reading it is 501 with dockerd's message", T, async () => {
      // Attached output still arrives (the attach socket), only no log is kept.
      assert.equal(ok(await x(['run', '--rm', '--log-driver', 'none', 'busybox', 'echo', 'attached'])), 'attached');
      const id = ok(await x(['run', '-d', '--log-driver', 'none', 'busybox', 'echo', 'unseen']));
      assert.equal(ok(await x(['wait', id])), '0');
      assert.equal((await d.api.inspect(id)).HostConfig.LogConfig.Type, 'none');
      fails(await x(['logs', id]), 1, /configured logging driver does not support reading/);
      const r = await d.api.get(`/containers/${id}/logs?stdout=1`);
      assert.equal(r.status, 501);
      assert.deepEqual(await logDir(id), []);
      fails(await x(['run', '--log-driver', 'none', '--log-opt', 'max-size=1m', 'busybox', 'true']), 125, /invalid logging opts for driver none/);
      const bad = await d.api.post('/containers/create', { Image: 'busybox', HostConfig: { LogConfig: { Type: 'none', Config: { 'max-size': '1m' } } } });
      assert.equal(bad.status, 400);
      assert.equal(bad.json().message, "unknown log opt 'max-size' for none log driver");
      ok(await x(['rm', id]));
    });

    it('--since/--until/--tail on a multi-megabyte log match a full read', T, async () => {
      const id = ok(await x(['run', '-d', 'busybox', 'sh', '-c', 'seq 1 60000 | sed "s/^/line /"']));
      assert.equal(ok(await x(['wait', id])), '0');
      const all = lines(ok(await x(['logs', '-t', id])));
      assert.equal(all.length, 60000);
      const at = (n: number): string => (all[n - 1] as string).split(' ')[0] as string;
      const since = at(41234);
      const until = at(52345);
      const expect = all.filter((l) => (l.split(' ')[0] as string) >= since && (l.split(' ')[0] as string) <= until);
      const got = lines(ok(await x(['logs', '-t', '--since', since, '--until', until, id])));
      assert.equal(got.length, expect.length);
      assert.deepEqual(got, expect);
      assert.deepEqual(numbers(ok(await x(['logs', '--tail', '3', id]))), [59998, 59999, 60000]);
      ok(await x(['rm', id]));
    });

    it('logs -f follows across rotations and through restarts, and ends when the container is removed', T, async () => {
      const id = ok(
        await x([
          'run',
          '-d',
          '--restart',
          'always',
          '--log-opt',
          'max-size=1k',
          '--log-opt',
          'max-file=2',
          'busybox',
          'sh',
          '-c',
          'i=0; while [ $i -lt 60 ]; do i=$((i+1)); echo line $i; sleep 0.02; done; exit 1',
        ]),
      );
      const follow = x(['logs', '-f', id], { timeout: 60_000 });
      await waitFor(async () => ((await d.api.inspect(id)).RestartCount >= 2 ? true : undefined), { timeout: 30_000, what: 'two restarts' });
      ok(await x(['rm', '-f', id]));
      const r = await follow;
      assert.equal(r.code, 0, r.desc);
      const ls = lines(r.stdout);
      // Runs print 1…60 each; every run's lines arrive in order (across the 1k rotations).
      const runs = ls
        .join('\n')
        .split(/(?=^line 1$)/m)
        .map((chunk) => numbers(chunk));
      assert.ok(runs.length >= 3, `${runs.length} runs seen`);
      for (const run of runs.slice(1, -1))
        assert.deepEqual(
          run,
          Array.from({ length: 60 }, (_, i) => i + 1),
        );
    });
  });
}

describe('daemon.json log-opts', () => {
  it('apply to new containers after a daemon restart', T, async () => {
    fs.writeFileSync(path.join(d.root, 'daemon.json'), JSON.stringify({ 'log-opts': { 'max-size': '5k', 'max-file': '2' } }));
    await d.stop();
    d = await TestDaemon.start({ reuse: d });
    const id = ok(await d.berth(['create', '--log-opt', 'max-file=3', 'busybox', 'true']));
    assert.deepEqual((await d.api.inspect(id)).HostConfig.LogConfig.Config, { 'max-size': '5k', 'max-file': '3' });
    ok(await d.berth(['rm', id]));
    fs.writeFileSync(path.join(d.root, 'daemon.json'), '{}\n');
  });
});

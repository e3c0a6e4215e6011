/**
 * Observability: `stats` (API stream, one-shot and two-sample documents in dockerd's shape, from
 * the host's cgroups; `stats --no-stream` tables), `commit` (writable layer with whiteouts and
 * opaque dirs, --change/--message/--author, pause during commit, events), `events` (since/until
 * replay, filters, --format), `--init` (PID 1, zombie reaping, signal forwarding) and `top`
 * with ps options — through berth and the docker CLI.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { CLIS, HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, waitFor, type RunOptions } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { exits, fails, lines, ok } from './helpers/assert.js';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.start();
});

after(async () => {
  await cleanupAndCheck(d);
});

const T = { timeout: 120_000 };
const now = (): number => Date.now() / 1000;

/** Reads `n` JSON documents from a streaming endpoint, then closes the connection. */
function streamDocs(path: string, n: number, timeoutMs = 20_000): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const docs: any[] = [];
    let buf = '';
    const req = http.get({ socketPath: d.socket, path }, (res) => {
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) docs.push(JSON.parse(line));
          if (docs.length === n) {
            clearTimeout(timer);
            req.destroy();
            resolve(docs);
          }
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve(docs);
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`${path}: only ${docs.length} of ${n} documents`));
    }, timeoutMs);
    req.on('error', (e) => {
      if (docs.length < n) reject(e);
    });
  });
}

async function eventActions(query: Record<string, unknown>, since: number): Promise<any[]> {
  const filters = encodeURIComponent(JSON.stringify(query));
  const r = await d.api.get(`/events?since=${since}&until=${now() + 0.001}&filters=${filters}`);
  assert.equal(r.status, 200, r.text);
  return r.text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('stats over the API', () => {
  it("one-shot, two-sample and streamed documents carry dockerd's fields from the cgroups", T, async () => {
    const id = ok(await d.berth(['run', '-d', '--name', 'st-api', '--memory', '64m', '--pids-limit', '50', 'busybox', 'sh', '-c', 'while :; do :; done']));
    const one = (await d.api.get(`/containers/${id}/stats?stream=false&one-shot=true`)).json();
    assert.equal(one.id, id);
    assert.equal(one.name, '/st-api');
    assert.equal(one.preread, '0001-01-01T00:00:00Z');
    assert.ok(Date.parse(one.read) > 0);
    assert.ok(one.pids_stats.current >= 1);
    assert.equal(one.pids_stats.limit, 50);
    assert.equal(one.memory_stats.limit, 64 * 1024 * 1024);
    assert.ok(one.memory_stats.usage > 0);
    assert.equal(typeof one.memory_stats.stats, 'object');
    assert.ok(one.cpu_stats.cpu_usage.total_usage > 0);
    assert.ok(one.cpu_stats.system_cpu_usage > 0);
    assert.ok(one.cpu_stats.online_cpus >= 1);
    assert.deepEqual(Object.keys(one.cpu_stats.throttling_data).sort(), ['periods', 'throttled_periods', 'throttled_time']);
    assert.equal(one.precpu_stats.cpu_usage.total_usage, 0);
    for (const k of ['io_service_bytes_recursive', 'io_serviced_recursive']) assert.ok(k in one.blkio_stats, k);
    assert.equal(one.num_procs, 0);
    // The numbers are the host's: compare with the cgroup files.
    assert.equal(one.memory_stats.limit, Number(d.readCgroup('memory', id, 'memory.limit_in_bytes')));
    // Without one-shot: a second sample, precpu from the first.
    const two = (await d.api.get(`/containers/${id}/stats?stream=false`)).json();
    assert.notEqual(two.preread, '0001-01-01T00:00:00Z');
    assert.ok(two.cpu_stats.cpu_usage.total_usage > two.precpu_stats.cpu_usage.total_usage, 'a busy loop uses CPU');
    assert.ok(two.cpu_stats.system_cpu_usage > two.precpu_stats.system_cpu_usage);
    // Streamed: one a second, each with the previous as precpu.
    const docs = await streamDocs(`/containers/${id}/stats`, 3);
    assert.equal(docs.length, 3);
    assert.equal(docs[1].preread, docs[0].read);
    assert.equal(docs[2].precpu_stats.cpu_usage.total_usage, docs[1].cpu_stats.cpu_usage.total_usage);
    assert.ok(docs[2].cpu_stats.cpu_usage.total_usage > docs[0].cpu_stats.cpu_usage.total_usage);
    ok(await d.berth(['rm', '-f', id]));
  });

  it('a stopped container gets the empty document; an unknown one 404', T, async () => {
    const id = ok(await d.berth(['create', '--name', 'st-stopped', 'busybox', 'true']));
    const doc = (await d.api.get(`/containers/${id}/stats?stream=false`)).json();
    assert.equal(doc.read, '0001-01-01T00:00:00Z');
    assert.deepEqual(doc.memory_stats, {});
    assert.deepEqual(doc.pids_stats, {});
    assert.equal(doc.blkio_stats.io_service_bytes_recursive, null);
    assert.equal(doc.name, '/st-stopped');
    const r = await d.api.get('/containers/nope/stats?stream=false');
    assert.equal(r.status, 404);
    assert.equal(r.json().message, 'No such container: nope');
    ok(await d.berth(['rm', id]));
  });

  it('a stream ends when its container is removed', T, async () => {
    const id = ok(await d.berth(['run', '-d', 'busybox', 'sleep', '300']));
    const all = streamDocs(`/containers/${id}/stats`, 1000, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    ok(await d.berth(['rm', '-f', id]));
    const docs = await all;
    assert.ok(docs.length >= 1 && docs.length < 1000);
  });
});

describe('wait conditions over the API', () => {
  const wait = (id: string, condition: string) => d.api.request({ method: 'POST', path: `/containers/${id}/wait?condition=${condition}`, timeout: 60_000 });

  it('not-running, next-exit and removed resolve when their condition is met', T, async () => {
    // not-running on a stopped container: at once.
    const done = ok(await d.berth(['run', '-d', 'busybox', 'sh', '-c', 'exit 4']));
    assert.equal(ok(await d.berth(['wait', done])), '4');
    assert.deepEqual((await wait(done, 'not-running')).json(), { StatusCode: 4 });
    // next-exit on a stopped container waits for the next run.
    let settled = false;
    const next = wait(done, 'next-exit').then((r) => ((settled = true), r));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(settled, false, 'next-exit does not resolve for the past exit');
    ok(await d.berth(['start', done]));
    assert.deepEqual((await next).json(), { StatusCode: 4 });
    // removed waits for the removal, not the exit.
    const id = ok(await d.berth(['run', '-d', 'busybox', 'sh', '-c', 'sleep 0.3; exit 2']));
    let removed = false;
    const gone = wait(id, 'removed').then((r) => ((removed = true), r));
    assert.equal(ok(await d.berth(['wait', id])), '2');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(removed, false, 'removed waits past the exit');
    ok(await d.berth(['rm', id]));
    assert.deepEqual((await gone).json(), { StatusCode: 2 });
    const bad = await wait(done, 'bogus');
    assert.equal(bad.status, 400);
    assert.equal(bad.json().message, 'invalid condition: "bogus"');
    ok(await d.berth(['rm', done]));
  });
});

for (const cli of CLIS) {
  const skip = cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false;
  describe(`observability via ${cli}`, { skip }, () => {
    const x = (args: string[], o?: RunOptions) => d.cli(cli, args, o);

    it('stats --no-stream prints usage against the limit', T, async () => {
      const name = `st-${cli}`;
      const id = ok(await x(['run', '-d', '--name', name, '--memory', '32m', 'busybox', 'sleep', '300']));
      const out = ok(await x(['stats', '--no-stream', '--format', '{{.Name}}|{{.MemUsage}}|{{.PIDs}}|{{.CPUPerc}}|{{.BlockIO}}', name]));
      const [n, mem, pids, cpu, blk] = out.split('|');
      assert.equal(n, name);
      assert.match(mem ?? '', /^[\d.]+(B|KiB|MiB) \/ 32MiB$/);
      assert.equal(pids, '1');
      assert.match(cpu ?? '', /^\d+\.\d\d%$/);
      assert.match(blk ?? '', /^[\d.]+[kMG]?B \/ [\d.]+[kMG]?B$/);
      const table = lines(ok(await x(['stats', '--no-stream', name])));
      assert.match(table[0] ?? '', /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
      assert.ok(table[1]?.startsWith(id.slice(0, 12)), table.join('\n'));
      // Unlimited memory: the limit shown is the host's memory, as dockerd reports it.
      const free = ok(await x(['run', '-d', 'busybox', 'sleep', '300']));
      const lim = JSON.parse((await d.api.get(`/containers/${free}/stats?stream=false&one-shot=true`)).text).memory_stats.limit;
      assert.equal(lim, totalmem());
      ok(await x(['rm', '-f', id, free]));
    });

    it('commit: the writable layer (files, deletions, opaque dirs) with --change, -m, -a', T, async () => {
      const name = `cm-${cli}`;
      ok(
        await x([
          'run',
          '--name',
          name,
          '-e',
          'B=2',
          'busybox',
          'sh',
          '-c',
          'echo hi > /hello && rm /bin/vi && rm -rf /var && mkdir /var && echo new > /var/only',
        ]),
      );
      const diff = lines(ok(await x(['diff', name])));
      assert.ok(diff.includes('A /hello') && diff.includes('D /bin/vi'), diff.join('\n'));
      const t0 = now() - 1;
      const img = `committed-${cli}:v1`;
      const imageId = ok(
        await x(['commit', '-m', 'my message', '-a', 'Ann <ann@example.com>', '-c', 'CMD ["cat", "/hello"]', '-c', 'ENV A=1', '-c', 'LABEL k=v', name, img]),
      );
      assert.match(imageId, /^sha256:[0-9a-f]{64}$/);
      const info = JSON.parse(ok(await x(['image', 'inspect', img])))[0];
      const base = JSON.parse(ok(await x(['image', 'inspect', 'busybox'])))[0];
      assert.equal(info.Id, imageId);
      assert.equal(info.Comment, 'my message');
      assert.equal(info.Author, 'Ann <ann@example.com>');
      assert.equal(info.Parent, base.Id);
      assert.deepEqual(info.Config.Cmd, ['cat', '/hello']);
      assert.ok(info.Config.Env.includes('A=1'), info.Config.Env);
      assert.ok(info.Config.Env.includes('B=2'), info.Config.Env);
      assert.equal(info.Config.Labels.k, 'v');
      assert.equal(info.RootFS.Layers.length, base.RootFS.Layers.length + 1);
      assert.deepEqual(info.RootFS.Layers.slice(0, -1), base.RootFS.Layers);
      assert.equal(ok(await x(['run', '--rm', img])), 'hi');
      assert.equal(ok(await x(['run', '--rm', img, 'sh', '-c', 'test ! -e /bin/vi && ls /var && echo $A'])), 'only\n1');
      // Events: container commit (with the image ID) and image tag.
      const evs = await eventActions({}, t0);
      const commit = evs.find((e) => e.Type === 'container' && e.Action === 'commit');
      assert.ok(commit, JSON.stringify(evs));
      assert.equal(commit.Actor.Attributes.imageID, imageId);
      assert.ok(evs.some((e) => e.Type === 'image' && e.Action === 'tag' && e.Actor.ID === imageId));
      ok(await x(['rm', name]));
      ok(await x(['rmi', img]));
    });

    it('commit pauses a running container unless --pause=false; bad input changes nothing', T, async () => {
      const id = ok(await x(['run', '-d', 'busybox', 'sh', '-c', 'echo run > /r; sleep 300']));
      await waitFor(async () => (ok(await x(['exec', id, 'cat', '/r'])) === 'run' ? true : undefined), { what: '/r written' });
      let t0 = now() - 0.5;
      const a = ok(await x(['commit', id]));
      let acts = (await eventActions({ container: [id] }, t0)).map((e) => e.Action);
      assert.deepEqual(
        acts.filter((e) => ['pause', 'unpause', 'commit'].includes(e)),
        ['pause', 'unpause', 'commit'],
      );
      assert.equal((await d.api.inspect(id)).State.Status, 'running');
      t0 = now() - 0.001;
      const b = ok(await x(['commit', '--pause=false', id]));
      acts = (await eventActions({ container: [id] }, t0)).map((e) => e.Action);
      assert.deepEqual(
        acts.filter((e) => ['pause', 'unpause', 'commit'].includes(e)),
        ['commit'],
      );
      assert.equal(ok(await x(['run', '--rm', a, 'cat', '/r'])), 'run');
      const before = ok(await x(['images', '-q'])).split('\n').length;
      fails(await x(['commit', '-c', 'BOGUS x', id]), 1, /bogus is not a valid change command/);
      fails(await x(['commit', 'no-such-container']), 1, /No such container: no-such-container/);
      assert.equal(ok(await x(['images', '-q'])).split('\n').length, before);
      ok(await x(['rm', '-f', id]));
      ok(await x(['rmi', a, b]));
    });

    it('commit of a created (never started) or exited container needs no pause, with or without changes', T, async () => {
      // As dockerd: the pause is only for a running container (it answered 409 / 500 before).
      const created = ok(await x(['create', 'busybox', 'true']));
      const t0 = now() - 0.5;
      const a = ok(await x(['commit', created]));
      const b = ok(await x(['commit', '-c', 'EXPOSE 8000', '-c', 'CMD ["sh"]', created]));
      const acts = (await eventActions({ container: [created] }, t0)).map((e) => e.Action);
      assert.deepEqual(
        acts.filter((e) => ['pause', 'unpause', 'commit'].includes(e)),
        ['commit', 'commit'],
      );
      const cfg = (await d.api.get(`/images/${b}/json`)).json().Config;
      assert.deepEqual(cfg.Cmd, ['sh']);
      assert.ok('8000/tcp' in cfg.ExposedPorts, JSON.stringify(cfg));
      // A container that exits right after start (docker-py commits `touch /test` at once).
      const quick = ok(await x(['run', '-d', 'busybox', 'touch', '/test']));
      const c = ok(await x(['commit', quick]));
      assert.equal(ok(await x(['run', '--rm', c, 'ls', '/test'])), '/test');
      ok(await x(['rm', '-f', created, quick]));
      ok(await x(['rmi', a, b, c]));
    });

    it('events: replay with --since/--until, filters, --format', T, async () => {
      const t0 = now() - 0.5;
      const name = `ev-${cli}`;
      const id = ok(await x(['run', '-d', '--name', name, '-l', `evl=${cli}`, 'busybox', 'sleep', '300']));
      ok(await x(['exec', id, 'true']));
      ok(await x(['pause', id]));
      ok(await x(['unpause', id]));
      ok(await x(['rename', name, `${name}-2`]));
      ok(await x(['update', '--memory', '64m', id]));
      ok(await x(['stop', '-t', '1', id]));
      ok(await x(['rm', id]));
      const until = (now() + 0.001).toFixed(3);
      const acts = lines(ok(await x(['events', '--since', String(t0), '--until', until, '--filter', `container=${id}`, '--format', '{{.Action}}'])));
      // `sleep` as PID 1 ignores SIGTERM: stop sends 15, then 9 after the timeout (as dockerd does).
      const want = [
        'create',
        'start',
        'exec_create: true',
        'exec_start: true',
        'exec_die',
        'pause',
        'unpause',
        'rename',
        'update',
        'kill',
        'kill',
        'die',
        'stop',
        'destroy',
      ];
      assert.deepEqual(
        acts.filter((a) => want.includes(a)),
        want,
        acts.join('\n'),
      );
      // event filters (exec_create matches "exec_create: …"), label, type, image.
      assert.deepEqual(
        lines(
          ok(
            await x([
              'events',
              '--since',
              String(t0),
              '--until',
              until,
              '--filter',
              `label=evl=${cli}`,
              '--filter',
              'event=exec_create',
              '--format',
              '{{.Action}}',
            ]),
          ),
        ),
        ['exec_create: true'],
      );
      assert.deepEqual(
        lines(
          ok(
            await x([
              'events',
              '--since',
              String(t0),
              '--until',
              until,
              '--filter',
              `container=${name}-2`,
              '--filter',
              'event=die',
              '--format',
              '{{.Actor.Attributes.exitCode}}',
            ]),
          ),
        ),
        ['137'],
      );
      assert.deepEqual(
        lines(
          ok(
            await x([
              'events',
              '--since',
              String(t0),
              '--until',
              until,
              '--filter',
              `container=${id}`,
              '--filter',
              'event=kill',
              '--format',
              '{{.Actor.Attributes.signal}}',
            ]),
          ),
        ),
        ['15', '9'],
      );
      const byImage = lines(
        ok(
          await x([
            'events',
            '--since',
            String(t0),
            '--until',
            until,
            '--filter',
            'image=busybox',
            '--filter',
            'type=container',
            '--filter',
            'event=start',
            '--format',
            '{{.Actor.ID}}',
          ]),
        ),
      );
      assert.ok(byImage.includes(id), byImage.join('\n'));
      const none = ok(await x(['events', '--since', String(t0), '--until', until, '--filter', 'type=image', '--filter', `container=${id}`]));
      assert.equal(none, '');
      const json = JSON.parse(
        lines(
          ok(await x(['events', '--since', String(t0), '--until', until, '--filter', `container=${id}`, '--filter', 'event=create', '--format', '{{json .}}'])),
        )[0] ?? '{}',
      );
      assert.equal(json.Type, 'container');
      assert.equal(json.Actor.ID, id);
      assert.equal(json.Actor.Attributes.name, name);
      // The default line: time, type, action, ID and sorted attributes.
      const line = lines(ok(await x(['events', '--since', String(t0), '--until', until, '--filter', `container=${id}`, '--filter', 'event=destroy'])))[0] ?? '';
      assert.match(
        line,
        new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z container destroy ${id} \\(evl=${cli}, image=busybox, name=${name}-2\\)$`),
      );
    });

    it('events: volume mount/unmount of a run with -v; image save and load name the image by ID', T, async () => {
      const t0 = now() - 0.5;
      const vol = `evvol-${cli}`;
      const id = ok(await x(['run', '-d', '-v', `${vol}:/data`, 'busybox', 'true']));
      await waitFor(async () => (await d.state(id)).Running === false, { what: 'container to exit' });
      ok(await x(['rm', id]));
      ok(await x(['volume', 'rm', vol]));
      const imageId = ok(await x(['image', 'inspect', '--format', '{{.Id}}', 'busybox']));
      const tar = `${d.root}/ev-save-${cli}.tar`;
      ok(await x(['save', '-o', tar, 'busybox']));
      ok(await x(['load', '-i', tar]));
      const until = (now() + 0.001).toFixed(3);
      const fmt = '{{.Type}} {{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}';
      const evs = lines(ok(await x(['events', '--since', String(t0), '--until', until, '--filter', `volume=${vol}`, '--format', fmt])));
      const attrs = (action: string): Record<string, string> =>
        JSON.parse(evs.find((l) => l.startsWith(`volume ${action} ${vol} `))?.replace(/^(\S+ ){3}/, '') ?? 'null');
      assert.deepEqual(
        evs.map((l) => l.split(' ')[1]),
        ['create', 'mount', 'unmount', 'destroy'],
        evs.join('\n'),
      );
      // as dockerd 20.10 reports them
      assert.deepEqual(attrs('mount'), { container: id, destination: '/data', driver: 'local', propagation: '', 'read/write': 'true' });
      assert.deepEqual(attrs('unmount'), { container: id, driver: 'local' });
      const img = lines(
        ok(
          await x([
            'events',
            '--since',
            String(t0),
            '--until',
            until,
            '--filter',
            'type=image',
            '--filter',
            'event=save',
            '--filter',
            'event=load',
            '--format',
            fmt,
          ]),
        ),
      );
      assert.deepEqual(img, [`image save ${imageId} {"name":"${imageId}"}`, `image load ${imageId} {"name":"${imageId}"}`]);
    });

    it('events: an OOM kill publishes oom and die (137)', T, async () => {
      const t0 = now() - 0.5;
      const r = await x(['run', '--name', `oom-ev-${cli}`, '--memory', '16m', '--memory-swap', '16m', 'busybox', 'tail', '/dev/zero'], { timeout: 60_000 });
      exits(r, 137);
      const evs = await eventActions({ container: [`oom-ev-${cli}`] }, t0);
      const acts = evs.map((e) => e.Action);
      assert.ok(acts.includes('oom'), acts.join(','));
      assert.equal(evs.find((e) => e.Action === 'die')?.Actor.Attributes.exitCode, '137');
      ok(await x(['rm', `oom-ev-${cli}`]));
    });

    it('stats streams until interrupted', T, async () => {
      const name = `st-live-${cli}`;
      ok(await x(['run', '-d', '--name', name, 'busybox', 'sleep', '300']));
      const r = await x(['stats', '--format', '{{.Name}} {{.PIDs}}', name], { timeout: 4500 });
      const seen = r.stdout.split(/\n|\x1b\[[0-9;]*[A-Za-z]/).filter((l) => l.trim() === `${name} 1`);
      assert.ok(seen.length >= 2, `refreshed ${seen.length} times: ${JSON.stringify(r.stdout)}`);
      ok(await x(['rm', '-f', name]));
    });

    it('events streams live until interrupted', T, async () => {
      const name = `evlive-${cli}`;
      const r = x(['events', '--filter', `container=${name}`, '--format', '{{.Action}}', '--until', (now() + 6).toFixed(3)], { timeout: 30_000 });
      await new Promise((res) => setTimeout(res, 1000));
      ok(await x(['run', '--rm', '--name', name, 'busybox', 'true']));
      const out = lines(ok(await r));
      assert.deepEqual(
        out.filter((a) => ['create', 'start', 'die', 'destroy'].includes(a)),
        ['create', 'start', 'die', 'destroy'],
      );
    });

    const haveInit = existsSync('/usr/bin/tini-static') || existsSync('/usr/bin/docker-init') || existsSync('/usr/bin/catatonit');
    it('--init: an init is PID 1, reaps orphans and forwards signals', { ...T, skip: haveInit ? false : 'no init binary' }, async () => {
      const ps = ok(await x(['run', '--rm', '--init', 'busybox', 'ps', '-o', 'pid,comm']));
      assert.match(ps, /^\s*1\s+(docker-init|tini|catatonit)/m, ps);
      assert.equal((await d.api.inspect(ok(await x(['create', '--init', 'busybox', 'true'])))).HostConfig.Init, true);
      // An orphan whose parent exits is re-parented to PID 1: with an init it is reaped.
      const zombies = async (init: boolean): Promise<number> => {
        const id = ok(await x(['run', '-d', ...(init ? ['--init'] : []), 'busybox', 'sh', '-c', 'sh -c "sleep 0.2 &"; exec sleep 300']));
        await new Promise((r) => setTimeout(r, 800));
        const out = ok(await x(['exec', id, 'ps', '-o', 'stat,comm']));
        ok(await x(['rm', '-f', id]));
        return out.split('\n').filter((l) => /^\s*Z/.test(l)).length;
      };
      assert.equal(await zombies(false), 1, 'without an init the orphan stays a zombie');
      assert.equal(await zombies(true), 0, 'the init reaps it');
      // SIGTERM reaches `sleep` through the init (a bare PID 1 sleep ignores it): exit 143, not 137.
      const id = ok(await x(['run', '-d', '--init', 'busybox', 'sleep', '300']));
      ok(await x(['stop', '-t', '20', id]));
      assert.equal((await d.api.inspect(id)).State.ExitCode, 143);
      ok(await x(['rm', id]));
      for (const c of lines(ok(await x(['ps', '-aq', '--filter', 'status=created'])))) ok(await x(['rm', c]));
    });

    it('top with ps options', T, async () => {
      const id = ok(await x(['run', '-d', 'busybox', 'sleep', '300']));
      const out = lines(ok(await x(['top', id, '-o', 'pid,comm'])));
      assert.match(out[0] ?? '', /^PID\s+COMMAND$/);
      assert.match(out[1] ?? '', /^\d+\s+sleep$/);
      const aux = lines(ok(await x(['top', id, 'aux'])));
      assert.match(aux[0] ?? '', /^USER\s+PID\s+%CPU/);
      exits(await x(['top', id, '-o', 'nonsense-column']), 1);
      ok(await x(['rm', '-f', id]));
    });
  });
}

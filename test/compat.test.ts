/**
 * What real clients expect of a daemon beyond the core: Swarm endpoints answered as by a node
 * outside a swarm (and `swarm init` refused plainly), an empty managed-plugin list (test/plugins.test.ts covers created plugins), image search (Docker
 * Hub unreachable; a loopback v1 index with results and filters), container/volume/image prune
 * with dockerd's filter rules and reclaimed sizes through both CLIs, `load` of gzip, bzip2 and xz
 * archives, and skopeo's docker-daemon: transport (API 1.22) both ways.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { CLIS, DOCKER, HAVE_DOCKER, HEX64, TestDaemon, run, waitFor, type CliName } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { ok, lines } from './helpers/assert.js';

let d: TestDaemon;
let tmp: string;

before(async () => {
  assert.ok(HAVE_DOCKER, `the docker CLI is needed at ${DOCKER}`);
  d = await TestDaemon.start();
  tmp = fs.mkdtempSync('/tmp/berth-compat-');
});

after(async () => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  await cleanupAndCheck(d);
});

const T = { timeout: 180_000 };
const NOT_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const q = (filters: Record<string, string[]>): string => encodeURIComponent(JSON.stringify(filters));

describe('Swarm, plugins and search', () => {
  it('Swarm endpoints answer as dockerd on a node outside a swarm', T, async () => {
    const cases: Array<[string, string, number, string, unknown?]> = [
      ['GET', '/swarm', 503, NOT_MANAGER],
      ['GET', '/swarm/unlockkey', 503, NOT_MANAGER],
      ['POST', '/swarm/unlock', 503, NOT_MANAGER, {}],
      ['POST', '/swarm/leave', 503, 'This node is not part of a swarm'],
      ['POST', '/swarm/leave?force=1', 503, 'This node is not part of a swarm'],
      ['POST', '/swarm/update', 400, `invalid swarm version '': strconv.ParseUint: parsing "": invalid syntax`, {}],
      ['POST', '/swarm/update?version=3', 503, NOT_MANAGER, {}],
      ['GET', '/nodes', 503, NOT_MANAGER],
      ['GET', '/nodes/n1', 503, NOT_MANAGER],
      ['DELETE', '/nodes/n1', 503, NOT_MANAGER],
      ['POST', '/nodes/n1/update', 400, `invalid node version '': strconv.ParseUint: parsing "": invalid syntax`, {}],
      ['POST', '/nodes/n1/update?version=1', 503, NOT_MANAGER, {}],
      ['GET', '/services', 503, NOT_MANAGER],
      ['POST', '/services/create', 503, NOT_MANAGER, {}],
      ['GET', '/services/s1', 503, NOT_MANAGER],
      ['DELETE', '/services/s1', 503, NOT_MANAGER],
      ['POST', '/services/s1/update?version=x', 400, `invalid service version 'x': strconv.ParseUint: parsing "x": invalid syntax`, {}],
      ['GET', '/services/s1/logs', 400, 'Bad parameters: you must choose at least one stream'],
      ['GET', '/services/s1/logs?stdout=1', 503, NOT_MANAGER],
      ['GET', '/tasks', 503, NOT_MANAGER],
      ['GET', '/tasks/t1', 503, NOT_MANAGER],
      ['GET', '/tasks/t1/logs?stderr=1', 503, NOT_MANAGER],
      ['GET', '/secrets', 503, NOT_MANAGER],
      ['POST', '/secrets/create', 503, NOT_MANAGER, {}],
      ['GET', '/secrets/x', 503, NOT_MANAGER],
      ['DELETE', '/secrets/x', 503, NOT_MANAGER],
      ['POST', '/secrets/x/update', 400, 'invalid secret version', {}],
      ['GET', '/configs', 503, NOT_MANAGER],
      ['POST', '/configs/create', 503, NOT_MANAGER, {}],
      ['GET', '/configs/x', 503, NOT_MANAGER],
      ['DELETE', '/configs/x', 503, NOT_MANAGER],
      ['POST', '/configs/x/update', 400, 'invalid config version', {}],
      ['POST', '/configs/x/update?version=2', 503, NOT_MANAGER, {}],
      ['GET', '/swarm/nonsense', 404, 'page not found'],
    ];
    for (const [method, p, status, message, body] of cases) {
      for (const prefix of ['', '/v1.41']) {
        const r = await d.api.request({ method, path: prefix + p, ...(body !== undefined ? { body } : {}) });
        assert.equal(r.status, status, `${method} ${prefix}${p}: ${r.text}`);
        assert.deepEqual(r.json(), { message }, `${method} ${prefix}${p}`);
      }
    }
    const init = await d.api.post('/swarm/init', { ListenAddr: '0.0.0.0:2377' });
    assert.equal(init.status, 501, init.text);
    assert.match(init.json().message, /^Berth does not support Swarm mode; /);
    const join = await d.api.post('/swarm/join', { ListenAddr: '0.0.0.0:2377', RemoteAddrs: ['127.0.0.1:1'], JoinToken: 'x' });
    assert.equal(join.status, 501, join.text);
    const info = (await d.api.get('/info')).json();
    assert.deepEqual(info.Swarm, { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null });
  });

  it('the docker CLI: swarm init says Berth has no Swarm mode; leave, node/service/secret ls as dockerd; info shows Swarm inactive', T, async () => {
    const init = await d.docker(['swarm', 'init']);
    assert.equal(init.code, 1, init.desc);
    assert.match(init.stderr, /^Error response from daemon: Berth does not support Swarm mode; /, init.desc);
    const leave = await d.docker(['swarm', 'leave']);
    assert.equal(leave.code, 1, leave.desc);
    assert.equal(leave.stderr.trim(), 'Error response from daemon: This node is not part of a swarm', leave.desc);
    for (const args of [
      ['node', 'ls'],
      ['service', 'ls'],
      ['secret', 'ls'],
      ['config', 'ls'],
    ]) {
      const r = await d.docker(args);
      assert.equal(r.code, 1, r.desc);
      assert.equal(r.stderr.trim(), `Error response from daemon: ${NOT_MANAGER}`, r.desc);
    }
    assert.match(ok(await d.docker(['info'])), /^ Swarm: inactive$/m);
  });

  it('plugins: none listed, a named one is not found, privileges empty, pull refused', T, async () => {
    assert.deepEqual((await d.api.get('/plugins')).json(), []);
    assert.deepEqual((await d.api.get(`/plugins?filters=${q({ enabled: ['true'] })}`)).json(), []);
    const badFilter = await d.api.get(`/plugins?filters=${q({ foo: ['x'] })}`);
    assert.equal(badFilter.status, 400);
    assert.equal(badFilter.json().message, "Invalid filter 'foo'");
    const badEnabled = await d.api.get(`/plugins?filters=${q({ enabled: ['x'] })}`);
    assert.equal(badEnabled.json().message, "Invalid filter 'enabled=[x]'");
    const priv = await d.api.get('/plugins/privileges?remote=vieux/sshfs:latest');
    assert.equal(priv.status, 200);
    assert.deepEqual(priv.json(), []);
    const noRemote = await d.api.get('/plugins/privileges');
    assert.equal(noRemote.status, 400); // dockerd: 500 (a client error is never a 500 here)
    assert.equal(noRemote.json().message, 'invalid reference format');
    const upper = await d.api.get('/plugins/privileges?remote=BAD');
    assert.equal(upper.json().message, 'invalid reference format: repository name must be lowercase');
    for (const [method, p] of [
      ['GET', '/plugins/compat-x/json'],
      ['GET', '/plugins/compat-x:1/json'],
      ['DELETE', '/plugins/compat-x'],
      ['POST', '/plugins/compat-x/enable?timeout=0'],
      ['POST', '/plugins/compat-x/disable'],
      ['POST', '/plugins/compat-x/push'],
      ['POST', '/plugins/compat-x/set'],
    ] as const) {
      const r = await d.api.request({ method, path: p, ...(method === 'POST' ? { body: [] } : {}) });
      assert.equal(r.status, 404, `${method} ${p}: ${r.text}`);
      assert.match(r.json().message, /^plugin "compat-x(:1)?" not found$/, `${method} ${p}`);
    }
    const upg = await d.api.request({ method: 'POST', path: '/plugins/compat-x/upgrade?remote=y', body: [] });
    assert.equal(upg.status, 404);
    assert.equal(upg.json().message, 'plugin "compat-x:latest" not found');
    assert.equal(upg.headers['docker-plugin-name'], 'compat-x:latest');
    const enable = await d.api.post('/plugins/compat-x/enable');
    assert.equal(enable.status, 400); // dockerd: 500
    assert.equal(enable.json().message, 'strconv.Atoi: parsing "": invalid syntax');
    const pull = await d.api.request({ method: 'POST', path: '/plugins/pull?remote=vieux/sshfs:latest', body: [] });
    assert.equal(pull.status, 501, pull.text);
    assert.match(pull.json().message, /^Berth does not support managed plugins/);
    const ls = await d.docker(['plugin', 'ls']);
    assert.deepEqual(lines(ok(ls)), ['ID        NAME      DESCRIPTION   ENABLED']);
    const inspect = await d.docker(['plugin', 'inspect', 'compat-x']);
    assert.equal(inspect.code, 1, inspect.desc);
    assert.match(inspect.stderr, /Error response from daemon: plugin "compat-x" not found/, inspect.desc);
  });

  it("search: Docker Hub unreachable gives dockerd's error; limit and filter errors as dockerd", T, async () => {
    const r = await d.api.get('/images/search?term=busybox');
    assert.equal(r.status, 500, r.text);
    // the rest names why the index is unreachable here (a failed lookup when DNS has no answer)
    assert.match(r.json().message, /^Get "https:\/\/index\.docker\.io\/v1\/search\?q=busybox&n=25": /);
    const spaced = await d.api.get('/images/search?term=Busy%20Box&limit=3');
    assert.match(spaced.json().message, /^Get "https:\/\/index\.docker\.io\/v1\/search\?q=Busy\+Box&n=3": /);
    const lib = await d.api.get('/images/search?term=library/busybox');
    assert.match(lib.json().message, /^Get "https:\/\/index\.docker\.io\/v1\/search\?q=busybox&n=25": /);
    const bad: Array<[string, number, string]> = [
      ['limit=0', 400, 'Limit 0 is outside the range of [1, 100]'],
      ['limit=101', 400, 'Limit 101 is outside the range of [1, 100]'],
      ['limit=abc', 400, 'strconv.Atoi: parsing "abc": invalid syntax'], // dockerd: 500
      [`filters=${q({ foo: ['x'] })}`, 400, "Invalid filter 'foo'"],
      [`filters=${q({ stars: ['x'] })}`, 400, "Invalid filter 'stars=x'"],
      [`filters=${q({ 'is-official': ['x'] })}`, 400, "Invalid filter 'is-official=[x]'"],
    ];
    for (const [extra, status, message] of bad) {
      const b = await d.api.get(`/images/search?term=busybox&${extra}`);
      assert.equal(b.status, status, `${extra}: ${b.text}`);
      assert.equal(b.json().message, message, extra);
    }
    const cli = await d.docker(['search', 'busybox']);
    assert.equal(cli.code, 1, cli.desc);
    assert.match(cli.stderr, /^Error response from daemon: Get "https:\/\/index\.docker\.io\/v1\/search\?q=busybox&n=25": /, cli.desc);
  });

  it('search: a loopback v1 index, its results filtered by stars and is-official, through the API and the docker CLI', T, async () => {
    const seen: string[] = [];
    const index = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      const results = [
        { name: 'compat/one', description: 'first', star_count: 7, is_official: true, is_automated: false },
        { name: 'compat/two', description: 'second', star_count: 2, is_official: false, is_automated: true },
      ];
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ num_results: 2, query: 'compat', results }));
    });
    await new Promise<void>((resolve) => index.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(index.address() as AddressInfo).port}`;
      const all = await d.api.get(`/images/search?term=${host}/compat&limit=5`);
      assert.equal(all.status, 200, all.text);
      assert.deepEqual(all.json(), [
        { star_count: 7, is_official: true, name: 'compat/one', is_automated: false, description: 'first' },
        { star_count: 2, is_official: false, name: 'compat/two', is_automated: true, description: 'second' },
      ]);
      assert.equal(seen[0], '/v1/search?q=compat&n=5');
      const stars = await d.api.get(`/images/search?term=${host}/compat&filters=${q({ stars: ['3'] })}`);
      assert.deepEqual(
        stars.json().map((x: { name: string }) => x.name),
        ['compat/one'],
      );
      const notOfficial = await d.api.get(`/images/search?term=${host}/compat&filters=${q({ 'is-official': ['false'] })}`);
      assert.deepEqual(
        notOfficial.json().map((x: { name: string }) => x.name),
        ['compat/two'],
      );
      const cli = await d.docker(['search', '--format', '{{.Name}} {{.StarCount}} {{.IsOfficial}}', `${host}/compat`]);
      assert.deepEqual(lines(ok(cli)), ['compat/one 7 [OK]', 'compat/two 2']);
    } finally {
      index.close();
    }
  });
});

/** A stopped container that wrote `mib` MiB into its writable layer. */
async function stopped(cli: CliName, name: string, labels: string[], mib = 0): Promise<string> {
  const cmd = mib > 0 ? ['sh', '-c', `dd if=/dev/zero of=/big bs=1M count=${mib} 2>/dev/null`] : ['true'];
  return ok(await d.cli(cli, ['run', '--name', name, ...labels.flatMap((l) => ['-l', l]), 'busybox', ...cmd])) || name;
}

async function names(): Promise<string[]> {
  return (await d.api.get('/containers/json?all=1'))
    .json<Array<{ Names: string[] }>>()
    .map((c) => (c.Names[0] ?? '').slice(1))
    .sort();
}

for (const cli of CLIS) {
  describe(`prune via ${cli}`, () => {
    it('container prune: label=k=v removes only that value, label!= keeps matches, until, reclaimed space, running ones kept', T, async () => {
      const s = `-${cli}`;
      await stopped(cli, `pa${s}`, ['compat.keep=no'], 3);
      await stopped(cli, `pb${s}`, ['compat.keep=yes'], 1);
      await stopped(cli, `pc${s}`, ['compat.other=1']);
      await stopped(cli, `pd${s}`, []);
      ok(await d.cli(cli, ['run', '-d', '--name', `pe${s}`, '-l', 'compat.keep=no', 'busybox', 'sleep', '300']));
      const pa = (await d.api.inspect(`pa${s}`)).Id as string;

      const r1 = await d.cli(cli, ['container', 'prune', '-f', '--filter', 'label=compat.keep=no']);
      // 3 MiB written by dd: the docker CLI's HumanSize of 3145728 bytes
      assert.equal(ok(r1), `Deleted Containers:\n${pa}\n\nTotal reclaimed space: 3.146MB`, r1.desc);
      assert.deepEqual(await names(), [`pb${s}`, `pc${s}`, `pd${s}`, `pe${s}`]);

      // label!= : containers whose label matches are kept; those without it go
      const r2 = await d.cli(cli, ['container', 'prune', '-f', '--filter', 'label!=compat.keep=yes', '--filter', 'until=1h']);
      assert.equal(ok(r2), 'Total reclaimed space: 0B', r2.desc); // all were created less than an hour ago
      const r3 = await d.cli(cli, ['container', 'prune', '-f', '--filter', 'label!=compat.keep=yes']);
      const out3 = ok(r3);
      assert.match(out3, /^Deleted Containers:\n[0-9a-f]{64}\n[0-9a-f]{64}\n\nTotal reclaimed space: 0B$/, r3.desc);
      assert.deepEqual(await names(), [`pb${s}`, `pe${s}`]);

      const r4 = await d.cli(cli, ['container', 'prune', '-f', '--filter', 'label=compat.keep']);
      assert.match(ok(r4), /^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: 1.049MB$/, r4.desc);
      assert.deepEqual(await names(), [`pe${s}`]);
      ok(await d.cli(cli, ['rm', '-f', `pe${s}`]));
    });

    it('volume prune: anonymous unused volumes by default, --all every unused one; reclaimed space', T, async () => {
      const s = `-${cli}`;
      ok(await d.cli(cli, ['run', '--name', `va${s}`, '-v', '/data', 'busybox', 'sh', '-c', 'dd if=/dev/zero of=/data/f bs=1M count=2 2>/dev/null']));
      const anon = (await d.api.inspect(`va${s}`)).Mounts[0].Name as string;
      ok(await d.cli(cli, ['rm', `va${s}`]));
      ok(await d.cli(cli, ['volume', 'create', `vn${s}`]));
      ok(await d.cli(cli, ['run', '--rm', '-v', `vn${s}:/d`, 'busybox', 'sh', '-c', 'dd if=/dev/zero of=/d/f bs=1k count=10 2>/dev/null']));
      const r1 = await d.cli(cli, ['volume', 'prune', '-f']);
      assert.equal(ok(r1), `Deleted Volumes:\n${anon}\n\nTotal reclaimed space: 2.097MB`, r1.desc);
      const r2 = await d.cli(cli, ['volume', 'prune', '-f', '--all']);
      assert.equal(ok(r2), `Deleted Volumes:\nvn${s}\n\nTotal reclaimed space: 10.24kB`, r2.desc);
    });

    it('image prune: reclaimed space of a dangling built image', T, async () => {
      const ctx = fs.mkdtempSync(path.join(tmp, 'ip-'));
      fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM busybox\nRUN dd if=/dev/zero of=/f-${cli} bs=1M count=2\n`);
      const id = ok(await d.cli(cli, ['build', '-q', ctx], { timeout: 120_000 }))
        .split('\n')
        .pop() as string;
      assert.match(id, /^sha256:[0-9a-f]{64}$/);
      const r = await d.cli(cli, ['image', 'prune', '-f']);
      const out = ok(r);
      assert.ok(out.includes(`deleted: ${id}`), r.desc);
      assert.match(out, /Total reclaimed space: 2\.097MB$/, r.desc);
    });
  });
}

describe('prune over the API', () => {
  it("bad filters with dockerd's texts: unknown key, bad until, two untils (400; dockerd 500 for the untils); nothing removed", T, async () => {
    ok(await d.docker(['create', '--name', 'pf-api', 'busybox', 'true']));
    const cases: Array<[string, Record<string, string[]>, number, string]> = [
      ['/containers/prune', { foo: ['x'] }, 400, "Invalid filter 'foo'"],
      ['/containers/prune', { until: ['garbage'] }, 400, 'failed to parse value as time or duration: "garbage"'],
      ['/containers/prune', { until: ['1h', '2h'] }, 400, 'more than one until filter specified'],
    ];
    for (const [p, f, status, message] of cases) {
      const r = await d.api.post(`${p}?filters=${q(f)}`);
      assert.equal(r.status, status, `${p} ${JSON.stringify(f)}: ${r.text}`);
      assert.equal(r.json().message, message);
    }
    assert.ok((await names()).includes('pf-api'));
    const none = await d.api.post(`/containers/prune?filters=${q({ label: ['compat.none=1'] })}`);
    assert.deepEqual(none.json(), { ContainersDeleted: null, SpaceReclaimed: 0 });
    const since = Math.floor(Date.now() / 1000) - 1;
    const all = await d.api.post('/containers/prune');
    assert.ok(all.json().ContainersDeleted.every((id: string) => HEX64.test(id)));
    assert.equal((await names()).includes('pf-api'), false);
    const ev = await d.api.get(`/events?since=${since}&until=${Math.ceil(Date.now() / 1000) + 1}&filters=${q({ type: ['container'], event: ['prune'] })}`);
    assert.match(ev.text, /"Action":"prune"/);
    assert.match(ev.text, /"reclaimed":"0"/);
  });
});

describe('commit of a container exiting meanwhile', () => {
  it("commit with pause right after starting a short-lived container succeeds, as docker-py's CommitTest does it", T, async () => {
    for (let i = 0; i < 8; i++) {
      const c = await d.api.post('/containers/create', { Image: 'busybox', Cmd: ['touch', '/test'] });
      assert.equal(c.status, 201, c.text);
      const id = c.json().Id as string;
      assert.equal((await d.api.post(`/containers/${id}/start`)).status, 204);
      const r = await d.api.post(`/commit?container=${id}&pause=True`);
      assert.equal(r.status, 201, `round ${i}: ${r.text}`);
      const img = (await d.api.get(`/images/${r.json().Id}/json`)).json();
      assert.equal(img.Container, id);
      assert.equal((await d.api.delete(`/containers/${id}?force=1`)).status, 204);
      assert.equal((await d.api.delete(`/images/${r.json().Id}`)).status, 200);
    }
  });
});

describe('load of compressed archives', () => {
  it('gzip, bzip2 and xz archives load through both CLIs and the API, with the same image ID', T, async () => {
    const id = (await d.api.get('/images/busybox/json')).json().Id as string;
    ok(await d.docker(['tag', 'busybox', 'compat-load:src']));
    const tar = path.join(tmp, 'img.tar');
    ok(await d.docker(['save', '-o', tar, 'compat-load:src']));
    ok(await d.docker(['rmi', 'compat-load:src']));
    for (const [tool, ext] of [
      ['gzip', 'gz'],
      ['bzip2', 'bz2'],
      ['xz', 'xz'],
    ] as const) {
      const file = `${tar}.${ext}`;
      const z = spawnSync(tool, ['-c', tar], { maxBuffer: 64 << 20 });
      assert.equal(z.status, 0, `${tool}: ${String(z.stderr)}`);
      fs.writeFileSync(file, z.stdout);
      for (const cli of CLIS) {
        const r = await d.cli(cli, ['load', '-i', file]);
        assert.equal(ok(r), 'Loaded image: compat-load:src', r.desc);
        assert.equal((await d.api.get('/images/compat-load:src/json')).json().Id, id);
        ok(await d.cli(cli, ['rmi', 'compat-load:src']));
      }
      const api = await d.api.request({
        method: 'POST',
        path: '/images/load?quiet=1',
        raw: fs.readFileSync(file),
        headers: { 'Content-Type': 'application/x-tar' },
      });
      assert.equal(api.status, 200);
      assert.match(api.text, /Loaded image: compat-load:src/);
      ok(await d.docker(['rmi', 'compat-load:src']));
    }
    // a gzip archive cut short changes nothing
    const gz = fs.readFileSync(`${tar}.gz`);
    fs.writeFileSync(`${tar}.cut.gz`, gz.subarray(0, Math.floor(gz.length / 2)));
    const before = (await d.api.get('/images/json')).json<unknown[]>().length;
    const cut = await d.docker(['load', '-i', `${tar}.cut.gz`]);
    assert.equal(cut.code, 1, cut.desc);
    assert.equal((await d.api.get('/images/json')).json<unknown[]>().length, before);
  });
});

describe('skopeo (API 1.22)', () => {
  it('docker-daemon: transport both ways: copy out to dir:, back in under a new name with the same ID', T, async () => {
    const host = `unix://${d.socket}`;
    const dir = path.join(tmp, 'skopeo-dir');
    const out = await run('skopeo', ['copy', '--src-daemon-host', host, 'docker-daemon:busybox:latest', `dir:${dir}`], { timeout: 120_000 });
    assert.equal(out.code, 0, out.desc);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const id = (await d.api.get('/images/busybox/json')).json().Id as string;
    assert.equal(manifest.config.digest, id);
    const back = await run('skopeo', ['copy', '--dest-daemon-host', host, `dir:${dir}`, 'docker-daemon:compat-skopeo:v1'], { timeout: 120_000 });
    assert.equal(back.code, 0, back.desc);
    const img = await waitFor(
      async () => {
        const r = await d.api.get('/images/compat-skopeo:v1/json');
        return r.status === 200 ? r.json() : undefined;
      },
      { timeout: 20_000, what: 'compat-skopeo:v1 loaded' },
    );
    assert.equal(img.Id, id);
    const inspect = await run('skopeo', ['inspect', '--daemon-host', host, 'docker-daemon:compat-skopeo:v1'], { timeout: 60_000 });
    assert.equal(inspect.code, 0, inspect.desc);
    assert.equal(JSON.parse(inspect.stdout).Layers.length, img.RootFS.Layers.length);
    ok(await d.docker(['rmi', 'compat-skopeo:v1']));
  });
});

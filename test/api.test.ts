/**
 * The Engine API over raw HTTP: ping, versions, errors (status codes and Docker's messages),
 * log framing, import with changes, images/tag/rmi, two daemons side by side, and a burst of
 * bad requests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tarStream from 'tar-stream';
import { CLIS, HAVE_DOCKER, HEX64, NO_DOCKER_MSG, TestDaemon, waitFor, type RunOptions } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { exits, lines, ok } from './helpers/assert.js';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.start();
});

after(async () => {
  await cleanupAndCheck(d);
});

const T = { timeout: 120_000 };

async function containerCount(): Promise<number> {
  return (await d.api.get('/containers/json?all=1')).json<unknown[]>().length;
}

/** Creates and starts a container through the API; returns its ID. */
async function apiRun(body: Record<string, unknown>, name?: string): Promise<string> {
  const r = await d.api.post(`/containers/create${name ? `?name=${name}` : ''}`, { Image: 'busybox', ...body });
  assert.equal(r.status, 201, r.text);
  const id = r.json().Id as string;
  const s = await d.api.post(`/containers/${id}/start`);
  assert.equal(s.status, 204, s.text);
  return id;
}

/** Splits a multiplexed (non-TTY) stream into frames. */
function demux(buf: Buffer): { stream: number; data: string }[] {
  const out: { stream: number; data: string }[] = [];
  let off = 0;
  while (off < buf.length) {
    assert.ok(buf.length - off >= 8, `truncated frame header at ${off}`);
    const stream = buf[off] as number;
    assert.deepEqual([...buf.subarray(off + 1, off + 4)], [0, 0, 0], 'header padding');
    const size = buf.readUInt32BE(off + 4);
    assert.ok(off + 8 + size <= buf.length, 'truncated frame payload');
    out.push({ stream, data: buf.subarray(off + 8, off + 8 + size).toString() });
    off += 8 + size;
  }
  return out;
}

function makeTar(entries: { name: string; body?: string; type?: 'file' | 'directory' }[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const e of entries) {
    if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory', mode: 0o755 });
    else pack.entry({ name: e.name, mode: 0o755 }, e.body ?? '');
  }
  pack.finalize();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
}

describe('Engine API', () => {
  it('_ping GET and HEAD, with API-Version header', T, async () => {
    const g = await d.api.request({ path: '/_ping', headers: { 'API-Version': '1.50' } });
    assert.equal(g.status, 200);
    assert.equal(g.text, 'OK');
    assert.equal(g.headers['api-version'], '1.50');
    assert.equal(g.headers['ostype'], 'linux');
    const h = await d.api.request({ method: 'HEAD', path: '/_ping' });
    assert.equal(h.status, 200);
    assert.equal(h.text, '');
    assert.equal(h.headers['api-version'], '1.50');
    const v = await d.api.request({ path: '/v1.50/_ping' });
    assert.equal(v.text, 'OK');
  });

  it('versioned and unversioned paths; too old and too new versions are 400', T, async () => {
    for (const p of ['/version', '/v1.12/version', '/v1.22/version', '/v1.24/version', '/v1.41/version', '/v1.50/version']) {
      const r = await d.api.get(p);
      assert.equal(r.status, 200, `${p}: ${r.text}`);
      const v = r.json();
      assert.equal(v.ApiVersion, '1.50');
      assert.equal(v.MinAPIVersion, '1.12');
      assert.equal(v.Os, 'linux');
    }
    // dockerd 20.10's floor is 1.12; below 1.24 its errors are plain text
    const old = await d.api.get('/v1.11/version');
    assert.equal(old.status, 400);
    assert.match(String(old.headers['content-type']), /^text\/plain/);
    assert.equal(old.text, 'client version 1.11 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version\n');
    const neu = await d.api.get('/v1.99/version');
    assert.equal(neu.status, 400);
    assert.match(neu.json().message, /client version 1\.99 is too new/);
    const info = await d.api.get('/v1.24/info');
    assert.equal(info.status, 200);
    assert.equal(typeof info.json().Containers, 'number');
    assert.equal(info.json().ExecutionDriver, '<not supported>');
    assert.equal((await d.api.get('/v1.25/info')).json().ExecutionDriver, undefined);
  });

  it('API < 1.24 answers errors as plain text, 1.24 and later as JSON', T, async () => {
    for (const v of ['1.12', '1.22', '1.23']) {
      const r = await d.api.get(`/v${v}/containers/compat-nope/json`);
      assert.equal(r.status, 404, r.text);
      assert.equal(String(r.headers['content-type']), 'text/plain; charset=utf-8');
      assert.equal(r.text, 'No such container: compat-nope\n');
    }
    const j = await d.api.get('/v1.24/containers/compat-nope/json');
    assert.equal(j.status, 404);
    assert.deepEqual(j.json(), { message: 'No such container: compat-nope' });
  });

  it(
    'image inspect: Container and ContainerConfig at every version (dockerd 20.10; docker-compose 1.29 negotiates 1.50 and reads ContainerConfig), VirtualSize below 1.44',
    T,
    async () => {
      const empty = {
        Hostname: '',
        Domainname: '',
        User: '',
        AttachStdin: false,
        AttachStdout: false,
        AttachStderr: false,
        Tty: false,
        OpenStdin: false,
        StdinOnce: false,
        Env: null,
        Cmd: null,
        Image: '',
        Volumes: null,
        WorkingDir: '',
        Entrypoint: null,
        OnBuild: null,
        Labels: null,
      };
      for (const v of ['1.22', '1.41', '1.43']) {
        const img = (await d.api.get(`/v${v}/images/busybox/json`)).json();
        assert.equal(img.Container, '', v);
        assert.deepEqual(img.ContainerConfig, empty, v);
        assert.equal(img.VirtualSize, img.Size, v);
        const list = (await d.api.get(`/v${v}/images/json`)).json<Array<Record<string, unknown>>>();
        assert.ok(list.length > 0 && list.every((i) => i.VirtualSize === i.Size), v);
      }
      for (const p of ['/v1.44/images/busybox/json', '/v1.45/images/busybox/json', '/images/busybox/json']) {
        const img = (await d.api.get(p)).json();
        assert.equal(img.Container, '', p);
        assert.deepEqual(img.ContainerConfig, empty, p);
        assert.equal('VirtualSize' in img, false, p);
      }
      assert.equal('VirtualSize' in ((await d.api.get('/images/json')).json<Array<Record<string, unknown>>>()[0] ?? {}), false);
      // a committed image's ContainerConfig is the container's config
      const id = await apiRun({ Cmd: ['sh', '-c', 'echo x > /f'], Labels: { compat: 'cc' } });
      await waitFor(async () => (await d.api.get(`/containers/${id}/json`)).json().State.Status === 'exited', { timeout: 20_000, what: 'container exit' });
      const cm = await d.api.post(`/commit?container=${id}&repo=compat-cc&tag=v1`);
      assert.equal(cm.status, 201, cm.text);
      const img = (await d.api.get('/images/compat-cc:v1/json')).json();
      assert.equal(img.Container, id);
      assert.deepEqual(img.ContainerConfig.Cmd, ['sh', '-c', 'echo x > /f']);
      assert.deepEqual(img.ContainerConfig.Labels, { compat: 'cc' });
      assert.equal((await d.api.delete(`/containers/${id}`)).status, 204);
      assert.equal((await d.api.delete('/images/compat-cc:v1')).status, 200);
    },
  );

  it('unknown path is a 404 JSON error', T, async () => {
    for (const p of ['/no/such/path', '/v1.50/containers/x/nonsense']) {
      const r = await d.api.get(p);
      assert.equal(r.status, 404, p);
      assert.match(String(r.headers['content-type']), /application\/json/);
      assert.equal(typeof r.json().message, 'string');
      assert.ok(r.json().message.length > 0);
    }
  });

  it('create: malformed JSON 400, unknown image 404, bad restart policy 400, none created', T, async () => {
    const before = await containerCount();
    const bad = await d.api.request({
      method: 'POST',
      path: '/containers/create',
      raw: '{"Image": "busybox", ',
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(typeof bad.json().message, 'string');
    const arr = await d.api.request({ method: 'POST', path: '/containers/create', raw: '[1,2]', headers: { 'Content-Type': 'application/json' } });
    assert.equal(arr.status, 400, arr.text);
    const img = await d.api.post('/containers/create', { Image: 'nope-no-such:latest', Cmd: ['true'] });
    assert.equal(img.status, 404, img.text);
    assert.equal(img.json().message, 'No such image: nope-no-such:latest');
    const rp = await d.api.post('/containers/create', { Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'bogus' } } });
    assert.equal(rp.status, 400, rp.text);
    // dockerd 20.10's messages.
    assert.equal(rp.json().message, "invalid restart policy 'bogus'");
    for (const [policy, message] of [
      [{ Name: 'always', MaximumRetryCount: 2 }, "maximum retry count cannot be used with restart policy 'always'"],
      [{ Name: 'unless-stopped', MaximumRetryCount: 1 }, "maximum retry count cannot be used with restart policy 'unless-stopped'"],
      [{ Name: 'no', MaximumRetryCount: 1 }, "maximum retry count cannot be used with restart policy 'no'"],
      [{ Name: 'on-failure', MaximumRetryCount: -1 }, 'maximum retry count cannot be negative'],
    ] as const) {
      const r = await d.api.post('/containers/create', { Image: 'busybox', HostConfig: { RestartPolicy: policy } });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json().message, message, JSON.stringify(policy));
    }
    const mem = await d.api.post('/containers/create', { Image: 'busybox', HostConfig: { Memory: 1024 } });
    assert.equal(mem.status, 400, mem.text);
    assert.match(mem.json().message, /Minimum memory limit allowed is 6MB/);
    const name = await d.api.post('/containers/create?name=bad/name', { Image: 'busybox' });
    assert.equal(name.status, 400, name.text);
    assert.equal(await containerCount(), before, 'no container was created by a refused request');
  });

  it('unknown container is 404 with Docker message', T, async () => {
    for (const [m, p] of [
      ['GET', '/containers/x/json'],
      ['POST', '/containers/x/start'],
      ['POST', '/containers/x/kill'],
      ['DELETE', '/containers/x'],
      ['GET', '/containers/x/logs?stdout=1'],
    ] as const) {
      const r = await d.api.request({ method: m, path: p });
      assert.equal(r.status, 404, `${m} ${p}: ${r.text}`);
      assert.equal(r.json().message, 'No such container: x');
    }
  });

  it('state conflicts: kill stopped 409, stop stopped 304, start running 304, wait', T, async () => {
    const id = await apiRun({ Cmd: ['sh', '-c', 'exit 4'] });
    const w = await d.api.post(`/containers/${id}/wait`);
    assert.equal(w.status, 200);
    const wb = w.json();
    assert.equal(wb.StatusCode, 4);
    assert.ok(wb.Error === null || wb.Error === undefined, w.text);
    const k = await d.api.post(`/containers/${id}/kill`);
    assert.equal(k.status, 409);
    assert.match(k.json().message, new RegExp(`^Cannot kill container: ${id}: [Cc]ontainer ${id} is not running$`));
    const s = await d.api.post(`/containers/${id}/stop`);
    assert.equal(s.status, 304);
    assert.equal(s.text, '');
    const p = await d.api.post(`/containers/${id}/pause`);
    assert.equal(p.status, 409, p.text);
    const r = await apiRun({ Cmd: ['sleep', '300'] });
    const again = await d.api.post(`/containers/${r}/start`);
    assert.equal(again.status, 304);
    const badSig = await d.api.post(`/containers/${r}/kill?signal=NOPE`);
    assert.equal(badSig.status, 400, badSig.text);
    const u = await d.api.post(`/containers/${r}/unpause`);
    assert.equal(u.status, 409, u.text);
    assert.equal((await d.api.delete(`/containers/${r}?force=1`)).status, 204);
    assert.equal((await d.api.delete(`/containers/${id}`)).status, 204);
  });

  it('logs: 8-byte frame headers, stream 1 and 2; raw for TTY', T, async () => {
    const id = await apiRun({ Cmd: ['sh', '-c', 'echo out; echo err >&2; sleep 0.3; echo out2'] });
    assert.equal((await d.api.post(`/containers/${id}/wait`)).json().StatusCode, 0);
    const r = await d.api.get(`/containers/${id}/logs?stdout=1&stderr=1`);
    assert.equal(r.status, 200);
    const frames = demux(r.body);
    assert.deepEqual(
      frames
        .filter((f) => f.stream === 1)
        .map((f) => f.data)
        .join(''),
      'out\nout2\n',
    );
    assert.deepEqual(
      frames.filter((f) => f.stream === 2).map((f) => f.data),
      ['err\n'],
    );
    assert.ok(frames.every((f) => f.stream === 1 || f.stream === 2));
    const onlyErr = demux((await d.api.get(`/containers/${id}/logs?stderr=1`)).body);
    assert.deepEqual(onlyErr, [{ stream: 2, data: 'err\n' }]);
    const none = await d.api.get(`/containers/${id}/logs`);
    assert.equal(none.status, 400);
    const ts = demux((await d.api.get(`/containers/${id}/logs?stdout=1&timestamps=1&tail=1`)).body);
    assert.equal(ts.length, 1);
    assert.match(ts[0]?.data ?? '', /^\d{4}-\d\d-\d\dT[\d:.]+Z out2\n$/);

    const tty = await apiRun({ Cmd: ['echo', 'hi'], Tty: true });
    await d.api.post(`/containers/${tty}/wait`);
    const raw = await d.api.get(`/containers/${tty}/logs?stdout=1&stderr=1`);
    assert.equal(raw.text, 'hi\r\n', 'TTY logs are raw, not framed');
  });

  it('import with changes (API), and through both CLIs; the imported image runs', T, async () => {
    // A tar built here, with CMD and ENV changes.
    const tiny = await makeTar([
      { name: 'hello.txt', body: 'hello\n' },
      { name: 'sub', type: 'directory' },
      { name: 'sub/x', body: '#!/bin/sh\n' },
    ]);
    const q = new URLSearchParams({ fromSrc: '-', repo: 'tiny', tag: 'v1', message: 'from a test' });
    q.append('changes', 'CMD ["x"]');
    q.append('changes', 'ENV A=b');
    const r = await d.api.request({ method: 'POST', path: `/images/create?${q}`, raw: tiny, headers: { 'Content-Type': 'application/x-tar' } });
    assert.equal(r.status, 200, r.text);
    const status = lines(r.text).map((l) => JSON.parse(l) as { status?: string; error?: string });
    assert.ok(!status.some((s) => s.error), r.text);
    const imported = status.at(-1)?.status ?? '';
    assert.match(imported, /^sha256:[0-9a-f]{64}$/);
    const ii = (await d.api.get('/images/tiny:v1/json')).json();
    assert.equal(ii.Id, imported);
    assert.deepEqual(ii.Config.Cmd, ['x']);
    assert.ok(ii.Config.Env.includes('A=b'));
    assert.deepEqual(ii.RepoTags, ['tiny:v1']);
    assert.equal(ii.Comment, 'from a test');
    assert.equal(ii.RootFS.Layers.length, 1);

    // A tar that escapes with .. is refused and writes nothing outside.
    const evil = await makeTar([{ name: '../../../escape-berth-test', body: 'x' }]);
    const er = await d.api.request({ method: 'POST', path: '/images/create?fromSrc=-&repo=evil', raw: evil });
    assert.ok(er.status >= 400 || /error/.test(er.text), `escaping tar refused: ${er.status} ${er.text}`);
    const found = spawnSync('find', [d.root, '/tmp', '-maxdepth', '6', '-name', 'escape-berth-test'], { encoding: 'utf8' });
    assert.equal(found.stdout.trim(), '', 'nothing written by the escaping entry');
    assert.equal((await d.api.get('/images/evil/json')).status, 404);

    // A runnable image: export a busybox container, import it through each CLI.
    const src = (await d.api.post('/containers/create', { Image: 'busybox', Cmd: ['true'] })).json().Id as string;
    const tarFile = path.join(d.root, 'busybox-export.tar');
    ok(await d.berth(['export', '-o', tarFile, src]));
    for (const cli of CLIS) {
      if (cli === 'docker' && !HAVE_DOCKER) continue;
      const ref = `imported-${cli}:v1`;
      const out = ok(await d.cli(cli, ['import', '-c', 'CMD ["echo", "from-import"]', '-c', 'WORKDIR /tmp', tarFile, ref]));
      assert.match(out, /^sha256:[0-9a-f]{64}$/);
      assert.equal(ok(await d.cli(cli, ['image', 'inspect', '-f', '{{json .Config.Cmd}} {{.Config.WorkingDir}}', ref])), '["echo","from-import"] /tmp');
      assert.equal(ok(await d.cli(cli, ['run', '--rm', ref])), 'from-import');
      assert.equal(ok(await d.cli(cli, ['run', '--rm', ref, 'pwd'])), '/tmp');
      // From stdin.
      const stdinRef = `imported-stdin-${cli}:v1`;
      ok(await d.cli(cli, ['import', '-', stdinRef], { input: fs.readFileSync(tarFile) }));
      assert.equal(ok(await d.cli(cli, ['run', '--rm', stdinRef, 'echo', 'ok'])), 'ok');
    }
    await d.api.delete(`/containers/${src}`);
  });

  for (const cli of CLIS) {
    const skip = cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false;
    it(`images, tag, rmi via ${cli}`, { ...T, skip }, async () => {
      const x = (args: string[], o?: RunOptions) => d.cli(cli, args, o);
      const base = `rmi-${cli}`;
      ok(await x(['tag', 'busybox', `${base}:a`]));
      ok(await x(['tag', `${base}:a`, `${base}:b`]));
      const bbId = ok(await x(['image', 'inspect', '-f', '{{.Id}}', 'busybox']));
      const all = lines(ok(await x(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])));
      for (const t of ['busybox:latest', `${base}:a`, `${base}:b`]) assert.ok(all.includes(`${t} ${bbId.slice(7, 19)}`), all.join('\n'));
      assert.deepEqual(new Set(lines(ok(await x(['images', '-q', '--no-trunc', `${base}:a`])))), new Set([bbId]));
      const json = lines(ok(await x(['images', '--format', 'json']))).map((l) => JSON.parse(l) as Record<string, string>);
      assert.ok(
        json.some((j) => j['Repository'] === base && j['Tag'] === 'a' && j['ID'] === bbId.slice(7, 19)),
        JSON.stringify(json),
      );
      // rmi of one of several tags only untags.
      assert.equal(ok(await x(['rmi', `${base}:b`])), `Untagged: ${base}:b`);
      assert.equal((await d.api.get(`/images/${base}:b/json`)).status, 404);
      assert.equal((await d.api.get(`/images/${base}:a/json`)).status, 200);

      // An image used by a container: 409 unless -f.
      const imp = `rmi-imp-${cli}:v1`;
      const tarFile = path.join(d.root, `rmi-${cli}.tar`);
      fs.writeFileSync(tarFile, await makeTar([{ name: 'f', body: 'x' }]));
      const impId = ok(await x(['import', tarFile, imp]));
      const c = ok(await x(['create', imp, '/f']));
      const refused = await x(['rmi', imp]);
      exits(refused, 1);
      assert.match(
        refused.stderr,
        new RegExp(
          `conflict: unable to remove repository reference "${imp}" \\(must force\\) - container ${c.slice(0, 12)} is using its referenced image ${impId.slice(7, 19)}`,
        ),
        refused.desc,
      );
      const apiRefused = await d.api.delete(`/images/${imp}`);
      assert.equal(apiRefused.status, 409);
      assert.equal((await d.api.get(`/images/${imp}/json`)).status, 200, 'still there');
      const forced = lines(ok(await x(['rmi', '-f', imp])));
      assert.ok(forced.includes(`Untagged: ${imp}`), forced.join('\n'));
      assert.ok(forced.includes(`Deleted: ${impId}`), forced.join('\n'));
      assert.equal((await d.api.get(`/images/${imp}/json`)).status, 404);
      ok(await x(['rm', c]));

      // Deleting an image by ID with one tag left deletes it.
      const imp2 = `rmi-imp2-${cli}:v1`;
      const id2 = ok(await x(['import', tarFile, imp2]));
      const del = lines(ok(await x(['rmi', id2.slice(7, 19)])));
      assert.ok(del.includes(`Untagged: ${imp2}`), del.join('\n'));
      assert.ok(del.includes(`Deleted: ${id2}`), del.join('\n'));
      const missing = await x(['rmi', 'no-such-image-x']);
      exits(missing, 1);
      assert.match(missing.stderr, /No such image: no-such-image-x/);
      ok(await x(['rmi', `${base}:a`]));
      assert.equal((await d.api.get('/images/busybox/json')).status, 200, 'busybox itself untouched');
    });
  }

  for (const cli of CLIS) {
    const skip = cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false;
    it(`images REPO lists only that repository's tags via ${cli}`, { ...T, skip }, async () => {
      const x = (args: string[]) => d.cli(cli, args);
      const base = `ref-${cli}`;
      ok(await x(['tag', 'busybox', `${base}:a`]));
      ok(await x(['tag', 'busybox', `${base}:b`]));
      try {
        const id = ok(await x(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).slice(7, 19);
        const listed = lines(ok(await x(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', base])));
        assert.deepEqual(listed.sort(), [`${base}:a ${id}`, `${base}:b ${id}`]);
        const r = (await d.api.get(`/images/json?filters=${encodeURIComponent(JSON.stringify({ reference: { [base]: true } }))}`)).json();
        assert.equal(r.length, 1);
        assert.deepEqual([...r[0].RepoTags].sort(), [`${base}:a`, `${base}:b`], 'RepoTags holds only the tags that match the reference filter');
      } finally {
        await x(['rmi', `${base}:a`, `${base}:b`]);
      }
    });
  }

  it('two daemons side by side see only their own containers', T, async () => {
    const d2 = await TestDaemon.start();
    try {
      const a = await apiRun({ Cmd: ['sleep', '300'] }, 'side-a');
      const r = await d2.api.post('/containers/create?name=side-b', { Image: 'busybox', Cmd: ['sleep', '300'] });
      assert.equal(r.status, 201, r.text);
      const b = r.json().Id as string;
      assert.equal((await d2.api.post(`/containers/${b}/start`)).status, 204);
      const ids1 = (await d.api.get('/containers/json?all=1')).json<{ Id: string }[]>().map((c) => c.Id);
      const ids2 = (await d2.api.get('/containers/json?all=1')).json<{ Id: string }[]>().map((c) => c.Id);
      assert.ok(ids1.includes(a) && !ids1.includes(b));
      assert.deepEqual(ids2, [b]);
      assert.equal((await d.api.get('/containers/side-b/json')).status, 404);
      assert.equal((await d2.api.get('/containers/side-a/json')).status, 404);
      // Their cgroups live under their own parents.
      assert.ok(fs.existsSync(d.cgroupFile('memory', a, 'cgroup.procs')) || fs.existsSync(d.cgroupFile('pids', a, 'cgroup.procs')));
      assert.ok(fs.existsSync(d2.cgroupFile('pids', b, 'cgroup.procs')));
      if (HAVE_DOCKER) {
        assert.deepEqual(lines(ok(await d2.docker(['ps', '-q', '--no-trunc']))), [b]);
      }
      assert.deepEqual(lines(ok(await d2.berth(['ps', '-aq', '--no-trunc']))), [b]);
      assert.equal((await d.api.delete(`/containers/${a}?force=1`)).status, 204);
    } finally {
      await cleanupAndCheck(d2);
    }
    assert.ok(!fs.existsSync(d2.root), 'second daemon root removed');
  });

  it('survives a burst of bad requests', T, async () => {
    const before = await containerCount();
    const raw = (data: string | Buffer, end = true) =>
      new Promise<void>((resolve) => {
        const s = net.connect(d.socket);
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.on('connect', () => {
          s.write(data);
          if (end) s.end();
          else setTimeout(() => s.destroy(), 50);
        });
        s.on('data', () => undefined);
        s.setTimeout(5000, () => s.destroy());
      });
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      jobs.push(raw('GARBAGE\r\n\r\n'));
      jobs.push(raw(Buffer.from([0, 1, 2, 3, 255, 254, 10, 13, 10, 13])));
      jobs.push(raw('POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"Image":', false));
      jobs.push(raw(`GET /${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
      jobs.push(d.api.request({ method: 'POST', path: '/containers/create', raw: '{{{{' }).catch(() => undefined));
      jobs.push(d.api.request({ method: 'POST', path: '/containers/create', body: { Image: 12, Cmd: 'x', HostConfig: 'no' } }).catch(() => undefined));
      jobs.push(
        d.api
          .request({ method: 'POST', path: '/containers/create', body: { Image: 'busybox', HostConfig: { Memory: -5, CpuShares: 'x' } } })
          .catch(() => undefined),
      );
      jobs.push(d.api.request({ method: 'POST', path: '/images/create?fromSrc=-&repo=junk', raw: 'this is not a tar' }).catch(() => undefined));
      jobs.push(d.api.request({ method: 'DELETE', path: '/images/%2e%2e%2f%2e%2e' }).catch(() => undefined));
      jobs.push(d.api.request({ method: 'GET', path: '/containers/json?filters=%7Bnot-json' }).catch(() => undefined));
      jobs.push(d.api.request({ method: 'POST', path: '/containers/%00/start' }).catch(() => undefined));
      jobs.push(d.api.request({ method: 'PUT', path: '/containers/x/archive?path=/', raw: 'junk' }).catch(() => undefined));
    }
    await Promise.all(jobs);
    assert.ok(await d.api.ping(), 'still answers /_ping');
    const list = await d.api.get('/containers/json?all=1');
    assert.equal(list.status, 200);
    const after = list.json<{ Image: string }[]>();
    assert.ok(after.length >= before && after.length <= before + 20, `${after.length} containers`);
    assert.ok(d.proc && d.proc.exitCode === null, 'berthd did not exit');
    // Bad filters JSON is a 400.
    const f = await d.api.get('/containers/json?filters=%7Bnot-json');
    assert.equal(f.status, 400, f.text);
    assert.equal((await d.api.get('/images/junk/json')).status, 404, 'a non-tar import created no image');
    // Clean the containers the valid-but-odd creates may have made.
    await waitFor(
      async () => {
        const l = (await d.api.get('/containers/json?all=1')).json<{ Id: string }[]>();
        await Promise.all(l.map((c) => d.api.delete(`/containers/${c.Id}?force=1`)));
        return (await containerCount()) === 0;
      },
      { timeout: 20_000, what: 'containers cleaned' },
    );
    // And it still runs containers.
    const id = await apiRun({ Cmd: ['true'] });
    assert.match(id, HEX64);
    assert.equal((await d.api.post(`/containers/${id}/wait`)).json().StatusCode, 0);
  });
});

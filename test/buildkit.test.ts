/**
 * BuildKit's API (`/grpc`, `/session`) driven by the real client: buildx v0.10.5
 * (../shared/tools/buildx/docker-buildx) as a docker CLI plugin, with its default "docker"
 * driver against a fresh berthd. The tests fail, not skip, when buildx or the docker CLI is missing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestDaemon, cleanupAndCheck } from './helpers/daemon.js';
import { ok } from './helpers/assert.js';
import { installBuildx, writeContext, type BuildxRunner } from './helpers/buildx.js';

let d: TestDaemon;
/** The docker CLI with buildx installed. */
let bx: BuildxRunner;
const workRoot = fs.mkdtempSync('/tmp/berth-buildkit-test-');

before(async () => {
  d = await TestDaemon.start();
  bx = installBuildx(d, path.join(d.root, 'buildx-config'));
});

after(async () => {
  fs.rmSync(workRoot, { recursive: true, force: true });
  await cleanupAndCheck(d);
});

const T = { timeout: 300_000 };

const context = (name: string, files: Record<string, string>): string => writeContext(workRoot, name, files);

interface CacheEntry {
  ID: string;
  Size: number;
}

describe('buildx against berthd (docker driver)', () => {
  it('buildx is installed as a CLI plugin', T, async () => {
    assert.match(ok(await bx(['buildx', 'version'])), /v0\.10\.5/);
  });

  it('buildx ls and inspect: the default builder runs, with the host platform', T, async () => {
    const ls = ok(await bx(['buildx', 'ls']));
    assert.match(ls, /^default \* +docker/m, ls);
    assert.match(ls, /^ {2}default +default +running +0\.1\.0 +linux\/amd64\s*$/m, ls);
    const inspect = ok(await bx(['buildx', 'inspect']));
    assert.match(inspect, /^Driver: +docker$/m, inspect);
    assert.match(inspect, /^Status: +running$/m, inspect);
    assert.match(inspect, /^Platforms: +linux\/amd64$/m, inspect);
  });

  it('buildx du shows the build cache /system/df shows, and buildx prune removes it', T, async () => {
    const ctx = context('du', { Dockerfile: 'FROM busybox\nRUN echo one > /one\nRUN echo two > /two\nCMD ["true"]\n' });
    ok(await d.docker(['build', '-q', '-t', 'bk-du', ctx], { env: { DOCKER_BUILDKIT: '0' }, timeout: 120_000 }));
    // The step images stay as build cache once the tag goes (--no-prune keeps its parents).
    ok(await d.docker(['rmi', '--no-prune', 'bk-du']));
    const df = (await d.api.request({ path: '/system/df' })).json<{ BuildCache: CacheEntry[] }>();
    assert.ok(df.BuildCache.length >= 2, JSON.stringify(df.BuildCache));
    const du = ok(await bx(['buildx', 'du', '--verbose']));
    for (const e of df.BuildCache) assert.match(du, new RegExp(`^ID:\\s+${e.ID}$`, 'm'), du);
    assert.match(du, /^Description:\s+\/bin\/sh -c echo two > \/two$/m, du);
    const total = df.BuildCache.reduce((n, e) => n + e.Size, 0);
    assert.match(ok(await bx(['buildx', 'du'])), new RegExp(`^Total:\\s+${total}B$`, 'm'));

    const pruned = ok(await bx(['buildx', 'prune', '-f']));
    assert.match(pruned, new RegExp(`^Total:\\s+${total}B$`, 'm'), pruned);
    const after = (await d.api.request({ path: '/system/df' })).json<{ BuildCache: CacheEntry[] }>();
    assert.deepEqual(after.BuildCache, []);
    assert.match(ok(await bx(['buildx', 'du'])), /^Total:\s+0B$/m);
  });

  it('buildx build --load: the image the classic builder makes (same ID), .dockerignore applied by the client, --iidfile', T, async () => {
    const ctx = context('same', {
      Dockerfile: 'FROM busybox\nARG WHO=nobody\nCOPY . /ctx\nRUN ls -A /ctx > /list && echo "hello $WHO" > /greeting\nCMD ["cat", "/greeting"]\n',
      '.dockerignore': 'secret.txt\n*.log\n',
      'a.txt': 'alpha\n',
      'dir/b.txt': 'beta\n',
      'secret.txt': 'do not send\n',
      'debug.log': 'noise\n',
    });
    fs.chmodSync(path.join(ctx, 'a.txt'), 0o640);
    const iid = path.join(workRoot, 'same.iid');
    const r = await bx(['buildx', 'build', '--no-cache', '--progress', 'plain', '--iidfile', iid, '--build-arg', 'WHO=buildx', '-t', 'bk-same:bx', ctx]);
    ok(r);
    assert.match(r.stderr, /#\d+ \[internal\] load build definition from Dockerfile/, r.stderr);
    assert.match(r.stderr, /#\d+ \[\d+\/\d+\] RUN ls -A \/ctx > \/list/, r.stderr);
    assert.match(r.stderr, /#\d+ naming to bk-same:bx/, r.stderr);
    const id = fs.readFileSync(iid, 'utf8').trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(ok(await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'bk-same:bx'])), id);
    const list = ok(await d.docker(['run', '--rm', '--network', 'none', 'bk-same:bx', 'cat', '/list'])).split('\n');
    assert.deepEqual(list, ['.dockerignore', 'Dockerfile', 'a.txt', 'dir']);
    assert.equal(ok(await d.docker(['run', '--rm', '--network', 'none', 'bk-same:bx'])), 'hello buildx');
    // the classic builder, from nothing, gives the same ID (reproducible IDs on both paths)
    const classic = ok(
      await d.docker(['build', '-q', '--no-cache', '--build-arg', 'WHO=buildx', '-t', 'bk-same:classic', ctx], {
        env: { DOCKER_BUILDKIT: '0' },
        timeout: 120_000,
      }),
    );
    assert.equal(classic, id);
  });

  it('buildx build --target and --build-arg pick the stage and its arguments', T, async () => {
    const ctx = context('target', {
      Dockerfile: [
        'FROM busybox AS base',
        'ARG FLAVOUR=plain',
        'RUN echo "$FLAVOUR" > /flavour',
        'FROM base AS extra',
        'RUN echo extra > /extra',
        'FROM busybox',
        'COPY --from=extra /extra /extra',
        '',
      ].join('\n'),
    });
    ok(await bx(['buildx', 'build', '--target', 'base', '--build-arg', 'FLAVOUR=mint', '-t', 'bk-target', ctx]));
    assert.equal(ok(await d.docker(['run', '--rm', '--network', 'none', 'bk-target', 'cat', '/flavour'])), 'mint');
    const r = await d.docker(['run', '--rm', '--network', 'none', 'bk-target', 'ls', '/extra']);
    assert.notEqual(r.code, 0, 'the extra stage was not built into the target');
  });

  it('# syntax= naming the standard frontend builds with the built-in one; another frontend is refused clearly', T, async () => {
    const std = context('syntax-std', { Dockerfile: '# syntax=docker/dockerfile:1.4\nFROM busybox\nRUN echo std > /std\n' });
    ok(await bx(['buildx', 'build', '--progress', 'plain', '-t', 'bk-syntax', std]));
    assert.equal(ok(await d.docker(['run', '--rm', '--network', 'none', 'bk-syntax', 'cat', '/std'])), 'std');
    const other = context('syntax-other', { Dockerfile: '# syntax=example.com/frontends/custom:1\nFROM busybox\n' });
    const r = await bx(['buildx', 'build', '--progress', 'plain', '-t', 'bk-syntax-other', other]);
    assert.equal(r.code, 1, r.desc);
    assert.match(r.stderr, /ERROR: failed to solve: frontend image example\.com\/frontends\/custom:1 \(# syntax=\) is not supported/, r.stderr);
    assert.equal((await d.docker(['image', 'inspect', 'bk-syntax-other'])).code, 1, 'nothing tagged');
  });

  it('--platform: the host platform builds, another is refused with a clear message', T, async () => {
    const ctx = context('platform', { Dockerfile: 'FROM busybox\nRUN echo host > /p\n' });
    ok(await bx(['buildx', 'build', '--progress', 'plain', '--platform', 'linux/amd64', '-t', 'bk-platform', ctx]));
    assert.equal(ok(await d.docker(['run', '--rm', '--network', 'none', 'bk-platform', 'cat', '/p'])), 'host');
    const r = await bx(['buildx', 'build', '--progress', 'plain', '--platform', 'linux/arm64', '-t', 'bk-platform-arm', ctx]);
    assert.equal(r.code, 1, r.desc);
    assert.match(r.stderr, /platform linux\/arm64 is not supported: Berth builds for the host platform \(linux\/amd64\)/, r.stderr);
  });

  it("a failing RUN: the CLI fails with BuildKit's message and the step's output", T, async () => {
    const ctx = context('fail', { Dockerfile: 'FROM busybox\nRUN echo before-failing && exit 3\n' });
    const r = await bx(['buildx', 'build', '--progress', 'plain', '-t', 'bk-fail', ctx]);
    assert.equal(r.code, 1, r.desc);
    assert.match(r.stderr, /before-failing/, r.stderr);
    assert.match(
      r.stderr,
      /ERROR: failed to solve: process "\/bin\/sh -c echo before-failing && exit 3" did not complete successfully: exit code: 3/,
      r.stderr,
    );
    const missing = await bx(['buildx', 'build', '--progress', 'plain', '-t', 'bk-fail', context('nofile', { Dockerfile: 'FROM busybox\nCOPY nothere /x\n' })]);
    assert.equal(missing.code, 1, missing.desc);
    // dockerd 20.10's BuildKit: failed to compute cache key: "/nothere" not found: not found
    assert.match(missing.stderr, /ERROR: failed to solve: failed to compute cache key: "\/nothere" not found: not found/, missing.stderr);
    const bad = await bx(['buildx', 'build', '--progress', 'plain', '-t', 'bk-fail', context('badline', { Dockerfile: 'FROM busybox\nRUN true\nFOO bar\n' })]);
    assert.equal(bad.code, 1, bad.desc);
    // dockerd 20.10's BuildKit: failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 3: unknown instruction: FOO
    assert.match(bad.stderr, /ERROR: failed to solve: .*dockerfile parse error line 3: unknown instruction: FOO/, bad.stderr);
  });

  it('docker build with buildx installed is a BuildKit build (/_ping says Builder-Version: 2)', T, async () => {
    const ping = await d.api.request({ path: '/_ping' });
    assert.equal(ping.headers['builder-version'], '2');
    const ctx = context('plain-build', { Dockerfile: 'FROM busybox\nRUN echo via-buildkit > /how\n' });
    const r = await bx(['build', '--progress', 'plain', '-t', 'bk-plain', ctx]);
    ok(r);
    assert.match(r.stderr, /#\d+ \[internal\] load build context/, r.stderr);
    assert.equal(ok(await d.docker(['run', '--rm', '--network', 'none', 'bk-plain', 'cat', '/how'])), 'via-buildkit');
  });

  it('a plain request to /grpc or /session is refused, not hijacked', T, async () => {
    for (const p of ['/grpc', '/session']) {
      const r = await d.api.request({ method: 'POST', path: p });
      assert.equal(r.status, 400, `${p}: ${r.status} ${r.text}`);
    }
  });
});

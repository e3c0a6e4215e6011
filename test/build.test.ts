/**
 * The builder through both CLIs (docker with the classic builder, DOCKER_BUILDKIT=0, and berth):
 * every instruction, multi-stage with --target, the layer cache and .dockerignore, build args,
 * heredocs, failing steps, parse errors, stdin contexts and reproducible image IDs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { CLIS, HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, type RunOptions } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { exits, fails, ok } from './helpers/assert.js';
import { writeContext } from './helpers/buildx.js';

let d: TestDaemon;
let server: http.Server;
let serverUrl = '';
const workRoot = fs.mkdtempSync('/tmp/berth-build-test-');

before(async () => {
  d = await TestDaemon.start();
  // A loopback HTTP server for ADD <url>.
  server = http.createServer((req, res) => {
    if (req.url === '/remote.txt') {
      res.writeHead(200, { 'Last-Modified': 'Wed, 01 Jan 2020 00:00:00 GMT' });
      res.end('from the web\n');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.close();
  fs.rmSync(workRoot, { recursive: true, force: true });
  await cleanupAndCheck(d);
});

const T = { timeout: 300_000 };

/** Writes a context directory from a map of relative path → content. */
const context = (name: string, files: Record<string, string>): string => writeContext(workRoot, name, files);

const steps = (out: string): string[] => out.split('\n').filter((l) => l.startsWith('Step '));
const cacheHits = (out: string): number => out.split('\n').filter((l) => l.includes('---> Using cache')).length;

for (const cli of CLIS) {
  const skip = cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false;
  describe(`build via ${cli}`, { skip }, () => {
    const env = { DOCKER_BUILDKIT: '0' };
    const x = (args: string[], o: RunOptions = {}) => d.cli(cli, args, { timeout: 240_000, ...o, env: { ...env, ...o.env } });
    const tag = cli;

    it('every instruction lands in the image config and filesystem', T, async () => {
      // A tar for ADD to unpack.
      const tarSrc = context(`tarsrc-${tag}`, { 'inner/t.txt': 'from the tar\n' });
      const ctx = context(`all-${tag}`, {
        'a.txt': 'alpha\n',
        'dir/b.txt': 'beta\n',
        'dir/sub/c.txt': 'gamma\n',
        Dockerfile: [
          '# syntax=docker/dockerfile:1',
          'ARG BASE=busybox',
          'FROM ${BASE} AS base',
          'MAINTAINER someone@example.com',
          'ARG WHO=world',
          'ARG URL',
          'ENV GREETING="hello ${WHO}" EMPTY=',
          'ENV LEGACY value with spaces',
          'LABEL org.example.name="the ${WHO}" other=x',
          'WORKDIR /app',
          'WORKDIR sub',
          'COPY a.txt ./',
          'COPY --chown=1000:1000 --chmod=640 dir/ /data/',
          'ADD t.tar /unpacked/',
          `ADD ${'${URL}'}/remote.txt /web/`,
          'RUN echo "$GREETING" > /app/sub/greeting && \\',
          '    echo "who=$WHO" >> /app/sub/greeting',
          'RUN ["sh", "-c", "echo exec-form > /app/sub/exec"]',
          'SHELL ["/bin/sh", "-ec"]',
          'RUN echo shell-changed > /app/sub/shell',
          'USER 1000:1000',
          'EXPOSE 8080 9000-9001/udp',
          'VOLUME ["/vol"]',
          'STOPSIGNAL SIGUSR1',
          'HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD true',
          'ONBUILD RUN echo triggered > /tmp/onbuild',
          'ENTRYPOINT ["sh", "-c"]',
          'CMD ["cat /app/sub/greeting"]',
        ].join('\n'),
      });
      const tarFile = path.join(ctx, 't.tar');
      assert.equal(spawnSync('tar', ['-C', tarSrc, '-cf', tarFile, 'inner']).status, 0);
      const image = `allinst-${tag}:1`;
      const r = await x(['build', '-t', image, '--build-arg', 'WHO=berth', '--build-arg', `URL=${serverUrl}`, '--label', 'from-cli=yes', ctx]);
      ok(r);
      assert.match(r.stdout, /Successfully built [0-9a-f]{12}/, r.desc);
      assert.match(r.stdout, new RegExp(`Successfully tagged ${image.replace(/[.:]/g, '\\$&')}`), r.desc);
      assert.equal(steps(r.stdout).length, 25, r.desc);
      assert.match(r.stdout, /Step 1\/25 : FROM \$\{BASE\} AS base/, r.desc);

      const img = (await d.api.get(`/images/${image}/json`)).json();
      const c = img.Config;
      assert.ok(c.Env.includes('GREETING=hello berth'), JSON.stringify(c.Env));
      assert.ok(c.Env.includes('EMPTY='), JSON.stringify(c.Env));
      assert.ok(c.Env.includes('LEGACY=value with spaces'), JSON.stringify(c.Env));
      assert.ok(!c.Env.some((e: string) => e.startsWith('WHO=')), 'build args never reach the image');
      assert.deepEqual(c.Labels, { 'org.example.name': 'the berth', other: 'x', 'from-cli': 'yes' });
      assert.equal(c.WorkingDir, '/app/sub');
      assert.equal(c.User, '1000:1000');
      assert.deepEqual(Object.keys(c.ExposedPorts).sort(), ['8080/tcp', '9000/udp', '9001/udp']);
      assert.deepEqual(c.Volumes, { '/vol': {} });
      assert.equal(c.StopSignal, 'SIGUSR1');
      assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Timeout: 2e9, Retries: 4 });
      assert.deepEqual(c.OnBuild, ['RUN echo triggered > /tmp/onbuild']);
      assert.deepEqual(c.Shell, ['/bin/sh', '-ec']);
      assert.deepEqual(c.Entrypoint, ['sh', '-c']);
      assert.deepEqual(c.Cmd, ['cat /app/sub/greeting']);
      assert.equal(img.Author, 'someone@example.com');

      // The filesystem, read by running the image.
      const out = ok(
        await x([
          'run',
          '--rm',
          '-u',
          '0',
          image,
          [
            'cat /app/sub/greeting /app/sub/a.txt /app/sub/exec /app/sub/shell /unpacked/inner/t.txt /web/remote.txt',
            'stat -c "%u:%g %a %n" /data/b.txt /data/sub/c.txt',
            'cat /data/sub/c.txt',
          ].join(' && '),
        ]),
      );
      assert.equal(
        out,
        [
          'hello berth',
          'who=berth',
          'alpha',
          'exec-form',
          'shell-changed',
          'from the tar',
          'from the web',
          '1000:1000 640 /data/b.txt',
          '1000:1000 640 /data/sub/c.txt',
          'gamma',
        ].join('\n'),
      );
      assert.equal(ok(await x(['run', '--rm', image])), 'hello berth\nwho=berth');

      // ONBUILD triggers run in a child build, and are not inherited further.
      const child = context(`onbuild-${tag}`, { Dockerfile: `FROM ${image}\nRUN cat /tmp/onbuild\n` });
      const rc = await x(['build', '-t', `onbuild-child-${tag}`, child]);
      ok(rc);
      assert.match(rc.stdout, /Executing 1 build trigger/, rc.desc);
      assert.equal((await d.api.get(`/images/onbuild-child-${tag}/json`)).json().Config.OnBuild, null);
      ok(await x(['rmi', `onbuild-child-${tag}`, image]));
    });

    it('multi-stage with --target builds only the stages it needs; COPY --from a stage', T, async () => {
      const ctx = context(`ms-${tag}`, {
        Dockerfile: [
          'FROM busybox AS one',
          'RUN echo one > /one.txt',
          'FROM busybox AS unused',
          'RUN echo never-run-unused-stage > /x',
          'FROM busybox AS two',
          'COPY --from=one /one.txt /copied.txt',
          'RUN echo two >> /copied.txt',
          'FROM two AS final',
          'CMD ["cat", "/copied.txt"]',
        ].join('\n'),
      });
      const r = await x(['build', '-t', `ms-${tag}`, ctx]);
      ok(r);
      assert.doesNotMatch(r.stdout, /never-run-unused-stage/, r.desc);
      assert.equal(ok(await x(['run', '--rm', `ms-${tag}`])), 'one\ntwo');
      const t = await x(['build', '--target', 'one', '-t', `ms-one-${tag}`, ctx]);
      ok(t);
      assert.equal(steps(t.stdout).length, 2, t.desc);
      assert.equal(ok(await x(['run', '--rm', `ms-one-${tag}`, 'cat', '/one.txt'])), 'one');
      fails(await x(['build', '--target', 'nope', ctx]), 1, /target nope/);
      ok(await x(['rmi', `ms-${tag}`, `ms-one-${tag}`]));
    });

    it('the cache: hits when nothing changed, misses from a changed COPY on; .dockerignore keeps files out', T, async () => {
      const ctx = context(`cache-${tag}`, {
        'app.txt': `v1 ${tag}\n`,
        'notes.log': 'ignored\n',
        'keep/important.log': 'kept by an exception\n',
        '.dockerignore': '*.log\n**/*.log\n!keep/important.log\n',
        Dockerfile: 'FROM busybox\nRUN echo base > /base\nCOPY . /ctx/\nRUN ls -R /ctx > /listing\n',
      });
      const first = await x(['build', '-t', `cache-${tag}`, ctx]);
      ok(first);
      const listing = ok(await x(['run', '--rm', `cache-${tag}`, 'cat', '/listing']));
      assert.doesNotMatch(listing, /notes\.log/, 'an ignored file is not in the context');
      assert.match(listing, /important\.log/, 'an exception brings a file back');

      const again = await x(['build', '-t', `cache-${tag}`, ctx]);
      ok(again);
      assert.equal(cacheHits(again.stdout), 3, again.desc);

      // Changing an ignored file changes nothing.
      fs.writeFileSync(path.join(ctx, 'notes.log'), 'changed but ignored\n');
      const ignoredChange = await x(['build', ctx]);
      ok(ignoredChange);
      assert.equal(cacheHits(ignoredChange.stdout), 3, ignoredChange.desc);

      // Changing a copied file: the RUN before it is cached, COPY and what follows are not.
      // (content unique to this CLI's run: the cache is content-addressed and shared)
      fs.writeFileSync(path.join(ctx, 'app.txt'), `v2 ${tag}\n`);
      const changed = await x(['build', '-t', `cache-${tag}`, ctx]);
      ok(changed);
      assert.equal(cacheHits(changed.stdout), 1, changed.desc);
      assert.equal(ok(await x(['run', '--rm', `cache-${tag}`, 'cat', '/ctx/app.txt'])), `v2 ${tag}`);

      const nocache = await x(['build', '--no-cache', ctx]);
      ok(nocache);
      assert.equal(cacheHits(nocache.stdout), 0, nocache.desc);
      ok(await x(['rmi', `cache-${tag}`]));
    });

    it('heredocs in RUN and COPY', T, async () => {
      const ctx = context(`heredoc-${tag}`, {
        Dockerfile: [
          'FROM busybox',
          'ARG NAME=heredoc',
          'RUN <<EOF',
          'echo first > /h1',
          'echo second >> /h1',
          'EOF',
          'RUN cat <<EOT > /h2',
          'line for $NAME',
          'EOT',
          'COPY <<EOF /etc/copied.conf',
          'key=value',
          'EOF',
        ].join('\n'),
      });
      ok(await x(['build', '-t', `heredoc-${tag}`, ctx]));
      assert.equal(ok(await x(['run', '--rm', `heredoc-${tag}`, 'cat', '/h1', '/h2', '/etc/copied.conf'])), 'first\nsecond\nline for heredoc\nkey=value');
      ok(await x(['rmi', `heredoc-${tag}`]));
    });

    it('RUN --mount: cache directories persist across builds, bind from the context, tmpfs; nothing of them in the layer', T, async () => {
      const ctx = context(`mounts-${tag}`, {
        'input.txt': `bound ${tag}\n`,
        Dockerfile: [
          'FROM busybox',
          `RUN --mount=type=cache,target=/cache,id=c-${tag} echo run >> /cache/log && wc -l < /cache/log > /count`,
          'RUN --mount=type=bind,source=input.txt,target=/mnt/in/input.txt cat /mnt/in/input.txt > /copied',
          'RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /listed',
          'RUN --network=none true',
          'RUN mkdir -p /d/sub && touch /d/sub/a /d/keep',
          'RUN rm /d/keep && rm -rf /d/sub && mkdir /d/sub && touch /d/sub/b',
        ].join('\n'),
      });
      ok(await x(['build', '-t', `mounts-${tag}`, ctx]));
      ok(await x(['build', '--no-cache', '-t', `mounts-${tag}`, ctx]));
      assert.equal(ok(await x(['run', '--rm', `mounts-${tag}`, 'cat', '/count', '/copied', '/listed'])), `2\nbound ${tag}\nx`);
      // Deletions (whiteouts) and a directory replaced (opaque) in a RUN layer.
      assert.equal(ok(await x(['run', '--rm', `mounts-${tag}`, 'ls', '/d', '/d/sub'])), '/d:\nsub\n\n/d/sub:\nb');
      const ls = ok(await x(['run', '--rm', `mounts-${tag}`, 'sh', '-c', 'ls -d /cache /mnt /scratch 2>&1; true']));
      assert.doesNotMatch(ls, /^\/(cache|mnt|scratch)$/m, 'mount targets are not part of the image');
      ok(await x(['rmi', `mounts-${tag}`]));
    });

    it('a failing RUN stops the build with its exit code and message; parse errors name the line', T, async () => {
      const ctx = context(`fail-${tag}`, { Dockerfile: 'FROM busybox\nRUN echo before\nRUN exit 7\nRUN echo never\n' });
      const r = await x(['build', ctx]);
      exits(r, 7);
      assert.match(r.stderr + r.stdout, /The command '\/bin\/sh -c exit 7' returned a non-zero code: 7/, r.desc);
      assert.doesNotMatch(r.stdout, /never/, r.desc);

      const bad = context(`parse-${tag}`, { Dockerfile: 'FROM busybox\nRUN true\nFROBNICATE now\n' });
      const p = await x(['build', bad]);
      assert.notEqual(p.code, 0, p.desc);
      assert.match(p.stderr + p.stdout, /dockerfile parse error line 3: unknown instruction: FROBNICATE/, p.desc);

      const nostage = context(`nostage-${tag}`, { Dockerfile: 'RUN true\n' });
      assert.match((await x(['build', nostage])).stderr, /line 1/);
      const self = context(`self-${tag}`, { Dockerfile: 'FROM busybox AS me\nCOPY --from=me /bin/sh /sh2\n' });
      const sr = await x(['build', self]);
      assert.notEqual(sr.code, 0, sr.desc);
      assert.match(sr.stderr + sr.stdout, /circular dependency detected on stage: me/, sr.desc);
      const missing = context(`missing-${tag}`, { Dockerfile: 'FROM busybox\nCOPY nothere.txt /\n' });
      const m = await x(['build', missing]);
      assert.notEqual(m.code, 0, m.desc);
      assert.match(m.stderr + m.stdout, /nothere\.txt/, m.desc);
    });

    it('a Dockerfile on stdin; -q prints the ID; -f outside the context', T, async () => {
      const r = await x(['build', '-q', '-'], { input: 'FROM busybox\nLABEL stdin=yes\n' });
      const id = ok(r);
      assert.match(id, /^sha256:[0-9a-f]{64}$/, r.desc);
      assert.equal((await d.api.get(`/images/${id}/json`)).json().Config.Labels.stdin, 'yes');

      const ctx = context(`outside-${tag}`, { 'f.txt': 'outside dockerfile\n' });
      const dfDir = context(`outside-df-${tag}`, { 'Other.dockerfile': 'FROM busybox\nCOPY f.txt /f.txt\n' });
      ok(await x(['build', '-t', `outside-${tag}`, '-f', path.join(dfDir, 'Other.dockerfile'), ctx]));
      assert.equal(ok(await x(['run', '--rm', `outside-${tag}`, 'cat', '/f.txt'])), 'outside dockerfile');
      ok(await x(['rmi', `outside-${tag}`]));
    });
  });
}

describe('build secrets (berth --secret)', () => {
  it('a secret is readable in its RUN step and absent from the image', T, async () => {
    const secretFile = path.join(workRoot, 'token');
    fs.writeFileSync(secretFile, 's3cr3t-value');
    const ctx = context('secret', {
      Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=tok,required=true test "$(cat /run/secrets/tok)" = s3cr3t-value && echo seen > /seen\n',
    });
    ok(await d.berth(['build', '--no-cache', '-t', 'secret-img', '--secret', `id=tok,src=${secretFile}`, ctx], { timeout: 120_000 }));
    const inImage = ok(
      await d.berth(['run', '--rm', 'secret-img', 'sh', '-c', 'cat /seen; ls /run/secrets 2>/dev/null; find / -xdev -type f | xargs grep -l s3cr3t; true']),
    );
    assert.equal(inImage, 'seen', 'the step saw the secret; the image holds neither the file nor its content');
    const missing = await d.berth(['build', '--no-cache', ctx], { timeout: 120_000 });
    assert.notEqual(missing.code, 0, 'a required secret that is missing fails the step');
    assert.match(missing.stderr + missing.stdout, /secret tok/, missing.desc);
    ok(await d.berth(['rmi', 'secret-img']));
  });
});

describe("berth's own build view (--progress tty)", () => {
  it('one line a step with CACHED or DONE and its time, RUN output under its step', T, async () => {
    const ctx = context('view', { Dockerfile: 'FROM busybox\nRUN echo view-output-line\nENV X=1\n' });
    const first = await d.berth(['build', '--progress', 'tty', '--no-cache', '-t', 'view:1', ctx], { timeout: 120_000 });
    ok(first);
    const lines = first.stdout.trim().split('\n');
    assert.equal(lines[0], '#1/3 FROM busybox', first.desc);
    assert.match(first.stdout, /^#2\/3 RUN echo view-output-line$/m);
    assert.match(first.stdout, /^#2 \d+\.\ds view-output-line$/m, 'RUN output under its step');
    assert.match(first.stdout, /^#2 DONE \d+\.\ds$/m);
    assert.match(first.stdout, /^=> image [0-9a-f]{12} \(\d+\.\ds\)$/m);
    assert.match(first.stdout, /^=> tagged view:1$/m);
    assert.doesNotMatch(first.stdout, /--->|Step \d|Removing intermediate/, 'none of the classic lines');
    const again = await d.berth(['build', '--progress', 'tty', '-t', 'view:1', ctx], { timeout: 120_000 });
    assert.match(ok(again) && again.stdout, /^#2 CACHED$/m, again.desc);
    const plain = await d.berth(['build', '--progress', 'plain', ctx], { timeout: 120_000 });
    assert.match(ok(plain) && plain.stdout, /^Step 2\/3 : RUN echo view-output-line$/m, 'plain is the classic stream');
    ok(await d.berth(['rmi', 'view:1']));
  });
});

describe('--cache-from', () => {
  it('a loaded image (no local step records) serves as cache only when named in --cache-from', T, async () => {
    const ctx = context('cachefrom', {
      'f.txt': 'cache from\n',
      Dockerfile: 'FROM busybox\nENV A=1\nCOPY f.txt /f.txt\nRUN echo built > /built\nCMD ["cat", "/f.txt"]\n',
    });
    const first = ok(await d.berth(['build', '-q', '-t', 'cachefrom:1', ctx], { timeout: 120_000 }));
    const archive = path.join(workRoot, 'cachefrom.tar');
    ok(await d.berth(['save', '-o', archive, 'cachefrom:1']));
    ok(await d.berth(['rmi', 'cachefrom:1']));
    ok(await d.berth(['load', '-i', archive]));
    const cli = HAVE_DOCKER ? 'docker' : 'berth';
    const env = { DOCKER_BUILDKIT: '0' };
    const without = await d.cli(cli, ['build', '--no-cache=false', ctx], { env, timeout: 120_000 });
    ok(without);
    assert.equal(cacheHits(without.stdout), 0, `no step records, no cache\n${without.desc}`);
    ok(await d.berth(['builder', 'prune', '-f']));
    const withCf = await d.cli(cli, ['build', '--cache-from', 'cachefrom:1', '-t', 'cachefrom:2', ctx], { env, timeout: 120_000 });
    ok(withCf);
    assert.equal(cacheHits(withCf.stdout), 4, withCf.desc);
    assert.doesNotMatch(withCf.stdout, /Running in/, 'the RUN step came from the cache source');
    assert.equal((await d.api.get('/images/cachefrom:2/json')).json().Id, first, 'the same image as the one cached from');
    ok(await d.berth(['rmi', 'cachefrom:1', 'cachefrom:2']));
  });
});

describe('the build cache cap (daemon.json builder.gc.defaultKeepStorage)', () => {
  it('after a build, the oldest unused step images go until the cache fits', T, async () => {
    let d2 = await TestDaemon.start();
    try {
      await d2.stop();
      fs.writeFileSync(path.join(d2.root, 'daemon.json'), JSON.stringify({ builder: { gc: { enabled: true, defaultKeepStorage: '300KB' } } }));
      d2 = await TestDaemon.start({ reuse: d2, busybox: false });
      const build = async (n: number): Promise<string> => {
        const ctx = context(`cap-${n}`, { Dockerfile: `FROM busybox\nRUN head -c 200000 /dev/zero > /blob-${n}\n` });
        return ok(await d2.berth(['build', '-q', ctx], { timeout: 120_000 }));
      };
      const first = await build(1);
      assert.equal((await d2.api.get(`/images/${first}/json`)).status, 200);
      const second = await build(2);
      assert.equal((await d2.api.get(`/images/${second}/json`)).status, 200, 'the newest build stays');
      assert.equal((await d2.api.get(`/images/${first}/json`)).status, 404, 'the older build cache went to keep under 300 kB');
      const df = (await d2.api.get('/system/df')).json();
      const total = (df.BuildCache as Array<{ Size: number }>).reduce((n, e) => n + e.Size, 0);
      assert.ok(total <= 300_000, `build cache ${total} bytes`);
    } finally {
      await cleanupAndCheck(d2);
    }
  });
});

describe('build reproducibility and the cache across CLIs', { skip: HAVE_DOCKER ? false : NO_DOCKER_MSG }, () => {
  it('the same Dockerfile and context give the same image ID, from either CLI and without the cache', T, async () => {
    const ctx = context('repro', {
      'data.txt': 'reproducible\n',
      Dockerfile: 'FROM busybox\nCOPY data.txt /data.txt\nRUN echo built > /built && touch /stamp\nENV X=1\n',
    });
    const env = { DOCKER_BUILDKIT: '0' };
    const a = ok(await d.docker(['build', '-q', '--no-cache', ctx], { env, timeout: 120_000 }));
    fs.utimesSync(path.join(ctx, 'data.txt'), new Date(), new Date());
    const b = ok(await d.berth(['build', '-q', '--no-cache', ctx], { timeout: 120_000 }));
    assert.equal(a, b);
    const prune = ok(await d.berth(['builder', 'prune', '-f']));
    assert.match(prune, /Total reclaimed space/);
    assert.equal((await d.api.get(`/images/${a}/json`)).status, 404, 'an untagged build result is build cache and pruned');
  });
});

describe('RUN steps mount their rootfs volatile', () => {
  it('fsync inside a step is not written back, and an intermediate container kept with --rm=false starts again', T, async () => {
    const ctx = context('volatile', {
      // The step fails unless its root overlay carries the volatile option.
      Dockerfile: ['FROM busybox', "RUN grep ' / overlay ' /proc/mounts | grep -q volatile && echo kept > /kept && sync"].join('\n'),
    });
    const r = await d.cli('berth', ['build', '--rm=false', '--no-cache', '-t', 'volatile-step:1', ctx], { timeout: 240_000 });
    ok(r);
    const kept = /---> Running in ([0-9a-f]{12})/.exec(r.stdout)?.[1];
    assert.ok(kept, r.desc);
    // The kept container remounts (the crash marker of the clean unmount is gone) and shows the step's file.
    for (let i = 0; i < 2; i++) exits(await d.cli('berth', ['start', '-a', kept]), 0);
    const cat = await d.cli('berth', ['run', '--rm', 'volatile-step:1', 'cat', '/kept']);
    ok(cat);
    assert.equal(cat.stdout.trim(), 'kept');
    ok(await d.cli('berth', ['rm', kept]));
    // A container run by the user is not volatile.
    const plain = await d.cli('berth', ['run', '--rm', 'busybox', 'sh', '-c', "grep ' / overlay ' /proc/mounts"]);
    ok(plain);
    assert.doesNotMatch(plain.stdout, /volatile/);
  });
});

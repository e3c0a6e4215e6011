/**
 * BuildKit's exporters on berthd, driven by buildx v0.10.5 through the docker CLI (docker driver):
 * `--output type=local` and `type=tar` (a file and `-o -` on stdout) through the session's
 * FileSend, `--metadata-file`, `--push` to berth-registry with the credentials of `docker login`,
 * and `POST /build?version=2` with a session, as dockerode's BuildKit build sends it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthRegistry, HAVE, HTPASSWD } from '../bench/registry-harness.js';
import { DOCKER, TestDaemon, cleanupAndCheck, run } from './helpers/daemon.js';
import { HAVE_DOCKERD, RefDockerd } from './helpers/dockerd.js';
import { ok } from './helpers/assert.js';
import { installBuildx, writeContext, type BuildxRunner } from './helpers/buildx.js';

/** Debian's docker CLI 20.10 (docker.io): BuildKit through /build?version=2, without buildx. */
const DOCKER_20 = '/usr/bin/docker';

let d: TestDaemon;
let bx: BuildxRunner;
let cfg = '';
let reg: BerthRegistry | undefined;
const workRoot = fs.mkdtempSync('/tmp/berth-buildkit-export-test-');

before(async () => {
  d = await TestDaemon.start();
  cfg = path.join(d.root, 'buildx-config');
  bx = installBuildx(d, cfg);
  assert.ok(HAVE.htpasswd, `htpasswd not found at ${HTPASSWD} (apache2-utils)`);
  const h = spawnSync(HTPASSWD, ['-Bbn', 'alice', 'wonderland'], { encoding: 'utf8' });
  assert.equal(h.status, 0, h.stderr);
  fs.writeFileSync(path.join(workRoot, 'htpasswd'), h.stdout);
  reg = await BerthRegistry.start({ args: ['--htpasswd', path.join(workRoot, 'htpasswd'), '--auth-token'] });
});

const R = (): string => (reg as BerthRegistry).host;

after(async () => {
  await reg?.stop();
  fs.rmSync(workRoot, { recursive: true, force: true });
  await cleanupAndCheck(d);
});

const T = { timeout: 300_000 };
const context = (name: string, files: Record<string, string>): string => writeContext(workRoot, name, files);

/** A final stage from scratch: a few files, an executable, a symlink, a subdirectory. */
const SCRATCH_DOCKERFILE = [
  'FROM busybox AS build',
  'RUN mkdir -p /out/sub && echo hello > /out/sub/hello.txt && printf "#!/bin/sh\\necho run\\n" > /out/run.sh && chmod 750 /out/run.sh && ln -s sub/hello.txt /out/link',
  'FROM scratch',
  'COPY --from=build /out /',
  '',
].join('\n');

describe('buildx exporters against berthd', () => {
  it('--output type=local: the final stage in DEST, with modes, links and directories', T, async () => {
    const ctx = context('local', { Dockerfile: SCRATCH_DOCKERFILE });
    const dest = path.join(workRoot, 'local-out');
    const md = path.join(workRoot, 'local.json');
    const r = await bx(['buildx', 'build', '--progress', 'plain', '--metadata-file', md, '--output', `type=local,dest=${dest}`, ctx]);
    ok(r);
    assert.match(r.stderr, /^#(\d+) exporting to client\n#\1 copying files [\d.]+k?B .*done$/m, r.stderr);
    // as dockerd's BuildKit answers a local export: no image, nothing to say about one
    assert.deepEqual(JSON.parse(fs.readFileSync(md, 'utf8')), {});
    assert.deepEqual(fs.readdirSync(dest).sort(), ['link', 'run.sh', 'sub']);
    assert.equal(fs.readFileSync(path.join(dest, 'sub/hello.txt'), 'utf8'), 'hello\n');
    assert.equal(fs.statSync(path.join(dest, 'run.sh')).mode & 0o7777, 0o750);
    assert.equal(fs.readFileSync(path.join(dest, 'run.sh'), 'utf8'), '#!/bin/sh\necho run\n');
    assert.equal(fs.readlinkSync(path.join(dest, 'link')), 'sub/hello.txt');
    assert.ok(fs.lstatSync(path.join(dest, 'sub')).isDirectory());
  });

  it('--output type=local of a stage on busybox: every layer of the image, the last one on top, hard links kept', T, async () => {
    const ctx = context('local-layers', { Dockerfile: 'FROM busybox\nRUN echo layered > /layered && rm /bin/vi\n' });
    const dest = path.join(workRoot, 'layers-out');
    ok(await bx(['buildx', 'build', '-o', `type=local,dest=${dest}`, ctx]));
    assert.equal(fs.readFileSync(path.join(dest, 'layered'), 'utf8'), 'layered\n');
    const bb = fs.statSync(path.join(dest, 'bin/busybox'));
    assert.ok(bb.size > 100_000);
    // busybox's applets are hard links to one file, sent once and linked on the client
    assert.equal(fs.statSync(path.join(dest, 'bin/ls')).ino, bb.ino);
    assert.ok(bb.nlink > 100, String(bb.nlink));
    assert.equal(fs.existsSync(path.join(dest, 'bin/vi')), false, 'a file the last layer removed is not exported');
  });

  it('--output type=tar to a file and -o - to stdout: the same tar of the filesystem', T, async () => {
    const ctx = context('tar', { Dockerfile: SCRATCH_DOCKERFILE });
    const file = path.join(workRoot, 'out.tar');
    const r = await bx(['buildx', 'build', '--progress', 'plain', '--output', `type=tar,dest=${file}`, ctx]);
    ok(r);
    assert.match(r.stderr, /^#(\d+) exporting to client\n#\1 sending tarball .*done$/m, r.stderr);
    const list = spawnSync('tar', ['-tvf', file], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    const names = list.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).slice(5).join(' '));
    assert.deepEqual(names.sort(), ['link -> sub/hello.txt', 'run.sh', 'sub/', 'sub/hello.txt']);
    const x = spawnSync('tar', ['-xOf', file, 'sub/hello.txt'], { encoding: 'utf8' });
    assert.equal(x.stdout, 'hello\n');
    // `-o -`: the tar on the CLI's stdout (binary, so not through the text runner)
    const out = spawnSync(DOCKER, ['buildx', 'build', '-o', '-', ctx], {
      env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: cfg },
      maxBuffer: 64 << 20,
      timeout: 120_000,
    });
    assert.equal(out.status, 0, out.stderr.toString());
    assert.ok(out.stdout.equals(fs.readFileSync(file)), 'the same build gives the same tar on stdout');
  });

  it('--metadata-file: the image digest, config digest and name of a --load build', T, async () => {
    const ctx = context('meta', { Dockerfile: 'FROM busybox\nRUN echo meta > /meta\n' });
    const md = path.join(workRoot, 'meta.json');
    ok(await bx(['buildx', 'build', '--metadata-file', md, '-t', 'bk-meta:1', ctx]));
    const id = ok(await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'bk-meta:1']));
    const meta = JSON.parse(fs.readFileSync(md, 'utf8')) as Record<string, unknown>;
    assert.equal(meta['containerimage.digest'], id);
    assert.equal(meta['containerimage.config.digest'], id);
    // the names as buildx sent them in the exporter's `name` attribute
    assert.equal(meta['image.name'], 'bk-meta:1');
  });

  it('--push to a registry that needs a login: the credentials of docker login, the pushed digest in --metadata-file', T, async () => {
    const ref = `${R()}/alice/bk-push:1`;
    const ctx = context('push', { Dockerfile: 'FROM busybox\nRUN echo pushed > /pushed\n' });
    const denied = await bx(['buildx', 'build', '--push', '-t', ref, ctx]);
    assert.equal(denied.code, 1, denied.desc);
    assert.match(denied.stderr, /unauthorized|authentication required|no basic auth credentials/i, denied.desc);
    assert.match(ok(await bx(['login', '-u', 'alice', '--password-stdin', R()], { input: 'wonderland\n' })), /Login Succeeded/);
    const md = path.join(workRoot, 'push.json');
    const r = await bx(['buildx', 'build', '--progress', 'plain', '--push', '--metadata-file', md, '-t', ref, ctx]);
    ok(r);
    const id = ok(await d.docker(['image', 'inspect', '-f', '{{.Id}}', ref]));
    const meta = JSON.parse(fs.readFileSync(md, 'utf8')) as Record<string, unknown>;
    const repoDigest = ok(await d.docker(['image', 'inspect', '-f', '{{index .RepoDigests 0}}', ref]));
    assert.equal(meta['containerimage.digest'], repoDigest.split('@')[1], JSON.stringify(meta));
    assert.equal(meta['containerimage.config.digest'], id);
    // what the registry holds is the image: pulled back after removing it, the same ID
    ok(await d.docker(['rmi', ref]));
    ok(await bx(['pull', ref]));
    assert.equal(ok(await d.docker(['image', 'inspect', '-f', '{{.Id}}', ref])), id);
  });

  it("a private base image: buildx's session gives the credentials of docker login (Auth/Credentials) for the pull", T, async () => {
    const base = `${R()}/alice/bk-private:1`;
    ok(await bx(['login', '-u', 'alice', '--password-stdin', R()], { input: 'wonderland\n' }));
    ok(await d.docker(['tag', 'busybox', base]));
    ok(await bx(['push', base]));
    ok(await d.docker(['rmi', base]));
    const ctx = context('private', { Dockerfile: `FROM ${base}\nRUN echo private > /private\n` });
    ok(await bx(['buildx', 'build', '-t', 'bk-private', ctx]));
    assert.equal(ok(await d.docker(['run', '--rm', '--network', 'none', 'bk-private', 'cat', '/private'])), 'private');
    assert.equal(
      ok(await d.docker(['image', 'inspect', '-f', '{{.Id}}', base])),
      ok(await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])),
      'the base came from the registry',
    );
    // logged out, the session has nothing for the registry and the pull is refused
    ok(await d.docker(['rmi', base]));
    ok(await bx(['logout', R()]));
    const denied = await bx(['buildx', 'build', '--no-cache', '-t', 'bk-private', ctx]);
    assert.equal(denied.code, 1, denied.desc);
    assert.match(denied.stderr, /unauthorized|authentication required|denied/i, denied.desc);
  });

  it(
    "POST /build?version=2 with a session (dockerode's BuildKit build): a private base image pulled with the session's credentials, progress as BuildKit traces",
    T,
    async () => {
      const { default: Docker } = await import('dockerode');
      const docker = new Docker({ socketPath: d.socket });
      // a base image only the registry has, behind the login
      const base = `${R()}/alice/bk-base:1`;
      ok(await bx(['login', '-u', 'alice', '--password-stdin', R()], { input: 'wonderland\n' }));
      ok(await d.docker(['tag', 'busybox', base]));
      ok(await bx(['push', base]));
      ok(await d.docker(['rmi', base]));
      const ctx = context('dockerode', {
        Dockerfile: `FROM ${base}\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt > /copied\n`,
        'hello.txt': 'from dockerode\n',
      });
      const build = async (opts: Record<string, unknown>): Promise<Array<Record<string, unknown>>> => {
        const stream = await docker.buildImage({ context: ctx, src: ['Dockerfile', 'hello.txt'] }, { version: '2', ...opts });
        return new Promise((resolve, reject) =>
          docker.modem.followProgress(stream, (err: Error | null, res: Array<Record<string, unknown>>) => (err ? reject(err) : resolve(res))),
        );
      };
      // without credentials the pull is refused, and the error comes in the stream
      const anon = await build({ t: 'bk-dockerode:anon', networkmode: 'none' });
      assert.match(
        String(anon.find((m) => m['error'] !== undefined)?.['error']),
        /unauthorized|authentication required|denied/i,
        JSON.stringify(anon).slice(-2000),
      );
      const msgs = await build({ t: 'bk-dockerode:1', networkmode: 'none', authconfig: { username: 'alice', password: 'wonderland' } });
      const traces = msgs.filter((m) => m['id'] === 'moby.buildkit.trace');
      assert.ok(traces.length > 0, JSON.stringify(msgs).slice(0, 2000));
      const names = traces.map((m) => Buffer.from(String(m['aux']), 'base64').toString('latin1')).join('\n');
      assert.match(names, /RUN cat \/hello.txt > \/copied/);
      assert.equal(
        msgs.find((m) => m['error'] !== undefined),
        undefined,
        JSON.stringify(msgs).slice(-2000),
      );
      const idMsg = msgs.find((m) => m['id'] === 'moby.image.id') as { aux: { ID: string } } | undefined;
      assert.ok(idMsg, JSON.stringify(msgs).slice(-2000));
      assert.equal(ok(await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'bk-dockerode:1'])), idMsg.aux.ID);
      assert.equal(ok(await d.docker(['run', '--rm', '--network', 'none', 'bk-dockerode:1', 'cat', '/copied'])), 'from dockerode');
    },
  );

  it('the docker CLI 20.10 with DOCKER_BUILDKIT=1 (no buildx): /build?version=2&remote=client-session, the context from the session', T, async () => {
    assert.ok(fs.existsSync(DOCKER_20), `Debian's docker CLI 20.10 not found at ${DOCKER_20} (docker.io)`);
    const ctx = context('cli20', {
      Dockerfile: 'FROM busybox\nARG WHO=nobody\nCOPY . /ctx\nRUN ls -A /ctx > /list && echo "hello $WHO" > /greeting\n',
      '.dockerignore': 'ignored.txt\n',
      'a.txt': 'alpha\n',
      'ignored.txt': 'not sent\n',
    });
    const r = await run(DOCKER_20, ['build', '--progress', 'plain', '--network', 'none', '--build-arg', 'WHO=cli20', '-t', 'bk-cli20:1', ctx], {
      env: { DOCKER_HOST: d.host, DOCKER_BUILDKIT: '1', DOCKER_CONFIG: path.join(workRoot, 'cli20-config') },
      timeout: 120_000,
    });
    ok(r);
    assert.match(r.stderr, /#\d+ \[internal\] load build context/, r.stderr);
    assert.equal(ok(await d.docker(['run', '--rm', '--network', 'none', 'bk-cli20:1', 'cat', '/greeting'])), 'hello cli20');
    assert.deepEqual(ok(await d.docker(['run', '--rm', '--network', 'none', 'bk-cli20:1', 'cat', '/list'])).split('\n'), [
      '.dockerignore',
      'Dockerfile',
      'a.txt',
    ]);
    const fail = await run(
      DOCKER_20,
      ['build', '--progress', 'plain', '--network', 'none', context('cli20-fail', { Dockerfile: 'FROM busybox\nRUN echo failing-now && exit 3\n' })],
      {
        env: { DOCKER_HOST: d.host, DOCKER_BUILDKIT: '1', DOCKER_CONFIG: path.join(workRoot, 'cli20-config') },
        timeout: 120_000,
      },
    );
    assert.equal(fail.code, 1, fail.desc);
    assert.match(fail.stderr, /failing-now/, fail.desc);
    assert.match(fail.stderr, /process "\/bin\/sh -c echo failing-now && exit 3" did not complete successfully: exit code: 3/, fail.desc);
  });

  it('POST /build?version=2 naming a session that never comes: a 200 stream ending with the error, as dockerd answers', T, async () => {
    const r = await d.api.request({ method: 'POST', path: '/build?version=2&session=bk-nosuch&remote=client-session' });
    assert.equal(r.status, 200, r.text);
    const last = JSON.parse(r.text.trim().split('\n').pop() as string) as { error?: string };
    assert.match(String(last.error), /no active session for bk-nosuch/);
  });
});

/** A tree as `find` lists it: path, type, mode, size, link target (no times, no owners). */
function tree(dir: string): string[] {
  const r = spawnSync('find', ['.', '-mindepth', '1', '-printf', '%P %y %m %s %l\\n'], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => (l.includes(' d ') ? l.replace(/ d (\d+) \d+ /, ' d $1 - ') : l))
    .sort();
}

describe('buildx exporters: berthd against dockerd 20.10 (the reference BuildKit)', () => {
  let ref: RefDockerd | undefined;
  let refBx: BuildxRunner;
  before(async () => {
    assert.ok(HAVE_DOCKERD, 'dockerd 20.10 (/usr/sbin/dockerd) not installed (docker.io)');
    ref = await RefDockerd.start('berth-bk-export-ref-');
    const load = spawnSync('sh', ['-c', `${DOCKER} -H ${d.host} save busybox | ${DOCKER} -H ${ref.host} load`], { encoding: 'utf8' });
    assert.equal(load.status, 0, load.stderr);
    refBx = installBuildx(ref, path.join(ref.root, 'buildx-config'));
  });
  after(async () => {
    await ref?.stop();
  });

  it('the same --metadata-file keys (dockerd 20.10 writes a subset) and the same local and tar outputs', T, async () => {
    const ctx = context('vs-ref', { Dockerfile: SCRATCH_DOCKERFILE.replace('FROM scratch', 'FROM busybox') });
    const out = (who: string, f: string): string => path.join(workRoot, `vs-${who}-${f}`);
    for (const [who, run] of [
      ['berth', bx],
      ['ref', refBx],
    ] as const) {
      ok(await run(['buildx', 'build', '--network', 'none', '--metadata-file', out(who, 'md.json'), '-t', 'bk-vs:1', ctx]));
      ok(await run(['buildx', 'build', '--network', 'none', '-o', `type=local,dest=${out(who, 'local')}`, ctx]));
      ok(await run(['buildx', 'build', '--network', 'none', '-o', `type=tar,dest=${out(who, 'out.tar')}`, ctx]));
    }
    const mdBerth = JSON.parse(fs.readFileSync(out('berth', 'md.json'), 'utf8')) as Record<string, string>;
    const mdRef = JSON.parse(fs.readFileSync(out('ref', 'md.json'), 'utf8')) as Record<string, string>;
    for (const k of Object.keys(mdRef)) assert.ok(k in mdBerth, `${k} missing: ${JSON.stringify(mdBerth)}`);
    assert.equal(mdRef['containerimage.digest'], ok(await (ref as RefDockerd).docker(['image', 'inspect', '-f', '{{.Id}}', 'bk-vs:1'])));
    assert.equal(mdBerth['containerimage.digest'], ok(await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'bk-vs:1'])));
    // busybox plus the stage's files: the same tree on the client
    const local = tree(out('berth', 'local'));
    assert.ok(local.includes('sub/hello.txt f 644 6 ') && local.some((l) => /^bin\/ls f 755 \d+ $/.test(l)), local.slice(0, 20).join('\n'));
    assert.deepEqual(local, tree(out('ref', 'local')));
    const listing = (f: string): string[] => {
      const r = spawnSync('tar', ['-tvf', f], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      // type, mode and owner, size, name (and link): no times
      return r.stdout
        .trim()
        .split('\n')
        .map((l) => {
          const p = l.split(/\s+/);
          return [p[0], p[1], p[2], ...p.slice(5)].join(' ');
        })
        .sort();
    };
    assert.deepEqual(listing(out('berth', 'out.tar')), listing(out('ref', 'out.tar')));
  });
});

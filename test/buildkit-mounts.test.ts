/**
 * `RUN --mount` through BuildKit's API: buildx v0.10.5 (../shared/tools/buildx/docker-buildx)
 * with its "docker" driver against a fresh berthd — secrets served by the client's session
 * (`--secret`), an ssh agent forwarded from the client (`--ssh`, Debian's openssh-client),
 * cache mounts across builds, tmpfs and bind mounts from another stage.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestDaemon, cleanupAndCheck } from './helpers/daemon.js';
import { ok } from './helpers/assert.js';
import { installBuildx, writeContext, type BuildxRunner } from './helpers/buildx.js';

const SSH_ADD = '/usr/bin/ssh-add';

let d: TestDaemon;
let agent: ChildProcess | undefined;
let bx: BuildxRunner;
const workRoot = fs.mkdtempSync('/tmp/berth-bkmounts-test-');

before(async () => {
  d = await TestDaemon.start();
  bx = installBuildx(d, path.join(d.root, 'buildx-config'));
});

after(async () => {
  agent?.kill();
  fs.rmSync(workRoot, { recursive: true, force: true });
  await cleanupAndCheck(d);
});

const T = { timeout: 300_000 };

const context = (name: string, files: Record<string, string>): string => writeContext(workRoot, name, files);

const run = async (image: string, cmd: string): Promise<string> => ok(await d.docker(['run', '--rm', '--network', 'none', image, 'sh', '-c', cmd]));

describe('RUN --mount through buildx (docker driver)', () => {
  it('--secret from a file and from an env var: the RUN reads them, no layer holds them', T, async () => {
    const ctx = context('secret', {
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=secret,id=foo wc -c < /run/secrets/foo > /foo-len',
        'RUN --mount=type=secret,id=bar,target=/tmp/bar,required=true sed s/BK2-BAR/seen/ /tmp/bar > /bar-out',
        'RUN --mount=type=secret,id=absent ls /run/secrets > /absent-list 2>&1 || true',
        '',
      ].join('\n'),
    });
    const file = path.join(workRoot, 'foo.secret');
    fs.writeFileSync(file, 'BK2-FOO-SECRET');
    const r = await bx(['buildx', 'build', '--progress', 'plain', '--secret', `id=foo,src=${file}`, '--secret', 'id=bar,env=BK2_BAR', '-t', 'bk-secret', ctx], {
      env: { BK2_BAR: 'BK2-BAR-VALUE' },
    });
    ok(r);
    assert.equal(await run('bk-secret', 'cat /foo-len'), '14');
    assert.equal(await run('bk-secret', 'cat /bar-out'), 'seen-VALUE');
    assert.equal(await run('bk-secret', 'ls /run/secrets 2>/dev/null | wc -l'), '0');
    // the layers hold what the RUNs wrote, never the secrets' files
    const tar = path.join(workRoot, 'secret.tar');
    ok(await d.docker(['save', '-o', tar, 'bk-secret']));
    const extract = path.join(workRoot, 'secret-x');
    fs.mkdirSync(extract);
    execFileSync('tar', ['-xf', tar, '-C', extract]);
    const manifest = JSON.parse(fs.readFileSync(path.join(extract, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
    const layers = manifest[0]?.Layers ?? [];
    assert.ok(layers.length >= 2, JSON.stringify(manifest));
    for (const layer of layers) {
      const files = execFileSync('tar', ['-tf', path.join(extract, layer)], { encoding: 'utf8' });
      assert.doesNotMatch(files, /run\/secrets\/.|tmp\/bar/, `${layer}: ${files}`);
    }
    const grep = spawnSync('grep', ['-r', '-l', '-e', 'BK2-BAR-VALUE', '-e', 'BK2-FOO-SECRET', extract], { encoding: 'utf8' });
    assert.equal(grep.stdout, '', 'a secret value is in the saved image');
  });

  it('a required secret the client does not have fails the build as BuildKit does', T, async () => {
    const ctx = context('secret-missing', { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=nope,required=true cat /run/secrets/nope\n' });
    const r = await bx(['buildx', 'build', '--progress', 'plain', '-t', 'bk-secret-missing', ctx]);
    assert.equal(r.code, 1, r.desc);
    assert.match(r.stderr, /ERROR: failed to solve: secret nope: not found/, r.stderr);
  });

  it('cache mounts persist across builds; tmpfs and bind from a stage', T, async () => {
    const df = (n: string): string =>
      [
        'FROM busybox AS tools',
        'RUN mkdir /out && echo from-tools > /out/tool.txt',
        'FROM busybox',
        `RUN --mount=type=cache,target=/cache,id=bk2-cache echo ${n} >> /cache/log && cat /cache/log > /seen`,
        'RUN --mount=type=tmpfs,target=/scratch echo tmp > /scratch/x && grep -c tmpfs /proc/mounts > /tmpfs-count && ls /scratch > /scratch-list',
        'RUN --mount=type=bind,from=tools,source=/out,target=/mnt cat /mnt/tool.txt > /bound',
        '',
      ].join('\n');
    ok(await bx(['buildx', 'build', '-t', 'bk-cache:1', context('cache1', { Dockerfile: df('first') })]));
    ok(await bx(['buildx', 'build', '-t', 'bk-cache:2', context('cache2', { Dockerfile: df('second') })]));
    assert.equal(await run('bk-cache:1', 'cat /seen'), 'first');
    assert.equal(await run('bk-cache:2', 'cat /seen'), 'first\nsecond');
    assert.equal(await run('bk-cache:2', 'cat /scratch-list'), 'x');
    assert.equal(await run('bk-cache:2', 'ls /scratch 2>/dev/null | wc -l; ls /cache 2>/dev/null | wc -l'), '0\n0');
    assert.equal(await run('bk-cache:2', 'cat /bound'), 'from-tools');
  });

  it("--ssh default: the RUN reaches the client's ssh-agent through the session", T, async () => {
    assert.ok(fs.existsSync(SSH_ADD), `${SSH_ADD} not found: Debian's openssh-client (scripts/install-deps.sh)`);
    const sockDir = fs.mkdtempSync(path.join(workRoot, 'agent-'));
    const sock = path.join(sockDir, 'agent.sock');
    agent = spawn('/usr/bin/ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!fs.existsSync(sock)) {
      assert.ok(Date.now() < deadline, 'ssh-agent did not create its socket');
      await new Promise((r) => setTimeout(r, 50));
    }
    const key = path.join(sockDir, 'id_ed25519');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bk2-test-key', '-f', key]);
    execFileSync(SSH_ADD, [key], { env: { SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
    // ssh-add and its libraries from the host, run in the busybox RUN through the host's loader
    const ctx = context('ssh', {
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=ssh --mount=type=bind,target=/t /t/tools/ld-linux-x86-64.so.2 --library-path /t/tools /t/tools/ssh-add -l > /keys && echo "$SSH_AUTH_SOCK" > /sock',
        '',
      ].join('\n'),
    });
    fs.mkdirSync(path.join(ctx, 'tools'));
    const libs = execFileSync('ldd', [SSH_ADD], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
      .filter((l): l is string => l !== undefined);
    for (const f of [SSH_ADD, ...libs]) fs.copyFileSync(f, path.join(ctx, 'tools', path.basename(f)));
    fs.chmodSync(path.join(ctx, 'tools', 'ssh-add'), 0o755);
    fs.chmodSync(path.join(ctx, 'tools', 'ld-linux-x86-64.so.2'), 0o755);
    const r = await bx(['buildx', 'build', '--progress', 'plain', '--ssh', `default=${sock}`, '-t', 'bk-ssh', ctx]);
    ok(r);
    assert.match(await run('bk-ssh', 'cat /keys'), /^256 SHA256:\S+ bk2-test-key \(ED25519\)$/);
    assert.equal(await run('bk-ssh', 'cat /sock'), '/run/buildkit/ssh_agent.0');
    assert.equal(await run('bk-ssh', 'ls -A /run/buildkit 2>/dev/null | wc -l'), '0');
  });
});

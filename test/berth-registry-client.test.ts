/**
 * berthd ⇄ berth-registry (bin/berth-registry): push and pull through berth and the docker CLI,
 * by tag and by digest, cross-repository mounts, skipping what the registry has, and the token
 * auth flow (htpasswd accounts, bearer tokens from berth-registry's /token) with login/logout;
 * skopeo reads what berthd pushed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthRegistry, HAVE, HTPASSWD, SKOPEO, request } from '../bench/registry-harness.js';
import { CLIS, HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, cleanupAndCheck, run } from './helpers/daemon.js';
import { ok } from './helpers/assert.js';

const T = { timeout: 120_000 };
let d: TestDaemon;
let reg: BerthRegistry | undefined;
let authReg: BerthRegistry | undefined;
const tmp = fs.mkdtempSync('/tmp/berth-regclient-test-');

before(async () => {
  d = await TestDaemon.start();
  reg = await BerthRegistry.start({ args: ['--delete-enabled'] });
});
after(async () => {
  await reg?.stop();
  await authReg?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
  await cleanupAndCheck(d);
});

const R = (): string => (reg as BerthRegistry).host;

async function imageOf(ref: string): Promise<{ Id: string; RepoDigests: string[] }> {
  const r = await d.api.get(`/images/${ref}/json`);
  assert.equal(r.status, 200, r.text);
  return r.json();
}

for (const cli of CLIS) {
  describe(`berthd and berth-registry via ${cli}`, { skip: cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false }, () => {
    const name = (repo: string, tag = '1'): string => `${R()}/${cli}/${repo}:${tag}`;

    it('pushes, the registry holds the manifest, pulls back the same image by tag and digest', T, async () => {
      ok(await d.cli(cli, ['tag', 'busybox', name('bb')]));
      const push = ok(await d.cli(cli, ['push', name('bb')]));
      const digest = /digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(push)?.[1];
      assert.ok(digest, push);
      const m = await request((reg as BerthRegistry).base, 'GET', `/v2/${cli}/bb/manifests/1`, {
        headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(m.status, 200);
      assert.equal(m.headers['docker-content-digest'], digest);
      const id = (await imageOf('busybox')).Id;
      assert.ok((await imageOf(name('bb'))).RepoDigests.includes(`${R()}/${cli}/bb@${digest}`));
      ok(await d.cli(cli, ['rmi', name('bb')]));
      assert.match(ok(await d.cli(cli, ['pull', name('bb')])), new RegExp(`Digest: ${digest}`));
      assert.equal((await imageOf(name('bb'))).Id, id);
      ok(await d.cli(cli, ['pull', `${R()}/${cli}/bb@${digest}`]));
      assert.equal(ok(await d.cli(cli, ['run', '--rm', name('bb'), 'echo', 'from berth-registry'])), 'from berth-registry');
    });

    it('skips layers the registry has and mounts them across repositories', T, async () => {
      const again = ok(await d.cli(cli, ['push', name('bb')]));
      assert.match(again, /Layer already exists/);
      ok(await d.cli(cli, ['tag', 'busybox', name('other')]));
      const mounted = ok(await d.cli(cli, ['push', name('other')]));
      assert.match(mounted, new RegExp(`Mounted from ${cli}/bb`));
    });

    it('a missing tag is reported with dockerd text and creates nothing', T, async () => {
      const r = await d.cli(cli, ['pull', name('bb', 'nosuchtag')]);
      assert.equal(r.code, 1, r.desc);
      assert.match(r.stderr, new RegExp(`manifest for ${R()}/${cli}/bb:nosuchtag not found`));
    });
  });
}

describe('skopeo reads what berthd pushed to berth-registry', { skip: HAVE.skopeo ? false : 'skopeo not installed: skopeo case skipped' }, () => {
  it('inspect gives the same digest and layers', T, async () => {
    ok(await d.berth(['tag', 'busybox', `${R()}/sk/bb:1`]));
    const push = ok(await d.berth(['push', `${R()}/sk/bb:1`]));
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push)?.[1];
    const r = await run(SKOPEO, ['inspect', '--tls-verify=false', `docker://${R()}/sk/bb:1`]);
    assert.equal(r.code, 0, r.desc);
    const info = JSON.parse(r.stdout) as { Digest: string; Layers: string[] };
    assert.equal(info.Digest, digest);
    assert.equal(info.Layers.length, 1);
    const raw = await run(SKOPEO, ['inspect', '--raw', '--config', '--tls-verify=false', `docker://${R()}/sk/bb:1`]);
    assert.equal(raw.code, 0, raw.desc);
    const id = (await imageOf('busybox')).Id;
    assert.equal(`sha256:${(await import('node:crypto')).createHash('sha256').update(raw.stdout).digest('hex')}`, id, 'config blob bytes = image ID');
  });
});

describe('berth-registry token auth', { skip: HAVE.htpasswd ? false : 'htpasswd (apache2-utils) not installed: auth case skipped' }, () => {
  before(async () => {
    const h = spawnSync(HTPASSWD, ['-Bbn', 'alice', 'wonderland'], { encoding: 'utf8' });
    assert.equal(h.status, 0, h.stderr);
    const file = path.join(tmp, 'htpasswd');
    fs.writeFileSync(file, h.stdout);
    authReg = await BerthRegistry.start({ args: ['--htpasswd', file, '--auth-token'] });
  });

  for (const cli of CLIS) {
    it(
      `needs login; push and pull with bearer tokens via ${cli}; logout`,
      { ...T, skip: cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false },
      async () => {
        const host = (authReg as BerthRegistry).host;
        const ref = `${host}/alice/bb-${cli}:1`;
        ok(await d.cli(cli, ['tag', 'busybox', ref]));
        const denied = await d.cli(cli, ['push', ref]);
        assert.equal(denied.code, 1, denied.desc);
        assert.match(denied.stderr + denied.stdout, /unauthorized|authentication required|no basic auth credentials/i, denied.desc);
        const bad = await d.cli(cli, ['login', '-u', 'alice', '--password-stdin', host], { input: 'wrong\n' });
        assert.equal(bad.code, 1, bad.desc);
        assert.match(ok(await d.cli(cli, ['login', '-u', 'alice', '--password-stdin', host], { input: 'wonderland\n' })), /Login Succeeded/);
        ok(await d.cli(cli, ['push', ref]));
        ok(await d.cli(cli, ['rmi', ref]));
        ok(await d.cli(cli, ['pull', ref]));
        assert.equal((await imageOf(ref)).Id, (await imageOf('busybox')).Id);
        ok(await d.cli(cli, ['logout', host]));
        ok(await d.cli(cli, ['rmi', ref]));
        const after = await d.cli(cli, ['pull', ref]);
        assert.equal(after.code, 1, after.desc);
      },
    );
  }
});

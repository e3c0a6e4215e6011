/**
 * The registry client against real registries on loopback: Debian's CNCF distribution registry
 * (plain and with htpasswd basic auth), a fake registry written here (bearer-token flow, an
 * image index, and a blob with wrong bytes), and Debian's dockerd pushing and pulling the same
 * images (image IDs must match). Driven through berth, the docker CLI and raw HTTP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import * as tarStream from 'tar-stream';
import { HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, cleanupAndCheck } from './helpers/daemon.js';
import { ok } from './helpers/assert.js';
import { HAVE_DOCKERD, RefDockerd } from './helpers/dockerd.js';
import { CNCF_BIN, CncfRegistry, HAVE, HTPASSWD, freePort, sha256 } from '../bench/registry-harness.js';

const REGISTRY_BIN = CNCF_BIN;
const HTPASSWD_BIN = HTPASSWD;
const HAVE_REGISTRY = HAVE.cncf;
const HAVE_HTPASSWD = HAVE.htpasswd;
const T = { timeout: 180_000 };

// ---------- a fake registry: bearer auth, an index, and a repository serving wrong bytes ----------

interface FakeImage {
  manifest: Buffer;
  manifestType: string;
  blobs: Map<string, Buffer>;
  configDigest: string;
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mode: 0o644, mtime: new Date(0) }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function fakeImage(arch: string, marker: string): Promise<FakeImage> {
  const tar = await tarOf({ 'marker.txt': marker, 'etc/arch': arch });
  const gz = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: { Cmd: ['cat', '/marker.txt'] },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      history: [{ created: '2024-01-01T00:00:00Z', created_by: 'fake' }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(gz), size: gz.length }],
    }),
  );
  return {
    manifest,
    manifestType: 'application/vnd.oci.image.manifest.v1+json',
    blobs: new Map([
      [sha256(config), config],
      [sha256(gz), gz],
    ]),
    configDigest: sha256(config),
  };
}

class FakeRegistry {
  server?: http.Server;
  port = 0;
  readonly user = 'bob';
  readonly password = 'hunter2';
  /** repo → tag or digest → manifest */
  readonly manifests = new Map<string, Map<string, { body: Buffer; type: string }>>();
  readonly blobs = new Map<string, Buffer>();
  /** digests whose bytes are served corrupted (same size, last byte flipped) */
  readonly corrupt = new Set<string>();
  tokenRequests: string[] = [];

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  addManifest(repo: string, ref: string, body: Buffer, type: string): string {
    const m = this.manifests.get(repo) ?? new Map();
    m.set(ref, { body, type });
    m.set(sha256(body), { body, type });
    this.manifests.set(repo, m);
    return sha256(body);
  }

  addImage(repo: string, tag: string, img: FakeImage): string {
    for (const [d, b] of img.blobs) this.blobs.set(d, b);
    return this.addManifest(repo, tag, img.manifest, img.manifestType);
  }

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    if (url.pathname === '/token') {
      this.tokenRequests.push(url.search);
      const auth = req.headers.authorization ?? '';
      if (auth !== `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}`) {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"incorrect username or password"}');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: `tok:${url.searchParams.getAll('scope').join(' ')}` }));
      return;
    }
    const m = /^\/v2\/(.+?)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    const scopeNeeded = m ? `repository:${m[1]}:pull` : '';
    const token = (req.headers.authorization ?? '').replace(/^Bearer tok:/, '');
    if (!req.headers.authorization?.startsWith('Bearer tok:') || (m && !token.split(' ').includes(scopeNeeded))) {
      res.writeHead(401, {
        'Content-Type': 'application/json',
        'WWW-Authenticate': `Bearer realm="http://${this.host}/token",service="fake-registry"${m ? `,scope="${scopeNeeded}"` : ''}`,
      });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    if (url.pathname === '/v2/') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      return;
    }
    if (m && m[2] === 'manifests') {
      const man = this.manifests.get(m[1] as string)?.get(m[3] as string);
      if (!man) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
        return;
      }
      res.writeHead(200, { 'Content-Type': man.type, 'Docker-Content-Digest': sha256(man.body), 'Content-Length': man.body.length });
      res.end(req.method === 'HEAD' ? undefined : man.body);
      return;
    }
    if (m && m[2] === 'blobs') {
      let blob = this.blobs.get(m[3] as string);
      if (!blob) {
        res
          .writeHead(404, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] }));
        return;
      }
      if (this.corrupt.has(m[3] as string)) {
        blob = Buffer.from(blob);
        blob[blob.length - 1] = (blob[blob.length - 1] as number) ^ 0xff;
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': blob.length });
      res.end(req.method === 'HEAD' ? undefined : blob);
      return;
    }
    res.writeHead(404).end();
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

// ---------- fixtures ----------

let d1: TestDaemon | undefined;
let d2: TestDaemon | undefined;
let reg: CncfRegistry | undefined;
let authReg: CncfRegistry | undefined;
let fake: FakeRegistry | undefined;
let dockerd: RefDockerd | undefined;
const skipReg = HAVE_REGISTRY ? false : `${REGISTRY_BIN} not installed (apt-get install docker-registry)`;

before(async () => {
  d1 = await TestDaemon.start();
  d2 = await TestDaemon.start({ busybox: false });
  fake = new FakeRegistry();
  await fake.start();
  if (HAVE_REGISTRY) reg = await CncfRegistry.start();
  if (HAVE_REGISTRY && HAVE_HTPASSWD) authReg = await CncfRegistry.start({ htpasswd: { user: 'alice', password: 's3cret' } });
});

after(async () => {
  const errors: unknown[] = [];
  for (const step of [
    () => dockerd?.stop(),
    () => reg?.stop(),
    () => authReg?.stop(),
    () => fake?.stop(),
    () => cleanupAndCheck(d1),
    () => cleanupAndCheck(d2),
  ]) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw errors[0];
});

const D1 = (): TestDaemon => d1 as TestDaemon;
const D2 = (): TestDaemon => d2 as TestDaemon;

function messages(text: string): Array<Record<string, any>> {
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, any>);
}

async function imageId(d: TestDaemon, name: string): Promise<string> {
  const r = await d.api.get(`/images/${name}/json`);
  assert.equal(r.status, 200, r.text);
  return r.json().Id as string;
}

function blobList(d: TestDaemon): string[] {
  return fs.readdirSync(path.join(d.dataRoot, 'content/blobs/sha256')).sort();
}
function layerList(d: TestDaemon): string[] {
  return fs.readdirSync(path.join(d.dataRoot, 'layers')).sort();
}

// ---------- the CNCF registry, no auth ----------

describe('push and pull with the distribution registry', { skip: skipReg }, () => {
  let pushedDigest = '';

  it('pushes busybox (config and layer uploaded, dockerd-style progress)', T, async () => {
    const R = (reg as CncfRegistry).host;
    ok(await D1().berth(['tag', 'busybox', `${R}/bb:1`]));
    const out = ok(await D1().berth(['push', `${R}/bb:1`]));
    assert.match(out, new RegExp(`The push refers to repository \\[${R.replace(/\./g, '\\.')}/bb\\]`));
    assert.match(out, /: Preparing/);
    assert.match(out, /: Pushed/);
    const m = /1: digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(out);
    assert.ok(m, out);
    pushedDigest = m[1] as string;
    // The registry really has the manifest, with the image's config digest.
    const res = await fetch(`http://${R}/v2/bb/manifests/1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    const man = (await res.json()) as { config: { digest: string }; layers: unknown[] };
    assert.equal(man.config.digest, await imageId(D1(), 'busybox'));
    const inspect = (await D1().api.get(`/images/${R}/bb:1/json`)).json();
    assert.ok((inspect.RepoDigests as string[]).includes(`${R}/bb@${pushedDigest}`), JSON.stringify(inspect.RepoDigests));
  });

  it('skips layers the registry has on a second push, mounts them into another repository', T, async () => {
    const R = (reg as CncfRegistry).host;
    const again = ok(await D1().berth(['push', `${R}/bb:1`]));
    assert.match(again, /: Layer already exists/);
    assert.doesNotMatch(again, /: Pushed/);
    ok(await D1().berth(['tag', 'busybox', `${R}/other:x`]));
    const mounted = ok(await D1().berth(['push', `${R}/other:x`]));
    assert.match(mounted, /: Mounted from bb/);
  });

  it('pulls by tag into a fresh berthd: same image ID, RepoDigest, runs', T, async () => {
    const R = (reg as CncfRegistry).host;
    const out = ok(await D2().berth(['pull', `${R}/bb:1`]));
    assert.match(out, /1: Pulling from bb/);
    assert.match(out, /Pull complete/);
    assert.match(out, new RegExp(`Digest: ${pushedDigest}`));
    assert.match(out, new RegExp(`Status: Downloaded newer image for ${R.replace(/\./g, '\\.')}/bb:1`));
    assert.equal(await imageId(D2(), `${R}/bb:1`), await imageId(D1(), 'busybox'));
    const inspect = (await D2().api.get(`/images/${R}/bb:1/json`)).json();
    assert.deepEqual(inspect.RepoDigests, [`${R}/bb@${pushedDigest}`]);
    assert.equal(ok(await D2().berth(['run', '--rm', `${R}/bb:1`, 'echo', 'pulled'])), 'pulled');
    const again = ok(await D2().berth(['pull', `${R}/bb:1`]));
    assert.match(again, /Already exists/);
    assert.match(again, /Status: Image is up to date for/);
  });

  it("keeps the registry's compressed layer blob, not a second uncompressed tar; save reads the tar from it", T, async () => {
    const R = (reg as CncfRegistry).host;
    const res = await fetch(`http://${R}/v2/bb/manifests/1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    const man = (await res.json()) as { layers: Array<{ digest: string }> };
    const diffIds = (await D2().api.get(`/images/${R}/bb:1/json`)).json().RootFS.Layers as string[];
    const blobs = blobList(D2());
    for (const l of man.layers) assert.ok(blobs.includes(l.digest.slice(7)), `compressed blob ${l.digest} kept`);
    for (const d of diffIds) {
      assert.ok(!blobs.includes(d.slice(7)), `no uncompressed copy of ${d}`);
      assert.ok(fs.existsSync(path.join(D2().dataRoot, 'content/compressed', `${d.slice(7)}.json`)), `record for ${d}`);
    }
    // `save` decompresses on the fly: every layer tar in the archive hashes to its diff ID.
    const dir = fs.mkdtempSync('/tmp/berth-dist-save-');
    try {
      ok(await D2().berth(['save', '-o', path.join(dir, 'a.tar'), `${R}/bb:1`]));
      assert.equal(spawnSync('tar', ['-xf', path.join(dir, 'a.tar'), '-C', dir]).status, 0);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
      const got = (manifest[0]?.Layers ?? []).map((l) => sha256(fs.readFileSync(path.join(dir, l))));
      assert.deepEqual(got, diffIds);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pulls by digest after rmi; rmi of the last tag also drops the digest reference', T, async () => {
    const R = (reg as CncfRegistry).host;
    const rmi = ok(await D2().berth(['rmi', `${R}/bb:1`]));
    assert.match(rmi, new RegExp(`Untagged: ${R.replace(/\./g, '\\.')}/bb@${pushedDigest}`));
    assert.match(rmi, /Deleted: sha256:/);
    assert.deepEqual(layerList(D2()), []);
    const r = await D2().api.post(`/images/create?fromImage=${R}/bb&tag=${pushedDigest}`);
    assert.equal(r.status, 200);
    const msgs = messages(r.text);
    assert.ok(!msgs.some((m) => m.error), r.text);
    assert.ok(msgs.some((m) => m.status === 'Pulling fs layer'));
    assert.ok(
      msgs.some((m) => m.status === 'Downloading' && m.progressDetail.total > 0),
      r.text,
    );
    assert.ok(
      msgs.some((m) => m.status === `Status: Downloaded newer image for ${R}/bb@${pushedDigest}`),
      r.text,
    );
    const inspect = (await D2().api.get(`/images/${R}/bb@${pushedDigest}/json`)).json();
    assert.deepEqual(inspect.RepoTags, []);
    assert.deepEqual(inspect.RepoDigests, [`${R}/bb@${pushedDigest}`]);
  });

  it('reports a missing tag or repository with dockerd status and message, creating nothing', T, async () => {
    const R = (reg as CncfRegistry).host;
    const before = blobList(D2());
    const r = await D2().api.post(`/images/create?fromImage=${R}/nope&tag=1`);
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json().message, `manifest for ${R}/nope:1 not found: manifest unknown: manifest unknown`);
    const t = await D2().api.post(`/images/create?fromImage=${R}/bb&tag=nosuchtag`);
    assert.equal(t.status, 404, t.text);
    assert.match(t.json().message, /^manifest for 127\.0\.0\.1:\d+\/bb:nosuchtag not found: manifest unknown/);
    const cli = await D2().berth(['pull', `${R}/nope:1`]);
    assert.equal(cli.code, 1, cli.desc);
    assert.match(cli.stderr, /Error response from daemon: manifest for .*nope:1 not found/);
    assert.deepEqual(blobList(D2()), before);
    const push = await D2().api.post(`/images/${R}/none/push?tag=1`);
    assert.equal(push.status, 404);
    assert.equal(push.json().message, `An image does not exist locally with the tag: ${R}/none:1`);
  });

  it('the docker CLI pushes and pulls through berthd', { ...T, skip: HAVE_DOCKER ? false : NO_DOCKER_MSG }, async () => {
    const R = (reg as CncfRegistry).host;
    ok(await D1().docker(['tag', 'busybox', `${R}/viadocker:v1`]));
    const push = ok(await D1().docker(['push', `${R}/viadocker:v1`]));
    assert.match(push, /Mounted from|Layer already exists|Pushed/);
    assert.match(push, /v1: digest: sha256:[0-9a-f]{64} size: \d+/);
    const pull = ok(await D2().docker(['pull', `${R}/viadocker:v1`]));
    assert.match(pull, /v1: Pulling from viadocker/);
    assert.match(pull, /Status: (Downloaded newer image|Image is up to date) for/);
    assert.equal(await imageId(D2(), `${R}/viadocker:v1`), await imageId(D1(), 'busybox'));
    const missing = await D2().docker(['pull', `${R}/nope:2`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /manifest for 127\.0\.0\.1:\d+\/nope:2 not found: manifest unknown: manifest unknown/);
  });
});

// ---------- dockerd interop ----------

describe(
  'image IDs match dockerd through the registry',
  { skip: !HAVE_REGISTRY ? skipReg : HAVE_DOCKERD ? false : 'dockerd or the docker CLI not installed' },
  () => {
    before(async () => {
      dockerd = await RefDockerd.start('berth-dist-dockerd-');
    });

    it('dockerd pulls what berthd pushed: same image ID', T, async () => {
      const R = (reg as CncfRegistry).host;
      ok(await D1().berth(['tag', 'busybox', `${R}/tod:1`]));
      ok(await D1().berth(['push', `${R}/tod:1`]));
      ok(await (dockerd as RefDockerd).docker(['pull', `${R}/tod:1`]));
      const id = ok(await (dockerd as RefDockerd).docker(['image', 'inspect', '-f', '{{.Id}}', `${R}/tod:1`]));
      assert.equal(id, await imageId(D1(), 'busybox'));
    });

    it('berthd pulls what dockerd built and pushed: same image ID, runs', T, async () => {
      const R = (reg as CncfRegistry).host;
      const ctx = fs.mkdtempSync('/tmp/berth-dist-ctx-');
      try {
        fs.writeFileSync(path.join(ctx, 'hello.txt'), 'hello from dockerd\n');
        fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${R}/tod:1\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n`);
        ok(await (dockerd as RefDockerd).docker(['build', '-q', '-t', `${R}/fromd:2`, ctx]));
      } finally {
        fs.rmSync(ctx, { recursive: true, force: true });
      }
      ok(await (dockerd as RefDockerd).docker(['push', `${R}/fromd:2`]));
      const want = ok(await (dockerd as RefDockerd).docker(['image', 'inspect', '-f', '{{.Id}}', `${R}/fromd:2`]));
      const out = ok(await D2().berth(['pull', `${R}/fromd:2`]));
      assert.match(out, /Pull complete/);
      assert.equal(await imageId(D2(), `${R}/fromd:2`), want);
      assert.equal(ok(await D2().berth(['run', '--rm', `${R}/fromd:2`])), 'hello from dockerd');
    });
  },
);

// ---------- basic auth (htpasswd) ----------

describe(
  'basic auth with login',
  { skip: !HAVE_REGISTRY ? skipReg : HAVE_HTPASSWD ? false : `${HTPASSWD_BIN} not installed (apt-get install apache2-utils)` },
  () => {
    it('refuses anonymous push/pull, logs in, pushes, pulls, logs out', T, async () => {
      const R = (authReg as CncfRegistry).host;
      ok(await D1().berth(['tag', 'busybox', `${R}/secret:1`]));
      const anon = await D1().berth(['push', `${R}/secret:1`]);
      assert.equal(anon.code, 1, anon.desc);
      assert.match(anon.stderr, /unauthorized: authentication required/);

      const bad = await D1().berth(['login', '-u', 'alice', '-p', 'wrong', R]);
      assert.equal(bad.code, 1, bad.desc);
      assert.match(bad.stderr, new RegExp(`login attempt to http://${R.replace(/\./g, '\\.')}/v2/ failed with status: 401 Unauthorized`));
      const raw = await D1().api.post('/auth', { username: 'alice', password: 'wrong', serveraddress: R });
      assert.equal(raw.status, 401);
      assert.match(raw.json<{ message: string }>().message, /failed with status: 401 Unauthorized/);
      if (HAVE_DOCKER) {
        const dbad = await D1().docker(['login', '-u', 'alice', '-p', 'wrong', R]);
        assert.equal(dbad.code, 1, dbad.desc);
        assert.match(dbad.stderr, /Error response from daemon: login attempt to .* failed with status: 401 Unauthorized/, dbad.desc);
      }

      const login = await D1().berth(['login', '-u', 'alice', '--password-stdin', R], { input: 's3cret\n' });
      assert.equal(login.code, 0, login.desc);
      assert.match(login.stdout, /Login Succeeded/);
      const cfg = JSON.parse(fs.readFileSync(path.join(D1().root, 'docker-config', 'config.json'), 'utf8'));
      assert.equal(cfg.auths[R].auth, Buffer.from('alice:s3cret').toString('base64'));
      const okAuth = await D1().api.post('/auth', { username: 'alice', password: 's3cret', serveraddress: R });
      assert.deepEqual(okAuth.json(), { Status: 'Login Succeeded', IdentityToken: '' });

      assert.match(ok(await D1().berth(['push', `${R}/secret:1`])), /1: digest: sha256:/);
      ok(await D1().berth(['rmi', `${R}/secret:1`]));
      assert.match(ok(await D1().berth(['pull', `${R}/secret:1`])), /Status: Downloaded newer image/);

      assert.match(ok(await D1().berth(['logout', R])), new RegExp(`Removing login credentials for ${R.replace(/\./g, '\\.')}`));
      const after = await D1().berth(['pull', `${R}/secret:1`]);
      assert.equal(after.code, 1, after.desc);
      assert.match(after.stderr, /pull access denied for 127\.0\.0\.1:\d+\/secret, repository does not exist or may require 'docker login'/);
    });

    it('the docker CLI logs in through berthd and pushes', { ...T, skip: HAVE_DOCKER ? false : NO_DOCKER_MSG }, async () => {
      const R = (authReg as CncfRegistry).host;
      const env = { DOCKER_CONFIG: path.join(D1().root, 'docker-cli-config') };
      const login = await D1().docker(['login', '-u', 'alice', '--password-stdin', R], { input: 's3cret\n', env });
      assert.equal(login.code, 0, login.desc);
      ok(await D1().docker(['tag', 'busybox', `${R}/dcli:1`], { env }));
      assert.match(ok(await D1().docker(['push', `${R}/dcli:1`], { env })), /1: digest: sha256:/);
      ok(await D1().docker(['logout', R], { env }));
    });
  },
);

// ---------- bearer tokens, indexes, wrong bytes (fake registry) ----------

describe('bearer tokens, image indexes and wrong bytes', () => {
  let amd: FakeImage;
  let arm: FakeImage;
  let indexDigest = '';

  before(async () => {
    const f = fake as FakeRegistry;
    amd = await fakeImage('amd64', 'amd64 image');
    arm = await fakeImage('arm64', 'arm64 image');
    for (const img of [amd, arm]) for (const [dg, b] of img.blobs) f.blobs.set(dg, b);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: amd.manifestType,
            digest: sha256(arm.manifest),
            size: arm.manifest.length,
            platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
          },
          { mediaType: amd.manifestType, digest: sha256(amd.manifest), size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
    );
    f.addManifest('multi', 'amd', amd.manifest, amd.manifestType);
    f.addManifest('multi', 'arm', arm.manifest, arm.manifestType);
    indexDigest = f.addManifest('multi', 'latest', index, 'application/vnd.oci.image.index.v1+json');
    const bad = await fakeImage('amd64', 'this layer is served corrupted');
    f.addImage('bad', 'latest', bad);
    for (const [dg] of bad.blobs) if (dg !== bad.configDigest) f.corrupt.add(dg);
  });

  it('needs credentials: anonymous pull is denied with dockerd message', T, async () => {
    const F = (fake as FakeRegistry).host;
    const r = await D2().api.post(`/images/create?fromImage=${F}/multi&tag=latest`);
    assert.equal(r.status, 404, r.text);
    assert.equal(
      r.json().message,
      `pull access denied for ${F}/multi, repository does not exist or may require 'docker login': unauthorized: authentication required`,
    );
  });

  it('pulls the linux/amd64 manifest of an index with a bearer token from X-Registry-Auth', T, async () => {
    const f = fake as FakeRegistry;
    const auth = Buffer.from(JSON.stringify({ username: f.user, password: f.password, serveraddress: f.host })).toString('base64url');
    const r = await D2().api.request({ method: 'POST', path: `/images/create?fromImage=${f.host}/multi&tag=latest`, headers: { 'X-Registry-Auth': auth } });
    assert.equal(r.status, 200, r.text);
    assert.ok(!messages(r.text).some((m) => m.error), r.text);
    assert.ok(
      f.tokenRequests.some((q) => q.includes('scope=repository%3Amulti%3Apull') && q.includes('service=fake-registry')),
      f.tokenRequests.join('\n'),
    );
    const img = (await D2().api.get(`/images/${f.host}/multi:latest/json`)).json();
    assert.equal(img.Id, amd.configDigest);
    assert.equal(img.Architecture, 'amd64');
    assert.deepEqual(img.RepoDigests, [`${f.host}/multi@${indexDigest}`]);
    const arm64 = await D2().api.request({
      method: 'POST',
      path: `/images/create?fromImage=${f.host}/multi&tag=latest&platform=linux/arm64`,
      headers: { 'X-Registry-Auth': auth },
    });
    assert.equal(arm64.status, 200);
    assert.equal((await D2().api.get(`/images/${f.host}/multi:latest/json`)).json().Id, arm.configDigest);
    const none = await D2().api.request({
      method: 'POST',
      path: `/images/create?fromImage=${f.host}/multi&tag=latest&platform=linux/s390x`,
      headers: { 'X-Registry-Auth': auth },
    });
    assert.equal(none.status, 404);
    assert.equal(none.json().message, 'no matching manifest for linux/s390x in the manifest list entries');
    const dist = await D2().api.request({ path: `/distribution/${f.host}/multi:latest/json`, headers: { 'X-Registry-Auth': auth } });
    assert.equal(dist.status, 200, dist.text);
    assert.equal(dist.json().Descriptor.digest, indexDigest);
    assert.equal(dist.json().Platforms.length, 2);
  });

  it('a registry serving wrong bytes: clear error, no image, no blob, no layer left', T, async () => {
    const f = fake as FakeRegistry;
    const auth = Buffer.from(JSON.stringify({ username: f.user, password: f.password })).toString('base64url');
    const blobs = blobList(D2());
    const layers = layerList(D2());
    const r = await D2().api.request({ method: 'POST', path: `/images/create?fromImage=${f.host}/bad&tag=latest`, headers: { 'X-Registry-Auth': auth } });
    assert.equal(r.status, 200);
    const err = messages(r.text).find((m) => m.error);
    assert.ok(err, r.text);
    assert.match(err.errorDetail.message, /^filesystem layer verification failed for digest sha256:[0-9a-f]{64}/);
    assert.equal((await D2().api.get(`/images/${f.host}/bad:latest/json`)).status, 404);
    assert.deepEqual(blobList(D2()), blobs);
    assert.deepEqual(layerList(D2()), layers);
    assert.deepEqual(fs.readdirSync(path.join(D2().dataRoot, 'content/ingest')), []);
  });
});

/**
 * berth-registry on loopback, driven by raw HTTP (every error code, chunked and resumed uploads,
 * mounts, pagination, deletes, referrers, auth, tokens, TLS, kill -9 mid-upload, gc, proxy, logs,
 * metrics) and by clients no one here wrote: skopeo (oci layout and docker-archive in and out)
 * and Debian's dockerd (push, rmi, pull). The protocol and client cases also run against
 * Debian's CNCF distribution registry, where installed, to show both behave the same.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  BERTH_REGISTRY,
  BerthRegistry,
  CncfRegistry,
  HAVE,
  HTPASSWD,
  MT,
  SKOPEO,
  makeImage,
  pushBlob,
  pushImage,
  request,
  run,
  sha256,
  waitFor,
  writeOciLayout,
  type Target,
} from '../bench/registry-harness.js';
import { RefDockerd } from './helpers/dockerd.js';

const T = { timeout: 120_000 };
const tmp = (p: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `berth-regtest-${p}-`));
const dirs: string[] = [];
const mkTmp = (p: string): string => {
  const d = tmp(p);
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// The same protocol cases on berth-registry and (where installed) the CNCF registry

const targets: { kind: 'berth' | 'cncf'; start: () => Promise<Target> }[] = [
  { kind: 'berth', start: () => BerthRegistry.start({ args: ['--delete-enabled'] }) },
  ...(HAVE.cncf ? [{ kind: 'cncf' as const, start: () => CncfRegistry.start() }] : []),
];
if (!HAVE.cncf) void it.skip('CNCF distribution registry (/usr/bin/docker-registry) not installed: parity cases skipped');

for (const t of targets) {
  describe(`protocol on ${t.kind}`, () => {
    let reg: Target;
    let base: string;
    before(async () => {
      reg = await t.start();
      base = reg.base;
    });
    after(async () => reg?.stop());

    it('serves /v2/ with the API version header', async () => {
      const r = await request(base, 'GET', '/v2/');
      assert.equal(r.status, 200);
      assert.equal(r.headers['docker-distribution-api-version'], 'registry/2.0');
    });

    it('pushes monolithically and pulls with HEAD, GET and Range', async () => {
      const data = Buffer.from('hello, registry '.repeat(1000));
      const d = sha256(data);
      const r = await pushBlob(base, 'mono/one', data);
      assert.equal(r.status, 201, r.body.toString());
      assert.equal(r.headers['docker-content-digest'], d);
      assert.match(String(r.headers.location), new RegExp(`/v2/mono/one/blobs/${d}$`));
      const h = await request(base, 'HEAD', `/v2/mono/one/blobs/${d}`);
      assert.equal(h.status, 200);
      assert.equal(h.headers['content-length'], String(data.length));
      assert.equal(h.headers['docker-content-digest'], d);
      const g = await request(base, 'GET', `/v2/mono/one/blobs/${d}`);
      assert.ok(g.body.equals(data));
      const part = await request(base, 'GET', `/v2/mono/one/blobs/${d}`, { headers: { Range: 'bytes=10-19' } });
      assert.equal(part.status, 206);
      assert.equal(part.headers['content-range'], `bytes 10-19/${data.length}`);
      assert.ok(part.body.equals(data.subarray(10, 20)));
      if (t.kind === 'berth') {
        // (distribution 2.8 drops the connection on an unsatisfiable range)
        const bad = await request(base, 'GET', `/v2/mono/one/blobs/${d}`, { headers: { Range: `bytes=${data.length + 5}-` } });
        assert.equal(bad.status, 416);
        assert.equal(bad.headers['content-range'], `bytes */${data.length}`);
      }
      // Not linked into another repository.
      assert.equal((await request(base, 'HEAD', `/v2/mono/other/blobs/${d}`)).status, 404);
      const unknown = await request(base, 'GET', `/v2/mono/one/blobs/${sha256('nope')}`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.code(), 'BLOB_UNKNOWN');
    });

    it('single-POST uploads', async () => {
      const data = Buffer.from('single post');
      const r = await request(base, 'POST', `/v2/single/blobs/uploads/?digest=${sha256(data)}`, {
        body: data,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      // A registry may finish the upload (201) or open a session (202): both are spec.
      assert.ok(r.status === 201 || r.status === 202, String(r.status));
    });

    it('pushes in chunks, refuses an out-of-order chunk with 416, and resumes from the upload status', async () => {
      const data = Buffer.alloc(300_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
      const post = await request(base, 'POST', '/v2/chunked/blobs/uploads/', { headers: { 'Content-Length': 0 } });
      assert.equal(post.status, 202);
      let loc = String(post.headers.location);
      assert.ok(post.headers['docker-upload-uuid']);
      const p1 = await request(base, 'PATCH', loc, {
        body: data.subarray(0, 100_000),
        headers: { 'Content-Range': '0-99999', 'Content-Type': 'application/octet-stream' },
      });
      assert.equal(p1.status, 202, p1.body.toString());
      assert.equal(p1.headers.range, '0-99999');
      loc = String(p1.headers.location);
      if (t.kind === 'berth') {
        // Out of order: starts past the end. (distribution 2.8 does not check and appends: not spec)
        const skip = await request(base, 'PATCH', loc, {
          body: data.subarray(150_000, 200_000),
          headers: { 'Content-Range': '150000-199999', 'Content-Type': 'application/octet-stream' },
        });
        assert.equal(skip.status, 416);
      }
      // Resume from what the registry has.
      const st = await request(base, 'GET', loc);
      assert.equal(st.status, 204);
      assert.equal(st.headers.range, '0-99999');
      loc = String(st.headers.location);
      const p2 = await request(base, 'PATCH', loc, {
        body: data.subarray(100_000, 200_000),
        headers: { 'Content-Range': '100000-199999', 'Content-Type': 'application/octet-stream' },
      });
      assert.equal(p2.status, 202);
      loc = String(p2.headers.location);
      const u = new URL(loc, base);
      u.searchParams.set('digest', sha256(data));
      const put = await request(base, 'PUT', u.pathname + u.search, {
        body: data.subarray(200_000),
        headers: { 'Content-Range': '200000-299999', 'Content-Type': 'application/octet-stream' },
      });
      assert.equal(put.status, 201, put.body.toString());
      const g = await request(base, 'GET', `/v2/chunked/blobs/${sha256(data)}`);
      assert.ok(g.body.equals(data));
    });

    it('refuses a wrong digest (DIGEST_INVALID) and leaves nothing visible', async () => {
      const data = Buffer.from('the real bytes');
      const wrong = sha256('other bytes');
      const post = await request(base, 'POST', '/v2/baddigest/blobs/uploads/');
      const u = new URL(String(post.headers.location), base);
      u.searchParams.set('digest', wrong);
      const put = await request(base, 'PUT', u.pathname + u.search, { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
      assert.equal(put.status, 400);
      assert.equal(put.code(), 'DIGEST_INVALID');
      assert.equal((await request(base, 'HEAD', `/v2/baddigest/blobs/${wrong}`)).status, 404);
      assert.equal((await request(base, 'HEAD', `/v2/baddigest/blobs/${sha256(data)}`)).status, 404);
      const syntax = await request(base, 'HEAD', '/v2/baddigest/blobs/sha256:xyz');
      assert.ok(syntax.status === 400 || syntax.status === 404, String(syntax.status));
    });

    it('cancels an upload; unknown sessions are BLOB_UPLOAD_UNKNOWN', async () => {
      const post = await request(base, 'POST', '/v2/cancel/blobs/uploads/');
      const loc = String(post.headers.location);
      assert.equal((await request(base, 'DELETE', loc)).status, 204);
      const again = await request(base, 'GET', loc);
      assert.equal(again.status, 404);
      assert.equal(again.code(), 'BLOB_UPLOAD_UNKNOWN');
      const none = await request(base, 'PATCH', '/v2/cancel/blobs/uploads/3f1c7a52-9a55-4a39-9b3e-2f0b8d8e4c11', { body: 'x' });
      assert.equal(none.status, 404);
      // (distribution 2.8 answers BLOB_UPLOAD_INVALID here)
      assert.equal(none.code(), t.kind === 'berth' ? 'BLOB_UPLOAD_UNKNOWN' : 'BLOB_UPLOAD_INVALID');
    });

    it('mounts a blob from another repository (201) and opens an upload when it cannot (202)', async () => {
      const data = Buffer.from('mount me');
      assert.equal((await pushBlob(base, 'mnt/src', data)).status, 201);
      const m = await request(base, 'POST', `/v2/mnt/dst/blobs/uploads/?mount=${sha256(data)}&from=mnt/src`);
      assert.equal(m.status, 201);
      assert.equal(m.headers['docker-content-digest'], sha256(data));
      assert.equal((await request(base, 'HEAD', `/v2/mnt/dst/blobs/${sha256(data)}`)).status, 200);
      const miss = await request(base, 'POST', `/v2/mnt/dst/blobs/uploads/?mount=${sha256('absent')}&from=mnt/src`);
      assert.equal(miss.status, 202);
      assert.ok(miss.headers.location);
    });

    it('pushes and pulls manifests by tag and digest with their media types', async () => {
      const img = makeImage({ seed: `m-${t.kind}` });
      const put = await pushImage(base, 'man/img', 'v1', img);
      assert.equal(put.status, 201, put.body.toString());
      assert.equal(put.headers['docker-content-digest'], img.digest);
      const accept = [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList].join(', ');
      for (const ref of ['v1', img.digest]) {
        const g = await request(base, 'GET', `/v2/man/img/manifests/${ref}`, { headers: { Accept: accept } });
        assert.equal(g.status, 200);
        assert.equal(g.headers['content-type'], MT.ociManifest);
        assert.equal(g.headers['docker-content-digest'], img.digest);
        assert.ok(g.body.equals(img.manifest));
        const h = await request(base, 'HEAD', `/v2/man/img/manifests/${ref}`, { headers: { Accept: accept } });
        assert.equal(h.status, 200);
        assert.equal(h.headers['content-length'], String(img.manifest.length));
      }
      // Docker schema 2 and a manifest list of it.
      const dimg = makeImage({ seed: `d-${t.kind}`, docker: true });
      assert.equal((await pushImage(base, 'man/img', 'docker', dimg)).status, 201);
      const list = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MT.dockerList,
          manifests: [{ mediaType: MT.dockerManifest, digest: dimg.digest, size: dimg.manifest.length, platform: { architecture: 'amd64', os: 'linux' } }],
        }),
      );
      const lp = await request(base, 'PUT', '/v2/man/img/manifests/list', { body: list, headers: { 'Content-Type': MT.dockerList } });
      assert.equal(lp.status, 201, lp.body.toString());
      const lg = await request(base, 'GET', '/v2/man/img/manifests/list', { headers: { Accept: accept } });
      assert.equal(lg.headers['content-type'], MT.dockerList);
      assert.equal(lg.headers['docker-content-digest'], sha256(list));
      // A client that takes only single manifests gets the linux/amd64 one.
      const old = await request(base, 'GET', '/v2/man/img/manifests/list', { headers: { Accept: MT.dockerManifest } });
      assert.equal(old.status, 200);
      assert.equal(old.headers['docker-content-digest'], dimg.digest);
    });

    it('refuses bad manifests: MANIFEST_BLOB_UNKNOWN, MANIFEST_INVALID, DIGEST_INVALID, TAG_INVALID, NAME_INVALID', async () => {
      const img = makeImage({ seed: `bad-${t.kind}` });
      const missing = await request(base, 'PUT', '/v2/bad/img/manifests/v1', { body: img.manifest, headers: { 'Content-Type': MT.ociManifest } });
      assert.equal(missing.status, 400);
      assert.equal(missing.code(), 'MANIFEST_BLOB_UNKNOWN');
      const junk = await request(base, 'PUT', '/v2/bad/img/manifests/v1', { body: '{not json', headers: { 'Content-Type': MT.ociManifest } });
      assert.equal(junk.status, 400);
      assert.equal(junk.code(), 'MANIFEST_INVALID');
      for (const b of [img.config, ...img.layers]) await pushBlob(base, 'bad/img', b);
      const wrong = await request(base, 'PUT', `/v2/bad/img/manifests/${sha256('x')}`, { body: img.manifest, headers: { 'Content-Type': MT.ociManifest } });
      assert.equal(wrong.status, 400);
      assert.equal(wrong.code(), 'DIGEST_INVALID');
      const tag = await request(base, 'PUT', `/v2/bad/img/manifests/-bad-tag`, { body: img.manifest, headers: { 'Content-Type': MT.ociManifest } });
      if (t.kind === 'berth') {
        assert.equal(tag.status, 400);
        assert.equal(tag.code(), 'TAG_INVALID');
      } else assert.equal(tag.status, 404); // distribution's router does not match the path
      const name = await request(base, 'PUT', `/v2/Bad_Name/manifests/v1`, { body: img.manifest, headers: { 'Content-Type': MT.ociManifest } });
      assert.ok(name.status === 400 || name.status === 404, String(name.status));
      if (name.status === 400) assert.equal(name.code(), 'NAME_INVALID');
      const unknown = await request(base, 'GET', '/v2/bad/img/manifests/nope');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.code(), 'MANIFEST_UNKNOWN');
      const norepo = await request(base, 'GET', '/v2/never/pushed/tags/list');
      assert.equal(norepo.status, 404);
      assert.equal(norepo.code(), 'NAME_UNKNOWN');
    });

    it('lists tags and the catalog with pagination (n, last, Link)', async () => {
      const img = makeImage({ seed: `tags-${t.kind}` });
      const tags = ['a', 'b', 'c', 'd', 'e'];
      for (const tag of tags) assert.equal((await pushImage(base, 'pages/repo', tag, img)).status, 201);
      const all = await request(base, 'GET', '/v2/pages/repo/tags/list');
      const got = all.json<{ name: string; tags: string[] }>();
      // The spec wants lexical order; distribution 2.8 lists unpaginated tags in directory order.
      if (t.kind === 'cncf') got.tags.sort();
      assert.deepEqual(got, { name: 'pages/repo', tags });
      // (distribution 2.8 ignores n and last on tags lists; it paginates only the catalog)
      if (t.kind === 'berth') await tagPages();
      async function tagPages(): Promise<void> {
        const p1 = await request(base, 'GET', '/v2/pages/repo/tags/list?n=2');
        assert.deepEqual(p1.json<{ tags: string[] }>().tags, ['a', 'b']);
        const link = String(p1.headers.link);
        assert.match(link, /rel="next"/);
        const next = /<([^>]+)>/.exec(link)![1]!;
        const p2 = await request(base, 'GET', next);
        assert.deepEqual(p2.json<{ tags: string[] }>().tags, ['c', 'd']);
        const p3 = await request(base, 'GET', '/v2/pages/repo/tags/list?n=2&last=d');
        assert.deepEqual(p3.json<{ tags: string[] }>().tags, ['e']);
        const p0 = await request(base, 'GET', '/v2/pages/repo/tags/list?n=0');
        assert.deepEqual(p0.json<{ tags: string[] }>().tags, []);
        assert.equal(p0.headers.link, undefined);
      }
      const c1 = await request(base, 'GET', '/v2/_catalog?n=1');
      assert.equal(c1.json<{ repositories: string[] }>().repositories.length, 1);
      assert.match(String(c1.headers.link), /rel="next"/);
      const c2 = await request(base, 'GET', `/v2/_catalog?n=1000`);
      assert.ok(c2.json<{ repositories: string[] }>().repositories.includes('pages/repo'));
    });

    it('deletes tags, manifests and blobs (202, then 404)', async () => {
      const img = makeImage({ seed: `del-${t.kind}` });
      assert.equal((await pushImage(base, 'del/repo', 'v1', img)).status, 201);
      assert.equal((await pushImage(base, 'del/repo', 'v2', img)).status, 201);
      if (t.kind === 'berth') {
        // (distribution 2.8 refuses tag deletes with 400 UNSUPPORTED; the spec allows that)
        const dt = await request(base, 'DELETE', '/v2/del/repo/manifests/v2');
        assert.equal(dt.status, 202);
        assert.equal((await request(base, 'GET', '/v2/del/repo/manifests/v2')).status, 404);
        assert.equal((await request(base, 'GET', '/v2/del/repo/manifests/v1')).status, 200);
      }
      const dm = await request(base, 'DELETE', `/v2/del/repo/manifests/${img.digest}`);
      assert.equal(dm.status, 202);
      assert.equal((await request(base, 'GET', `/v2/del/repo/manifests/${img.digest}`)).status, 404);
      assert.equal((await request(base, 'GET', '/v2/del/repo/manifests/v1')).status, 404);
      const db = await request(base, 'DELETE', `/v2/del/repo/blobs/${sha256(img.config)}`);
      assert.equal(db.status, 202);
      assert.equal((await request(base, 'HEAD', `/v2/del/repo/blobs/${sha256(img.config)}`)).status, 404);
      const again = await request(base, 'DELETE', `/v2/del/repo/blobs/${sha256(img.config)}`);
      assert.equal(again.status, 404);
      assert.equal(again.code(), 'BLOB_UNKNOWN');
    });

    it('takes concurrent pushes of the same blob', async () => {
      const data = Buffer.alloc(2_000_000, 'z');
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => pushBlob(base, `conc/r${i % 2}`, data)));
      for (const r of results) assert.equal(r.status, 201, r.body.toString());
      for (const i of [0, 1]) {
        const g = await request(base, 'GET', `/v2/conc/r${i}/blobs/${sha256(data)}`);
        assert.equal(sha256(g.body), sha256(data));
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// berth-registry only: features the CNCF registry lacks or configures differently

describe('berth-registry features', () => {
  let reg: BerthRegistry;
  let base: string;
  before(async () => {
    reg = await BerthRegistry.start({ args: ['--delete-enabled'] });
    base = reg.base;
  });
  after(async () => reg?.stop());

  it('serves referrers of a subject, with artifactType filtering (distribution-spec 1.1)', async () => {
    const subjectImg = makeImage({ seed: 'subject' });
    const subject = { mediaType: MT.ociManifest, digest: subjectImg.digest, size: subjectImg.manifest.length };
    // A referrer may be pushed before its subject.
    const sig = makeImage({ seed: 'sig', layers: 1, subject, artifactType: 'application/vnd.example.sig' });
    const sbom = makeImage({ seed: 'sbom', layers: 1, subject });
    for (const [img, tag] of [
      [sig, 'sig'],
      [sbom, 'sbom'],
    ] as const) {
      const r = await pushImage(base, 'ref/repo', tag, img);
      assert.equal(r.status, 201, r.body.toString());
      assert.equal(r.headers['oci-subject'], subject.digest);
    }
    assert.equal((await pushImage(base, 'ref/repo', 'main', subjectImg)).status, 201);
    const all = await request(base, 'GET', `/v2/ref/repo/referrers/${subject.digest}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers['content-type'], MT.ociIndex);
    const idx = all.json<{ manifests: { digest: string; artifactType: string }[] }>();
    assert.deepEqual(idx.manifests.map((m) => m.digest).sort(), [sig.digest, sbom.digest].sort());
    assert.equal(idx.manifests.find((m) => m.digest === sbom.digest)?.artifactType, MT.ociConfig);
    const f = await request(base, 'GET', `/v2/ref/repo/referrers/${subject.digest}?artifactType=application/vnd.example.sig`);
    assert.equal(f.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(
      f.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest),
      [sig.digest],
    );
    const none = await request(base, 'GET', `/v2/ref/repo/referrers/${sha256('nothing')}`);
    assert.equal(none.status, 200);
    assert.deepEqual(none.json<{ manifests: unknown[] }>().manifests, []);
    assert.equal((await request(base, 'GET', '/v2/ref/repo/referrers/sha256:zz')).status, 400);
    // Deleting the referrer removes it from the list.
    assert.equal((await request(base, 'DELETE', `/v2/ref/repo/manifests/${sig.digest}`)).status, 202);
    const after1 = await request(base, 'GET', `/v2/ref/repo/referrers/${subject.digest}`);
    assert.deepEqual(
      after1.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest),
      [sbom.digest],
    );
  });

  it('tags a manifest pushed by digest with ?tag= (OCI-Tag)', async () => {
    const img = makeImage({ seed: 'octag' });
    for (const b of [img.config, ...img.layers]) await pushBlob(base, 'octag/r', b);
    const r = await request(base, 'PUT', `/v2/octag/r/manifests/${img.digest}?tag=1.0&tag=latest`, {
      body: img.manifest,
      headers: { 'Content-Type': MT.ociManifest },
    });
    assert.equal(r.status, 201);
    assert.match(String(r.headers['oci-tag']), /1\.0/);
    assert.deepEqual((await request(base, 'GET', '/v2/octag/r/tags/list')).json<{ tags: string[] }>().tags, ['1.0', 'latest']);
  });

  it('answers an OCI manifest to a client that does not accept it with MANIFEST_UNKNOWN', async () => {
    const img = makeImage({ seed: 'neg' });
    assert.equal((await pushImage(base, 'neg/r', 'v1', img)).status, 201);
    const r = await request(base, 'GET', '/v2/neg/r/manifests/v1', { headers: { Accept: MT.dockerManifest } });
    assert.equal(r.status, 404);
    assert.equal(r.code(), 'MANIFEST_UNKNOWN');
  });

  it('refuses names and tags outside the grammar', async () => {
    for (const n of ['UPPER', 'a//b', 'a/-b', 'a..b', '_x']) {
      const r = await request(base, 'GET', `/v2/${n}/tags/list`);
      assert.equal(r.status, 400, n);
      assert.equal(r.code(), 'NAME_INVALID', n);
    }
    const long = await request(base, 'GET', `/v2/ok/manifests/${'t'.repeat(129)}`);
    assert.equal(long.code(), 'TAG_INVALID');
    const pg = await request(base, 'GET', '/v2/_catalog?n=-1');
    assert.equal(pg.status, 400);
  });

  it('refuses a PATCH whose Content-Range disagrees with Content-Length, and SIZE_INVALID for short bodies', async () => {
    const post = await request(base, 'POST', '/v2/sizes/blobs/uploads/');
    const loc = String(post.headers.location);
    const r = await request(base, 'PATCH', loc, { body: Buffer.alloc(10), headers: { 'Content-Range': '0-19' } });
    assert.equal(r.status, 416);
    const bad = await request(base, 'PATCH', loc, { body: Buffer.alloc(10), headers: { 'Content-Range': 'garbage' } });
    assert.equal(bad.status, 416);
  });

  it('serves /metrics, /healthz and writes JSON access logs', async () => {
    assert.equal((await request(base, 'GET', '/v2/')).status, 200);
    const h = await request(base, 'GET', '/healthz');
    assert.equal(h.status, 200);
    const m = await request(base, 'GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.body.toString(), /registry_http_requests_total\{method="GET",route="base",code="200"\} \d+/);
    assert.match(m.body.toString(), /registry_blobs_committed_total [1-9]/);
    const lines = await waitFor(() => {
      const l = fs.readFileSync(path.join(reg.root, 'access.log'), 'utf8').trim().split('\n');
      return l.length > 5 ? l : undefined;
    });
    for (const l of lines) {
      const j = JSON.parse(l) as { method: string; status: number; uri: string; duration_ms: number };
      assert.ok(j.method && j.status && j.uri && typeof j.duration_ms === 'number');
    }
  });

  it('refuses deletes with 405 UNSUPPORTED when they are disabled', async () => {
    const ro = await BerthRegistry.start();
    try {
      const img = makeImage({ seed: 'nodelete' });
      assert.equal((await pushImage(ro.base, 'nd/r', 'v1', img)).status, 201);
      for (const p of [`/v2/nd/r/manifests/${img.digest}`, '/v2/nd/r/manifests/v1', `/v2/nd/r/blobs/${sha256(img.config)}`]) {
        const r = await request(ro.base, 'DELETE', p);
        assert.equal(r.status, 405, p);
        assert.equal(r.code(), 'UNSUPPORTED');
      }
      assert.equal((await request(ro.base, 'GET', '/v2/nd/r/manifests/v1')).status, 200);
    } finally {
      await ro.stop();
    }
  });

  it('a kill -9 mid-upload leaves nothing visible; the session resumes after restart', T, async () => {
    const r = await BerthRegistry.start();
    try {
      const data = Buffer.alloc(4 << 20);
      for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i, i);
      const post = await request(r.base, 'POST', '/v2/crash/repo/blobs/uploads/');
      const loc = String(post.headers.location);
      // Stream the first 1 MiB of a chunked PATCH and keep the request open.
      const req = http.request(new URL(loc, r.base), {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' },
      });
      req.on('error', () => undefined);
      req.write(data.subarray(0, 1 << 20));
      const uuid = String(post.headers['docker-upload-uuid']);
      const file = path.join(r.root, 'data', 'uploads', uuid, 'data');
      await waitFor(() => fs.existsSync(file) && fs.statSync(file).size >= 1 << 20, { what: 'upload bytes on disk' });
      await r.kill9();
      req.destroy();
      await r.spawn();
      assert.equal((await request(r.base, 'HEAD', `/v2/crash/repo/blobs/${sha256(data)}`)).status, 404);
      assert.deepEqual((await request(r.base, 'GET', '/v2/_catalog')).json(), { repositories: [] });
      assert.equal(fs.readdirSync(path.join(r.root, 'data', 'blobs', 'sha256')).length, 0);
      // The session survived: resume from its reported offset.
      const st = await request(r.base, 'GET', loc);
      assert.equal(st.status, 204);
      const have = Number(/^0-(\d+)$/.exec(String(st.headers.range))![1]) + 1;
      assert.equal(have, 1 << 20);
      const u = new URL(loc, r.base);
      u.searchParams.set('digest', sha256(data));
      const put = await request(r.base, 'PUT', u.pathname + u.search, {
        body: data.subarray(have),
        headers: { 'Content-Range': `${have}-${data.length - 1}` },
      });
      assert.equal(put.status, 201, put.body.toString());
      assert.equal(sha256((await request(r.base, 'GET', `/v2/crash/repo/blobs/${sha256(data)}`)).body), sha256(data));
    } finally {
      await r.stop();
    }
  });

  it('gc removes blobs no manifest references (with a dry run first)', T, async () => {
    const r = await BerthRegistry.start({ args: ['--delete-enabled'] });
    try {
      const keep = makeImage({ seed: 'keep' });
      const drop = makeImage({ seed: 'drop' });
      assert.equal((await pushImage(r.base, 'gc/r', 'keep', keep)).status, 201);
      assert.equal((await pushImage(r.base, 'gc/r', 'drop', drop)).status, 201);
      assert.equal((await request(r.base, 'DELETE', `/v2/gc/r/manifests/${drop.digest}`)).status, 202);
      const rootArgs = ['--root', path.join(r.root, 'data')];
      const dry = await run(process.execPath, [BERTH_REGISTRY, 'gc', ...rootArgs, '--dry-run']);
      assert.equal(dry.code, 0, dry.desc);
      assert.match(dry.stdout, /4 blobs eligible for deletion/);
      assert.match(dry.stdout, new RegExp(`would delete blob ${drop.digest}`));
      const blobs = path.join(r.root, 'data', 'blobs', 'sha256');
      assert.equal(fs.readdirSync(blobs).length, 8);
      const real = await run(process.execPath, [BERTH_REGISTRY, 'gc', ...rootArgs]);
      assert.equal(real.code, 0, real.desc);
      assert.match(real.stdout, /4 blobs deleted/);
      assert.deepEqual(fs.readdirSync(blobs).sort(), [keep.manifest, keep.config, ...keep.layers].map((b) => sha256(b).slice(7)).sort());
      const g = await request(r.base, 'GET', '/v2/gc/r/manifests/keep');
      assert.equal(g.status, 200);
      for (const b of [keep.config, ...keep.layers]) assert.equal((await request(r.base, 'HEAD', `/v2/gc/r/blobs/${sha256(b)}`)).status, 200);
      assert.equal((await request(r.base, 'HEAD', `/v2/gc/r/blobs/${sha256(drop.config)}`)).status, 404);
    } finally {
      await r.stop();
    }
  });

  it('pull-through cache: serves a remote registry, caches, survives the remote going away, refuses pushes', T, async () => {
    const upstream = await BerthRegistry.start();
    let cache: BerthRegistry | undefined;
    try {
      const img = makeImage({ seed: 'proxied', layers: 3 });
      assert.equal((await pushImage(upstream.base, 'lib/app', 'v1', img)).status, 201);
      cache = await BerthRegistry.start({ args: ['--proxy-remote-url', upstream.base] });
      const accept = { Accept: [MT.ociManifest, MT.dockerManifest].join(', ') };
      const m = await request(cache.base, 'GET', '/v2/lib/app/manifests/v1', { headers: accept });
      assert.equal(m.status, 200);
      assert.equal(m.headers['docker-content-digest'], img.digest);
      for (const b of [img.config, ...img.layers]) {
        const g = await request(cache.base, 'GET', `/v2/lib/app/blobs/${sha256(b)}`);
        assert.equal(g.status, 200);
        assert.ok(g.body.equals(b));
      }
      assert.deepEqual((await request(cache.base, 'GET', '/v2/lib/app/tags/list')).json(), { name: 'lib/app', tags: ['v1'] });
      await upstream.kill9();
      const again = await request(cache.base, 'GET', '/v2/lib/app/manifests/v1', { headers: accept });
      assert.equal(again.status, 200);
      for (const b of [img.config, ...img.layers]) assert.ok((await request(cache.base, 'GET', `/v2/lib/app/blobs/${sha256(b)}`)).body.equals(b));
      const push = await request(cache.base, 'POST', '/v2/lib/app/blobs/uploads/');
      assert.equal(push.status, 405);
      assert.equal(push.code(), 'UNSUPPORTED');
      if (HAVE.skopeo) {
        const out = mkTmp('proxy-oci');
        const c = await run(SKOPEO, ['copy', '--src-tls-verify=false', `docker://${cache.host}/lib/app:v1`, `oci:${out}:v1`]);
        assert.equal(c.code, 0, c.desc);
      }
    } finally {
      await cache?.stop();
      await upstream.stop();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Auth: htpasswd basic, bearer tokens, TLS

describe('auth', { skip: HAVE.htpasswd ? false : 'htpasswd (apache2-utils) not installed: auth cases skipped' }, () => {
  let dir: string;
  let htfile: string;
  const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  before(() => {
    dir = mkTmp('auth');
    htfile = path.join(dir, 'htpasswd');
    for (const [u, p] of [
      ['alice', 'wonderland'],
      ['bob', 'builder'],
    ] as [string, string][]) {
      const r = spawnSync(HTPASSWD, ['-Bbn', u, p], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      fs.appendFileSync(htfile, r.stdout.trim() + '\n');
    }
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        auth: {
          htpasswd: { realm: 'berth-test', path: htfile },
          access: [
            { account: 'alice', repository: '**', actions: ['*'] },
            { account: 'bob', repository: '**', actions: ['pull'] },
          ],
        },
      }),
    );
    fs.writeFileSync(
      path.join(dir, 'token.json'),
      JSON.stringify({
        auth: {
          token: { service: 'berth-test', htpasswd: htfile, secret: 'not-a-real-secret-but-long-enough' },
          access: [
            { account: 'alice', repository: '**', actions: ['*'] },
            { account: 'bob', repository: '**', actions: ['pull'] },
          ],
        },
      }),
    );
  });

  it('htpasswd: 401 with a Basic challenge, wrong password 401, right one 200, 403 DENIED without the right', async () => {
    const r = await BerthRegistry.start({ args: ['--config', path.join(dir, 'config.json')] });
    try {
      const anon = await request(r.base, 'GET', '/v2/');
      assert.equal(anon.status, 401);
      assert.equal(anon.code(), 'UNAUTHORIZED');
      assert.match(String(anon.headers['www-authenticate']), /^Basic realm="berth-test"/);
      assert.equal((await request(r.base, 'GET', '/v2/', { headers: { Authorization: basic('alice', 'nope') } })).status, 401);
      assert.equal((await request(r.base, 'GET', '/v2/', { headers: { Authorization: basic('alice', 'wonderland') } })).status, 200);
      const img = makeImage({ seed: 'auth' });
      const a = { Authorization: basic('alice', 'wonderland') };
      assert.equal((await pushImage(r.base, 'sec/r', 'v1', img, a)).status, 201);
      const b = { Authorization: basic('bob', 'builder') };
      assert.equal((await request(r.base, 'GET', '/v2/sec/r/manifests/v1', { headers: { ...b, Accept: MT.ociManifest } })).status, 200);
      const denied = await request(r.base, 'POST', '/v2/sec/r/blobs/uploads/', { headers: b });
      assert.equal(denied.status, 403);
      assert.equal(denied.code(), 'DENIED');
      if (HAVE.skopeo) {
        const oci = mkTmp('auth-oci');
        writeOciLayout(oci, makeImage({ seed: 'auth-skopeo' }), 'v1');
        const c = await run(SKOPEO, [
          'copy',
          '--dest-tls-verify=false',
          '--dest-creds',
          'alice:wonderland',
          `oci:${oci}:v1`,
          `docker://${r.host}/sec/skopeo:v1`,
        ]);
        assert.equal(c.code, 0, c.desc);
        const bad = await run(SKOPEO, ['copy', '--dest-tls-verify=false', '--dest-creds', 'alice:wrong', `oci:${oci}:v1`, `docker://${r.host}/sec/skopeo:v2`]);
        assert.notEqual(bad.code, 0);
        assert.match(bad.stderr, /unauthorized|authentication required/i);
      }
    } finally {
      await r.stop();
    }
  });

  it('bearer tokens: challenge, token endpoint, scoped access, wrong scope, bad token, bad credentials', async () => {
    const r = await BerthRegistry.start({ args: ['--config', path.join(dir, 'token.json')] });
    try {
      const anon = await request(r.base, 'GET', '/v2/tok/r/tags/list');
      assert.equal(anon.status, 401);
      const ch = String(anon.headers['www-authenticate']);
      assert.match(ch, new RegExp(`^Bearer realm="${r.base}/token",service="berth-test",scope="repository:tok/r:pull"`));
      const badCreds = await request(r.base, 'GET', '/token?service=berth-test&scope=repository:tok/r:pull', {
        headers: { Authorization: basic('alice', 'bad') },
      });
      assert.equal(badCreds.status, 401);
      assert.equal(badCreds.code(), 'UNAUTHORIZED');
      const tok = async (user: string, pass: string, scope: string): Promise<string> => {
        const t = await request(r.base, 'GET', `/token?service=berth-test&scope=${encodeURIComponent(scope)}`, {
          headers: { Authorization: basic(user, pass) },
        });
        assert.equal(t.status, 200, t.body.toString());
        const j = t.json<{ token: string; access_token: string; expires_in: number }>();
        assert.equal(j.token, j.access_token);
        assert.ok(j.expires_in > 0);
        return j.token;
      };
      const push = await tok('alice', 'wonderland', 'repository:tok/r:pull,push');
      const img = makeImage({ seed: 'tokens' });
      assert.equal((await pushImage(r.base, 'tok/r', 'v1', img, { Authorization: `Bearer ${push}` })).status, 201);
      // bob asks for push but is granted pull only.
      const bobs = await tok('bob', 'builder', 'repository:tok/r:pull,push');
      const bh = { Authorization: `Bearer ${bobs}` };
      assert.equal((await request(r.base, 'GET', '/v2/tok/r/manifests/v1', { headers: { ...bh, Accept: MT.ociManifest } })).status, 200);
      const wrong = await request(r.base, 'POST', '/v2/tok/r/blobs/uploads/', { headers: bh });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.code(), 'UNAUTHORIZED');
      assert.match(String(wrong.headers['www-authenticate']), /error="insufficient_scope"/);
      // A token for another repository does not open this one.
      const other = await tok('alice', 'wonderland', 'repository:elsewhere:pull');
      assert.equal((await request(r.base, 'GET', '/v2/tok/r/tags/list', { headers: { Authorization: `Bearer ${other}` } })).status, 401);
      // A tampered token is refused.
      const [h, b] = push.split('.');
      const forged = `${h}.${b}.${Buffer.from('forged').toString('base64url')}`;
      const f = await request(r.base, 'GET', '/v2/tok/r/tags/list', { headers: { Authorization: `Bearer ${forged}` } });
      assert.equal(f.status, 401);
      assert.match(String(f.headers['www-authenticate']), /error="invalid_token"/);
      // Anonymous gets a token with no access.
      const an = await request(r.base, 'GET', '/token?service=berth-test&scope=repository:tok/r:pull');
      assert.equal(an.status, 200);
      const at = an.json<{ token: string }>().token;
      assert.equal((await request(r.base, 'GET', '/v2/tok/r/tags/list', { headers: { Authorization: `Bearer ${at}` } })).status, 401);
      if (HAVE.skopeo) {
        // skopeo follows the challenge, fetches tokens and pushes and pulls.
        const oci = mkTmp('tok-oci');
        writeOciLayout(oci, makeImage({ seed: 'tok-skopeo' }), 'v1');
        const c = await run(SKOPEO, [
          'copy',
          '--dest-tls-verify=false',
          '--dest-creds',
          'alice:wonderland',
          `oci:${oci}:v1`,
          `docker://${r.host}/tok/skopeo:v1`,
        ]);
        assert.equal(c.code, 0, c.desc);
        const out = mkTmp('tok-out');
        const p = await run(SKOPEO, ['copy', '--src-tls-verify=false', '--src-creds', 'bob:builder', `docker://${r.host}/tok/skopeo:v1`, `oci:${out}:v1`]);
        assert.equal(p.code, 0, p.desc);
        const denied = await run(SKOPEO, [
          'copy',
          '--dest-tls-verify=false',
          '--dest-creds',
          'bob:builder',
          `oci:${oci}:v1`,
          `docker://${r.host}/tok/skopeo:v2`,
        ]);
        assert.notEqual(denied.code, 0, denied.desc);
      }
    } finally {
      await r.stop();
    }
  });

  it('pull-through cache of a remote behind basic auth or bearer tokens: --proxy-username/--proxy-password', T, async () => {
    for (const mode of ['config.json', 'token.json']) {
      const upstream = await BerthRegistry.start({ args: ['--config', path.join(dir, mode)] });
      const caches: BerthRegistry[] = [];
      try {
        const img = makeImage({ seed: `proxy-${mode}`, layers: 2 });
        let pushAuth = basic('alice', 'wonderland');
        if (mode === 'token.json') {
          const t = await request(upstream.base, 'GET', `/token?service=berth-test&scope=${encodeURIComponent('repository:sec/p:pull,push')}`, {
            headers: { Authorization: pushAuth },
          });
          assert.equal(t.status, 200, t.body.toString());
          pushAuth = `Bearer ${t.json<{ token: string }>().token}`;
        }
        assert.equal((await pushImage(upstream.base, 'sec/p', 'v1', img, { Authorization: pushAuth })).status, 201);
        const proxyArgs = (pass: string): string[] => ['--proxy-remote-url', upstream.base, '--proxy-username', 'bob', '--proxy-password', pass];
        const cache = await BerthRegistry.start({ args: proxyArgs('builder') });
        caches.push(cache);
        const accept = { Accept: [MT.ociManifest, MT.dockerManifest].join(', ') };
        const m = await request(cache.base, 'GET', '/v2/sec/p/manifests/v1', { headers: accept });
        assert.equal(m.status, 200, `${mode}: ${m.body.toString()}`);
        assert.equal(m.headers['docker-content-digest'], img.digest);
        for (const b of [img.config, ...img.layers]) {
          const g = await request(cache.base, 'GET', `/v2/sec/p/blobs/${sha256(b)}`);
          assert.equal(g.status, 200, mode);
          assert.ok(g.body.equals(b));
        }
        assert.deepEqual((await request(cache.base, 'GET', '/v2/sec/p/tags/list')).json(), { name: 'sec/p', tags: ['v1'] });
        // Wrong credentials for the remote: nothing of it is served.
        const bad = await BerthRegistry.start({ args: proxyArgs('wrong') });
        caches.push(bad);
        assert.equal((await request(bad.base, 'GET', '/v2/sec/p/manifests/v1', { headers: accept })).status, 404, mode);
        const blob = await request(bad.base, 'GET', `/v2/sec/p/blobs/${sha256(img.config)}`);
        assert.equal(blob.status, 404, mode);
        assert.equal(blob.code(), 'BLOB_UNKNOWN');
      } finally {
        for (const c of caches) await c.stop();
        await upstream.stop();
      }
    }
  });

  it('serves TLS with --tls-cert/--tls-key', { skip: HAVE.openssl ? false : 'openssl not installed' }, async () => {
    const crt = path.join(dir, 'tls.crt');
    const key = path.join(dir, 'tls.key');
    const g = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        crt,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(g.status, 0, g.stderr);
    const r = await BerthRegistry.start({ args: ['--tls-cert', crt, '--tls-key', key], tls: true });
    try {
      assert.equal((await request(r.base, 'GET', '/v2/')).status, 200);
      if (HAVE.skopeo) {
        const oci = mkTmp('tls-oci');
        writeOciLayout(oci, makeImage({ seed: 'tls' }), 'v1');
        const c = await run(SKOPEO, ['copy', '--dest-tls-verify=false', `oci:${oci}:v1`, `docker://${r.host}/tls/r:v1`]);
        assert.equal(c.code, 0, c.desc);
      }
    } finally {
      await r.stop();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Real clients: skopeo and dockerd, on berth-registry and the CNCF registry

for (const t of targets) {
  describe(`skopeo on ${t.kind}`, { skip: HAVE.skopeo ? false : 'skopeo not installed: skopeo cases skipped' }, () => {
    let reg: Target;
    before(async () => {
      reg = await t.start();
    });
    after(async () => reg?.stop());

    it('copies an OCI layout in, then out to an OCI layout and a docker-archive, and a docker-archive back in', T, async () => {
      const img = makeImage({ seed: 'skopeo-shared', layers: 3 });
      const src = mkTmp('sk-src');
      writeOciLayout(src, img, 'v1');
      const push = await run(SKOPEO, ['copy', '--dest-tls-verify=false', `oci:${src}:v1`, `docker://${reg.host}/sk/img:v1`]);
      assert.equal(push.code, 0, push.desc);
      // The registry holds the exact manifest bytes.
      const m = await request(reg.base, 'GET', '/v2/sk/img/manifests/v1', { headers: { Accept: MT.ociManifest } });
      assert.equal(m.headers['docker-content-digest'], img.digest);
      const out = mkTmp('sk-out');
      const pull = await run(SKOPEO, ['copy', '--src-tls-verify=false', `docker://${reg.host}/sk/img:v1`, `oci:${out}:v1`]);
      assert.equal(pull.code, 0, pull.desc);
      const idx = JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      assert.equal(idx.manifests[0]?.digest, img.digest);
      for (const b of img.layers) assert.ok(fs.readFileSync(path.join(out, 'blobs', 'sha256', sha256(b).slice(7))).equals(b));
      const tar = path.join(mkTmp('sk-tar'), 'img.tar');
      const save = await run(SKOPEO, ['copy', '--src-tls-verify=false', `docker://${reg.host}/sk/img:v1`, `docker-archive:${tar}:sk/img:v1`]);
      assert.equal(save.code, 0, save.desc);
      const back = await run(SKOPEO, ['copy', '--dest-tls-verify=false', `docker-archive:${tar}`, `docker://${reg.host}/sk/fromarchive:v1`]);
      assert.equal(back.code, 0, back.desc);
      const insp = await run(SKOPEO, ['inspect', '--tls-verify=false', `docker://${reg.host}/sk/fromarchive:v1`]);
      assert.equal(insp.code, 0, insp.desc);
      assert.equal((JSON.parse(insp.stdout) as { Layers: string[] }).Layers.length, 3);
      const tags = await run(SKOPEO, ['list-tags', '--tls-verify=false', `docker://${reg.host}/sk/img`]);
      assert.deepEqual((JSON.parse(tags.stdout) as { Tags: string[] }).Tags, ['v1']);
      // skopeo's cross-repository copy uses mounts.
      const cp = await run(SKOPEO, [
        'copy',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `docker://${reg.host}/sk/img:v1`,
        `docker://${reg.host}/sk/copy:v1`,
      ]);
      assert.equal(cp.code, 0, cp.desc);
    });
  });
}

describe('dockerd push and pull', { skip: HAVE.dockerd ? false : 'dockerd or the docker CLI not installed: dockerd cases skipped' }, () => {
  let dockerd: RefDockerd;
  let imageId: string;
  before(async () => {
    dockerd = await RefDockerd.start('berth-reg-dockerd-');
    const rootfs = mkTmp('bb-rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'));
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
    fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
    const tar = spawnSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 256 << 20 });
    const imp = await dockerd.docker(['import', '-', 'busybox:latest'], { input: tar.stdout });
    assert.equal(imp.code, 0, imp.desc);
    imageId = (await dockerd.docker(['image', 'inspect', '--format', '{{.Id}}', 'busybox:latest'])).stdout.trim();
  });
  after(async () => dockerd?.stop());

  for (const t of targets) {
    it(`pushes busybox to ${t.kind}, removes it, pulls it back; the saved archive goes through skopeo`, T, async () => {
      const reg = await t.start();
      try {
        const ref = `${reg.host}/library/busybox:latest`;
        assert.equal((await dockerd.docker(['tag', 'busybox:latest', ref])).code, 0);
        const push = await dockerd.docker(['push', ref]);
        assert.equal(push.code, 0, push.desc);
        assert.match(push.stdout, /latest: digest: sha256:[0-9a-f]{64}/);
        const rmi = await dockerd.docker(['rmi', ref]);
        assert.equal(rmi.code, 0, rmi.desc);
        const pull = await dockerd.docker(['pull', ref]);
        assert.equal(pull.code, 0, pull.desc);
        assert.equal((await dockerd.docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim(), imageId);
        // docker push to a second repository mounts the layer.
        const ref2 = `${reg.host}/other/busybox:v2`;
        await dockerd.docker(['tag', 'busybox:latest', ref2]);
        const push2 = await dockerd.docker(['push', ref2]);
        assert.equal(push2.code, 0, push2.desc);
        assert.match(push2.stdout, /Mounted from library\/busybox|Layer already exists/);
        if (HAVE.skopeo) {
          const tarDir = mkTmp('dsave');
          const save = await dockerd.docker(['save', '-o', path.join(tarDir, 'bb.tar'), 'busybox:latest']);
          assert.equal(save.code, 0, save.desc);
          const c = await run(SKOPEO, [
            'copy',
            '--dest-tls-verify=false',
            `docker-archive:${path.join(tarDir, 'bb.tar')}`,
            `docker://${reg.host}/saved/busybox:v1`,
          ]);
          assert.equal(c.code, 0, c.desc);
          await dockerd.docker(['rmi', ref]);
          const p3 = await dockerd.docker(['pull', `${reg.host}/saved/busybox:v1`]);
          assert.equal(p3.code, 0, p3.desc);
          assert.equal((await dockerd.docker(['image', 'inspect', '--format', '{{.Id}}', `${reg.host}/saved/busybox:v1`])).stdout.trim(), imageId);
        }
        await dockerd.docker(['rmi', '-f', ref, ref2, `${reg.host}/saved/busybox:v1`]);
      } finally {
        await reg.stop();
      }
    });
  }
});

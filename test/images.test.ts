/**
 * Image commands beyond pull/push: save/load (docker-archive with an OCI layout inside, both
 * ways with Debian's dockerd: same image IDs), history, image prune (dangling, -a, label, until)
 * with the blobs and layers gone from disk, system df (+ -v) and system prune; through berth,
 * the docker CLI and raw HTTP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tarStream from 'tar-stream';
import { CLIS, HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, cleanupAndCheck, type CliName } from './helpers/daemon.js';
import { HAVE_DOCKERD, NO_DOCKERD_MSG, RefDockerd } from './helpers/dockerd.js';
import { ok } from './helpers/assert.js';

const T = { timeout: 180_000 };
let d: TestDaemon;
const tmp = fs.mkdtempSync('/tmp/berth-images-test-');

before(async () => {
  d = await TestDaemon.start();
  // busybox stays in use all along, so `image prune -a` passes leave it for later checks.
  ok(await d.berth(['create', '--name', 'keeps-busybox', 'busybox', 'true']));
});
after(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await cleanupAndCheck(d);
});

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Entries of a tar file: name → bytes (files only). */
async function readTar(file: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = tarStream.extract();
  ex.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    stream.on('end', () => {
      if (h.type === 'file') out.set(h.name, Buffer.concat(chunks));
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
    fs.createReadStream(file).pipe(ex);
  });
  return out;
}

/** Writes a tar of `files` (name → bytes) to `file`. */
async function writeTar(file: string, files: Map<string, Buffer>): Promise<void> {
  const pack = tarStream.pack();
  const done = new Promise<void>((resolve, reject) => {
    const out = fs.createWriteStream(file);
    out.on('finish', resolve);
    out.on('error', reject);
    pack.pipe(out);
  });
  for (const [name, data] of files) pack.entry({ name, size: data.length }, data);
  pack.finalize();
  await done;
}

/** What the store holds on disk: blob digests and layer chain IDs. */
function onDisk(): { blobs: string[]; layers: string[] } {
  const blobs = fs.readdirSync(path.join(d.dataRoot, 'content/blobs/sha256')).sort();
  const layers = fs
    .readdirSync(path.join(d.dataRoot, 'layers'))
    .filter((n) => /^[0-9a-f]{64}$/.test(n))
    .sort();
  return { blobs, layers };
}

async function imageId(ref: string): Promise<string> {
  const r = await d.api.get(`/images/${ref}/json`);
  assert.equal(r.status, 200, r.text);
  return r.json<{ Id: string }>().Id;
}

/** Imports a tiny one-file image (distinct content per call) and returns its ID. */
async function importTiny(tag: string | undefined, content: string, changes: string[] = []): Promise<string> {
  const pack = tarStream.pack();
  pack.entry({ name: 'payload.txt', size: Buffer.byteLength(content) }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  const q = new URLSearchParams({ fromSrc: '-' });
  if (tag) q.set('repo', tag);
  for (const c of changes) q.append('changes', c);
  const r = await d.api.request({ method: 'POST', path: `/images/create?${q}`, raw: Buffer.concat(chunks), headers: { 'Content-Type': 'application/x-tar' } });
  assert.equal(r.status, 200, r.text);
  const m = /"status":"(sha256:[0-9a-f]{64})"/.exec(r.text);
  assert.ok(m, r.text);
  return m[1] as string;
}

// ---------------------------------------------------------------------------------------------

for (const cli of CLIS) {
  describe(`save and load via ${cli}`, { skip: cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false }, () => {
    const tag = `saved-${cli}:1`;
    const file = path.join(tmp, `saved-${cli}.tar`);

    it('saves a docker-archive with an OCI layout whose blobs match their digests', T, async () => {
      ok(await d.cli(cli, ['tag', 'busybox', tag]));
      ok(await d.cli(cli, ['save', '-o', file, tag]));
      const files = await readTar(file);
      for (const name of ['manifest.json', 'index.json', 'oci-layout', 'repositories']) assert.ok(files.has(name), `${name} in ${[...files.keys()].join(' ')}`);
      for (const [name, data] of files) {
        const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name);
        if (m) assert.equal(sha256(data), `sha256:${m[1]}`, `blob ${name} holds other bytes`);
      }
      const id = await imageId(tag);
      const manifest = JSON.parse((files.get('manifest.json') as Buffer).toString()) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
      assert.equal(manifest.length, 1);
      assert.equal(manifest[0]?.Config, `blobs/sha256/${id.slice(7)}`);
      assert.deepEqual(manifest[0]?.RepoTags, [tag]);
      const inspect = (await d.api.get(`/images/${tag}/json`)).json<{ RootFS: { Layers: string[] } }>();
      assert.deepEqual(
        manifest[0]?.Layers,
        inspect.RootFS.Layers.map((l) => `blobs/sha256/${l.slice(7)}`),
      );
      const index = JSON.parse((files.get('index.json') as Buffer).toString()) as { manifests: Array<{ digest: string; annotations: Record<string, string> }> };
      assert.equal(index.manifests[0]?.annotations['io.containerd.image.name'], `docker.io/library/${tag}`);
      const ociManifest = JSON.parse((files.get(`blobs/sha256/${index.manifests[0]?.digest.slice(7)}`) as Buffer).toString()) as { config: { digest: string } };
      assert.equal(ociManifest.config.digest, id);
      assert.deepEqual(JSON.parse((files.get('oci-layout') as Buffer).toString()), { imageLayoutVersion: '1.0.0' });
    });

    it('loads it back under the same ID (from a file and from stdin) and runs it', T, async () => {
      const id = await imageId(tag);
      ok(await d.cli(cli, ['rmi', tag]));
      assert.equal((await d.api.get(`/images/${tag}/json`)).status, 404);
      const out = ok(await d.cli(cli, ['load', '-i', file]));
      assert.match(out, new RegExp(`Loaded image: ${tag}`));
      assert.equal(await imageId(tag), id);
      ok(await d.cli(cli, ['rmi', tag]));
      const q = ok(await d.cli(cli, ['load', '-q'], { input: fs.readFileSync(file) }));
      assert.equal(q, `Loaded image: ${tag}`);
      assert.equal(await imageId(tag), id);
      assert.equal(ok(await d.cli(cli, ['run', '--rm', tag, 'echo', 'loaded'])), 'loaded');
    });

    it('loading over an existing tag renames the old image as dockerd does', T, async () => {
      const other = await importTiny(`saved-${cli}`, `other ${cli}`); // now saved-<cli>:latest
      ok(await d.cli(cli, ['tag', other, tag]));
      const out = ok(await d.cli(cli, ['load', '-i', file]));
      assert.match(out, new RegExp(`The image ${tag} already exists, renaming the old one with ID ${other} to empty string`));
      assert.notEqual(await imageId(tag), other);
      ok(await d.cli(cli, ['rmi', `saved-${cli}:latest`]));
    });

    it('refuses unknown images and archives that are not images, changing nothing', T, async () => {
      const before = onDisk();
      const r = await d.cli(cli, ['save', '-o', path.join(tmp, `nope-${cli}.tar`), `nope-${cli}`]);
      assert.equal(r.code, 1, r.desc);
      assert.match(r.stderr, new RegExp(`No such image: nope-${cli}`), r.desc);
      assert.ok(!fs.existsSync(path.join(tmp, `nope-${cli}.tar`)));
      const junk = await d.cli(cli, ['load'], { input: Buffer.from('this is not a tar archive, not at all. '.repeat(40)) });
      assert.equal(junk.code, 1, junk.desc);
      const noManifest = path.join(tmp, `nomanifest-${cli}.tar`);
      await writeTar(noManifest, new Map([['hello.txt', Buffer.from('hi')]]));
      const nm = await d.cli(cli, ['load', '-i', noManifest]);
      assert.equal(nm.code, 1, nm.desc);
      assert.match(nm.stderr + nm.stdout, /manifest\.json/, nm.desc);
      assert.deepEqual(onDisk(), before);
    });
  });
}

describe('save and load over the API', () => {
  it('GET /images/{name}/get and /images/get?names=… stream tars; unknown names are 404 before any byte', T, async () => {
    const one = await d.api.get('/images/busybox/get');
    assert.equal(one.status, 200);
    assert.equal(one.headers['content-type'], 'application/x-tar');
    const f = path.join(tmp, 'api.tar');
    fs.writeFileSync(f, one.body);
    const files = await readTar(f);
    assert.ok(files.has('manifest.json'));
    const missing = await d.api.get('/images/get?names=busybox&names=nosuchimage');
    assert.equal(missing.status, 404);
    assert.equal(missing.json<{ message: string }>().message, 'No such image: nosuchimage');
    // Two names of one image: one entry with both tags.
    ok(await d.berth(['tag', 'busybox', 'twonames:a']));
    const two = await d.api.get('/images/get?names=busybox&names=twonames:a');
    fs.writeFileSync(f, two.body);
    const m = JSON.parse(((await readTar(f)).get('manifest.json') as Buffer).toString()) as Array<{ RepoTags: string[] }>;
    assert.equal(m.length, 1);
    assert.deepEqual([...(m[0]?.RepoTags ?? [])].sort(), ['busybox:latest', 'twonames:a']);
    ok(await d.berth(['rmi', 'twonames:a']));
  });

  it('a layer whose bytes do not match the config is refused and nothing stays behind', T, async () => {
    const src = path.join(tmp, 'api.tar');
    fs.writeFileSync(src, (await d.api.get('/images/busybox/get')).body);
    const files = await readTar(src);
    const manifest = JSON.parse((files.get('manifest.json') as Buffer).toString()) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
    const entry = manifest[0] as { Config: string; RepoTags: string[]; Layers: string[] };
    // Another layer tar (valid tar, other content) under the busybox layer's name, new tag.
    const pack = tarStream.pack();
    pack.entry({ name: 'evil.txt', size: 4 }, 'evil');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
    files.set(entry.Layers[0] as string, Buffer.concat(chunks));
    // A config with a fresh diff ID so the layer is not already present.
    const config = JSON.parse((files.get(entry.Config) as Buffer).toString()) as { rootfs: { diff_ids: string[] }; comment?: string };
    config.rootfs.diff_ids = [sha256(Buffer.from('not this layer'))];
    const cfgBytes = Buffer.from(JSON.stringify(config));
    files.set('cfg.json', cfgBytes);
    files.set('manifest.json', Buffer.from(JSON.stringify([{ Config: 'cfg.json', RepoTags: ['wrongdiff:1'], Layers: entry.Layers }])));
    const bad = path.join(tmp, 'wrongdiff.tar');
    await writeTar(bad, files);
    const before = onDisk();
    const r = await d.api.request({ method: 'POST', path: '/images/load', raw: fs.readFileSync(bad), headers: { 'Content-Type': 'application/x-tar' } });
    const errors = r.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { error?: string })
      .filter((m) => m.error);
    assert.equal(errors.length, 1, r.text);
    assert.match(errors[0]?.error ?? '', /^invalid diffID for layer 0: expected "sha256:[0-9a-f]{64}", got "sha256:[0-9a-f]{64}"$/);
    assert.deepEqual(onDisk(), before);
    assert.equal((await d.api.get('/images/wrongdiff:1/json')).status, 404);
    // The ingest area is empty again.
    assert.deepEqual(fs.readdirSync(path.join(d.dataRoot, 'content/ingest')), []);
  });
});

// ---------------------------------------------------------------------------------------------

for (const cli of CLIS) {
  describe(`history via ${cli}`, { skip: cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false }, () => {
    it('lists the layers newest first with sizes, --no-trunc, --format and -q', T, async () => {
      const id = await imageId('busybox');
      const out = ok(await d.cli(cli, ['history', 'busybox']));
      const rows = out.split('\n');
      assert.match(rows[0] as string, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
      assert.match(rows[1] as string, new RegExp(`^${id.slice(7, 19)}\\s+.*ago\\s+\\S+MB\\s+Imported from -$`));
      assert.match(ok(await d.cli(cli, ['history', '--no-trunc', 'busybox'])), new RegExp(`^${id}`, 'm'));
      assert.equal(ok(await d.cli(cli, ['history', '-q', 'busybox'])), id.slice(7, 19));
      const size = (await d.api.get('/images/busybox/json')).json<{ Size: number }>().Size;
      assert.equal(ok(await d.cli(cli, ['history', '-H=false', '--format', '{{.Size}}|{{.Comment}}', 'busybox'])), `${size}|Imported from -`);
      const miss = await d.cli(cli, ['history', `nohistory-${cli}`]);
      assert.equal(miss.code, 1, miss.desc);
      assert.match(miss.stderr, new RegExp(`No such image: nohistory-${cli}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------

for (const cli of CLIS) {
  describe(`image prune and system df via ${cli}`, { skip: cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false }, () => {
    it('prune removes dangling images only, with their layers and blobs on disk', T, async () => {
      const dangling = await importTiny(undefined, `dangling ${cli}`);
      const kept = await importTiny(`prune-kept-${cli}:1`, `kept ${cli}`);
      const before = onDisk();
      assert.ok(before.blobs.includes(dangling.slice(7)));
      const out = ok(await d.cli(cli, ['image', 'prune', '-f']));
      assert.match(out, new RegExp(`deleted: ${dangling}`));
      assert.match(out, /Total reclaimed space: \d/);
      assert.doesNotMatch(out, new RegExp(kept));
      const after = onDisk();
      assert.ok(!after.blobs.includes(dangling.slice(7)), 'config blob removed');
      assert.equal(after.layers.length, before.layers.length - 1, 'its layer removed');
      assert.equal(after.blobs.length, before.blobs.length - 2, 'config and layer blob removed');
      assert.equal((await d.api.get(`/images/${dangling}/json`)).status, 404);
      assert.equal(await imageId(`prune-kept-${cli}:1`), kept);
    });

    it('prune -a with label and until filters; images used by containers stay', T, async () => {
      const labelled = await importTiny(`prune-lab-${cli}:1`, `labelled ${cli}`, [`LABEL prune=${cli}`]);
      const other = await importTiny(`prune-other-${cli}:1`, `other ${cli}`);
      const used = await importTiny(`prune-used-${cli}:1`, `used ${cli}`);
      ok(await d.cli(cli, ['create', '--name', `prune-user-${cli}`, `prune-used-${cli}:1`, 'true']));
      const byLabel = ok(await d.cli(cli, ['image', 'prune', '-a', '-f', '--filter', `label=prune=${cli}`]));
      assert.match(byLabel, new RegExp(`untagged: prune-lab-${cli}:1`));
      assert.match(byLabel, new RegExp(`deleted: ${labelled}`));
      assert.equal(await imageId(`prune-other-${cli}:1`), other);
      // until=1h: nothing created more than an hour ago among ours.
      const notYet = ok(await d.cli(cli, ['image', 'prune', '-a', '-f', '--filter', 'until=1h']));
      assert.doesNotMatch(notYet, new RegExp(other));
      const all = ok(await d.cli(cli, ['image', 'prune', '-a', '-f', '--filter', 'until=0s']));
      assert.match(all, new RegExp(`deleted: ${other}`));
      assert.doesNotMatch(all, new RegExp(used));
      assert.equal(await imageId(`prune-used-${cli}:1`), used);
      const bad = await d.cli(cli, ['image', 'prune', '-f', '--filter', 'foo=bar']);
      assert.equal(bad.code, 1, bad.desc);
      assert.match(bad.stderr, /invalid filter 'foo'/);
      ok(await d.cli(cli, ['rm', `prune-user-${cli}`]));
      ok(await d.cli(cli, ['rmi', `prune-used-${cli}:1`]));
    });

    it('system df reports images, layers and containers with reclaimable space', T, async () => {
      const tagged = await importTiny(`df-${cli}:1`, `df ${cli} `.repeat(1000));
      const cname = `df-user-${cli}`;
      ok(await d.cli(cli, ['create', '--name', cname, `df-${cli}:1`, 'true']));
      try {
        const du = (await d.api.get('/system/df')).json<{
          LayersSize: number;
          Images: Array<{ Id: string; Size: number; SharedSize: number; Containers: number }>;
          Containers: Array<{ Id: string; SizeRw: number }>;
          Volumes: unknown[];
          BuildCache: unknown[];
        }>();
        let sum = 0;
        for (const l of onDisk().layers)
          sum += (JSON.parse(fs.readFileSync(path.join(d.dataRoot, 'layers', l, 'layer.json'), 'utf8')) as { size: number }).size;
        assert.equal(du.LayersSize, sum);
        const img = du.Images.find((i) => i.Id === tagged);
        assert.ok(img, JSON.stringify(du.Images));
        assert.equal(img.Containers, 1);
        assert.equal(img.Size, (await d.api.get(`/images/${tagged}/json`)).json<{ Size: number }>().Size);
        assert.equal(img.SharedSize, 0);
        assert.ok(du.Containers.some((c) => typeof c.SizeRw === 'number'));
        assert.deepEqual(du.Volumes, []);
        const only = (await d.api.get('/system/df?type=image')).json<Record<string, unknown>>();
        assert.deepEqual(Object.keys(only).sort(), ['Images', 'LayersSize']);
        assert.equal((await d.api.get('/system/df?type=nope')).status, 400);
        const rows = ok(await d.cli(cli, ['system', 'df', '--format', '{{.Type}}|{{.TotalCount}}|{{.Active}}'])).split('\n');
        const active = du.Images.filter((i) => i.Containers > 0).length;
        assert.equal(rows[0], `Images|${du.Images.length}|${active}`);
        assert.match(rows[1] as string, new RegExp(`^Containers\\|${du.Containers.length}\\|`));
        const v = ok(await d.cli(cli, ['system', 'df', '-v']));
        assert.match(v, new RegExp(`df-${cli}\\s+1\\s+${tagged.slice(7, 19)}\\s`));
        assert.match(v, new RegExp(cname));
      } finally {
        await d.cli(cli, ['rm', '-f', cname]);
        await d.cli(cli, ['rmi', `df-${cli}:1`]);
      }
    });
  });
}

describe('system prune via berth', () => {
  it('removes stopped containers and dangling images and reports the space', T, async () => {
    const dangling = await importTiny(undefined, 'system prune dangling');
    ok(await d.berth(['create', '--name', 'sysprune-c', 'busybox', 'true']));
    const out = ok(await d.berth(['system', 'prune', '-f']));
    ok(await d.berth(['create', '--name', 'keeps-busybox', 'busybox', 'true']));
    assert.match(out, /Deleted Containers:/);
    assert.match(out, new RegExp(`deleted: ${dangling}`));
    assert.match(out, /Total reclaimed space: /);
    assert.equal((await d.api.get('/containers/sysprune-c/json')).status, 404);
    assert.equal((await d.api.get(`/images/${dangling}/json`)).status, 404);
    assert.equal(await imageId('busybox').then(() => true), true);
  });
});

// ---------------------------------------------------------------------------------------------

describe('save/load interop with dockerd', { skip: HAVE_DOCKERD ? false : NO_DOCKERD_MSG }, () => {
  let ref: RefDockerd | undefined;
  before(async () => {
    ref = await RefDockerd.start('berth-images-dockerd-');
  });
  after(async () => ref?.stop());

  const R = (): RefDockerd => ref as RefDockerd;

  it('dockerd loads what berthd saved: same image ID', T, async () => {
    const file = path.join(tmp, 'to-dockerd.tar');
    ok(await d.berth(['save', '-o', file, 'busybox']));
    assert.match(ok(await R().docker(['load', '-i', file])), /Loaded image: busybox:latest/);
    assert.equal(ok(await R().docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])), await imageId('busybox'));
  });

  it('berthd loads what dockerd built and saved (20.10 format): same ID, layers, history, size; runs', T, async () => {
    const ctx = fs.mkdtempSync(path.join(tmp, 'ctx-'));
    fs.writeFileSync(path.join(ctx, 'hello.txt'), 'hello from dockerd\n');
    fs.writeFileSync(
      path.join(ctx, 'Dockerfile'),
      [
        'FROM busybox',
        'ENV A=1',
        'COPY hello.txt /hello.txt',
        'RUN mkdir -p /d && echo x > /d/f && ln -s /hello.txt /d/link && ln /hello.txt /d/hard && chown 12:34 /d/f && chmod 4755 /d/f && rm /bin/vi && mkdir /o && touch /o/a',
        'RUN rm -rf /o && mkdir /o && touch /o/b',
        'LABEL l=v',
        'CMD ["cat", "/hello.txt"]',
        '',
      ].join('\n'),
    );
    ok(await R().docker(['build', '-q', '-t', 'multi:1', ctx]));
    const file = path.join(tmp, 'from-dockerd.tar');
    ok(await R().docker(['save', '-o', file, 'multi:1']));
    assert.match(ok(await d.berth(['load', '-i', file])), /Loaded image: multi:1/);
    const theirs = JSON.parse(ok(await R().docker(['image', 'inspect', 'multi:1'])))[0] as {
      Id: string;
      RootFS: { Layers: string[] };
      Size: number;
      Config: { Labels: Record<string, string> };
    };
    const ours = (await d.api.get('/images/multi:1/json')).json<typeof theirs>();
    assert.equal(ours.Id, theirs.Id);
    assert.deepEqual(ours.RootFS.Layers, theirs.RootFS.Layers);
    assert.equal(ours.Size, theirs.Size, 'image size as dockerd reports it');
    assert.deepEqual(ours.Config.Labels, { l: 'v' });
    const fmt = ['history', '--no-trunc', '-H=false', '--format', '{{.CreatedBy}}|{{.Size}}|{{.Comment}}', 'multi:1'];
    assert.equal(ok(await d.docker(fmt)), ok(await R().docker(fmt)));
    assert.equal(ok(await d.berth(fmt)), ok(await R().docker(fmt)));
    assert.equal(ok(await d.berth(['run', '--rm', 'multi:1'])), 'hello from dockerd');
    const ls = ok(
      await d.berth([
        'run',
        '--rm',
        'multi:1',
        'sh',
        '-c',
        'stat -c "%a %u:%g" /d/f; readlink /d/link; stat -c %h /d/hard; ls /o; test -e /bin/vi || echo novi',
      ]),
    );
    assert.equal(ls, '4755 12:34\n/hello.txt\n2\nb\nnovi');
  });

  it('dockerd loads the image back from berthd: same ID, runs', T, async () => {
    const id = await imageId('multi:1');
    const file = path.join(tmp, 'back-to-dockerd.tar');
    ok(await d.docker(['save', '-o', file, 'multi:1']));
    ok(await R().docker(['rmi', 'multi:1']));
    assert.match(ok(await R().docker(['load', '-i', file])), /Loaded image: multi:1/);
    assert.equal(ok(await R().docker(['image', 'inspect', '-f', '{{.Id}}', 'multi:1'])), id);
    assert.equal(ok(await R().docker(['run', '--rm', '--network', 'none', 'multi:1'])), 'hello from dockerd');
  });
});

export type { CliName };

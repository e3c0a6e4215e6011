/**
 * Hostile layers and archives fed to berthd through `load` (the same extractor serves pull and
 * import): `..` traversal, absolute paths, symlinks and hard links pointing out, device nodes,
 * whiteouts of `.`/`..`, layers with the wrong digest, truncated layers and archives, and
 * manifests naming files outside the archive. Each is refused (store unchanged) or neutralised
 * (kept inside the layer), and nothing is ever written outside the store: a sentinel directory
 * on the host stays empty and the host paths the entries aim at never appear.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tarStream from 'tar-stream';
import { HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, cleanupAndCheck } from './helpers/daemon.js';

const T = { timeout: 60_000 };
let d: TestDaemon;
/** A host directory the hostile entries aim at; it must stay empty. */
const sentinel = fs.mkdtempSync('/tmp/berth-hostile-sentinel-');
const work = fs.mkdtempSync('/tmp/berth-hostile-work-');

before(async () => {
  d = await TestDaemon.start({ busybox: false });
});
after(async () => {
  fs.rmSync(sentinel, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
  await cleanupAndCheck(d);
});

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

type Entry = { name: string; type?: tarStream.Header['type']; body?: string; linkname?: string; devmajor?: number; devminor?: number; mode?: number };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const e of entries) {
    const body = e.body ?? '';
    pack.entry(
      {
        name: e.name,
        type: e.type ?? 'file',
        mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644),
        size: e.type === undefined || e.type === 'file' ? Buffer.byteLength(body) : 0,
        ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
        ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}),
      },
      e.type === undefined || e.type === 'file' ? body : '',
    );
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A docker-archive with one single-layer image tagged `tag`; `tamper` may rewrite its files. */
async function archiveOf(tag: string, layer: Buffer, tamper?: (files: Map<string, Buffer>) => void): Promise<Buffer> {
  const diffId = sha256(layer);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: {}, rootfs: { type: 'layers', diff_ids: [diffId] } }),
  );
  const files = new Map<string, Buffer>([
    [`blobs/sha256/${diffId.slice(7)}`, layer],
    [`blobs/sha256/${sha256(config).slice(7)}`, config],
    [
      'manifest.json',
      Buffer.from(JSON.stringify([{ Config: `blobs/sha256/${sha256(config).slice(7)}`, RepoTags: [tag], Layers: [`blobs/sha256/${diffId.slice(7)}`] }])),
    ],
  ]);
  tamper?.(files);
  const pack = tarStream.pack();
  for (const [name, data] of files) pack.entry({ name, size: data.length }, data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function storeState(): string[] {
  const list = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);
  return [
    ...list(path.join(d.dataRoot, 'content/blobs/sha256')).map((n) => `blob ${n}`),
    ...list(path.join(d.dataRoot, 'layers')).map((n) => `layer ${n}`),
    ...list(path.join(d.dataRoot, 'content/ingest')).map((n) => `ingest ${n}`),
    ...list(path.join(d.dataRoot, 'images/meta')).map((n) => `image ${n}`),
  ];
}

async function load(archive: Buffer): Promise<{ error?: string; loaded: string[] }> {
  const r = await d.api.request({ method: 'POST', path: '/images/load?quiet=1', raw: archive, headers: { 'Content-Type': 'application/x-tar' } });
  assert.equal(r.status, 200, r.text);
  const msgs = r.text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { error?: string; stream?: string });
  const err = msgs.find((m) => m.error)?.error;
  return { ...(err !== undefined ? { error: err } : {}), loaded: msgs.flatMap((m) => (m.stream ? [m.stream.trim()] : [])) };
}

/** Loads a hostile archive that must be refused: error matches, the store and the sentinel are unchanged. */
async function refused(archive: Buffer, re: RegExp): Promise<void> {
  const before = storeState();
  const r = await load(archive);
  assert.ok(r.error, `expected a refusal, got ${JSON.stringify(r)}`);
  assert.match(r.error, re);
  assert.deepEqual(storeState(), before, 'store unchanged');
  assert.deepEqual(fs.readdirSync(sentinel), [], 'nothing written outside the store');
}

/** Loads an archive that must succeed with its hostile parts kept inside the layer; returns the layer dir. */
async function neutralised(tag: string, layer: Buffer): Promise<string> {
  const r = await load(await archiveOf(tag, layer));
  assert.equal(r.error, undefined, JSON.stringify(r));
  assert.deepEqual(r.loaded, [`Loaded image: ${tag}`]);
  assert.deepEqual(fs.readdirSync(sentinel), [], 'nothing written outside the store');
  return path.join(d.dataRoot, 'layers', sha256(layer).slice(7), 'diff');
}

const S = sentinel.slice(1); // the sentinel path without its leading slash

describe('hostile layers', () => {
  it('refuses `..` that climbs out of the layer', T, async () => {
    await refused(await archiveOf('h-dotdot:1', await tarOf([{ name: '../escape.txt', body: 'x' }])), /path escapes the destination/);
    await refused(await archiveOf('h-dotdot:2', await tarOf([{ name: 'a/../../escape.txt', body: 'x' }])), /path escapes the destination/);
    await refused(await archiveOf('h-dotdot:3', await tarOf([{ name: `${'../'.repeat(12)}${S}/escape.txt`, body: 'x' }])), /path escapes the destination/);
  });

  it('keeps absolute paths inside the layer', T, async () => {
    const diff = await neutralised('h-abs:1', await tarOf([{ name: `${sentinel}/abs.txt`, body: 'abs' }]));
    assert.equal(fs.readFileSync(path.join(diff, S, 'abs.txt'), 'utf8'), 'abs');
  });

  it('writes through symlinks that point out only inside the layer', T, async () => {
    const diff = await neutralised(
      'h-symlink:1',
      await tarOf([
        { name: 'out', type: 'symlink', linkname: sentinel },
        { name: 'out/pwned.txt', body: 'through an absolute link' },
        { name: 'rel', type: 'symlink', linkname: `${'../'.repeat(12)}${S}` },
        { name: 'rel/pwned2.txt', body: 'through a relative link' },
      ]),
    );
    // The links stay as they are (they resolve inside a container's root), the files landed in the layer.
    assert.equal(fs.readlinkSync(path.join(diff, 'out')), sentinel);
    assert.equal(fs.readFileSync(path.join(diff, S, 'pwned.txt'), 'utf8'), 'through an absolute link');
    assert.equal(fs.readFileSync(path.join(diff, S, 'pwned2.txt'), 'utf8'), 'through a relative link');
  });

  it('refuses hard links to files outside the layer', T, async () => {
    fs.writeFileSync(path.join(work, 'target.txt'), 'host file');
    const hostTarget = path.join(work, 'target.txt');
    await refused(await archiveOf('h-hard:1', await tarOf([{ name: 'hl', type: 'link', linkname: hostTarget }])), /hard link target .* not found/);
    await refused(
      await archiveOf('h-hard:2', await tarOf([{ name: 'hl', type: 'link', linkname: `${'../'.repeat(12)}etc/passwd` }])),
      /path escapes the destination/,
    );
    await refused(
      await archiveOf(
        'h-hard:3',
        await tarOf([
          { name: 'lnk', type: 'symlink', linkname: work },
          { name: 'hl', type: 'link', linkname: 'lnk/target.txt' },
        ]),
      ),
      /hard link target .* not found/,
    );
    assert.equal(fs.statSync(hostTarget).nlink, 1, 'the host file gained no link');
  });

  it('drops device nodes', T, async () => {
    const diff = await neutralised(
      'h-dev:1',
      await tarOf([
        { name: 'mem', type: 'character-device', devmajor: 1, devminor: 1, mode: 0o666 },
        { name: 'sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o666 },
        { name: 'ok.txt', body: 'ok' },
      ]),
    );
    assert.deepEqual(fs.readdirSync(diff).sort(), ['ok.txt']);
  });

  it('refuses whiteouts of `.` and `..`', T, async () => {
    await refused(
      await archiveOf(
        'h-wh:1',
        await tarOf([
          { name: 'ok.txt', body: 'ok' },
          { name: '.wh...', body: '' },
        ]),
      ),
      /whiteout of "\.\."/,
    );
    await refused(
      await archiveOf(
        'h-wh:2',
        await tarOf([
          { name: 'dir/', type: 'directory' },
          { name: 'dir/.wh..', body: '' },
        ]),
      ),
      /whiteout of "\."/,
    );
  });

  it('refuses layers whose bytes do not match the diff ID, and truncated layers and archives', T, async () => {
    const layer = await tarOf([{ name: 'a.txt', body: 'the real content' }]);
    const other = await tarOf([{ name: 'a.txt', body: 'other content!!!' }]);
    await refused(await archiveOf('h-digest:1', layer, (files) => files.set(`blobs/sha256/${sha256(layer).slice(7)}`, other)), /invalid diffID for layer 0/);
    const big = await tarOf([{ name: 'big.bin', body: 'z'.repeat(64 * 1024) }]);
    await refused(
      await archiveOf('h-trunc:1', big, (files) => files.set(`blobs/sha256/${sha256(big).slice(7)}`, big.subarray(0, 20_000))),
      /unexpected end of (data|archive)|invalid diffID/i,
    );
    const whole = await archiveOf('h-trunc:2', layer);
    await refused(whole.subarray(0, 700), /unexpected end of (data|archive)|failed to read the image archive/i);
  });

  it('refuses manifests that name files outside the archive', T, async () => {
    const layer = await tarOf([{ name: 'a.txt', body: 'a' }]);
    fs.writeFileSync(path.join(work, 'layer.tar'), layer);
    const outside = (files: Map<string, Buffer>): void => {
      const m = JSON.parse((files.get('manifest.json') as Buffer).toString()) as Array<{ Layers: string[] }>;
      (m[0] as { Layers: string[] }).Layers = [`${'../'.repeat(12)}${work.slice(1)}/layer.tar`];
      files.set('manifest.json', Buffer.from(JSON.stringify(m)));
      files.delete(`blobs/sha256/${sha256(layer).slice(7)}`);
    };
    await refused(await archiveOf('h-manifest:1', layer, outside), /no such file in the archive/);
    const absolute = (files: Map<string, Buffer>): void => {
      const m = JSON.parse((files.get('manifest.json') as Buffer).toString()) as Array<{ Config: string }>;
      (m[0] as { Config: string }).Config = '/etc/hostname';
      files.set('manifest.json', Buffer.from(JSON.stringify(m)));
    };
    await refused(await archiveOf('h-manifest:2', layer, absolute), /no such file or directory/);
  });

  it('the docker CLI shows the refusal and exits 1', { ...T, skip: HAVE_DOCKER ? false : NO_DOCKER_MSG }, async () => {
    const file = path.join(work, 'dotdot.tar');
    fs.writeFileSync(file, await archiveOf('h-cli:1', await tarOf([{ name: '../escape.txt', body: 'x' }])));
    const before = storeState();
    const r = await d.docker(['load', '-i', file]);
    assert.equal(r.code, 1, r.desc);
    assert.match(r.stderr, /path escapes the destination/, r.desc);
    assert.deepEqual(storeState(), before);
  });
});

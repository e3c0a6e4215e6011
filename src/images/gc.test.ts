import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { ContentStore } from '../content/store.js';
import { Leases } from '../content/leases.js';
import { LayerStore } from '../snapshots/layers.js';
import { ImageStore } from './store.js';
import { GarbageCollector } from './gc.js';

async function tarOf(name: string, body: string): Promise<Buffer> {
  const pack = tarStream.pack();
  pack.entry({ name, size: Buffer.byteLength(body) }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function setup(): Promise<{ root: string; content: ContentStore; layers: LayerStore; images: ImageStore; leases: Leases; gc: GarbageCollector }> {
  const root = fs.mkdtempSync('/tmp/berth-gc-test-');
  const content = new ContentStore(path.join(root, 'content'));
  const layers = new LayerStore(path.join(root, 'layers'));
  const images = new ImageStore(path.join(root, 'images'), content, layers);
  await content.init();
  await layers.init();
  await images.init();
  const leases = new Leases();
  return { root, content, layers, images, leases, gc: new GarbageCollector({ content, layers, images, leases }) };
}

/** An unpacked layer with its diff-ID blob, as a pull or load leaves it before the image is registered. */
async function addLayer(s: Awaited<ReturnType<typeof setup>>, body: string): Promise<{ chainId: string; diffId: string }> {
  const tar = await tarOf('f.txt', body);
  const info = await s.layers.apply(undefined, Readable.from([tar]));
  await s.content.writeBytes(tar);
  return { chainId: info.chainId, diffId: info.diffId };
}

test('gc removes unreferenced layers and blobs, keeps what images reference and what leases hold', async () => {
  const s = await setup();
  try {
    const kept = await addLayer(s, 'image layer');
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [kept.diffId] } }));
    const image = await s.images.add(config);
    const orphan = await addLayer(s, 'orphan layer');
    const leased = await addLayer(s, 'leased layer');
    const stray = await s.content.writeBytes('a stray blob');
    const lease = s.leases.create([leased.chainId, leased.diffId]);

    const r = await s.gc.collect();
    assert.deepEqual(r.layers, [orphan.chainId]);
    assert.deepEqual([...r.blobs].sort(), [orphan.diffId, stray.digest].sort());
    assert.ok(r.bytes > 0);
    assert.ok(await s.layers.has(kept.chainId));
    assert.ok(await s.content.has(image.id));
    assert.ok(await s.content.has(kept.diffId));
    assert.ok(await s.layers.has(leased.chainId), 'a leased layer survives');
    assert.ok(await s.content.has(leased.diffId), 'a leased blob survives');
    assert.ok(!(await s.layers.has(orphan.chainId)));
    assert.ok(!fs.existsSync(s.content.blobPath(stray.digest)));

    // Released: the next collection takes it.
    lease.release();
    const r2 = await s.gc.collect();
    assert.deepEqual(r2.layers, [leased.chainId]);
    assert.deepEqual(r2.blobs, [leased.diffId]);
  } finally {
    fs.rmSync(s.root, { recursive: true, force: true });
  }
});

test('a lease taken by layers.apply covers the layer before it becomes visible', async () => {
  const s = await setup();
  try {
    const lease = s.leases.create();
    const tar = await tarOf('g.txt', 'during a load');
    const info = await s.layers.apply(undefined, Readable.from([tar]), { lease });
    assert.ok(s.leases.has(info.chainId) && s.leases.has(info.diffId));
    const r = await s.gc.collect();
    assert.deepEqual(r.layers, []);
    lease.release();
    assert.deepEqual((await s.gc.collect()).layers, [info.chainId]);
  } finally {
    fs.rmSync(s.root, { recursive: true, force: true });
  }
});

test('leases count holders: a key stays held until every lease on it is released', () => {
  const leases = new Leases();
  const a = leases.create(['k']);
  const release = leases.acquire(['k', 'j']);
  assert.ok(leases.sharedBeyondOne('k'));
  a.release();
  a.release();
  assert.ok(leases.has('k'));
  release();
  assert.ok(!leases.has('k') && !leases.has('j'));
  assert.equal(leases.size, 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ContentStore } from '../content/store.js';
import { LayerStore } from '../snapshots/layers.js';
import { ImageStore } from './store.js';
import { parseReference } from './reference.js';

async function setup(root: string): Promise<ImageStore> {
  const content = new ContentStore(path.join(root, 'content'));
  const layers = new LayerStore(path.join(root, 'layers'));
  const images = new ImageStore(path.join(root, 'images'), content, layers);
  await content.init();
  await layers.init();
  await images.init();
  return images;
}

const emptyImage = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));

test('tags and untags made at once all land, in memory and in repositories.json', async () => {
  const root = fs.mkdtempSync('/tmp/berth-tags-test-');
  try {
    const images = await setup(root);
    const image = await images.add(emptyImage);
    await Promise.all(Array.from({ length: 20 }, (_, i) => images.tag(image.id, parseReference(`t/x:${i}`))));
    assert.equal(images.tagsOf(image.id).length, 20);
    await Promise.all([
      images.untagAll([parseReference('t/x:0'), parseReference('t/x:1')]),
      images.untag(parseReference('t/x:2')),
      images.tag(image.id, parseReference('t/y:1')),
    ]);
    const expected = [...Array.from({ length: 17 }, (_, i) => `t/x:${i + 3}`), 't/y:1'].sort();
    assert.deepEqual(images.tagsOf(image.id), expected);
    const reread = await setup(root);
    assert.deepEqual(reread.tagsOf(image.id), expected, 'what a restart reads');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('an untag of a missing tag changes nothing, not even the other tags given with it', async () => {
  const root = fs.mkdtempSync('/tmp/berth-tags-test-');
  try {
    const images = await setup(root);
    const image = await images.add(emptyImage);
    await images.tag(image.id, parseReference('t/a:1'));
    await assert.rejects(images.untagAll([parseReference('t/a:1'), parseReference('t/missing:1')]), /No such image: t\/missing:1/);
    assert.deepEqual(images.tagsOf(image.id), ['t/a:1']);
    assert.deepEqual((await setup(root)).tagsOf(image.id), ['t/a:1']);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

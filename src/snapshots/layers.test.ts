import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';
import * as tarStream from 'tar-stream';
import { BerthError } from '../lib/errors.js';
import { LayerStore, WORKER_MIN_BYTES } from './layers.js';

async function tarOf(files: Array<{ name: string; body: Buffer }>): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const f of files) pack.entry({ name: f.name, size: f.body.length }, f.body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

const big = (seed: string): Buffer => {
  const b = Buffer.alloc(WORKER_MIN_BYTES + (1 << 20));
  for (let i = 0; i < b.length; i += 32) createHash('sha256').update(`${seed}${i}`).digest().copy(b, i);
  return b;
};
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
/** Feeds `b` in 64 KB chunks, as a network or file stream would. */
const chunked = (b: Buffer): Readable =>
  Readable.from(
    (function* () {
      for (let i = 0; i < b.length; i += 65536) yield b.subarray(i, i + 65536);
    })(),
  );

async function store(): Promise<{ root: string; layers: LayerStore }> {
  const root = fs.mkdtempSync('/tmp/berth-layers-test-');
  const layers = new LayerStore(path.join(root, 'layers'));
  await layers.init();
  return { root, layers };
}

test('a large layer unpacks in a worker thread with the same diff ID, files and blob bytes', async () => {
  const { root, layers } = await store();
  try {
    const tar = await tarOf([
      { name: 'big.bin', body: big('w') },
      { name: 'dir/small.txt', body: Buffer.from('small') },
    ]);
    const blobFile = path.join(root, 'blob');
    const info = await layers.apply(undefined, chunked(tar), { blobFile, sizeHint: tar.length });
    assert.equal(info.diffId, sha(tar));
    assert.ok(fs.readFileSync(blobFile).equals(tar));
    const diff = layers.diffDir(info.chainId);
    assert.equal(fs.readFileSync(path.join(diff, 'dir/small.txt'), 'utf8'), 'small');
    assert.equal(fs.statSync(path.join(diff, 'big.bin')).size, WORKER_MIN_BYTES + (1 << 20));
    // Same bytes through the in-thread path: same diff ID.
    const again = await layers.apply(undefined, chunked(tar), {});
    assert.equal(again.diffId, info.diffId);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a gzip layer in the worker: its output buffers move without a copy, same diff ID and files', async () => {
  const { root, layers } = await store();
  try {
    const files = [0, 1, 2].map((i) => ({ name: `f${i}.bin`, body: big(`g${i}`) }));
    const tar = await tarOf(files);
    const gz = createGunzip({ chunkSize: 1 << 20 });
    chunked(gzipSync(tar, { level: 1 })).pipe(gz);
    const info = await layers.apply(undefined, gz, { sizeHint: tar.length });
    assert.equal(info.diffId, sha(tar));
    const diff = layers.diffDir(info.chainId);
    for (const f of files) assert.ok(fs.readFileSync(path.join(diff, f.name)).equals(f.body), f.name);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('in the worker: escaping entries are refused with their category, truncated tars fail, nothing is left', async () => {
  const { root, layers } = await store();
  try {
    const evil = await tarOf([
      { name: 'big.bin', body: big('e') },
      { name: '../escape.txt', body: Buffer.from('x') },
    ]);
    await assert.rejects(layers.apply(undefined, chunked(evil), { sizeHint: evil.length }), (err: unknown) => {
      assert.ok(err instanceof BerthError, String(err));
      assert.equal(err.category, 'InvalidParameter');
      assert.match(err.message, /path escapes the destination/);
      return true;
    });
    const tar = await tarOf([{ name: 'big.bin', body: big('t') }]);
    await assert.rejects(layers.apply(undefined, chunked(tar.subarray(0, tar.length >> 1)), { sizeHint: tar.length }), /unexpected end of (data|archive)/i);
    const failing = new Readable({ read() {} });
    const p = layers.apply(undefined, failing, { sizeHint: tar.length });
    failing.push(tar.subarray(0, 1 << 20));
    setTimeout(() => failing.destroy(new Error('connection reset')), 50);
    await assert.rejects(p, /connection reset/);
    assert.deepEqual(fs.readdirSync(path.join(root, 'layers')), []);
    assert.ok(!fs.existsSync(path.join(root, 'escape.txt')));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('compressed input (the pull path): gzip and zstd decompress where the layer unpacks, in the worker and in the thread', async () => {
  const { root, layers } = await store();
  try {
    const files = [0, 1].map((i) => ({ name: `c${i}.bin`, body: big(`c${i}`) }));
    const tar = await tarOf(files);
    const gz = gzipSync(tar, { level: 1 });
    const zstFile = path.join(root, 'layer.tar.zst');
    fs.writeFileSync(path.join(root, 'layer.tar'), tar);
    assert.equal(spawnSync('zstd', ['-q', '-1', '-o', zstFile, path.join(root, 'layer.tar')]).status, 0);
    const zst = fs.readFileSync(zstFile);
    for (const [what, bytes] of [
      ['gzip', gz],
      ['zstd', zst],
      ['plain', tar],
    ] as const) {
      for (const sizeHint of [bytes.length, 0]) {
        const info = await layers.apply(undefined, chunked(bytes), { compressed: true, sizeHint });
        assert.equal(info.diffId, sha(tar), `${what} sizeHint ${sizeHint}`);
        const diff = layers.diffDir(info.chainId);
        for (const f of files) assert.ok(fs.readFileSync(path.join(diff, f.name)).equals(f.body), `${what} ${f.name}`);
        await layers.remove(info.chainId);
      }
    }
    // A gzip stream that breaks midway fails the layer and leaves nothing.
    const broken = Buffer.from(gz);
    broken.fill(0x41, broken.length >> 1, (broken.length >> 1) + 4096);
    await assert.rejects(layers.apply(undefined, chunked(broken), { compressed: true, sizeHint: broken.length }));
    assert.deepEqual(fs.readdirSync(path.join(root, 'layers')), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

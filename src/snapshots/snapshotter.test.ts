/**
 * The snapshotter conformance suite: prepare → mounts → write → commit → view → remove, reference
 * counts, unknown layers, crash leftovers. Runs against real mounts in a temp dir (root needed);
 * every Snapshotter implementation runs it through `conformance()`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { ContentStore } from '../content/store.js';
import { isCategory } from '../lib/errors.js';
import { isMounted } from '../lib/syscalls.js';
import { LayerStore } from './layers.js';
import { OverlaySnapshotter } from './overlay.js';
import type { ActiveSnapshot, Snapshotter } from './snapshotter.js';

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, size: Buffer.byteLength(body), mode: 0o644 }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

interface Env {
  root: string;
  snap: Snapshotter;
  content: ContentStore;
  layers: LayerStore;
  /** A layer holding `a.txt` and `d/x`. */
  base: string;
}

type Factory = (d: { layers: LayerStore; content: ContentStore }) => Snapshotter;

function conformance(name: string, make: Factory): void {
  async function setup(): Promise<Env> {
    const root = fs.mkdtempSync('/tmp/berth-snapshotter-test-');
    const content = new ContentStore(path.join(root, 'content'));
    const layers = new LayerStore(path.join(root, 'layers'));
    await content.init();
    await layers.init();
    // eslint-disable-next-line prefer-spread -- LayerStore.apply is the store's own method, not Function.prototype.apply
    const base = (await layers.apply(undefined, Readable.from([await tarOf({ 'a.txt': 'a', 'd/x': 'x' })]))).chainId;
    return { root, snap: make({ layers, content }), content, layers, base };
  }
  async function cleanup(e: Env): Promise<void> {
    await e.snap.unmountUnder([e.root]);
    fs.rmSync(e.root, { recursive: true, force: true });
  }
  const active = (e: Env, parents: string[], extra: Partial<ActiveSnapshot> = {}): ActiveSnapshot => ({
    parents,
    dir: path.join(e.root, 'c1'),
    target: path.join(e.root, 'run', 'rootfs'),
    ...extra,
  });
  const isNotFound = (err: unknown): boolean => isCategory(err, 'NotFound');
  const mountOptions = (target: string): string => {
    const line = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === target);
    return line ?? '';
  };

  describe(`snapshotter conformance: ${name}`, () => {
    test('prepare creates the snapshot and returns its mount; mounts() describes the same', async () => {
      const e = await setup();
      try {
        const s = active(e, [e.base]);
        const spec = await e.snap.prepare(s);
        assert.deepEqual(spec, e.snap.mounts(s));
        assert.equal(spec.target, s.target);
        const dirs = e.snap.dirs(s);
        assert.deepEqual(dirs.lowers, e.snap.lowers([e.base]));
        assert.equal(dirs.merged, s.target);
        assert.ok(fs.statSync(dirs.upper).isDirectory());
        assert.ok(fs.statSync(dirs.work).isDirectory());
        assert.ok(spec.options.includes(`upperdir=${dirs.upper}`));
        assert.ok(spec.options.some((o) => o.startsWith('lowerdir=')));
        await e.snap.prepare(s); // idempotent
        assert.equal(await isMounted(s.target), false, 'prepare mounts nothing');
      } finally {
        await cleanup(e);
      }
    });

    test('lowers are the chain top-most first', async () => {
      const e = await setup();
      try {
        const top = (await e.layers.apply(e.base, Readable.from([await tarOf({ 'b.txt': 'b' })]))).chainId;
        const lowers = e.snap.lowers([e.base, top]);
        assert.equal(lowers.length, 2);
        assert.ok(fs.existsSync(path.join(lowers[0] as string, 'b.txt')));
        assert.ok(fs.existsSync(path.join(lowers[1] as string, 'a.txt')));
        assert.deepEqual(e.snap.lowers([]), []);
      } finally {
        await cleanup(e);
      }
    });

    test('acquire mounts once and counts references; the last release unmounts', async () => {
      const e = await setup();
      try {
        const s = active(e, [e.base]);
        await e.snap.prepare(s);
        assert.equal(e.snap.refs('c1'), 0);
        const root = await e.snap.acquire('c1', s);
        assert.equal(root, s.target);
        assert.equal(await isMounted(s.target), true);
        assert.equal(fs.readFileSync(path.join(root, 'a.txt'), 'utf8'), 'a');
        assert.equal(await e.snap.acquire('c1', s), s.target);
        assert.equal(e.snap.refs('c1'), 2);
        await e.snap.release('c1', s.target);
        assert.equal(e.snap.refs('c1'), 1);
        assert.equal(await isMounted(s.target), true, 'still held');
        await e.snap.release('c1', s.target);
        assert.equal(e.snap.refs('c1'), 0);
        assert.equal(await isMounted(s.target), false);
      } finally {
        await cleanup(e);
      }
    });

    test('adopt counts a mount an earlier daemon made; forceRelease unmounts whatever the count', async () => {
      const e = await setup();
      try {
        const s = active(e, [e.base]);
        await e.snap.prepare(s);
        await e.snap.acquire('c1', s);
        const fresh = make({ layers: e.layers, content: e.content });
        fresh.adopt('c1');
        fresh.adopt('c1');
        assert.equal(fresh.refs('c1'), 2);
        await fresh.forceRelease('c1', s.target);
        assert.equal(fresh.refs('c1'), 0);
        assert.equal(await isMounted(s.target), false);
      } finally {
        await cleanup(e);
      }
    });

    test('write → commit → view: the new layer holds the writes and the deletions', async () => {
      const e = await setup();
      try {
        const s = active(e, [e.base]);
        await e.snap.prepare(s);
        const root = await e.snap.acquire('c1', s);
        fs.writeFileSync(path.join(root, 'b.txt'), 'b');
        fs.rmSync(path.join(root, 'a.txt'));
        fs.rmSync(path.join(root, 'd'), { recursive: true });
        fs.mkdirSync(path.join(root, 'd'));
        fs.writeFileSync(path.join(root, 'd', 'y'), 'y');
        await e.snap.release('c1', s.target);
        const layer = await e.snap.commit(e.base, e.snap.dirs(s).upper);
        assert.equal(layer.parent, e.base);
        assert.ok(await e.layers.has(layer.chainId));
        assert.ok(await e.content.has(layer.diffId), 'the layer tar is in the content store');
        assert.ok(fs.existsSync(e.snap.dirs(s).upper), 'without adopt the upper dir stays');
        const dir = path.join(e.root, 'view');
        fs.mkdirSync(dir);
        const view = await e.snap.view([e.base, layer.chainId], dir);
        try {
          assert.equal(fs.readFileSync(path.join(view.path, 'b.txt'), 'utf8'), 'b');
          assert.equal(fs.existsSync(path.join(view.path, 'a.txt')), false, 'whiteout');
          assert.deepEqual(fs.readdirSync(path.join(view.path, 'd')), ['y'], 'opaque directory');
          assert.throws(() => fs.writeFileSync(path.join(view.path, 'c.txt'), 'c'), /EROFS/);
        } finally {
          await view.release();
        }
        assert.equal(await isMounted(dir), false);
      } finally {
        await cleanup(e);
      }
    });

    test('commit with adopt renames the upper dir into the layer store', async () => {
      const e = await setup();
      try {
        const s = active(e, [e.base]);
        await e.snap.prepare(s);
        const root = await e.snap.acquire('c1', s);
        fs.writeFileSync(path.join(root, 'b.txt'), 'b');
        await e.snap.release('c1', s.target);
        const upper = e.snap.dirs(s).upper;
        const layer = await e.snap.commit(e.base, upper, { adopt: true, clampMtime: new Date(0) });
        assert.equal(fs.existsSync(upper), false);
        const lower = e.snap.lowers([layer.chainId])[0] as string;
        assert.equal(fs.readFileSync(path.join(lower, 'b.txt'), 'utf8'), 'b');
      } finally {
        await cleanup(e);
      }
    });

    test('views: no layers is the target itself, one layer its directory, unknown layers NotFound', async () => {
      const e = await setup();
      try {
        const dir = path.join(e.root, 'view');
        fs.mkdirSync(dir);
        const none = await e.snap.view([], dir);
        assert.equal(none.path, dir);
        await none.release();
        const one = await e.snap.view([e.base], dir);
        assert.equal(fs.readFileSync(path.join(one.path, 'a.txt'), 'utf8'), 'a');
        await one.release();
        assert.equal(await isMounted(dir), false);
        const unknown = `sha256:${'0'.repeat(64)}`;
        await assert.rejects(e.snap.view([e.base, unknown], dir), isNotFound);
        assert.equal(await isMounted(dir), false, 'nothing mounted for a refused view');
        await assert.rejects(e.snap.commit(unknown, path.join(e.root, 'nothing')), isNotFound);
      } finally {
        await cleanup(e);
      }
    });

    test('unknown keys: no references, and a release or forceRelease of one changes nothing', async () => {
      const e = await setup();
      try {
        assert.equal(e.snap.refs('nope'), 0);
        const target = path.join(e.root, 'never-mounted');
        fs.mkdirSync(target);
        await e.snap.release('nope', target);
        await e.snap.forceRelease('nope', target);
        assert.equal(e.snap.refs('nope'), 0);
      } finally {
        await cleanup(e);
      }
    });

    test('a snapshot on no layers mounts over an empty lower', async () => {
      const e = await setup();
      try {
        const s = active(e, []);
        await e.snap.prepare(s);
        const root = await e.snap.acquire('c1', s);
        assert.deepEqual(fs.readdirSync(root), []);
        fs.writeFileSync(path.join(root, 'f'), 'f');
        await e.snap.release('c1', s.target);
        assert.ok(fs.existsSync(path.join(e.snap.dirs(s).upper, 'f')));
      } finally {
        await cleanup(e);
      }
    });

    test('volatile mounts skip write-back and leave no crash marker after release', async () => {
      const e = await setup();
      try {
        const s = active(e, [e.base], { volatile: true });
        assert.ok(e.snap.mounts(s).options.includes('volatile'));
        await e.snap.prepare(s);
        await e.snap.acquire('c1', s);
        assert.match(mountOptions(s.target), /volatile/);
        await e.snap.release('c1', s.target);
        assert.equal(fs.existsSync(path.join(e.snap.dirs(s).work, 'work', 'incompat')), false);
        await e.snap.acquire('c1', s); // mountable again
        await e.snap.release('c1', s.target);
      } finally {
        await cleanup(e);
      }
    });

    test('remove unmounts and deletes the snapshot’s own files', async () => {
      const e = await setup();
      try {
        const s = active(e, [e.base]);
        await e.snap.prepare(s);
        await e.snap.acquire('c1', s);
        await e.snap.remove('c1', s);
        assert.equal(await isMounted(s.target), false);
        assert.equal(e.snap.refs('c1'), 0);
        assert.equal(fs.existsSync(e.snap.dirs(s).upper), false);
        assert.equal(fs.existsSync(e.snap.dirs(s).work), false);
        assert.ok(await e.layers.has(e.base), 'the layers beneath stay');
      } finally {
        await cleanup(e);
      }
    });

    test('crash leftovers: unmountUnder takes down every mount below a directory, nested ones first', async () => {
      const e = await setup();
      try {
        const s = active(e, [e.base]);
        await e.snap.prepare(s);
        await e.snap.acquire('c1', s);
        const top = (await e.layers.apply(e.base, Readable.from([await tarOf({ 'b.txt': 'b' })]))).chainId;
        const nested = path.join(s.target, 'd');
        await e.snap.view([e.base, top], nested);
        assert.equal(await isMounted(nested), true);
        // A new daemon knows nothing of these mounts.
        await make({ layers: e.layers, content: e.content }).unmountUnder([path.join(e.root, 'run')]);
        assert.equal(await isMounted(nested), false);
        assert.equal(await isMounted(s.target), false);
      } finally {
        await cleanup(e);
      }
    });
  });
}

conformance('overlay', (d) => new OverlaySnapshotter(d));

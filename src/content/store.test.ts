import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { ContentStore } from './store.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

async function store(): Promise<ContentStore> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-content-'));
  roots.push(root);
  const s = new ContentStore(root);
  await s.init();
  return s;
}

describe('a diff ID stored as its compressed blob', () => {
  it('answers has, info, read and list for the diff ID; delete removes record and blob', async () => {
    const s = await store();
    const tar = Buffer.alloc(300_000, 'layer bytes ');
    const gz = gzipSync(tar);
    const diffId = sha(tar);
    const digest = sha(gz);
    assert.equal(await s.has(diffId), false);
    const tmp = s.tempPath();
    fs.writeFileSync(tmp, gz);
    await s.commitCompressed(tmp, diffId, { digest, size: tar.length, compression: 'gzip' });
    assert.equal(await s.has(diffId), true);
    assert.deepEqual(await s.info(diffId), { digest: diffId, size: tar.length });
    assert.ok((await buffer(s.read(diffId))).equals(tar));
    // The compressed blob is listed as the diff ID it holds (what GC and prune compare against).
    assert.deepEqual(await s.list(), [diffId]);
    assert.equal(await s.storedBytes(diffId), gz.length);
    await s.delete(diffId);
    assert.equal(await s.has(diffId), false);
    assert.deepEqual(await s.list(), []);
    assert.equal(fs.existsSync(s.blobPath(digest)), false);
  });

  it('a compressed blob without its record is listed as itself (an orphan GC removes)', async () => {
    const s = await store();
    const gz = gzipSync(Buffer.from('x'));
    const tmp = s.tempPath();
    fs.writeFileSync(tmp, gz);
    await s.commit(tmp, sha(gz));
    assert.deepEqual(await s.list(), [sha(gz)]);
  });

  it('a record whose blob is gone does not count as stored', async () => {
    const s = await store();
    const tar = Buffer.from('t');
    const gz = gzipSync(tar);
    const tmp = s.tempPath();
    fs.writeFileSync(tmp, gz);
    await s.commitCompressed(tmp, sha(tar), { digest: sha(gz), size: 1, compression: 'gzip' });
    fs.rmSync(s.blobPath(sha(gz)));
    assert.equal(await s.has(sha(tar)), false);
    await assert.rejects(s.info(sha(tar)), /not found/);
  });
});

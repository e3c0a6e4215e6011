import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { extractTar } from './safetar.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink'; mode: number; uid?: number; gid?: number; body?: string; linkname?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((resolve) => {
    pack.on('end', () => resolve());
  });
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: e.name, type: e.type ?? 'file', mode: e.mode, uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: new Date(1e12), ...(e.linkname ? { linkname: e.linkname } : {}) }, e.body ?? '', (err) => (err ? reject(err) : resolve())),
    );
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

describe('extractTar: owners and modes exactly as the archive says', { skip: process.getuid?.() === 0 ? false : 'needs root' }, () => {
  it('root-owned entries, other owners, set-group-ID directories, special and umask-masked modes', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-safetar-'));
    roots.push(root);
    const old = process.umask(0o022);
    try {
      const tar = await tarOf([
        { name: 'a/', type: 'directory', mode: 0o755 },
        { name: 'a/f', mode: 0o644, body: 'f' },
        { name: 'a/g', mode: 0o600, uid: 1000, gid: 1001, body: 'g' },
        { name: 'a/x', mode: 0o4755, body: 'x' },
        { name: 'a/w', mode: 0o666, body: 'w' },
        { name: 'a/l', type: 'symlink', mode: 0o777, linkname: 'f' },
        { name: 'a/d/', type: 'directory', mode: 0o777 },
        { name: 's/', type: 'directory', mode: 0o2775, gid: 50 },
        { name: 's/h', mode: 0o644, body: 'h' },
        { name: 's/sub/', type: 'directory', mode: 0o755 },
        { name: 's/sub/i', mode: 0o644, body: 'i' },
        { name: 'top', mode: 0o640, uid: 7, gid: 8, body: 't' },
      ]);
      await extractTar(Readable.from([tar]), root, { whiteouts: 'overlay' });
      const st = (p: string): fs.Stats => fs.lstatSync(path.join(root, p));
      const want: Array<[string, number, number, number]> = [
        ['a', 0o755, 0, 0],
        ['a/f', 0o644, 0, 0],
        ['a/g', 0o600, 1000, 1001],
        ['a/x', 0o4755, 0, 0],
        ['a/w', 0o666, 0, 0],
        ['a/d', 0o777, 0, 0],
        ['s', 0o2775, 0, 50],
        ['s/h', 0o644, 0, 0],
        ['s/sub', 0o755, 0, 0],
        ['s/sub/i', 0o644, 0, 0],
        ['top', 0o640, 7, 8],
      ];
      for (const [p, mode, uid, gid] of want) {
        const s = st(p);
        assert.deepEqual([p, (s.mode & 0o7777).toString(8), s.uid, s.gid], [p, mode.toString(8), uid, gid]);
      }
      assert.equal(st('a/l').uid, 0);
      assert.equal(fs.readlinkSync(path.join(root, 'a/l')), 'f');
    } finally {
      process.umask(old);
    }
  });
});

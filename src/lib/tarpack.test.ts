import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { packPath } from './tarpack.js';
import { mkWhiteout } from './syscalls.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

const collect = async (s: Readable): Promise<Buffer> => {
  const cs: Buffer[] = [];
  for await (const c of s) cs.push(c as Buffer);
  return Buffer.concat(cs);
};

interface Seen {
  type: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname?: string | null;
  sha?: string;
}

/** Entries of a tar as another parser (tar-stream's extractor) reads them. */
async function entriesOf(tar: Buffer): Promise<Map<string, Seen>> {
  const ex = tarStream.extract();
  const seen = new Map<string, Seen>();
  Readable.from([tar]).pipe(ex);
  for await (const e of ex) {
    const body = await collect(e as unknown as Readable);
    const h = e.header;
    seen.set(h.name, {
      type: h.type ?? '',
      size: h.size ?? 0,
      mode: h.mode ?? -1,
      uid: h.uid ?? -1,
      gid: h.gid ?? -1,
      mtime: (h.mtime?.getTime() ?? 0) / 1000,
      linkname: h.linkname,
      ...(h.type === 'file' ? { sha: createHash('sha256').update(body).digest('hex') } : {}),
    });
  }
  return seen;
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe('packPath', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-pack-'));
  roots.push(root);
  const src = path.join(root, 'src');
  const longDir = `${'dir'.repeat(40)}/${'sub'.repeat(30)}`;
  const longFile = `${longDir}/${'n'.repeat(90)}`;
  const big = Buffer.alloc((1 << 20) * 3 + 777, 7);
  for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
  const files: Record<string, Buffer | string> = {
    'a.txt': 'hello\n',
    empty: '',
    exact512: Buffer.alloc(512, 1),
    big,
    'ünï.txt': 'u\n',
    [longFile]: 'deep\n',
    'opq/inside': 'o\n',
  };
  fs.mkdirSync(path.join(src, longDir), { recursive: true });
  fs.mkdirSync(path.join(src, 'opq'));
  for (const [n, b] of Object.entries(files)) fs.writeFileSync(path.join(src, n), b);
  fs.linkSync(path.join(src, 'a.txt'), path.join(src, 'hard'));
  fs.symlinkSync('/some/where', path.join(src, 'sl'));
  fs.symlinkSync('x'.repeat(150), path.join(src, 'longlink'));
  fs.chmodSync(path.join(src, 'a.txt'), 0o4755);
  fs.writeFileSync(path.join(src, 'secret'), 's');
  fs.chmodSync(path.join(src, 'secret'), 0);
  fs.chownSync(path.join(src, 'exact512'), 1000, 1001);
  mkWhiteout(path.join(src, 'gone'));
  const mtime = new Date('2030-01-02T03:04:05Z');
  fs.utimesSync(path.join(src, 'big'), mtime, mtime);

  it('writes every entry so another tar reader gets the same names, bytes, modes and owners', async () => {
    const tar = await collect(packPath(src, { rename: 'top' }));
    assert.equal(tar.length % 512, 0);
    assert.ok(tar.subarray(-1024).equals(Buffer.alloc(1024)), 'ends with two zero blocks');
    const seen = await entriesOf(tar);
    for (const [n, b] of Object.entries(files)) assert.equal(seen.get(`top/${n}`)?.sha, sha(b), n);
    assert.equal(seen.get('top/a.txt')?.mode, 0o4755);
    assert.equal(seen.get('top/secret')?.mode, 0, 'a mode-0 file keeps mode 0');
    assert.deepEqual([seen.get('top/exact512')?.uid, seen.get('top/exact512')?.gid], [1000, 1001]);
    assert.equal(seen.get('top/hard')?.type, 'link');
    assert.equal(seen.get('top/hard')?.linkname, 'top/a.txt');
    assert.equal(seen.get('top/sl')?.linkname, '/some/where');
    assert.equal(seen.get('top/longlink')?.linkname, 'x'.repeat(150));
    assert.equal(seen.get(`top/${longDir}/`)?.type, 'directory');
    assert.equal(seen.get('top/big')?.mtime, mtime.getTime() / 1000);
    assert.equal(seen.get('top/gone')?.type, 'character-device');
    // GNU tar agrees (ustar prefix split and pax records included).
    const tarFile = path.join(root, 'out.tar');
    fs.writeFileSync(tarFile, tar);
    const list = spawnSync('tar', ['-tf', tarFile], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    const names = list.stdout.split('\n').filter(Boolean);
    assert.ok(names.includes(`top/${longFile}`) && names.includes('top/ünï.txt'), names.join(' '));
    const x = path.join(root, 'x');
    fs.mkdirSync(x);
    const ext = spawnSync('tar', ['-xf', tarFile, '-C', x, '--exclude', 'top/gone'], { encoding: 'utf8' });
    assert.equal(ext.status, 0, ext.stderr);
    assert.ok(fs.readFileSync(path.join(x, 'top/big')).equals(big));
  });

  it('writes overlay whiteouts and opaque directories as layer entries, with clamped times', async () => {
    const clampMtime = new Date('2001-01-01T00:00:00Z');
    const tar = await collect(
      packPath(src, { rename: '', overlayWhiteouts: true, isOpaque: (p) => p.endsWith('/opq'), clampMtime, omit: (n) => n === 'empty' }),
    );
    const seen = await entriesOf(tar);
    assert.equal(seen.get('.wh.gone')?.type, 'file');
    assert.equal(seen.get('opq/.wh..wh..opq')?.size, 0);
    assert.equal(seen.has('empty'), false);
    for (const [n, e] of seen) assert.ok(e.mtime <= clampMtime.getTime() / 1000, `${n} clamped`);
    // Same input, same bytes.
    const again = await collect(
      packPath(src, { rename: '', overlayWhiteouts: true, isOpaque: (p) => p.endsWith('/opq'), clampMtime, omit: (n) => n === 'empty' }),
    );
    assert.ok(tar.equals(again));
  });

  it('fails instead of writing a short entry when a file shrinks while it is read', async () => {
    const d = path.join(root, 'shrink');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'f'), Buffer.alloc(3 << 20));
    // onFile runs between the lstat that sized the entry and the reads of its bytes.
    const s = packPath(d, { rename: '', onFile: () => fs.truncateSync(path.join(d, 'f'), 10) });
    await assert.rejects(collect(s), /changed size while being archived/);
  });

  it('reports a missing source as an error on the stream', async () => {
    await assert.rejects(collect(packPath(path.join(root, 'nope'))), /ENOENT/);
  });
});

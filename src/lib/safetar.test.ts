import { after, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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
      pack.entry(
        {
          name: e.name,
          type: e.type ?? 'file',
          mode: e.mode,
          uid: e.uid ?? 0,
          gid: e.gid ?? 0,
          mtime: new Date(1e12),
          ...(e.linkname ? { linkname: e.linkname } : {}),
        },
        e.body ?? '',
        (err) => (err ? reject(err) : resolve()),
      ),
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

/** Every path under `dir` with its type, mode, owner, size, mtime (seconds), link target and content hash. */
function treeOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const p = path.join(dir, rel);
    const st = fs.lstatSync(p);
    const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
    const extra = kind === 'l' ? fs.readlinkSync(p) : kind === 'f' ? createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16) : '';
    if (rel !== '')
      out.push(
        `${rel} ${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${kind === 'f' ? st.size : ''} ${kind === 'd' ? '' : Math.trunc(st.mtimeMs / 1000)} ${extra} nlink=${kind === 'f' ? st.nlink : ''}`,
      );
    if (kind === 'd') for (const n of fs.readdirSync(p).sort()) walk(rel === '' ? n : `${rel}/${n}`);
  };
  walk('');
  return out;
}

describe('TarExtractor reads what GNU tar writes, however the bytes are split', { skip: process.getuid?.() === 0 ? false : 'needs root' }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-safetar-gnu-'));
  roots.push(root);
  const src = path.join(root, 'src');
  const long = `${'d'.repeat(60)}/${'e'.repeat(70)}/${'f'.repeat(80)}`;
  fs.mkdirSync(path.join(src, long), { recursive: true });
  fs.writeFileSync(path.join(src, long, `${'n'.repeat(120)}.txt`), 'deep\n');
  fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(700_001, 3));
  fs.writeFileSync(path.join(src, 'b512'), Buffer.alloc(512, 4));
  fs.writeFileSync(path.join(src, 'empty'), '');
  fs.writeFileSync(path.join(src, 'ünï'), 'u');
  fs.linkSync(path.join(src, 'b512'), path.join(src, 'hard'));
  fs.symlinkSync(`/${'t'.repeat(150)}`, path.join(src, 'longlink'));
  fs.chownSync(path.join(src, 'empty'), 2_500_000, 12);
  fs.chmodSync(path.join(src, 'big'), 0o4711);

  for (const format of ['gnu', 'pax', 'ustar']) {
    it(`--format=${format}: one chunk, 1-byte chunks and odd-sized chunks give GNU tar's own result`, async () => {
      const tarFile = path.join(root, `${format}.tar`);
      const files = format === 'ustar' ? ['big', 'b512', 'hard'] : ['.'];
      const c = spawnSync('tar', ['-C', src, `--format=${format}`, '-cf', tarFile, ...files], { encoding: 'utf8' });
      assert.equal(c.status, 0, c.stderr);
      const ref = path.join(root, `${format}-ref`);
      fs.mkdirSync(ref);
      const x = spawnSync('tar', ['-C', ref, '--same-owner', '-xpf', tarFile], { encoding: 'utf8' });
      assert.equal(x.status, 0, x.stderr);
      const tar = fs.readFileSync(tarFile);
      for (const split of [tar.length, 1, 4093]) {
        const dir = path.join(root, `${format}-${split}`);
        fs.mkdirSync(dir);
        const chunks: Buffer[] = [];
        for (let i = 0; i < tar.length; i += split) chunks.push(tar.subarray(i, i + split));
        await extractTar(Readable.from(chunks), dir, { whiteouts: 'none' });
        // GNU tar keeps the times of directories it creates implicitly; compare everything else.
        assert.deepEqual(treeOf(dir), treeOf(ref), `split ${split}`);
      }
    });
  }

  it('refuses a header with a bad checksum and an archive that ends inside an entry, leaving no open file behind', async () => {
    const tarFile = path.join(root, 'ok.tar');
    assert.equal(spawnSync('tar', ['-C', src, '-cf', tarFile, 'big']).status, 0);
    const tar = fs.readFileSync(tarFile);
    const bad = Buffer.from(tar);
    bad[10] = (bad[10] as number) ^ 0x55;
    for (const d of ['bad', 'short', 'short2']) fs.mkdirSync(path.join(root, d));
    const openFiles = (): number =>
      fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`, { encoding: 'utf8' }).startsWith(root);
        } catch {
          return false; // the directory listing's own descriptor, closed meanwhile
        }
      }).length;
    await assert.rejects(extractTar(Readable.from([bad]), path.join(root, 'bad'), { whiteouts: 'none' }), /invalid tar header: bad checksum/);
    await assert.rejects(
      extractTar(Readable.from([tar.subarray(0, 512 + 100_000)]), path.join(root, 'short'), { whiteouts: 'none' }),
      /unexpected end of data/,
    );
    await assert.rejects(extractTar(Readable.from([tar.subarray(0, 300)]), path.join(root, 'short2'), { whiteouts: 'none' }), /unexpected end of data/);
    assert.equal(openFiles(), 0, 'the file cut short was closed');
    // Only the partial bytes of the file cut short are there; nothing else was made.
    assert.deepEqual(fs.readdirSync(path.join(root, 'short')), ['big']);
    assert.equal(fs.statSync(path.join(root, 'short/big')).size, 100_000);
    assert.deepEqual(fs.readdirSync(path.join(root, 'bad')), []);
  });
});

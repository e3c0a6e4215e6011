/**
 * RootDir (lib/rootfs.ts) and extractInRoot (lib/rootextract.ts) on real trees: absolute and
 * relative symlinks and `..` stay inside the root, trees are removed without following links,
 * mkdir -p goes through links inside the root, tar entries under a hostile link land inside,
 * owners are kept or set, dockerd's overwrite rules and messages.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { RootDir, closeFd, removeAt } from './rootfs.js';
import { extractInRoot } from './rootextract.js';
import { O_PATH, O_RDONLY } from './syscalls.js';
import { headerBytes, type TarHeader } from './tarheader.js';

let base = '';
let root = '';
let outside = '';

function tar(entries: Array<Partial<TarHeader> & { name: string; data?: string }>): Readable {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const type = e.type ?? 'file';
    parts.push(
      headerBytes({ mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 1_000_000_000, ...e, type, size: data.length }),
      data,
      Buffer.alloc((512 - (data.length % 512)) % 512),
    );
  }
  parts.push(Buffer.alloc(1024));
  return Readable.from([Buffer.concat(parts)]);
}

before(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'rootfs-test-'));
  root = path.join(base, 'root');
  outside = path.join(base, 'outside');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), 'host\n');
  fs.writeFileSync(path.join(root, 'etc', 'secret'), 'inside\n');
  fs.symlinkSync(outside, path.join(root, 'abs')); // absolute: means <root>/<outside> inside
  fs.symlinkSync('../../../../outside', path.join(root, 'rel'));
  fs.symlinkSync('/etc', path.join(root, 'etclink'));
  fs.symlinkSync('/nowhere/deeper', path.join(root, 'dangling'));
});

after(() => fs.rmSync(base, { recursive: true, force: true }));

describe('RootDir', () => {
  it('resolves links and .. inside the root, never out of it', () => {
    const r = RootDir.open(root);
    try {
      assert.equal(r.readFile('/etclink/secret')?.toString(), 'inside\n');
      assert.equal(r.readFile('../../etc/secret')?.toString(), 'inside\n');
      assert.equal(r.readFile('/abs/secret'), undefined);
      assert.equal(r.readFile('/rel/secret'), undefined);
      assert.ok(r.stat('/etclink', { followLast: false })?.isSymbolicLink());
      assert.ok(r.stat('/etclink')?.isDirectory());
      const fd = r.open('/etclink', O_PATH);
      assert.equal(r.pathOf(fd), '/etc');
      closeFd(fd);
      assert.equal(r.resolvePath('/dangling/x'), '/nowhere/deeper/x');
      assert.equal(r.resolvePath('/etclink/a/../b'), '/etc/b');
    } finally {
      r.close();
    }
  });

  it('mkdirAll creates through links inside the root; removeAll removes a tree, not what a link points at', () => {
    const r = RootDir.open(root);
    try {
      closeFd(r.mkdirAll('/abs/made/here'));
      assert.ok(fs.statSync(path.join(root, outside, 'made', 'here')).isDirectory());
      assert.deepEqual(fs.readdirSync(outside), ['secret']);
      fs.mkdirSync(path.join(root, 'tree', 'a', 'b'), { recursive: true });
      fs.symlinkSync(outside, path.join(root, 'tree', 'a', 'out'));
      fs.writeFileSync(path.join(root, 'tree', 'a', 'b', 'f'), 'x');
      r.removeAll('/tree');
      assert.equal(fs.existsSync(path.join(root, 'tree')), false);
      assert.equal(fs.readFileSync(path.join(outside, 'secret'), 'utf8'), 'host\n');
      // removeAt on a link removes the link.
      const top = r.open('/', O_RDONLY);
      fs.symlinkSync(outside, path.join(root, 'victimlink'));
      removeAt(top, 'victimlink');
      closeFd(top);
      assert.equal(fs.existsSync(path.join(root, 'victimlink')), false);
      assert.ok(fs.existsSync(path.join(outside, 'secret')));
    } finally {
      r.close();
    }
  });
});

describe('extractInRoot', () => {
  it('entries under a hostile link land inside; owners kept or set; escaping names refused', async () => {
    const r = RootDir.open(root);
    try {
      await extractInRoot(
        tar([
          { name: 'abs/planted', data: 'p' },
          { name: 'etclink/owned', data: 'o', uid: 1234, gid: 4321, mode: 0o640 },
        ]),
        r,
        '/',
      );
      assert.equal(fs.existsSync(path.join(outside, 'planted')), false);
      assert.equal(fs.readFileSync(path.join(root, outside, 'planted'), 'utf8'), 'p');
      const st = fs.statSync(path.join(root, 'etc', 'owned'));
      assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1234, 4321, 0o640]);
      await extractInRoot(tar([{ name: 'chowned', data: 'c', uid: 5, gid: 6 }]), r, '/etc', { chown: { uid: 7, gid: 8 } });
      const c = fs.statSync(path.join(root, 'etc', 'chowned'));
      assert.deepEqual([c.uid, c.gid], [7, 8]);
      await assert.rejects(extractInRoot(tar([{ name: '../../escape', data: 'x' }]), r, '/etc'), /escapes the destination/);
      await assert.rejects(extractInRoot(tar([{ name: 'hl', type: 'link', linkname: 'nope' }]), r, '/etc'), /hard link target nope not found/);
    } finally {
      r.close();
    }
  });

  it("noOverwriteDirNonDir refuses both ways with dockerd's text; without it the entry replaces what is there", async () => {
    const r = RootDir.open(root);
    try {
      fs.mkdirSync(path.join(root, 'd', 'sub'), { recursive: true });
      fs.writeFileSync(path.join(root, 'd', 'f'), 'f');
      const o = { noOverwriteDirNonDir: true, destName: '/d' };
      await assert.rejects(extractInRoot(tar([{ name: 'sub', data: 'x' }]), r, '/d', o), {
        message: 'cannot overwrite directory "/d/sub" with non-directory "/d"',
      });
      await assert.rejects(extractInRoot(tar([{ name: 'f', type: 'directory' }]), r, '/d', o), {
        message: 'cannot overwrite non-directory "/d/f" with directory "/d"',
      });
      await extractInRoot(
        tar([
          { name: 'sub', data: 'now a file' },
          { name: 'f', type: 'directory' },
          { name: 'f/in', data: 'i' },
        ]),
        r,
        '/d',
      );
      assert.equal(fs.readFileSync(path.join(root, 'd', 'sub'), 'utf8'), 'now a file');
      assert.equal(fs.readFileSync(path.join(root, 'd', 'f', 'in'), 'utf8'), 'i');
    } finally {
      r.close();
    }
  });
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveUser, readFileInRoot } from './user.js';
import { hostPathInRoot as resolveInRoot } from '../lib/rootfs.js';
import { isCategory } from '../lib/errors.js';

let dir = '';
let root = '';
let hostile = '';
let host = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-user-test-'));
  root = join(dir, 'rootfs');
  host = join(dir, 'host');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(host, { recursive: true });
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\n# comment\nalice:x:1000:100:Alice:/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n',
  );
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nusers:x:100:\nwheel:x:10:alice,bob\nstaff:x:50:alice\nbob:x:1001:\n');
  // A host file the container must never get to read.
  writeFileSync(join(host, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nevil:x:666:666::/evil:/bin/sh\n');
  // Hostile rootfs: /etc/passwd is a symlink climbing out of the rootfs.
  hostile = join(dir, 'hostile');
  mkdirSync(join(hostile, 'etc'), { recursive: true });
  symlinkSync('/../../host/passwd', join(hostile, 'etc/passwd'));
  symlinkSync('../../../../host', join(hostile, 'escape'));
  mkdirSync(join(hostile, 'host'));
  writeFileSync(join(hostile, 'host/passwd'), 'root:x:0:0:root:/root:/bin/sh\ninside:x:7:7::/in:/bin/sh\n');
  symlinkSync('loop2', join(hostile, 'loop1'));
  symlinkSync('loop1', join(hostile, 'loop2'));
  symlinkSync('etc', join(hostile, 'etclink'));
});

after(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('hostPathInRoot clamps .. and resolves symlinks inside the root', () => {
  assert.equal(resolveInRoot(root, '/etc/passwd'), join(root, 'etc/passwd'));
  assert.equal(resolveInRoot(root, '../../etc/passwd'), join(root, 'etc/passwd'));
  assert.equal(resolveInRoot(root, '/'), root);
  assert.equal(resolveInRoot(root, ''), root);
  assert.equal(resolveInRoot(root, '/nonexistent/../x'), join(root, 'x'));
  assert.equal(resolveInRoot(hostile, '/etc/passwd'), join(hostile, 'host/passwd'));
  assert.equal(resolveInRoot(hostile, '/escape/passwd'), join(hostile, 'host/passwd'));
  assert.equal(resolveInRoot(hostile, '/etclink/passwd'), join(hostile, 'etc/passwd').replace('/etc/passwd', '/host/passwd'));
  assert.throws(() => resolveInRoot(hostile, '/loop1/x'), /too many levels of symbolic links/);
});

test('hostile symlinked /etc/passwd is read as if the rootfs were /', () => {
  assert.match(readFileInRoot(hostile, '/etc/passwd') ?? '', /inside/);
  // A loop is dockerd's start failure (System, securejoin's text), not a bad parameter.
  assert.throws(
    () => readFileInRoot(hostile, '/loop1/x'),
    (e: unknown) => isCategory(e, 'System') && (e as Error).message === `SecureJoin ${join(hostile, 'loop1/x')}: too many levels of symbolic links`,
  );
  const u = resolveUser({ rootfs: hostile, user: 'inside' });
  assert.deepEqual(u, { uid: 7, gid: 7, additionalGids: [7], home: '/in' });
  assert.throws(() => resolveUser({ rootfs: hostile, user: 'evil' }), /unable to find user evil/);
});

test('Docker -u forms', () => {
  assert.deepEqual(resolveUser({ rootfs: root }), { uid: 0, gid: 0, additionalGids: [0], home: '/root' });
  assert.deepEqual(resolveUser({ rootfs: root, user: 'alice' }), {
    uid: 1000,
    gid: 100,
    additionalGids: [100, 10, 50],
    home: '/home/alice',
  });
  assert.deepEqual(resolveUser({ rootfs: root, user: '1000' }).additionalGids, [100, 10, 50]);
  assert.deepEqual(resolveUser({ rootfs: root, user: 'alice:staff' }), {
    uid: 1000,
    gid: 50,
    additionalGids: [50],
    home: '/home/alice',
  });
  assert.deepEqual(resolveUser({ rootfs: root, user: '1000:5' }), { uid: 1000, gid: 5, additionalGids: [5], home: '/home/alice' });
  assert.deepEqual(resolveUser({ rootfs: root, user: '4242' }), { uid: 4242, gid: 0, additionalGids: [0], home: '/' });
  assert.deepEqual(resolveUser({ rootfs: root, user: 'bob', groupAdd: ['staff', '777'] }).additionalGids, [1001, 10, 50, 777]);
  assert.throws(
    () => resolveUser({ rootfs: root, user: 'nobody' }),
    (e: unknown) => isCategory(e, 'System') && (e as Error).message === 'unable to find user nobody: no matching entries in passwd file',
  );
  assert.throws(() => resolveUser({ rootfs: root, user: 'alice:nogroup' }), /unable to find group nogroup: no matching entries in group file/);
  assert.throws(() => resolveUser({ rootfs: root, groupAdd: ['nogroup'] }), /Unable to find group nogroup/);
  // No passwd file at all: numeric ids work, names do not.
  const empty = join(dir, 'empty');
  mkdirSync(empty, { recursive: true });
  assert.deepEqual(resolveUser({ rootfs: empty, user: '5:6' }), { uid: 5, gid: 6, additionalGids: [6], home: '/' });
  assert.throws(() => resolveUser({ rootfs: empty, user: 'x' }), /no matching entries in passwd file/);
});

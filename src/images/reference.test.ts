import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullName, parseReference, splitReference } from './reference.js';
import { parseReference as parseCliReference } from '../cli/reference.js';
import { isCategory } from '../lib/errors.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

test('splitReference: name, tag and digest as written', () => {
  assert.deepEqual(splitReference('busybox'), { name: 'busybox', tag: undefined, digest: undefined });
  assert.deepEqual(splitReference('localhost:5000/app'), { name: 'localhost:5000/app', tag: undefined, digest: undefined });
  assert.deepEqual(splitReference('localhost:5000/app:1'), { name: 'localhost:5000/app', tag: '1', digest: undefined });
  assert.deepEqual(splitReference(`a/b:t@${DIGEST}`), { name: 'a/b', tag: 't', digest: DIGEST });
  assert.deepEqual(splitReference('Not:Valid@x'), { name: 'Not', tag: 'Valid', digest: 'x' });
});

test('parseReference normalises and validates', () => {
  assert.equal(fullName(parseReference('busybox')), 'docker.io/library/busybox:latest');
  assert.equal(fullName(parseReference('localhost:5000/app')), 'localhost:5000/app:latest');
  assert.equal(fullName(parseReference(`foo/bar@${DIGEST}`)), `docker.io/foo/bar@${DIGEST}`);
  assert.equal(fullName(parseReference('index.docker.io/x/y:2')), 'docker.io/x/y:2');
  for (const bad of ['', 'a:b:c:@', 'x@sha256:short', 'x:-bad', 'a//b']) {
    assert.throws(
      () => parseReference(bad),
      (e: unknown) => isCategory(e, 'InvalidParameter'),
      bad,
    );
  }
  assert.throws(() => parseReference('foo/Bar'), /invalid reference format: repository name \(foo\/Bar\) must be lowercase$/);
});

test('the CLI split keeps familiar names and does not validate', () => {
  assert.deepEqual(parseCliReference('docker.io/library/busybox:1'), { name: 'busybox', tag: '1', digest: undefined });
  assert.deepEqual(parseCliReference('docker.io/foo/bar'), { name: 'foo/bar', tag: undefined, digest: undefined });
  assert.deepEqual(parseCliReference('localhost:5000/app'), { name: 'localhost:5000/app', tag: undefined, digest: undefined });
  assert.deepEqual(parseCliReference('BAD:x@y'), { name: 'BAD', tag: 'x', digest: 'y' });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheSources, checkSolveCache } from './cacheopts.js';
import { isCategory } from '../lib/errors.js';

test('a solve may export inline cache and import registry refs', () => {
  checkSolveCache({ Exports: [{ Type: 'inline', Attrs: {} }], Imports: [{ Type: 'registry', Attrs: { ref: 'a:b' } }] });
  checkSolveCache(null);
});

test('local and registry cache exports and local imports are NotImplemented, naming the type', () => {
  for (const [cache, re] of [
    [{ Exports: [{ Type: 'local', Attrs: { dest: '/x' } }] }, /cache export type=local is not supported/],
    [{ Exports: [{ Type: 'registry', Attrs: { ref: 'r/x' } }] }, /cache export type=registry is not supported/],
    [{ Imports: [{ Type: 'local', Attrs: { src: '/x' } }] }, /cache import type=local is not supported/],
  ] as const) {
    assert.throws(
      () => checkSolveCache(cache),
      (e: unknown) => isCategory(e, 'NotImplemented') && re.test((e as Error).message),
    );
  }
});

test('cache sources from cache-imports and the legacy cache-from option, once each', () => {
  const attrs = {
    'cache-imports': JSON.stringify([
      { Type: 'registry', Attrs: { ref: 'img:a' } },
      { Type: 'registry', Attrs: { ref: 'img:b' } },
    ]),
    'cache-from': 'img:a, img:c',
  };
  assert.deepEqual(cacheSources(attrs), ['img:a', 'img:b', 'img:c']);
  assert.deepEqual(cacheSources({}), []);
  assert.throws(() => cacheSources({ 'cache-imports': '[{"Type":"local","Attrs":{"src":"/d"}}]' }), /type=local is not supported/);
  assert.throws(() => cacheSources({ 'cache-imports': '{' }), /invalid cache-imports/);
});

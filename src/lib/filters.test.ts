import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchLabels } from './filters.js';

test('matchLabels: keys present, key=value equal, all of them', () => {
  const l = { a: '1', b: '', 'c=d': 'x' };
  assert.equal(matchLabels(l, []), true);
  assert.equal(matchLabels(l, ['a']), true);
  assert.equal(matchLabels(l, ['a=1', 'b=']), true);
  assert.equal(matchLabels(l, ['a=2']), false);
  assert.equal(matchLabels(l, ['a', 'z']), false);
  assert.equal(matchLabels(l, ['b']), true);
  // Only own keys count: an object's inherited names are not labels.
  assert.equal(matchLabels(l, ['constructor']), false);
  assert.equal(matchLabels(l, ['toString']), false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration } from './duration.js';

test('Go durations', () => {
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('1s'), 1e9);
  assert.equal(parseGoDuration('500ms'), 5e8);
  assert.equal(parseGoDuration('1m30s'), 90e9);
  assert.equal(parseGoDuration('1.5h'), 5400e9);
  assert.equal(parseGoDuration('10us'), 10_000);
  assert.equal(parseGoDuration('-2s'), -2e9);
  assert.throws(() => parseGoDuration('soon'), /time: invalid duration "soon"/);
  assert.throws(() => parseGoDuration('10'), /time: missing unit in duration "10"/);
  assert.throws(() => parseGoDuration(''), /time: invalid duration ""/);
});

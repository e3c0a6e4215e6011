import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withFixture } from '../../../test/helpers/composefixture.js';
import { activeProfiles, dependencyOrder, isEnabled } from './checks.js';
import { loadProject } from './load.js';

test('dependencyOrder: dependencies first, ties by name', async () => {
  const text = [
    'services:',
    '  web: {image: w, depends_on: [api, cache]}',
    '  api: {image: a, depends_on: {db: {condition: service_healthy}}}',
    '  db: {image: d}',
    '  cache: {image: c}',
    '  alone: {image: x}',
  ].join('\n');
  await withFixture({ 'compose.yaml': text }, async (dir) => {
    const p = await loadProject({ cwd: dir, environment: {} });
    assert.deepEqual(dependencyOrder(p.services), ['alone', 'db', 'api', 'cache', 'web']);
  });
});

test('profiles: empty names ignored, named services add theirs, "*" enables everything', () => {
  const all = { a: {}, b: { profiles: ['x'] }, c: { profiles: ['y', 'z'] } };
  const active = activeProfiles(['', 'x'], all, ['c']);
  assert.deepEqual([...active].sort(), ['x', 'y', 'z']);
  assert.equal(isEnabled(all.a, new Set()), true);
  assert.equal(isEnabled(all.b, new Set()), false);
  assert.equal(isEnabled(all.c, new Set(['*'])), true);
  assert.throws(() => activeProfiles([], all, ['nope']), /no such service: nope/);
});

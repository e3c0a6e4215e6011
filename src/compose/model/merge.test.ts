import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyTags, mergeFiles, mergeService, Override, Reset, stripMarkers } from './merge.js';

test('mergeService: scalars replaced, maps merged, sequences appended once, keyed sequences replaced by key', () => {
  const base = {
    image: 'a',
    command: ['x', 'y'],
    environment: { A: '1', B: '2' },
    cap_add: ['NET_ADMIN'],
    ports: [{ target: 80, published: '8080' }, { target: 90 }],
    volumes: [{ type: 'volume', source: 'v1', target: '/d', read_only: true }],
    secrets: [{ source: 's1' }],
    env_file: [{ path: '/a.env', required: true }],
    healthcheck: { test: ['CMD', 'a'], interval: '5s' },
  };
  const over = {
    image: 'b',
    command: ['z'],
    environment: { B: 'two' },
    cap_add: ['NET_ADMIN', 'SYS_ADMIN'],
    ports: [{ target: 80, published: '8080', name: 'web' }, { target: 91 }],
    volumes: [{ type: 'volume', source: 'v2', target: '/d' }],
    secrets: [{ source: 's1', mode: 0o400 }],
    env_file: [{ path: '/a.env', required: false }],
    healthcheck: { timeout: '1s' },
  };
  assert.deepEqual(mergeService(base, over), {
    image: 'b',
    command: ['z'],
    environment: { A: '1', B: 'two' },
    cap_add: ['NET_ADMIN', 'SYS_ADMIN'],
    ports: [{ target: 80, published: '8080', name: 'web' }, { target: 90 }, { target: 91 }],
    volumes: [{ type: 'volume', source: 'v2', target: '/d' }],
    secrets: [{ source: 's1', mode: 0o400 }],
    env_file: [{ path: '/a.env', required: false }],
    healthcheck: { test: ['CMD', 'a'], interval: '5s', timeout: '1s' },
  });
  assert.deepEqual(mergeService({ healthcheck: { test: ['CMD', 'a'] } }, { healthcheck: { test: ['NONE'] } }), { healthcheck: { test: ['NONE'] } });
});

test('markers: applyTags puts !reset/!override at their paths; merge honours and strips them', () => {
  const over: Record<string, unknown> = { services: { app: { ports: [], environment: { FOO: 'null', K: 'v' }, dns: ['9.9.9.9'] } } };
  applyTags(over, [
    { path: ['services', 'app', 'ports'], tag: '!reset' },
    { path: ['services', 'app', 'environment', 'FOO'], tag: '!reset' },
    { path: ['services', 'app', 'dns'], tag: '!override' },
    { path: ['services', 'gone', 'x'], tag: '!reset' },
  ]);
  const app = (over.services as Record<string, Record<string, unknown>>).app;
  assert.ok(app?.ports instanceof Reset);
  assert.ok(app?.dns instanceof Override);
  const base = { services: { app: { image: 'i', ports: [{ target: 80 }], environment: { FOO: 'BAR' }, dns: ['1.1.1.1'] }, other: { image: 'o' } } };
  assert.deepEqual(mergeFiles(base, over), {
    services: { app: { image: 'i', environment: { K: 'v' }, dns: ['9.9.9.9'] }, other: { image: 'o' } },
  });
  const whole = { services: { app: new Override({ image: 'new' }), other: new Reset() } };
  assert.deepEqual(mergeFiles(base, whole), { services: { app: { image: 'new' } } });
  assert.deepEqual(stripMarkers({ a: new Reset(), b: new Override([1]), c: [new Reset(), 2] }), { b: [1], c: [2] });
});

test('mergeFiles: top-level sections merged, a service only in the override added', () => {
  const merged = mergeFiles(
    { name: 'a', services: { web: { image: 'x' } }, networks: { front: { driver: 'bridge' } } },
    { name: 'b', services: { db: { image: 'pg' } }, networks: { front: { internal: true }, back: {} } },
  );
  assert.deepEqual(merged, {
    name: 'b',
    services: { web: { image: 'x' }, db: { image: 'pg' } },
    networks: { front: { driver: 'bridge', internal: true }, back: {} },
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvent } from './bus.js';
import { eventMatches } from './filter.js';

const ev = (Type: EngineEvent['Type'], Action: string, ID: string, Attributes: Record<string, string> = {}): EngineEvent => ({
  Type,
  Action,
  Actor: { ID, Attributes },
  scope: 'local',
  time: 0,
  timeNano: 0,
});
const f = (o: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(o));

test('event filters follow dockerd', () => {
  const start = ev('container', 'start', 'abc123', { name: 'web', image: 'busybox:latest', tier: 'front' });
  const exec = ev('container', 'exec_create: sh -c true', 'abc123', { name: 'web', image: 'busybox' });
  const tag = ev('image', 'tag', 'sha256:ff', { name: 'busybox:1' });
  assert.ok(eventMatches(f({}), start));
  assert.ok(eventMatches(f({ container: ['abc'] }), start), 'ID prefix');
  assert.ok(eventMatches(f({ container: ['web'] }), start), 'name');
  assert.ok(!eventMatches(f({ container: ['web'] }), tag), 'other types drop out');
  assert.ok(eventMatches(f({ event: ['exec_create'] }), exec), 'exec_create matches by prefix');
  assert.ok(!eventMatches(f({ event: ['exec'] }), exec), 'others match exactly');
  assert.ok(eventMatches(f({ event: ['start', 'stop'] }), start));
  assert.ok(eventMatches(f({ image: ['busybox'] }), start), 'container events by their image, tag stripped');
  assert.ok(eventMatches(f({ image: ['busybox'] }), tag), 'image events by name, tag stripped');
  assert.ok(eventMatches(f({ image: ['sha256:ff'] }), tag));
  assert.ok(!eventMatches(f({ image: ['alpine'] }), start));
  assert.ok(eventMatches(f({ label: ['tier'] }), start));
  assert.ok(eventMatches(f({ label: ['tier=front'] }), start));
  assert.ok(!eventMatches(f({ label: ['tier=front', 'x'] }), start), 'all labels must match');
  assert.ok(eventMatches(f({ type: ['image'] }), tag));
  assert.ok(!eventMatches(f({ type: ['image'] }), start));
  assert.ok(eventMatches(f({ scope: ['local'] }), start));
});

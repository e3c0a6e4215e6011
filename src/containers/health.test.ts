import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeHealthcheck, probeCommand, validateHealthcheck } from './health.js';
import { goDuration } from '../lib/duration.js';
import type { Container } from './types.js';

test('probe commands, merges, validation, durations', () => {
  const c = (Healthcheck: unknown, Shell?: string[]): Container => ({ Config: { Healthcheck, ...(Shell ? { Shell } : {}) } }) as unknown as Container;
  assert.deepEqual(probeCommand(c({ Test: ['CMD-SHELL', 'curl -f x'] })), ['/bin/sh', '-c', 'curl -f x']);
  assert.deepEqual(probeCommand(c({ Test: ['CMD-SHELL', 'x'] }, ['/bin/ash', '-e', '-c'])), ['/bin/ash', '-e', '-c', 'x']);
  assert.deepEqual(probeCommand(c({ Test: ['CMD', 'true', 'a b'] })), ['true', 'a b']);
  assert.equal(probeCommand(c({ Test: ['NONE'] })), undefined);
  assert.equal(probeCommand(c(undefined)), undefined);
  assert.deepEqual(mergeHealthcheck({ Retries: 7 }, { Test: ['CMD', 'x'], Interval: 5 }), { Test: ['CMD', 'x'], Interval: 5, Retries: 7 });
  assert.deepEqual(mergeHealthcheck({ Test: ['NONE'] }, { Test: ['CMD', 'x'], Interval: 5 }), { Test: ['NONE'], Interval: 5 });
  assert.equal(mergeHealthcheck(undefined, undefined), undefined);
  assert.throws(() => validateHealthcheck({ Interval: 10 }), /Interval in Healthcheck cannot be less than 1ms/);
  assert.throws(() => validateHealthcheck({ Retries: -1 }), /Retries in Healthcheck cannot be negative/);
  validateHealthcheck({ Interval: 0, Timeout: 1_000_000 });
  assert.equal(goDuration(300), '300ms');
  assert.equal(goDuration(30_000), '30s');
  assert.equal(goDuration(90_000), '1m30s');
  assert.equal(goDuration(1500), '1.5s');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolateString, interpolateTree, InterpolationError } from './interpolate.js';

const env: Record<string, string> = { A: 'a', EMPTY: '', FOO: 'foo' };
const lookup = (n: string): string | undefined => env[n];

test('plain and braced variables, $$ and non-variables', () => {
  assert.equal(interpolateString('x$A-${A}y', lookup), 'xa-ay');
  assert.equal(interpolateString('$$A costs $5', lookup), '$A costs $5');
  const missing: string[] = [];
  assert.equal(
    interpolateString('[$NOPE]', lookup, (n) => missing.push(n)),
    '[]',
  );
  assert.deepEqual(missing, ['NOPE']);
});

test('defaults with and without the colon, alternatives, nesting', () => {
  assert.equal(interpolateString('${EMPTY:-d}', lookup), 'd');
  assert.equal(interpolateString('${EMPTY-d}', lookup), '');
  assert.equal(interpolateString('${NOPE-d}', lookup), 'd');
  assert.equal(interpolateString('${A:+alt}|${EMPTY:+alt}|${EMPTY+alt}', lookup), 'alt||alt');
  assert.equal(interpolateString('${NOPE:-${FOO}}', lookup), 'foo');
  assert.equal(interpolateString('${NOPE:-${NOPE2:-deep}}/x', lookup), 'deep/x');
});

test('required variables and malformed expressions fail with the path', () => {
  assert.throws(
    () => interpolateString('${NOPE:?set it}', lookup, undefined, 'services.web.image'),
    (e: unknown) => e instanceof InterpolationError && e.message === 'required variable NOPE is missing a value: set it (at services.web.image)',
  );
  assert.throws(() => interpolateString('${EMPTY:?}', lookup), /required variable EMPTY is missing a value$/);
  assert.equal(interpolateString('${EMPTY?}', lookup), '');
  assert.throws(() => interpolateString('${A', lookup), /unterminated/);
  assert.throws(() => interpolateString('${A/x/y}', lookup), /invalid interpolation format/);
  assert.throws(() => interpolateString('${}', lookup), /invalid interpolation format/);
});

test('trees: values interpolated, keys kept, non-strings untouched', () => {
  const doc = { services: { $A: { image: 'img:${A}', ports: [80, '${FOO}'], tty: true, x: null } } };
  assert.deepEqual(interpolateTree(doc, lookup), {
    services: { $A: { image: 'img:a', ports: [80, 'foo'], tty: true, x: null } },
  });
  assert.throws(() => interpolateTree({ services: { web: { ports: ['${B:?}'] } } }, lookup), /at services\.web\.ports\[0\]/);
});

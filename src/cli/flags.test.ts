import test from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseFlags, type FlagSpec } from './flags.js';

const specs: FlagSpec[] = [
  { long: 'detach', short: 'd', type: 'bool' },
  { long: 'interactive', short: 'i', type: 'bool' },
  { long: 'tty', short: 't', type: 'bool' },
  { long: 'name', type: 'string' },
  { long: 'env', short: 'e', type: 'list' },
  { long: 'last', short: 'n', type: 'int', defaultValue: -1 },
  { long: 'restart', type: 'string', defaultValue: 'no' },
];

test('long flags with separate and inline values', () => {
  const p = parseFlags(['--name', 'x', '--restart=always', 'img'], specs);
  assert.equal(p.string('name'), 'x');
  assert.equal(p.string('restart'), 'always');
  assert.deepEqual(p.args, ['img']);
});

test('combined short booleans and repeatable lists', () => {
  const p = parseFlags(['-it', '-e', 'A=1', '-eB=2', '-e=C=3', 'img'], specs);
  assert.equal(p.bool('interactive'), true);
  assert.equal(p.bool('tty'), true);
  assert.equal(p.bool('detach'), false);
  assert.deepEqual(p.list('env'), ['A=1', 'B=2', 'C=3']);
});

test('bool flags accept =false', () => {
  const p = parseFlags(['-d=false', '--tty=true'], specs);
  assert.equal(p.bool('detach'), false);
  assert.equal(p.bool('tty'), true);
  assert.equal(p.has('detach'), true);
});

test('int flags and defaults', () => {
  assert.equal(parseFlags([], specs).int('last'), -1);
  assert.equal(parseFlags(['-n', '3'], specs).int('last'), 3);
  assert.equal(parseFlags(['-n5'], specs).int('last'), 5);
  assert.throws(() => parseFlags(['-n', 'x'], specs), /invalid argument "x" for "-n, --last" flag/);
  assert.equal(parseFlags([], specs).string('restart'), 'no');
});

test('interspersed flags by default, stop at first positional when asked', () => {
  assert.deepEqual(parseFlags(['a', '-d', 'b'], specs).args, ['a', 'b']);
  const p = parseFlags(['-d', 'busybox', 'ls', '-la', '--name', 'x'], specs, { interspersed: false });
  assert.equal(p.bool('detach'), true);
  assert.deepEqual(p.args, ['busybox', 'ls', '-la', '--name', 'x']);
  assert.equal(p.has('name'), false);
});

test('-- ends flags and a lone - is positional', () => {
  const p = parseFlags(['--', '-d', '-'], specs);
  assert.deepEqual(p.args, ['-d', '-']);
  assert.deepEqual(parseFlags(['-', '-d'], specs).args, ['-']);
});

test('errors are worded like pflag', () => {
  assert.throws(
    () => parseFlags(['--foo'], specs),
    (e: unknown) => e instanceof FlagError && e.message === 'unknown flag: --foo',
  );
  assert.throws(() => parseFlags(['-z'], specs), { message: "unknown shorthand flag: 'z' in -z" });
  assert.throws(() => parseFlags(['-dz'], specs), { message: "unknown shorthand flag: 'z' in -dz" });
  assert.throws(() => parseFlags(['-e'], specs), { message: "flag needs an argument: 'e' in -e" });
  assert.throws(() => parseFlags(['--name'], specs), { message: 'flag needs an argument: --name' });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEnvFile } from './envfile.js';
import { ComposeFileError } from './parse.js';

test('env files: comments, export, quotes, escapes, bare keys', () => {
  const text = [
    '# comment',
    '',
    'A=1',
    'export B = two words # trailing',
    "C='single $x # kept'",
    'D="line\\nnext \\"q\\""',
    'E=a#b',
    'FROM_HOST',
    'ABSENT',
    'EMPTY=',
  ].join('\n');
  const env = parseEnvFile('/p/.env', text, (n) => (n === 'FROM_HOST' ? 'host' : undefined));
  assert.deepEqual(env, {
    A: '1',
    B: 'two words',
    C: 'single $x # kept',
    D: 'line\nnext "q"',
    E: 'a#b',
    FROM_HOST: 'host',
    EMPTY: '',
  });
});

test('env files: bad names and unterminated quotes name file and line', () => {
  assert.throws(
    () => parseEnvFile('/p/.env', 'A=1\n1BAD=x\n'),
    (e: unknown) => e instanceof ComposeFileError && e.message === '/p/.env:2: invalid variable name "1BAD"',
  );
  assert.throws(() => parseEnvFile('/p/.env', 'A="open\n'), /\/p\/\.env:1: unterminated quoted value/);
});

test('env files: expand interpolates unquoted and double-quoted values, never single-quoted ones', () => {
  const seen: string[] = [];
  const env = parseEnvFile('/p/.env', 'A=1\nB=${A}x\nC="${A}y"\nD=\'${A}z\'\n', undefined, (v, soFar) => {
    seen.push(v);
    return v.replace(/\$\{(\w+)\}/g, (_m, n: string) => soFar[n] ?? '');
  });
  assert.deepEqual(env, { A: '1', B: '1x', C: '1y', D: '${A}z' });
  assert.deepEqual(seen, ['1', '${A}x', '${A}y']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComposeFileError, parseComposeText, validateCompose } from './parse.js';

const good = `name: demo
x-common: &common
  restart: always
services:
  web:
    <<: *common
    image: nginx
    ports: ["8080:80"]
volumes:
  data: {}
`;

test('a valid file parses, fragments and merge keys resolved, and validates', () => {
  const p = parseComposeText('/p/compose.yaml', good);
  validateCompose(p);
  const web = (p.data.services as Record<string, Record<string, unknown>>).web;
  assert.equal(web?.restart, 'always');
  assert.equal(p.lineOf(['services', 'web', 'image']), 7);
});

test('schema errors name file, line and field', () => {
  const bad = 'services:\n  web:\n    image: nginx\n    portz: [80]\n';
  const p = parseComposeText('/p/compose.yaml', bad);
  assert.throws(
    () => validateCompose(p),
    (e: unknown) => e instanceof ComposeFileError && e.message === '/p/compose.yaml:4: services.web: additional property portz is not allowed',
  );
  const wrongType = parseComposeText('/p/c.yaml', 'services:\n  web:\n    image: nginx\n    tty: [1]\n');
  assert.throws(() => validateCompose(wrongType), /c\.yaml:4: services\.web\.tty: must be a boolean/);
});

test('YAML syntax errors and non-mapping documents name the line', () => {
  assert.throws(
    () => parseComposeText('/p/x.yaml', 'services:\n  web:\n    image: [nginx\n'),
    (e: unknown) => e instanceof ComposeFileError && /^\/p\/x\.yaml:\d+: invalid YAML/.test(e.message),
  );
  assert.throws(() => parseComposeText('/p/x.yaml', 'a: 1\na: 2\n'), /x\.yaml:2: invalid YAML/);
  assert.throws(() => parseComposeText('/p/x.yaml', '- 1\n'), /top-level object must be a mapping/);
});

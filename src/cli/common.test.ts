import test from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { Cli, StatusError, parseFormatTemplate, printFormatTemplate, withFormatErrors } from './common.js';
import { renderRows } from './format.js';

const rows = [{ a: 1 }];
const render = (format: string) => (): string => renderRows(rows, format, { toContext: (r) => r, headers: {} });

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StatusError, String(e));
    return e;
  }
  assert.fail('no error');
}

test('withFormatErrors: the two wordings of a --format failure, exit 1', () => {
  assert.equal(withFormatErrors(render('{{.a}}')), '1\n');
  const parse = statusOf(() => withFormatErrors(render('{{.a')));
  assert.equal(parse.statusCode, 1);
  assert.match(parse.status, /^failed to parse template: /);
  const exec = statusOf(() => withFormatErrors(render('{{.a.b}}')));
  assert.match(exec.status, /^failed to execute template: /);
  const parsing = statusOf(() => withFormatErrors(render('{{.a.b}}'), 'parsing'));
  assert.equal(parsing.statusCode, 1);
  assert.match(parsing.status, /^template parsing error: /);
  assert.throws(
    () =>
      withFormatErrors(() => {
        throw new RangeError('other');
      }),
    RangeError,
  );
});

test('parseFormatTemplate: literal \\t and \\n, parse errors exit 64', () => {
  assert.equal(parseFormatTemplate('{{.a}}\\t{{.b}}\\n').execute({ a: 1, b: 2 }), '1\t2\n');
  const e = statusOf(() => parseFormatTemplate('{{.a'));
  assert.equal(e.statusCode, 64);
  assert.match(e.status, /^template parsing error: /);
});

test('printFormatTemplate: the result on a line; a failed execution prints an empty line, exit 1', () => {
  const out = new PassThrough();
  const cli = new Cli({ stdout: out, stderr: new PassThrough() });
  printFormatTemplate(cli, parseFormatTemplate('{{.a}}'), { a: 'x' });
  const e = statusOf(() => printFormatTemplate(cli, parseFormatTemplate('{{.a.b.c}}', { name: 'version' }), { a: 1 }));
  assert.equal(e.statusCode, 1);
  assert.match(e.status, /^template: version:/);
  assert.equal(String(out.read()), 'x\n\n');
});

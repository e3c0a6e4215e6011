import test from 'node:test';
import assert from 'node:assert/strict';
import { Template, TemplateError, TYPE_NAME, renderTemplate } from './template.js';

const data = {
  Id: 'abc',
  State: { Status: 'running', Running: true, ExitCode: 0, Health: null },
  Config: { Labels: { a: 'b', 'com.x': 'y' }, Env: ['A=1', 'B=2'], Cmd: ['sh', '-c', 'echo <hi>'] },
  Names: ['/web'],
  Count: 3,
};

test('fields, maps and missing keys', () => {
  assert.equal(renderTemplate('{{.State.Status}}', data), 'running');
  assert.equal(renderTemplate('{{.Config.Labels}}', data), 'map[a:b com.x:y]');
  assert.equal(renderTemplate('{{.Nope}}', data), '<no value>');
  assert.equal(renderTemplate('{{.State.Health}}', data), '<nil>');
  assert.equal(renderTemplate('{{.Config.Env}}', data), '[A=1 B=2]');
  assert.equal(renderTemplate('{{.Count}} {{.State.Running}}', data), '3 true');
});

test('index, len, json', () => {
  assert.equal(renderTemplate('{{index .Config.Labels "com.x"}}', data), 'y');
  assert.equal(renderTemplate('{{index .Config.Env 1}}', data), 'B=2');
  assert.equal(renderTemplate('{{len .Config.Env}}', data), '2');
  assert.equal(renderTemplate('{{json .Config.Cmd}}', data), '["sh","-c","echo <hi>"]');
  assert.equal(renderTemplate('{{json .}}', { a: 1 }), '{"a":1}');
});

test('docker string functions', () => {
  assert.equal(renderTemplate('{{upper .State.Status}} {{lower "AB"}} {{title "hello world"}}', data), 'RUNNING ab Hello World');
  assert.equal(renderTemplate('{{join .Config.Env ","}}', data), 'A=1,B=2');
  assert.equal(renderTemplate('{{split "a:b:c" ":"}}', data), '[a b c]');
  assert.equal(renderTemplate('{{truncate "abcdef" 3}}|{{pad "x" 1 2}}|', data), 'abc| x  |');
  assert.equal(renderTemplate('{{println "a" "b"}}', data), 'a b\n');
  assert.equal(renderTemplate('{{printf "%s-%d" "a" 3}}', data), 'a-3');
  assert.equal(renderTemplate('{{.State.Status | upper}}', data), 'RUNNING');
  assert.equal(renderTemplate('{{join (split "a:b" ":") "-"}}', data), 'a-b');
});

test('range, if/else, with, variables', () => {
  assert.equal(renderTemplate('{{range .Config.Env}}[{{.}}]{{end}}', data), '[A=1][B=2]');
  assert.equal(renderTemplate('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}', data), 'a=b;com.x=y;');
  assert.equal(renderTemplate('{{range $i, $e := .Config.Env}}{{$i}}{{$e}}{{end}}', data), '0A=11B=2');
  assert.equal(renderTemplate('{{range .Missing}}x{{else}}none{{end}}', data), 'none');
  assert.equal(renderTemplate('{{if .State.Running}}up{{else}}down{{end}}', data), 'up');
  assert.equal(renderTemplate('{{if eq .State.Status "exited"}}e{{else if eq .State.Status "running"}}r{{else}}?{{end}}', data), 'r');
  assert.equal(renderTemplate('{{with .State}}{{.Status}}{{end}}', data), 'running');
  assert.equal(renderTemplate('{{$x := .Id}}{{$x}}-{{$.Id}}', data), 'abc-abc');
  assert.equal(renderTemplate('{{if and .State.Running (not .State.ExitCode)}}ok{{end}}', data), 'ok');
  assert.equal(renderTemplate('{{range .Config.Env}}{{if eq . "A=1"}}{{continue}}{{end}}{{.}}{{end}}', data), 'B=2');
  assert.equal(renderTemplate('{{range .Config.Env}}{{.}}{{break}}{{end}}', data), 'A=1');
});

test('trim markers and comments', () => {
  assert.equal(renderTemplate('a  {{- "b" -}}  c{{/* note */}}', data), 'abc');
});

test('methods with arguments on context objects', () => {
  const ctx = { Label: (k: unknown) => (k === 'a' ? 'b' : ''), ID: () => 'x' };
  assert.equal(renderTemplate('{{.ID}}:{{.Label "a"}}', ctx), 'x:b');
});

test('errors carry Go-style positions', () => {
  assert.throws(
    () => new Template('{{.Foo'),
    (e: unknown) => e instanceof TemplateError && /unclosed action/.test(e.message),
  );
  assert.throws(() => new Template('{{foo}}'), { message: 'template: :1: function "foo" not defined' });
  assert.throws(() => new Template('{{.Foo}}', { missingKey: 'error' }).execute({}), {
    message: 'template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"',
  });
  assert.throws(() => new Template('x {{.Foo.Bar}}', { missingKey: 'error' }).execute({}), {
    message: 'template: :1:8: executing "" at <.Foo.Bar>: map has no entry for key "Foo"',
  });
  assert.throws(() => new Template('{{.Foo}}').execute({ [TYPE_NAME]: '*formatter.ContainerContext' }), {
    message: `template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type *formatter.ContainerContext`,
  });
});

import test from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { FrameParser, JsonSplitter, demuxStream, encodeFrame, readJsonStream } from './stream.js';
import { encodeQuery, encodeFilters, compareVersions } from './client.js';
import { parseHost } from './host.js';

test('frame parser handles split headers and payloads', () => {
  const wire = Buffer.concat([encodeFrame(1, 'hello '), encodeFrame(2, 'oops'), encodeFrame(1, 'world')]);
  for (let cut = 0; cut <= wire.length; cut++) {
    const p = new FrameParser();
    const frames = [...p.push(wire.subarray(0, cut)), ...p.push(wire.subarray(cut))];
    assert.deepEqual(
      frames.map((f) => [f.stream, f.payload.toString()]),
      [
        [1, 'hello '],
        [2, 'oops'],
        [1, 'world'],
      ],
    );
    assert.equal(p.buffered, 0);
  }
});

test('demuxStream routes stdout and stderr', async () => {
  const wire = Buffer.concat([encodeFrame(1, 'out1\n'), encodeFrame(2, 'err\n'), encodeFrame(1, 'out2\n'), encodeFrame(1, '')]);
  const chunks = [wire.subarray(0, 3), wire.subarray(3, 17), wire.subarray(17)];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const outs: string[] = [];
  const errs: string[] = [];
  stdout.on('data', (c: Buffer) => outs.push(c.toString()));
  stderr.on('data', (c: Buffer) => errs.push(c.toString()));
  await demuxStream(Readable.from(chunks), { stdout, stderr });
  assert.equal(outs.join(''), 'out1\nout2\n');
  assert.equal(errs.join(''), 'err\n');
});

test('JSON stream reader: lines, concatenated objects, split chunks', async () => {
  const text = '{"status":"a"}\r\n{"status":"b","x":"}{"}{"id":"1","status":"c"}\n';
  const chunks = text.match(/.{1,5}/gs) ?? [];
  const got: unknown[] = [];
  for await (const m of readJsonStream(Readable.from(chunks))) got.push(m);
  assert.deepEqual(got, [{ status: 'a' }, { status: 'b', x: '}{' }, { id: '1', status: 'c' }]);
  const s = new JsonSplitter();
  assert.deepEqual(s.push('[1,2] {"a":'), ['[1,2]']);
  assert.deepEqual(s.push('1}'), ['{"a":1}']);
});

test('query, filters, versions, hosts', () => {
  assert.equal(encodeQuery({ all: true, size: false, name: 'a b', t: 0, x: undefined }), '?all=1&name=a%20b&t=0');
  assert.equal(encodeFilters({ status: ['exited'] }), '{"status":{"exited":true}}');
  assert.equal(encodeFilters({}), undefined);
  assert.ok(compareVersions('1.41', '1.50') < 0);
  assert.ok(compareVersions('1.50', '1.9') > 0);
  assert.deepEqual(parseHost('unix:///run/berth.sock'), { kind: 'unix', socketPath: '/run/berth.sock', raw: 'unix:///run/berth.sock' });
  assert.deepEqual(parseHost('tcp://127.0.0.1:2375'), { kind: 'tcp', host: '127.0.0.1', port: 2375, raw: 'tcp://127.0.0.1:2375' });
  assert.throws(() => parseHost('ftp://x'));
});

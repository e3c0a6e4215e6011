import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { firstSize, protocolVersion, terminalSizes, type TerminalSize } from './remotecommand.js';

async function collect(it: AsyncIterable<TerminalSize> | undefined): Promise<TerminalSize[]> {
  const out: TerminalSize[] = [];
  for await (const s of it ?? []) out.push(s);
  return out;
}

test('resize stream: JSON sizes split anywhere, one after another; malformed ones skipped', async () => {
  const s = new PassThrough();
  const got = collect(terminalSizes(s));
  const text = '{"Width":80,"Height":24}\n{"Width":120,"Height":40}{"Width":"x","Height":1}\n{"Width":1,"Height":2,"Extra":"}"}';
  for (let i = 0; i < text.length; i += 5) s.write(text.slice(i, i + 5));
  s.end();
  assert.deepEqual(await got, [
    { width: 80, height: 24 },
    { width: 120, height: 40 },
    { width: 1, height: 2 },
  ]);
});

test('firstSize: the first size, then the rest in order; none within the wait leaves it for the rest', async () => {
  const s = new PassThrough();
  s.write('{"Width":10,"Height":5}{"Width":11,"Height":6}');
  s.end();
  const { first, rest } = await firstSize(terminalSizes(s), 1000);
  assert.deepEqual(first, { width: 10, height: 5 });
  assert.deepEqual(await collect(rest), [{ width: 11, height: 6 }]);
  const late = new PassThrough();
  const r = await firstSize(terminalSizes(late), 20);
  assert.equal(r.first, undefined);
  late.end('{"Width":3,"Height":4}');
  assert.deepEqual(await collect(r.rest), [{ width: 3, height: 4 }]);
  assert.deepEqual(await firstSize(undefined, 10), { first: undefined, rest: undefined });
});

test('protocol versions', () => {
  assert.equal(protocolVersion('v4.channel.k8s.io'), 4);
  assert.equal(protocolVersion('v2.channel.k8s.io'), 2);
  assert.equal(protocolVersion('channel.k8s.io'), 1);
});

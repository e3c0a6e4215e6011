import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EscapeMatcher, parseDetachKeys } from './session.js';

describe('detach keys', () => {
  it('parses docker’s syntax', () => {
    assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [0x10, 0x11]);
    assert.deepEqual([...parseDetachKeys('ctrl-x,x')], [0x18, 0x78]);
    assert.deepEqual([...parseDetachKeys('ctrl-@,ctrl-[,a')], [0, 27, 97]);
    assert.throws(() => parseDetachKeys('ctrl-1'), /Invalid detach keys \(ctrl-1\) provided/);
    assert.throws(() => parseDetachKeys('abc'), /Invalid detach keys/);
  });

  it('finds the sequence across chunks and resets on a mismatch', () => {
    const m = new EscapeMatcher(parseDetachKeys('ctrl-p,ctrl-q'));
    assert.equal(m.feed(Buffer.from('ls\r')), -1);
    assert.equal(m.feed(Buffer.from([0x10])), -1);
    assert.equal(m.feed(Buffer.from([0x11, 0x41])), 1);
    assert.equal(m.feed(Buffer.from([0x10, 0x41, 0x11])), -1);
    assert.equal(m.feed(Buffer.from([0x10, 0x10, 0x11])), 3);
    assert.equal(new EscapeMatcher(Buffer.alloc(0)).feed(Buffer.from([0x10, 0x11])), -1);
  });
});

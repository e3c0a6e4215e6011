import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { splitChunkedBody, splitUpgradeBody } from './router.js';

const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

describe('splitUpgradeBody', () => {
  it('a Content-Length body, the rest for the upgraded protocol', async () => {
    const r = await splitUpgradeBody(req({ 'content-length': '2' }), new PassThrough(), Buffer.from('{}PRI'));
    assert.equal(r.body.toString(), '{}');
    assert.equal(r.rest.toString(), 'PRI');
  });

  it("an empty chunked body (docker-modem's hijacked requests) is not left for the upgraded protocol", async () => {
    const r = await splitChunkedBody(req({ 'transfer-encoding': 'chunked' }), new PassThrough(), Buffer.from('0\r\n\r\nPRI'));
    assert.equal(r.body.length, 0);
    assert.equal(r.rest.toString(), 'PRI');
  });

  it('a chunked body split over reads, with chunks and a trailer', async () => {
    const sock = new PassThrough();
    const p = splitChunkedBody(req({ 'transfer-encoding': 'chunked' }), sock, Buffer.from('3\r\nab'));
    sock.write('c\r\n2;x=1\r\nde\r\n0\r\nT: v\r\n');
    setTimeout(() => sock.write('\r\nnext'), 10);
    const r = await p;
    assert.equal(r.body.toString(), 'abcde');
    assert.equal(r.rest.toString(), 'next');
  });

  it('a chunked upgrade request (an attach streaming stdin) is left as it came by splitUpgradeBody', async () => {
    const r = await splitUpgradeBody(req({ 'transfer-encoding': 'chunked' }), new PassThrough(), Buffer.from('raw stdin'));
    assert.equal(r.rest.toString(), 'raw stdin');
  });

  it('no body at all', async () => {
    const r = await splitUpgradeBody(req({}), new PassThrough(), Buffer.from('PRI'));
    assert.equal(r.body.length, 0);
    assert.equal(r.rest.toString(), 'PRI');
  });
});

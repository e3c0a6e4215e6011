import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import {
  FLAG_FIN,
  FrameReader,
  HeaderZlib,
  SPDY3_DICTIONARY,
  dataFrame,
  decodeFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  goawayFrame,
  pingFrame,
  rstStreamFrame,
  settingsFrame,
  synReplyFrame,
  synStreamFrame,
  windowUpdateFrame,
  type SpdyHeaders,
} from './spdy.js';
import { SpdySession, type SpdyStream } from './session.js';

const H = (o: Record<string, string | string[]>): SpdyHeaders => new Map(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));

test('the SPDY/3 dictionary: 1423 bytes, its words length-prefixed, ending "enq=0."', () => {
  assert.equal(SPDY3_DICTIONARY.length, 1423);
  assert.deepEqual([...SPDY3_DICTIONARY.subarray(0, 11)], [0, 0, 0, 7, ...Buffer.from('options')]);
  assert.equal(SPDY3_DICTIONARY.subarray(-6).toString(), 'enq=0.');
  assert.ok(SPDY3_DICTIONARY.includes(Buffer.from('\0\0\0\x06200 OK\0\0\0\x07version')));
});

test('header blocks: encode/decode round trip, NUL-joined values, lower-cased names', () => {
  const h = H({ streamtype: 'stdout', Port: '8080', multi: ['a', 'b'] });
  const back = decodeHeaderBlock(encodeHeaderBlock(h));
  assert.deepEqual(
    [...back],
    [
      ['streamtype', ['stdout']],
      ['port', ['8080']],
      ['multi', ['a', 'b']],
    ],
  );
  assert.throws(() => decodeHeaderBlock(Buffer.from([0, 0, 0, 1, 0, 0, 0, 9, 1])), /truncated/);
});

test('header compression: one zlib context per direction across blocks, with the dictionary', async () => {
  const c = new HeaderZlib('compress');
  const d = new HeaderZlib('decompress');
  const blocks = [H({ streamtype: 'error' }), H({ streamtype: 'stdin', requestid: '0' }), H({}), H({ streamtype: 'error' })];
  const compressed: Buffer[] = [];
  for (const b of blocks) compressed.push(await c.process(encodeHeaderBlock(b)));
  // Each block ends with a sync flush: the empty stored block 00 00 ff ff.
  for (const b of compressed) assert.deepEqual([...b.subarray(-4)], [0, 0, 0xff, 0xff]);
  // zlib's FDICT header with the dictionary's Adler-32.
  assert.equal((compressed[0]?.[1] as number) & 0x20, 0x20);
  assert.ok((compressed[3]?.length as number) < (compressed[0]?.length as number), 'a repeated block compresses against the history');
  for (let i = 0; i < blocks.length; i++) assert.deepEqual(decodeHeaderBlock(await d.process(compressed[i] as Buffer)), blocks[i]);
  // A context primed with another dictionary cannot read them (so a wrong dictionary byte shows).
  const wrong = zlib.createInflate({ dictionary: Buffer.from('not the spdy dictionary') });
  await assert.rejects(
    () =>
      new Promise((resolve, reject) => {
        wrong.on('error', reject);
        wrong.on('data', resolve);
        wrong.write(compressed[0]);
      }),
    /dictionary/i,
  );
  c.close();
  d.close();
});

test('header blocks compressed by another zlib (python3) with the dictionary inflate here', async () => {
  const script =
    'import sys,zlib,struct\nd=sys.stdin.buffer.read()\nc=zlib.compressobj(9,zlib.DEFLATED,15,8,zlib.Z_DEFAULT_STRATEGY,d)\n' +
    'def blk(h):\n b=struct.pack(">I",len(h))\n for k,v in h:\n  b+=struct.pack(">I",len(k))+k+struct.pack(">I",len(v))+v\n return b\n' +
    'o=c.compress(blk([(b"streamtype",b"data"),(b"port",b"80")]))+c.flush(zlib.Z_SYNC_FLUSH)\n' +
    'p=c.compress(blk([(b"streamtype",b"error"),(b"port",b"80")]))+c.flush(zlib.Z_SYNC_FLUSH)\n' +
    'sys.stdout.buffer.write(struct.pack(">I",len(o))+o+p)';
  const r = spawnSync('python3', ['-c', script], { input: SPDY3_DICTIONARY });
  assert.equal(r.status, 0, r.stderr.toString());
  const out = r.stdout;
  const n = out.readUInt32BE(0);
  const d = new HeaderZlib('decompress');
  assert.deepEqual(decodeHeaderBlock(await d.process(out.subarray(4, 4 + n))), H({ streamtype: 'data', port: '80' }));
  assert.deepEqual(decodeHeaderBlock(await d.process(out.subarray(4 + n))), H({ streamtype: 'error', port: '80' }));
  d.close();
});

test('frames: every type written and read back, split at any byte', async () => {
  const c = new HeaderZlib('compress');
  const d = new HeaderZlib('decompress');
  const wire = Buffer.concat([
    synStreamFrame({ streamId: 1, priority: 3, flags: FLAG_FIN, block: await c.process(encodeHeaderBlock(H({ streamtype: 'error' }))) }),
    synReplyFrame({ streamId: 1, block: await c.process(encodeHeaderBlock(H({}))) }),
    dataFrame(3, Buffer.from('hello'), FLAG_FIN),
    dataFrame(5, Buffer.alloc(0)),
    rstStreamFrame(7, 5),
    settingsFrame([{ id: 7, value: 65536, flags: 1 }]),
    pingFrame(0xfffffffe),
    goawayFrame(9, 0),
    windowUpdateFrame(3, 4096),
  ]);
  const r = new FrameReader();
  const raws = [];
  for (let i = 0; i < wire.length; i += 7) raws.push(...r.push(wire.subarray(i, i + 7)));
  const frames = [];
  for (const raw of raws) frames.push(await decodeFrame(raw, d));
  assert.deepEqual(frames, [
    { type: 'syn_stream', streamId: 1, associatedId: 0, priority: 3, flags: FLAG_FIN, headers: H({ streamtype: 'error' }) },
    { type: 'syn_reply', streamId: 1, flags: 0, headers: new Map() },
    { type: 'data', streamId: 3, flags: FLAG_FIN, data: Buffer.from('hello') },
    { type: 'data', streamId: 5, flags: 0, data: Buffer.alloc(0) },
    { type: 'rst_stream', streamId: 7, status: 5 },
    { type: 'settings', flags: 0, entries: [{ flags: 1, id: 7, value: 65536 }] },
    { type: 'ping', id: 0xfffffffe },
    { type: 'goaway', lastStreamId: 9, status: 0 },
    { type: 'window_update', streamId: 3, delta: 4096 },
  ]);
  assert.deepEqual([...wire.subarray(0, 4)], [0x80, 0x03, 0x00, 0x01], 'control bit, version 3, SYN_STREAM');
  c.close();
  d.close();
});

test('sessions: streams both ways, FIN half-closes, pings echoed, RST ends a stream', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<SpdySession>((r) => server.once('connection', (s) => r(new SpdySession(s, { server: true }))));
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const client = new SpdySession(sock, { server: false });
  const srv = await accepted;
  try {
    const incoming: SpdyStream[] = [];
    srv.on('stream', (s: SpdyStream) => {
      incoming.push(s);
      void s.reply(H({ ok: 'yes' }));
      if (s.header('streamtype') === 'echo') s.pipe(s);
      if (s.header('streamtype') === 'big') s.end(Buffer.alloc(300_000, 7));
    });
    const echo = client.open(H({ streamtype: 'echo' }));
    assert.deepEqual(await echo.replied, H({ ok: 'yes' }));
    const got: Buffer[] = [];
    echo.on('data', (b: Buffer) => got.push(b));
    const ended = new Promise((r) => echo.on('end', r));
    echo.write('abc');
    echo.end('def');
    await ended;
    assert.equal(Buffer.concat(got).toString(), 'abcdef');
    const big = client.open(H({ streamtype: 'big' }));
    const parts: Buffer[] = [];
    big.on('data', (b: Buffer) => parts.push(b));
    await new Promise((r) => big.on('end', r));
    assert.equal(Buffer.concat(parts).length, 300_000);
    // A ping from the client (odd id) comes back.
    const pong = new Promise<void>((resolve) => {
      const r = new FrameReader();
      sock.on('data', (b: Buffer) => {
        for (const f of r.push(b)) if (f.control && f.type === 6 && f.payload.readUInt32BE(0) === 1) resolve();
      });
    });
    sock.write(pingFrame(1));
    await pong;
    const victim = client.open(H({ streamtype: 'hold' }));
    await victim.replied;
    const closed = new Promise((r) => victim.on('close', r));
    incoming.find((s) => s.header('streamtype') === 'hold')?.reset();
    await closed;
  } finally {
    client.destroy();
    srv.destroy();
    await new Promise((r) => server.close(r));
  }
});

/**
 * berth-registry's data paths with large blobs: GETs served with sendfile(2) and by the copy path
 * (--sendfile always, never, auto: whole blobs, HEAD, ranges, keep-alive reuse, the
 * bytes-sent metric, a slow reader that fills the socket, clients that vanish mid-blob), and
 * uploads written in blocks with early write-back (a chunked PATCH of odd-sized pieces, several
 * PATCHes, an aborted PATCH that resumes from the bytes on disk).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { BerthRegistry, pushBlob, request, sha256, waitFor } from '../bench/registry-harness.js';
import { isLoopback } from '../src/registry/blobout.js';
import { loadConfig } from '../src/registry/config.js';

const BIG = 20 << 20;
const data = randomBytes(BIG);
const digest = sha256(data);
const blobPath = (reg: BerthRegistry): string => path.join(reg.root, 'data', 'blobs', 'sha256', digest.slice(7));

async function bytesSent(base: string): Promise<number> {
  const m = /^registry_storage_bytes_sent_total (\d+)$/m.exec((await request(base, 'GET', '/metrics')).body.toString());
  return Number(m![1]);
}

/** A GET on its own connection whose reader stops now and then, so the server meets a full socket. */
function slowGet(base: string, p: string, pauses: number): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(p, base), { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      let next = 1 << 20;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        n += c.length;
        if (n >= next && pauses-- > 0) {
          next += 3 << 20;
          res.pause();
          setTimeout(() => res.resume(), 60);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** A raw GET of the big blob that goes away: after reading `readBytes` (reset), or without reading. */
function vanishingGet(port: number, readBytes: number | undefined): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = 0;
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    s.write(`GET /v2/io/big/blobs/${digest} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    if (readBytes === undefined) {
      s.pause();
      setTimeout(() => s.destroy(), 300);
      return;
    }
    s.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= readBytes) s.resetAndDestroy();
    });
  });
}

it('--sendfile: auto by default, sendfile for peers not on this host only', () => {
  const root = ['--root', '/nonexistent'];
  assert.equal(loadConfig(root).sendfile, 'auto');
  assert.equal(loadConfig([...root, '--sendfile', 'never']).sendfile, 'never');
  assert.throws(() => loadConfig([...root, '--sendfile', 'yes']), /invalid sendfile mode/);
  for (const a of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1', undefined]) assert.ok(isLoopback(a), String(a));
  for (const a of ['10.0.0.2', '192.168.1.5', '::ffff:10.1.2.3', 'fe80::1', '2001:db8::1']) assert.ok(!isLoopback(a), a);
});

// Tests talk over loopback: `auto` copies there, `always` uses sendfile.
/** Sends raw request text on one connection and splits what comes back into responses by Content-Length. */
function rawExchange(port: number, text: string, count: number): Promise<{ head: string; body: Buffer }[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      let buf = Buffer.concat(chunks);
      const out: { head: string; body: Buffer }[] = [];
      for (let i = 0; i < count; i++) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return reject(new Error(`response ${i + 1} missing`));
        const head = buf.subarray(0, end).toString('latin1');
        const len = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        out.push({ head, body: buf.subarray(end + 4, end + 4 + len) });
        buf = buf.subarray(end + 4 + len);
      }
      if (buf.length > 0) return reject(new Error(`${buf.length} stray bytes after the responses`));
      resolve(out);
    });
    s.write(text);
  });
}

for (const mode of ['always', 'never', 'auto'] as const) {
  describe(`blob GET (--sendfile ${mode})`, () => {
    let reg: BerthRegistry;
    before(async () => {
      reg = await BerthRegistry.start({ args: ['--sendfile', mode] });
      const r = await pushBlob(reg.base, 'io/big', data);
      assert.equal(r.status, 201, r.body.toString());
      assert.ok(fs.readFileSync(blobPath(reg)).equals(data));
    });
    after(async () => reg?.stop());

    it('serves the whole blob, HEAD and ranges back to back on one keep-alive connection, and counts the bytes', async () => {
      const sent0 = await bytesSent(reg.base);
      const p = `/v2/io/big/blobs/${digest}`;
      const g = await request(reg.base, 'GET', p);
      assert.equal(g.status, 200);
      assert.equal(g.headers['content-length'], String(BIG));
      assert.ok(g.body.equals(data));
      const h = await request(reg.base, 'HEAD', p);
      assert.equal(h.status, 200);
      assert.equal(h.headers['content-length'], String(BIG));
      assert.equal(h.body.length, 0);
      let expected = BIG;
      const cases: [string, number, number][] = [
        ['bytes=0-0', 0, 0],
        ['bytes=1-1048576', 1, 1 << 20],
        [`bytes=${5 << 20}-${(17 << 20) + 3}`, 5 << 20, (17 << 20) + 3],
        [`bytes=${BIG - 100}-${BIG + 500}`, BIG - 100, BIG - 1],
        ['bytes=-4097', BIG - 4097, BIG - 1],
        ['bytes=12345678-', 12345678, BIG - 1],
      ];
      for (const [range, start, end] of cases) {
        const r = await request(reg.base, 'GET', p, { headers: { Range: range } });
        assert.equal(r.status, 206, range);
        assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${BIG}`, range);
        assert.ok(r.body.equals(data.subarray(start, end + 1)), range);
        expected += end - start + 1;
      }
      const bad = await request(reg.base, 'GET', p, { headers: { Range: `bytes=${BIG}-` } });
      assert.equal(bad.status, 416);
      assert.equal((await request(reg.base, 'GET', '/v2/')).status, 200);
      const again = await request(reg.base, 'GET', p);
      assert.ok(again.body.equals(data));
      expected += BIG;
      assert.equal((await bytesSent(reg.base)) - sent0, expected);
    });

    it('answers pipelined requests in order on one connection', async () => {
      const p = `/v2/io/big/blobs/${digest}`;
      const rs = await rawExchange(
        reg.port,
        `GET ${p} HTTP/1.1\r\nHost: x\r\nRange: bytes=100-${(6 << 20) + 99}\r\n\r\n` +
          `GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n` +
          `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n` +
          `HEAD ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        4,
      );
      assert.match(rs[0]!.head, /^HTTP\/1\.1 206 /);
      assert.ok(rs[0]!.body.equals(data.subarray(100, (6 << 20) + 100)));
      assert.match(rs[1]!.head, /^HTTP\/1\.1 200 /);
      assert.equal(rs[1]!.body.toString(), '{}');
      assert.match(rs[2]!.head, /^HTTP\/1\.1 200 /);
      assert.ok(rs[2]!.body.equals(data));
      assert.match(rs[3]!.head, /^HTTP\/1\.1 200 /);
    });

    it('serves a slow reader (the socket fills and the rest follows intact), four at once', async () => {
      const rs = await Promise.all([0, 1, 2, 3].map(() => slowGet(reg.base, `/v2/io/big/blobs/${digest}`, 4)));
      for (const r of rs) {
        assert.equal(r.status, 200);
        assert.equal(r.body.length, BIG);
        assert.equal(sha256(r.body), digest);
      }
    });

    it('goes on serving after clients vanish mid-blob', async () => {
      const got = await Promise.all([
        vanishingGet(reg.port, 2 << 20),
        vanishingGet(reg.port, undefined),
        vanishingGet(reg.port, 64 << 10),
        vanishingGet(reg.port, 10 << 20),
      ]);
      assert.ok(got[0] >= 2 << 20 && got[0] < BIG);
      assert.equal(reg.proc?.exitCode, null, reg.log());
      assert.equal((await request(reg.base, 'GET', '/v2/')).status, 200);
      const g = await request(reg.base, 'GET', `/v2/io/big/blobs/${digest}`);
      assert.equal(g.status, 200);
      assert.ok(g.body.equals(data));
      assert.doesNotMatch(reg.log(), /berth-registry: GET/);
    });
  });
}

describe('large uploads', () => {
  let reg: BerthRegistry;
  before(async () => {
    reg = await BerthRegistry.start();
  });
  after(async () => reg?.stop());

  /** Starts a PATCH with a chunked body; the caller writes and ends or destroys it. */
  function chunkedPatch(loc: string, headers: Record<string, string> = {}): { req: http.ClientRequest; res: Promise<http.IncomingMessage> } {
    const req = http.request(new URL(loc, reg.base), {
      method: 'PATCH',
      agent: false,
      headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked', ...headers },
    });
    const res = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.on('response', (r) => {
        r.resume();
        resolve(r);
      });
      req.on('error', reject);
    });
    return { req, res };
  }

  it('takes a 20 MiB blob as a chunked PATCH of tiny and odd-sized pieces, then a second PATCH, then PUT', async () => {
    const post = await request(reg.base, 'POST', '/v2/io/up/blobs/uploads/');
    assert.equal(post.status, 202);
    const loc = String(post.headers.location);
    const first = 13 << 20;
    const p = chunkedPatch(loc);
    // 5,000 tiny chunks first (more than one writev can take), then large odd-sized ones.
    const tiny = 5000 * 101;
    for (let off = 0; off < tiny; off += 101) p.req.write(data.subarray(off, off + 101));
    for (let off = tiny; off < first; off += 777_777) p.req.write(data.subarray(off, Math.min(first, off + 777_777)));
    p.req.end();
    const r1 = await p.res;
    assert.equal(r1.statusCode, 202);
    assert.equal(r1.headers.range, `0-${first - 1}`);
    const r2 = await request(reg.base, 'PATCH', String(r1.headers.location), {
      body: data.subarray(first),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${first}-${BIG - 1}` },
    });
    assert.equal(r2.status, 202, r2.body.toString());
    assert.equal(r2.headers.range, `0-${BIG - 1}`);
    const u = new URL(String(r2.headers.location), reg.base);
    u.searchParams.set('digest', digest);
    const put = await request(reg.base, 'PUT', u.pathname + u.search);
    assert.equal(put.status, 201, put.body.toString());
    assert.ok(fs.readFileSync(blobPath(reg)).equals(data));
    assert.equal(sha256((await request(reg.base, 'GET', `/v2/io/up/blobs/${digest}`)).body), digest);
  });

  it('an aborted PATCH leaves the session at the bytes on disk, and the upload resumes from there', async () => {
    const post = await request(reg.base, 'POST', '/v2/io/abort/blobs/uploads/');
    const loc = String(post.headers.location);
    const uuid = String(post.headers['docker-upload-uuid']);
    const file = path.join(reg.root, 'data', 'uploads', uuid, 'data');
    const p = chunkedPatch(loc);
    p.res.catch(() => undefined);
    p.req.write(data.subarray(0, 5 << 20));
    await waitFor(() => fs.statSync(file).size >= 4 << 20, { what: 'upload bytes on disk' });
    p.req.destroy();
    // The session reports what reached the file once the aborted request is done with.
    const have = await waitFor(
      async () => {
        const st = await request(reg.base, 'GET', loc);
        const n = Number(/^0-(\d+)$/.exec(String(st.headers.range))![1]) + 1;
        return n >= 4 << 20 ? n : undefined;
      },
      { what: 'the session to take the aborted bytes' },
    );
    assert.equal(have, fs.statSync(file).size);
    assert.ok(fs.readFileSync(file).equals(data.subarray(0, have)));
    const u = new URL(loc, reg.base);
    u.searchParams.set('digest', digest);
    const put = await request(reg.base, 'PUT', u.pathname + u.search, { body: data.subarray(have), headers: { 'Content-Range': `${have}-${BIG - 1}` } });
    assert.equal(put.status, 201, put.body.toString());
    assert.ok(fs.readFileSync(blobPath(reg)).equals(data));
  });
});

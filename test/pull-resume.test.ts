/**
 * Interrupted layer downloads: a registry that breaks the connection halfway through a layer.
 * berthd resumes with `Range: bytes=<received>-` and the pull completes with every byte verified
 * (same image ID); a registry that ignores Range fails the pull cleanly, leaving nothing behind.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tarStream from 'tar-stream';
import { TestDaemon, cleanupAndCheck } from './helpers/daemon.js';

const T = { timeout: 60_000 };
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let d: TestDaemon;

async function tarOf(files: Record<string, Buffer>): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const [name, data] of Object.entries(files)) pack.entry({ name, size: data.length }, data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A registry of one image whose layer transfer breaks after half its bytes, once per request without Range. */
class FlakyRegistry {
  server?: http.Server;
  port = 0;
  ranges: string[] = [];
  layer = Buffer.alloc(0);
  config = Buffer.alloc(0);
  manifest = Buffer.alloc(0);
  constructor(readonly o: { honourRange: boolean; seed: string }) {}

  async start(): Promise<void> {
    // Incompressible content, so the gzip blob is large enough to cut in the middle.
    const noise = Buffer.alloc(1 << 20);
    for (let i = 0; i < noise.length; i += 32) createHash('sha256').update(`${this.o.seed} ${i}`).digest().copy(noise, i);
    const tar = await tarOf({ 'noise.bin': noise, 'hello.txt': Buffer.from('resumed\n') });
    this.layer = gzipSync(tar);
    this.config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['cat', '/hello.txt'] }, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }),
    );
    this.manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha256(this.config), size: this.config.length },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: sha256(this.layer), size: this.layer.length }],
      }),
    );
    this.server = http.createServer((req, res) => {
      const url = req.url ?? '';
      if (url === '/v2/') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      if (/\/manifests\//.test(url)) {
        return void res
          .writeHead(200, {
            'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json',
            'Docker-Content-Digest': sha256(this.manifest),
            'Content-Length': this.manifest.length,
          })
          .end(req.method === 'HEAD' ? undefined : this.manifest);
      }
      const m = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url);
      const blob = m?.[1] === sha256(this.config) ? this.config : m?.[1] === sha256(this.layer) ? this.layer : undefined;
      if (!blob) return void res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
      const range = req.headers['range'];
      if (blob === this.layer && range) this.ranges.push(String(range));
      if (blob === this.layer && range && this.o.honourRange) {
        const from = Number(/^bytes=(\d+)-$/.exec(String(range))?.[1]);
        res.writeHead(206, {
          'Content-Type': 'application/octet-stream',
          'Content-Length': blob.length - from,
          'Content-Range': `bytes ${from}-${blob.length - 1}/${blob.length}`,
        });
        return void res.end(blob.subarray(from));
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': blob.length, 'Docker-Content-Digest': sha256(blob) });
      if (blob !== this.layer) return void res.end(blob);
      // Half the layer, then the connection breaks.
      res.write(blob.subarray(0, blob.length >> 1), () => setTimeout(() => req.socket.destroy(), 50));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}

const regs: FlakyRegistry[] = [];
before(async () => {
  d = await TestDaemon.start({ busybox: false });
});
after(async () => {
  for (const r of regs) await r.stop();
  await cleanupAndCheck(d);
});

function store(): string[] {
  const ls = (p: string): string[] => fs.readdirSync(path.join(d.dataRoot, p)).map((n) => `${p}/${n}`);
  return [...ls('content/blobs/sha256'), ...ls('layers'), ...ls('content/ingest')].sort();
}

describe('interrupted layer downloads', () => {
  it('resume with a Range request and complete, every byte verified', T, async () => {
    const reg = new FlakyRegistry({ honourRange: true, seed: 'resume' });
    regs.push(reg);
    await reg.start();
    const out = await d.docker(['pull', `${reg.host}/flaky:1`]);
    assert.equal(out.code, 0, out.desc);
    assert.equal(reg.ranges.length, 1, `ranges: ${reg.ranges.join(', ')}`);
    assert.match(reg.ranges[0] as string, /^bytes=\d+-$/);
    const from = Number(/\d+/.exec(reg.ranges[0] as string)?.[0]);
    assert.ok(from > 0 && from < reg.layer.length, `resumed from ${from} of ${reg.layer.length}`);
    const img = (await d.api.get(`/images/${reg.host}/flaky:1/json`)).json<{ Id: string }>();
    assert.equal(img.Id, sha256(reg.config));
    const layer = path.join(
      d.dataRoot,
      'layers',
      (JSON.parse(reg.config.toString()) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids[0]?.slice(7) ?? '',
      'diff',
    );
    assert.equal(fs.readFileSync(path.join(layer, 'hello.txt'), 'utf8'), 'resumed\n');
    assert.equal(fs.statSync(path.join(layer, 'noise.bin')).size, 1 << 20);
  });

  it('a registry that ignores Range fails the pull cleanly, nothing left behind', T, async () => {
    const reg = new FlakyRegistry({ honourRange: false, seed: 'no-range' });
    regs.push(reg);
    await reg.start();
    const before = store();
    const out = await d.docker(['pull', `${reg.host}/flaky:2`]);
    assert.equal(out.code, 1, out.desc);
    assert.equal(reg.ranges.length, 1);
    assert.equal((await d.api.get(`/images/${reg.host}/flaky:2/json`)).status, 404);
    // The config blob of this image is a new blob too: the failed pull removes it.
    assert.deepEqual(store(), before);
  });
});

/**
 * A container that attacks the daemon's access to its files while it happens: two processes
 * inside swap a directory with a symlink to a host directory (renameat2(RENAME_EXCHANGE) in a
 * loop, a static C helper compiled here with gcc), one pair in the rootfs (/w) and one in a
 * volume (/v), while the host runs `docker cp` both ways and the raw archive API (PUT, GET, HEAD,
 * directory replacement that removes a tree), `export` and `diff` against the swapped paths.
 * Nothing may escape: no file appears in the host sentinel directory, none of it is removed or
 * changed, no host byte or name comes back. The run also checks that the swap was seen (so the
 * test is live): the path is a directory at some stats and a symlink at others.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, cleanupAndCheck, waitFor } from './helpers/daemon.js';
import { ok } from './helpers/assert.js';
import { headerBytes, type TarHeader } from '../src/lib/tarheader.js';

let d: TestDaemon;
let cid = '';
let sentinel = '';
let hostSecret = '';
let snapshot: Map<string, string>;
const vol = `cprace-${process.pid}`;

const SWAP_C = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
  if (argc != 3) return 2;
  for (;;) syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], 2 /* RENAME_EXCHANGE */);
}
`;

/** Every path under dir with its content (files), link target (symlinks) or 'dir'. */
function tree(dir: string, rel = '', out = new Map<string, string>()): Map<string, string> {
  for (const n of fs.readdirSync(path.join(dir, rel)).sort()) {
    const r = path.join(rel, n);
    const st = fs.lstatSync(path.join(dir, r));
    if (st.isDirectory()) {
      out.set(r, 'dir');
      tree(dir, r, out);
    } else if (st.isSymbolicLink()) out.set(r, `-> ${fs.readlinkSync(path.join(dir, r))}`);
    else out.set(r, fs.readFileSync(path.join(dir, r), 'utf8'));
  }
  return out;
}

function tarOf(entries: Array<{ name: string; type: 'file' | 'directory'; data?: string }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const h: TarHeader = {
      name: e.name,
      type: e.type,
      mode: e.type === 'directory' ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      size: data.length,
      mtime: Math.trunc(Date.now() / 1000),
    };
    parts.push(headerBytes(h), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

before(async () => {
  d = await TestDaemon.start();
  sentinel = path.join(d.root, 'sentinel');
  fs.mkdirSync(path.join(sentinel, 'vd'), { recursive: true });
  hostSecret = `HOST-SECRET-${process.pid}-${'x'.repeat(40)}\n`;
  fs.writeFileSync(path.join(sentinel, 'secret'), hostSecret);
  fs.writeFileSync(path.join(sentinel, 'vd', 'victim'), 'host victim\n');
  fs.writeFileSync(path.join(sentinel, 'keep'), 'keep\n');
  snapshot = tree(sentinel);
  fs.writeFileSync(path.join(d.root, 'swap.c'), SWAP_C);
  const cc = spawnSync('gcc', ['-static', '-O2', '-o', path.join(d.root, 'swap'), path.join(d.root, 'swap.c')], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `gcc -static failed: ${cc.stderr}`);
  const setup = [
    'set -e',
    `for b in /w /v; do mkdir -p $b/d/vd; echo container > $b/d/secret; echo c > $b/d/vd/victim; ln -s ${sentinel} $b/x; done`,
    '/swap /w/d /w/x & exec /swap /v/d /v/x',
  ].join('; ');
  cid = ok(await d.berth(['create', '-v', `${vol}:/v`, 'busybox', 'sh', '-c', setup]));
  ok(await d.berth(['cp', path.join(d.root, 'swap'), `${cid}:/swap`]));
  ok(await d.berth(['start', cid]));
  const ready = 'for b in /w /v; do test -L $b/x -o -L $b/d || exit 1; done';
  await waitFor(async () => (await d.berth(['exec', cid, 'sh', '-c', ready])).code === 0, { what: 'swap loops running' });
});

after(async () => {
  if (cid) await d.berth(['rm', '-f', cid]);
  await d?.berth(['volume', 'rm', '-f', vol]);
  await cleanupAndCheck(d);
});

describe('archive access races a container swapping a directory with a symlink to the host', { skip: HAVE_DOCKER ? false : NO_DOCKER_MSG }, () => {
  it('no escape through cp, archive PUT/GET/HEAD, export or diff', { timeout: 120_000 }, async () => {
    const budget = 30_000;
    const deadline = Date.now() + budget;
    const escapes: string[] = [];
    const seen = { dir: 0, link: 0 };
    let tries = 0;
    const enc = encodeURIComponent;

    const cliLoop = async (base: string): Promise<void> => {
      const file = path.join(d.root, `in-${path.basename(base)}.txt`);
      fs.writeFileSync(file, 'from the host\n');
      for (let i = 0; Date.now() < deadline; i++) {
        tries++;
        if (i % 2 === 0) {
          await d.docker(['cp', file, `${cid}:${base}/d/`]);
        } else {
          const r = await d.docker(['cp', `${cid}:${base}/d/secret`, '-']);
          if (r.stdout.includes('HOST-SECRET')) escapes.push(`docker cp out of ${base}/d/secret read the host file`);
        }
      }
    };

    const apiLoop = async (base: string, worker: number): Promise<void> => {
      const withVd = tarOf([
        { name: 'vd/', type: 'directory' },
        { name: 'vd/victim', type: 'file', data: 'c\n' },
      ]);
      const vdFile = tarOf([{ name: 'vd', type: 'file', data: 'now a file\n' }]);
      for (let i = 0; Date.now() < deadline; i++) {
        tries++;
        const q = `/containers/${cid}/archive?path=${enc(`${base}/d`)}`;
        switch (i % 5) {
          case 0: {
            const raw = tarOf([{ name: `api-${worker}-${i}`, type: 'file', data: 'api\n' }]);
            await d.api.request({ method: 'PUT', path: q, raw, headers: { 'Content-Type': 'application/x-tar' } }).catch(() => undefined);
            break;
          }
          case 1:
            // Replaces a directory by a file and back: the first removes a tree.
            await d.api
              .request({ method: 'PUT', path: q, raw: (i / 5) % 2 < 1 ? vdFile : withVd, headers: { 'Content-Type': 'application/x-tar' } })
              .catch(() => undefined);
            break;
          case 2: {
            const r = await d.api.get(`/containers/${cid}/archive?path=${enc(`${base}/d/secret`)}`).catch(() => undefined);
            if (r?.body.includes('HOST-SECRET')) escapes.push(`GET ${base}/d/secret read the host file`);
            break;
          }
          case 3: {
            const r = await d.api.get(`/containers/${cid}/archive?path=${enc(`${base}/d/`)}`).catch(() => undefined);
            if (r?.body.includes('HOST-SECRET') || r?.body.includes('keep')) escapes.push(`GET ${base}/d/ listed or read the host directory`);
            break;
          }
          case 4: {
            for (const p of [`${base}/d/secret`, `${base}/d`]) {
              const r = await d.api.request({ method: 'HEAD', path: `/containers/${cid}/archive?path=${enc(p)}` }).catch(() => undefined);
              const h = r?.headers['x-docker-container-path-stat'];
              if (r?.status !== 200 || typeof h !== 'string') continue;
              const st = JSON.parse(Buffer.from(h, 'base64').toString()) as { size: number; mode: number };
              if (p.endsWith('/secret') && st.size === Buffer.byteLength(hostSecret)) escapes.push(`HEAD ${p} stat the host file`);
              if (p.endsWith('/d')) {
                if (st.mode & (2 ** 27)) seen.link++;
                else if (st.mode & (2 ** 31)) seen.dir++;
              }
            }
            break;
          }
        }
      }
    };

    const exportLoop = async (): Promise<void> => {
      for (let i = 0; Date.now() < deadline; i++) {
        tries++;
        if (i % 2 === 0) {
          const r = await d.api.get(`/containers/${cid}/export`).catch(() => undefined);
          if (r?.body.includes('HOST-SECRET') || r?.body.includes('w/d/keep') || r?.body.includes('w/x/keep')) escapes.push('export read the host directory');
        } else {
          const r = await d.api.get(`/containers/${cid}/changes`).catch(() => undefined);
          if (r?.status === 200 && r.text.includes('/keep')) escapes.push(`diff listed the host directory: ${r.text.slice(0, 200)}`);
        }
      }
    };

    await Promise.all([cliLoop('/w'), cliLoop('/v'), apiLoop('/w', 0), apiLoop('/w', 1), apiLoop('/v', 2), apiLoop('/v', 3), exportLoop()]);

    const now = tree(sentinel);
    for (const [p, v] of now) if (snapshot.get(p) !== v) escapes.push(`host sentinel ${p} is new or changed (${JSON.stringify(v).slice(0, 60)})`);
    for (const p of snapshot.keys()) if (!now.has(p)) escapes.push(`host sentinel ${p} was removed`);
    // The swap really ran during the requests: the path was seen as a directory and as a link.
    assert.ok((await d.api.inspect(cid)).State.Running, 'the attacking container kept running');
    assert.ok(seen.dir > 0 && seen.link > 0, `swap observed (dir ${seen.dir}, link ${seen.link})`);
    assert.ok(tries >= 500, `tries: ${tries}`);
    console.log(`cp-race: ${tries} tries, ${escapes.length} escapes, swap seen as dir ${seen.dir} / link ${seen.link}`);
    assert.deepEqual([...new Set(escapes)], [], `${escapes.length} escapes in ${tries} tries`);
  });
});

/**
 * Build cache import and export through buildx v0.10.5 (docker driver) on berthd:
 * `--cache-to type=inline` leaves an image whose history is its cache, so `--cache-from` that
 * image (a plain ref or `type=registry,ref=…`) on a fresh berthd that only loaded it gives CACHED
 * steps with the very layers; the cache backends Berth does not have (`type=local`, registry
 * exports) fail the build with an Unimplemented error naming the type instead of being ignored.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestDaemon, cleanupAndCheck } from './helpers/daemon.js';
import { ok } from './helpers/assert.js';
import { installBuildx, writeContext, type BuildxRunner } from './helpers/buildx.js';

let d: TestDaemon;
let fresh: TestDaemon | undefined;
let bx: BuildxRunner;
let bxFresh: BuildxRunner;
const workRoot = fs.mkdtempSync('/tmp/berth-buildkit-cache-test-');

before(async () => {
  d = await TestDaemon.start();
  bx = installBuildx(d, path.join(d.root, 'buildx-config'));
});

after(async () => {
  fs.rmSync(workRoot, { recursive: true, force: true });
  if (fresh) await cleanupAndCheck(fresh);
  await cleanupAndCheck(d);
});

const T = { timeout: 300_000 };
const context = (name: string, files: Record<string, string>): string => writeContext(workRoot, name, files);

/** Two RUN steps whose output differs on every run: a reused step shows the same bytes. */
const DOCKERFILE = [
  'FROM busybox',
  'RUN head -c 16 /dev/urandom | od -An -tx1 > /first',
  'ENV STAGE=two',
  'RUN head -c 16 /dev/urandom | od -An -tx1 > /second',
  '',
].join('\n');

/** The `#N CACHED` lines of a plain progress log, by step name. */
function cachedSteps(stderr: string): string[] {
  const names = new Map<string, string>();
  for (const m of stderr.matchAll(/^#(\d+) (\[\d+\/\d+\] .*)$/gm)) names.set(m[1] as string, m[2] as string);
  return [...stderr.matchAll(/^#(\d+) CACHED$/gm)].map((m) => names.get(m[1] as string) ?? `#${m[1] as string}`);
}

const cat = (daemon: TestDaemon, image: string, file: string): Promise<string> =>
  daemon.docker(['run', '--rm', '--network', 'none', image, 'cat', file]).then(ok);

describe('buildx cache import and export on berthd', () => {
  it('--cache-to type=inline, then --cache-from that image on a fresh berthd: the steps are CACHED, same layers and ID', T, async () => {
    const ctx = context('inline', { Dockerfile: DOCKERFILE });
    const iid = path.join(workRoot, 'inline.iid');
    const first = await bx(['buildx', 'build', '--progress', 'plain', '--cache-to', 'type=inline', '--iidfile', iid, '-t', 'bkc-inline:src', ctx]);
    ok(first);
    assert.deepEqual(cachedSteps(first.stderr), [], first.stderr);
    const id = fs.readFileSync(iid, 'utf8').trim();
    const firstOut = await cat(d, 'bkc-inline:src', '/first');
    const secondOut = await cat(d, 'bkc-inline:src', '/second');

    // the image travels (with its base: a bootstrapped busybox differs by its creation time) to
    // a daemon that never built it
    const tar = path.join(workRoot, 'inline.tar');
    ok(await d.docker(['save', '-o', tar, 'busybox', 'bkc-inline:src']));
    fresh = await TestDaemon.start({ busybox: false });
    bxFresh = installBuildx(fresh, path.join(fresh.root, 'buildx-config'));
    ok(await fresh.docker(['load', '-i', tar]));

    const iid2 = path.join(workRoot, 'inline2.iid');
    const again = await bxFresh(['buildx', 'build', '--progress', 'plain', '--cache-from', 'bkc-inline:src', '--iidfile', iid2, '-t', 'bkc-inline:again', ctx]);
    ok(again);
    assert.deepEqual(
      cachedSteps(again.stderr),
      ['[2/4] RUN head -c 16 /dev/urandom | od -An -tx1 > /first', '[3/4] ENV STAGE=two', '[4/4] RUN head -c 16 /dev/urandom | od -An -tx1 > /second'],
      again.stderr,
    );
    assert.equal(fs.readFileSync(iid2, 'utf8').trim(), id, 'the cached build gives the same image ID');
    assert.equal(await cat(fresh, 'bkc-inline:again', '/first'), firstOut);
    assert.equal(await cat(fresh, 'bkc-inline:again', '/second'), secondOut);

    // type=registry names the same image; a changed later step reuses what comes before it
    const changed = context('inline-changed', { Dockerfile: DOCKERFILE.replace('ENV STAGE=two', 'ENV STAGE=three') });
    const partial = await bxFresh([
      'buildx',
      'build',
      '--progress',
      'plain',
      '--cache-from',
      'type=registry,ref=bkc-inline:src',
      '-t',
      'bkc-inline:changed',
      changed,
    ]);
    ok(partial);
    assert.deepEqual(cachedSteps(partial.stderr), ['[2/4] RUN head -c 16 /dev/urandom | od -An -tx1 > /first'], partial.stderr);
    assert.equal(await cat(fresh, 'bkc-inline:changed', '/first'), firstOut);
    assert.notEqual(await cat(fresh, 'bkc-inline:changed', '/second'), secondOut);

    // BuildKit's imports add to the local cache: what this daemon built stays cached with them
    const local = await bxFresh(['buildx', 'build', '--progress', 'plain', '--cache-from', 'bkc-inline:src', '-t', 'bkc-inline:changed2', changed]);
    ok(local);
    assert.equal(cachedSteps(local.stderr).length, 3, local.stderr);
  });

  it('--cache-to type=local and a registry cache export fail with Unimplemented, naming the type', T, async () => {
    const ctx = context('local', { Dockerfile: 'FROM busybox\nRUN echo local > /local\n' });
    const dest = path.join(workRoot, 'cache-out');
    const r = await bx(['buildx', 'build', '--progress', 'plain', '--cache-to', `type=local,dest=${dest}`, '-t', 'bkc-local', ctx], { timeout: 60_000 });
    assert.equal(r.code, 1, r.desc);
    assert.match(r.stderr, /ERROR: .*Unimplemented.*cache export type=local is not supported/, r.stderr);
    const img = await d.docker(['image', 'inspect', 'bkc-local']);
    assert.notEqual(img.code, 0, 'no image is exported by a failed solve');
    const reg = await bx(['buildx', 'build', '--progress', 'plain', '--cache-to', 'type=registry,ref=localhost:5999/bkc:cache', ctx], { timeout: 60_000 });
    assert.equal(reg.code, 1, reg.desc);
    assert.match(reg.stderr, /cache export type=registry is not supported/, reg.stderr);
  });

  it('--cache-from type=local: without an index.json buildx drops it; with one the solve fails with Unimplemented', T, async () => {
    const ctx = context('local-from', { Dockerfile: 'FROM busybox\nRUN echo from > /from\n' });
    const src = path.join(workRoot, 'cache-in');
    fs.mkdirSync(src, { recursive: true });
    const none = await bx(['buildx', 'build', '--progress', 'plain', '--cache-from', `type=local,src=${src}`, '-t', 'bkc-from', ctx]);
    ok(none);
    assert.match(none.stderr, /WARNING: local cache import at .* not found/, none.stderr);
    const digest = `sha256:${'0'.repeat(64)}`;
    fs.writeFileSync(
      path.join(src, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: 2, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
      }),
    );
    const r = await bx(['buildx', 'build', '--progress', 'plain', '--cache-from', `type=local,src=${src}`, '-t', 'bkc-from2', ctx], { timeout: 60_000 });
    assert.equal(r.code, 1, r.desc);
    assert.match(r.stderr, /cache import type=local is not supported/, r.stderr);
  });
});

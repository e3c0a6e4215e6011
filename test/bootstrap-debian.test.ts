/**
 * `berth image bootstrap debian:bookworm`: debootstrap --variant=minbase from Debian's archive
 * becomes debian:bookworm, which runs with bash and apt. Skipped (with a message) only when
 * Debian's archive cannot be reached from here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import { HAVE_DOCKER, TestDaemon, cleanupAndCheck } from './helpers/daemon.js';
import { ok } from './helpers/assert.js';

const MIRROR = process.env['BERTH_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian';

function reachable(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'HEAD', timeout: 10_000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

const ARCHIVE_UP = await reachable(`${MIRROR}/dists/bookworm/Release`);
const SKIP = ARCHIVE_UP ? false : `Debian's archive (${MIRROR}) is unreachable: debian bootstrap skipped`;

let d: TestDaemon | undefined;

describe('berth image bootstrap debian', { skip: SKIP }, () => {
  before(async () => {
    d = await TestDaemon.start({ busybox: false });
  });
  after(async () => cleanupAndCheck(d));

  it('builds debian:bookworm with debootstrap; it runs bash, dpkg and apt', { timeout: 600_000 }, async () => {
    const t = d as TestDaemon;
    // The CLI's scratch goes to a TMPDIR of this test's own, so other debootstraps on the machine do not count.
    const tmp = path.join(t.root, 'client-tmp');
    fs.mkdirSync(tmp);
    const id = ok(await t.berth(['image', 'bootstrap', 'debian:bookworm'], { timeout: 600_000, env: { TMPDIR: tmp } }));
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const img = (await t.api.get('/images/debian:bookworm/json')).json<{ Id: string; Config: { Cmd: string[] }; Size: number; RootFS: { Layers: string[] } }>();
    assert.equal(img.Id, id);
    assert.deepEqual(img.Config.Cmd, ['bash']);
    assert.equal(img.RootFS.Layers.length, 1);
    assert.ok(img.Size > 50e6 && img.Size < 400e6, `size ${img.Size}`);
    const cli = HAVE_DOCKER ? t.docker.bind(t) : t.berth.bind(t);
    const out = ok(
      await cli([
        'run',
        '--rm',
        'debian:bookworm',
        'bash',
        '-c',
        'cat /etc/debian_version; dpkg -s base-files | grep -c "^Status: install ok installed"; apt-get --version | head -1; ls /var/lib/apt/lists | grep -v -x -e partial -e lock | wc -l',
      ]),
    );
    const [version, installed, apt, lists] = out.split('\n');
    assert.match(version as string, /^12\.\d+$/);
    assert.equal(installed, '1');
    assert.match(apt as string, /^apt 2\./);
    assert.equal(lists, '0', 'apt lists trimmed');
    // Nothing left behind on the client.
    assert.deepEqual(fs.readdirSync(tmp), []);
  });

  it('refuses an unknown suite before doing anything', async () => {
    const r = await (d as TestDaemon).berth(['image', 'bootstrap', 'debian:nosuchsuite']);
    assert.equal(r.code, 1, r.desc);
    assert.match(r.stderr, /unknown Debian suite "nosuchsuite"/);
  });
});

/**
 * Volumes and mounts through both CLIs (berth and docker) against one real berthd: named
 * volumes (create/ls/inspect/rm/prune, filters, --opt tmpfs), anonymous volumes (-v /path,
 * image VOLUME; rm -v, run --rm), copy-up (and nocopy), bind mounts (-v creates a missing
 * source, --mount refuses it, ro), tmpfs, --volumes-from (:ro), --read-only with volumes,
 * cp into and out of volumes, a hostile image whose symlinks try to redirect mounts onto the
 * host, data surviving container removal and a daemon restart, docker-py's volume calls.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLIS, HAVE_DOCKER, HEX64, NO_DOCKER_MSG, TestDaemon, cleanupAndCheck, mountsUnder, waitFor, type RunOptions } from './helpers/daemon.js';
import { exits, fails, lines, ok } from './helpers/assert.js';

let d: TestDaemon;
let scratch: string;

/** A rootfs tar: busybox, /data owned 1000:1000 mode 750 holding `seed`, plus what `extra` adds. */
function rootfsTar(name: string, extra: (root: string) => void = () => undefined): string {
  const root = path.join(scratch, `${name}-rootfs`);
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(root, 'etc'));
  fs.mkdirSync(path.join(root, 'tmp'));
  fs.mkdirSync(path.join(root, 'data'));
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'ls', 'cat', 'echo', 'mkdir', 'touch', 'stat', 'sleep', 'true', 'grep', 'mount', 'test', 'rm']) {
    fs.symlinkSync('busybox', path.join(root, 'bin', a));
  }
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(path.join(root, 'data/seed'), 'hello\n');
  fs.chownSync(path.join(root, 'data'), 1000, 1000);
  fs.chmodSync(path.join(root, 'data'), 0o750);
  extra(root);
  const tar = path.join(scratch, `${name}.tar`);
  const r = spawnSync('tar', ['-C', root, '-cf', tar, '.']);
  assert.equal(r.status, 0, String(r.stderr));
  return tar;
}

before(async () => {
  d = await TestDaemon.start();
  scratch = path.join(d.root, 'scratch');
  fs.mkdirSync(scratch);
  ok(await d.berth(['import', '-c', 'VOLUME /data', rootfsTar('seeded'), 'seeded:latest']));
});

after(async () => {
  await cleanupAndCheck(d);
});

const T = { timeout: 180_000 };
const exists = (p: string): boolean => {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

for (const cli of CLIS) {
  const skip = cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false;
  describe(`volumes via ${cli}`, { skip }, () => {
    const x = (args: string[], o?: RunOptions) => d.cli(cli, args, o);
    const tag = cli;

    it('volume create / inspect / ls filters / rm (404, 409 in use, -f) / prune', T, async () => {
      const name = `vol-${tag}`;
      assert.equal(ok(await x(['volume', 'create', '--label', `suite=${tag}`, '--label', 'k=v', name])), name);
      const [v] = JSON.parse(ok(await x(['volume', 'inspect', name])));
      assert.equal(v.Name, name);
      assert.equal(v.Driver, 'local');
      assert.equal(v.Scope, 'local');
      assert.deepEqual(v.Labels, { suite: tag, k: 'v' });
      assert.equal(v.Mountpoint, path.join(d.dataRoot, 'volumes', name, '_data'));
      assert.ok(fs.statSync(v.Mountpoint).isDirectory());
      assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
      // Creating it again returns the existing volume.
      assert.equal(ok(await x(['volume', 'create', name])), name);
      fails(
        await x(['volume', 'create', 'bad/name']),
        1,
        /"bad\/name" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed/,
      );
      fails(await x(['volume', 'create', '--opt', 'foo=bar', `o-${tag}`]), 1, /create o-\w+: invalid option: "foo"/);
      fails(await x(['volume', 'create', '--opt', 'type=tmpfs', `o-${tag}`]), 1, /missing required option: "device"/);
      assert.equal((await d.api.get(`/volumes/o-${tag}`)).status, 404, 'a refused create leaves nothing');

      assert.deepEqual(lines(ok(await x(['volume', 'ls', '-q', '--filter', `label=suite=${tag}`]))), [name]);
      assert.deepEqual(lines(ok(await x(['volume', 'ls', '-q', '--filter', `name=ol-${tag}`]))), [name]);
      assert.deepEqual(lines(ok(await x(['volume', 'ls', '-q', '--filter', 'driver=local', '--filter', `label=suite=${tag}`]))), [name]);
      assert.ok(lines(ok(await x(['volume', 'ls', '-q', '--filter', 'dangling=true']))).includes(name));

      const cid = ok(await x(['run', '-d', '-v', `${name}:/data`, 'busybox', 'sleep', '300']));
      assert.ok(!lines(ok(await x(['volume', 'ls', '-q', '--filter', 'dangling=true']))).includes(name));
      assert.ok(lines(ok(await x(['volume', 'ls', '-q', '--filter', 'dangling=false']))).includes(name));
      assert.deepEqual(lines(ok(await x(['ps', '-q', '--no-trunc', '--filter', `volume=${name}`]))), [cid]);
      const inUse = await x(['volume', 'rm', name]);
      fails(inUse, 1, new RegExp(`remove ${name}: volume is in use - \\[${cid}\\]`));
      fails(await x(['volume', 'rm', '-f', name]), 1, /volume is in use/);
      const api = await d.api.delete(`/volumes/${name}`);
      assert.equal(api.status, 409);
      // Stopped but not removed: still in use.
      ok(await x(['rm', '-f', cid]));
      fails(await x(['volume', 'rm', `nope-${tag}`]), 1, new RegExp(`get nope-${tag}: no such volume`));
      exits(await x(['volume', 'rm', '-f', `nope-${tag}`]), 0);

      // prune: anonymous only by default, -a for named ones too.
      const anon = ok(await x(['volume', 'create']));
      assert.match(anon, HEX64);
      ok(await x(['run', '--name', `anon-${tag}`, '-v', '/scratch', 'busybox', 'true']));
      const ctr = await d.api.inspect(`anon-${tag}`);
      const anonVol = ctr.Mounts.find((m: { Destination: string }) => m.Destination === '/scratch').Name as string;
      assert.match(anonVol, HEX64);
      ok(await x(['rm', `anon-${tag}`])); // without -v: the anonymous volume stays
      assert.equal((await d.api.get(`/volumes/${anonVol}`)).status, 200);
      // `volume create` without a name makes an anonymous volume too (dockerd 23+ labels it)
      assert.deepEqual((await d.api.get(`/volumes/${anon}`)).json().Labels, { 'com.docker.volume.anonymous': '' });
      // without -f both CLIs ask as docker does; "n" (or no answer) removes nothing
      for (const [flags, warning] of [
        [[], 'WARNING! This will remove anonymous local volumes not used by at least one container.'],
        [['-a'], 'WARNING! This will remove all local volumes not used by at least one container.'],
      ] as const) {
        const asked = await x(['volume', 'prune', ...flags, '--filter', `label=com.docker.volume.anonymous`], { input: 'n\n' });
        assert.equal(asked.code, 0, asked.desc);
        assert.equal(asked.stdout, `${warning}\nAre you sure you want to continue? [y/N] `, asked.desc);
      }
      assert.equal((await d.api.get(`/volumes/${anonVol}`)).status, 200);
      assert.equal((await d.api.get(`/volumes/${anon}`)).status, 200);
      const pruned = ok(await x(['volume', 'prune', '-f', '--filter', `label=com.docker.volume.anonymous`]));
      assert.ok(pruned.includes(anonVol), pruned);
      assert.ok(pruned.includes(anon), pruned);
      assert.ok(!pruned.includes(name), pruned);
      assert.equal((await d.api.get(`/volumes/${name}`)).status, 200);
      const all = ok(await x(['volume', 'prune', '-f', '-a', '--filter', `label=suite=${tag}`]));
      assert.ok(all.includes(name), all);
      assert.equal((await d.api.get(`/volumes/${name}`)).status, 404);
    });

    it('named volume data survives container removal; copy-up seeds content, ownership, mode; nocopy skips', T, async () => {
      const name = `data-${tag}`;
      ok(await x(['run', '--rm', '-v', `${name}:/data`, 'seeded', 'sh', '-c', 'echo more > /data/more']));
      const mp = path.join(d.dataRoot, 'volumes', name, '_data');
      assert.equal(fs.readFileSync(path.join(mp, 'seed'), 'utf8'), 'hello\n', 'copy-up of the image content');
      assert.equal(fs.readFileSync(path.join(mp, 'more'), 'utf8'), 'more\n');
      const st = fs.statSync(mp);
      assert.equal(st.uid, 1000);
      assert.equal(st.gid, 1000);
      assert.equal(st.mode & 0o7777, 0o750);
      // A later container sees the data, not a new copy.
      assert.equal(ok(await x(['run', '--rm', '-v', `${name}:/data`, 'seeded', 'cat', '/data/more', '/data/seed'])), 'more\nhello');
      const nocopy = `nocopy-${tag}`;
      assert.equal(ok(await x(['run', '--rm', '-v', `${nocopy}:/data:nocopy`, 'seeded', 'ls', '-A', '/data'])), '');
      assert.equal(ok(await x(['run', '--rm', '--mount', `type=volume,src=${nocopy}-m,dst=/data,volume-nocopy`, 'seeded', 'ls', '-A', '/data'])), '');
      ok(await x(['volume', 'rm', name, nocopy, `${nocopy}-m`]));
    });

    it('anonymous volumes from -v /path and the image VOLUME: removed by rm -v and run --rm', T, async () => {
      const cname = `anon2-${tag}`;
      ok(await x(['run', '--name', cname, '-v', '/extra', 'seeded', 'sh', '-c', 'cat /data/seed > /extra/copy']));
      const c = await d.api.inspect(cname);
      const vols = (c.Mounts as Array<{ Type: string; Name: string; Destination: string; Source: string; RW: boolean }>).filter((m) => m.Type === 'volume');
      assert.deepEqual(vols.map((m) => m.Destination).sort(), ['/data', '/extra']);
      for (const v of vols) {
        assert.match(v.Name, HEX64);
        assert.equal(v.Source, path.join(d.dataRoot, 'volumes', v.Name, '_data'));
      }
      const extra = vols.find((m) => m.Destination === '/extra') as { Source: string };
      assert.equal(fs.readFileSync(path.join(extra.Source, 'copy'), 'utf8'), 'hello\n');
      ok(await x(['rm', '-v', cname]));
      for (const v of vols) assert.equal((await d.api.get(`/volumes/${v.Name}`)).status, 404, `${v.Name} removed by rm -v`);
      // run --rm removes its anonymous volumes but keeps named ones.
      const before = new Set(lines(ok(await x(['volume', 'ls', '-q']))));
      ok(await x(['run', '--rm', '-v', '/extra', '-v', `keep-${tag}:/keep`, 'seeded', 'true']));
      await waitFor(
        async () => {
          const now = lines(ok(await x(['volume', 'ls', '-q']))).filter((n) => !before.has(n));
          return now.length === 1 && now[0] === `keep-${tag}` ? true : undefined;
        },
        { what: 'anonymous volumes of a --rm container removed' },
      );
      ok(await x(['volume', 'rm', `keep-${tag}`]));
    });

    it('bind mounts: -v creates a missing source, --mount refuses it, ro, bad specs get dockerd messages', T, async () => {
      const src = path.join(scratch, `bind-${tag}`);
      assert.ok(!exists(src));
      ok(await x(['run', '--rm', '-v', `${src}:/b`, 'busybox', 'sh', '-c', 'echo in > /b/f']));
      assert.equal(fs.readFileSync(path.join(src, 'f'), 'utf8'), 'in\n');
      const missing = path.join(scratch, `missing-${tag}`);
      fails(
        await x(['run', '--rm', '--mount', `type=bind,src=${missing},dst=/b`, 'busybox', 'true']),
        125,
        new RegExp(`invalid mount config for type "bind": bind source path does not exist: ${missing}`),
      );
      assert.ok(!exists(missing));
      const ro = await x(['run', '--rm', '-v', `${src}:/b:ro`, 'busybox', 'sh', '-c', 'cat /b/f; echo x > /b/g']);
      assert.notEqual(ro.code, 0, ro.desc);
      assert.match(ro.stdout + ro.stderr, /in[\s\S]*Read-only file system/, ro.desc);
      assert.equal(ok(await x(['run', '--rm', '--mount', `type=bind,source=${src},target=/b,readonly`, 'busybox', 'cat', '/b/f'])), 'in');
      const cid = ok(await x(['create', '-v', `${src}:/b:ro`, '--mount', `type=bind,src=${src},dst=/c`, 'busybox', 'true']));
      const mounts = (await d.api.inspect(cid)).Mounts;
      assert.deepEqual(mounts, [
        { Type: 'bind', Source: src, Destination: '/b', Mode: 'ro', RW: false, Propagation: 'rprivate' },
        { Type: 'bind', Source: src, Destination: '/c', Mode: '', RW: true, Propagation: 'rprivate' },
      ]);
      ok(await x(['rm', cid]));
      fails(await x(['run', '--rm', '-v', '/tmp:/d:xyz', 'busybox', 'true']), 125, /invalid mode: xyz/);
      fails(
        await x(['run', '--rm', '-v', '/tmp:data', 'busybox', 'true']),
        125,
        /invalid volume specification: '\/tmp:data': invalid mount config for type "bind": invalid mount path: 'data' mount path must be absolute/,
      );
      fails(await x(['run', '--rm', '-v', '/tmp:/', 'busybox', 'true']), 125, /destination can't be '\/'/);
      fails(await x(['run', '--rm', '-v', '/tmp:/d', '-v', '/etc:/d', 'busybox', 'true']), 125, /Duplicate mount point: \/d/);
      fails(await x(['run', '--rm', '-v', 'a:b:c:d', 'busybox', 'true']), 125, /invalid volume specification: 'a:b:c:d'/);
      fails(await x(['run', '--rm', '--volumes-from', `nope-${tag}`, 'busybox', 'true']), 125, new RegExp(`No such container: nope-${tag}`));
      assert.equal(ok(await x(['ps', '-aq', '--filter', 'status=created'])), '', 'refused creates leave no container');
    });

    it('bind propagation: rslave sees mounts made on the host after start, rprivate does not', T, async () => {
      const src = path.join(scratch, `prop-${tag}`);
      const sub = path.join(src, 'sub');
      fs.mkdirSync(sub, { recursive: true });
      // dockerd's rule: rslave/rshared need a shared (or slave) source mount.
      assert.equal(spawnSync('mount', ['--bind', src, src]).status, 0);
      const names = [`prop-slave-${tag}`, `prop-private-${tag}`];
      try {
        assert.equal(spawnSync('mount', ['--make-shared', src]).status, 0);
        ok(await x(['run', '-d', '--name', names[0] as string, '--mount', `type=bind,src=${src},dst=/p,bind-propagation=rslave`, 'busybox', 'sleep', '300']));
        ok(await x(['run', '-d', '--name', names[1] as string, '-v', `${src}:/p:rprivate`, 'busybox', 'sleep', '300']));
        assert.deepEqual(
          (await d.api.inspect(names[0] as string)).Mounts.map((m: { Propagation: string }) => m.Propagation),
          ['rslave'],
        );
        assert.deepEqual(
          (await d.api.inspect(names[1] as string)).Mounts.map((m: { Propagation: string }) => m.Propagation),
          ['rprivate'],
        );
        // A mount made on the host after the containers started.
        assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', sub]).status, 0);
        fs.writeFileSync(path.join(sub, 'marker'), 'propagated\n');
        await waitFor(async () => (await x(['exec', names[0] as string, 'cat', '/p/sub/marker'])).stdout.trim() === 'propagated', {
          what: 'the host mount to reach the rslave container',
        });
        const priv = await x(['exec', names[1] as string, 'ls', '-A', '/p/sub']);
        assert.equal(priv.stdout.trim(), '', `an rprivate bind does not see the new mount\n${priv.desc}`);
      } finally {
        await x(['rm', '-f', ...names]);
        spawnSync('umount', ['-l', sub]);
        spawnSync('umount', ['-l', src]);
      }
    });

    it('tmpfs (--tmpfs, --mount type=tmpfs), --read-only with volumes and tmpfs, --volumes-from (:ro)', T, async () => {
      const out = ok(
        await x([
          'run',
          '--rm',
          '--read-only',
          '-v',
          `ro-${tag}:/v`,
          '--tmpfs',
          '/t1:size=2m,mode=1770',
          '--mount',
          'type=tmpfs,dst=/t2,tmpfs-size=1m,tmpfs-mode=700',
          'busybox',
          'sh',
          '-c',
          'touch /v/ok /t1/ok /t2/ok && stat -c "%a" /t1 /t2 && grep -E " /t[12] " /proc/mounts && (touch /rootfs-file 2>&1 || true)',
        ]),
      );
      assert.match(out, /^1770\n700\n/, out);
      assert.match(out, /tmpfs \/t1 tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k,mode=1770/, out);
      assert.match(out, /tmpfs \/t2 tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700/, out);
      assert.match(out, /Read-only file system/, out);
      const src = `src-${tag}`;
      ok(await x(['run', '--name', src, '-v', `shared-${tag}:/shared`, '-v', '/anon', 'busybox', 'sh', '-c', 'echo from-src > /shared/f; echo a > /anon/f']));
      assert.equal(ok(await x(['run', '--rm', '--volumes-from', src, 'busybox', 'cat', '/shared/f', '/anon/f'])), 'from-src\na');
      const ro = await x(['run', '--rm', '--volumes-from', `${src}:ro`, 'busybox', 'sh', '-c', 'cat /shared/f; echo y > /shared/g']);
      assert.match(ro.stdout + ro.stderr, /from-src[\s\S]*Read-only file system/, ro.desc);
      fails(await x(['run', '--rm', '--volumes-from', `${src}:xx`, 'busybox', 'true']), 125, /invalid mode: xx/);
      const anonName = (await d.api.inspect(src)).Mounts.find((m: { Destination: string }) => m.Destination === '/anon').Name;
      // --rm of a --volumes-from user does not remove the source's anonymous volume.
      assert.equal((await d.api.get(`/volumes/${anonName}`)).status, 200);
      ok(await x(['rm', '-v', src]));
      assert.equal((await d.api.get(`/volumes/${anonName}`)).status, 404);
      ok(await x(['volume', 'rm', `shared-${tag}`, `ro-${tag}`]));
    });

    it('local driver --opt type=tmpfs: mounted while used, unmounted after', T, async () => {
      const name = `tmpfsvol-${tag}`;
      ok(await x(['volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=1m', name]));
      const [v] = JSON.parse(ok(await x(['volume', 'inspect', name])));
      assert.deepEqual(v.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
      const cid = ok(await x(['run', '-d', '-v', `${name}:/v`, 'busybox', 'sh', '-c', 'grep " /v " /proc/mounts; echo x > /v/f; sleep 300']));
      await waitFor(() => mountsUnder(v.Mountpoint).length > 0 || undefined, { what: 'tmpfs volume mounted' });
      await waitFor(async () => /tmpfs \/v tmpfs rw,relatime,size=1024k/.test(ok(await x(['logs', cid]))) || undefined, { what: 'tmpfs seen inside' });
      ok(await x(['rm', '-f', cid]));
      await waitFor(() => mountsUnder(v.Mountpoint).length === 0 || undefined, { what: 'tmpfs volume unmounted' });
      ok(await x(['volume', 'rm', name]));
    });

    it('docker cp into and out of a volume of a running container', T, async () => {
      const name = `cp-${tag}`;
      const cid = ok(await x(['run', '-d', '-v', `${name}:/vol`, 'busybox', 'sleep', '300']));
      const file = path.join(scratch, `cp-in-${tag}.txt`);
      fs.writeFileSync(file, 'copied in\n');
      ok(await x(['cp', file, `${cid}:/vol/`]));
      assert.equal(ok(await x(['exec', cid, 'cat', `/vol/cp-in-${tag}.txt`])), 'copied in');
      assert.equal(fs.readFileSync(path.join(d.dataRoot, 'volumes', name, '_data', `cp-in-${tag}.txt`), 'utf8'), 'copied in\n');
      ok(await x(['exec', cid, 'sh', '-c', 'echo made inside > /vol/out.txt']));
      const outDir = path.join(scratch, `cp-out-${tag}`);
      fs.mkdirSync(outDir);
      ok(await x(['cp', `${cid}:/vol/out.txt`, outDir]));
      assert.equal(fs.readFileSync(path.join(outDir, 'out.txt'), 'utf8'), 'made inside\n');
      ok(await x(['rm', '-f', cid]));
      ok(await x(['volume', 'rm', name]));
    });

    it('a hostile image whose symlinks point a mount destination at the host cannot make it land there', T, async () => {
      const hostTarget = path.join(scratch, `host-target-${tag}`);
      fs.mkdirSync(hostTarget);
      fs.writeFileSync(path.join(hostTarget, 'precious'), 'untouched\n');
      const img = `hostile-${tag}`;
      ok(
        await d.berth([
          'import',
          '-c',
          'VOLUME /evilvol',
          rootfsTar(img, (root) => {
            fs.symlinkSync(`../../../../../../../..${hostTarget}`, path.join(root, 'evil'));
            fs.symlinkSync(hostTarget, path.join(root, 'evilabs'));
            fs.symlinkSync(`/..${hostTarget}/vol`, path.join(root, 'evilvol'));
          }),
          `${img}:latest`,
        ]),
      );
      const src = path.join(scratch, `hostile-src-${tag}`);
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(src, 'mine'), 'bind content\n');
      const out = ok(
        await x([
          'run',
          '--rm',
          '-v',
          `${src}:/evil/sub`,
          '--mount',
          `type=bind,src=${src},dst=/evilabs`,
          '-v',
          `hv-${tag}:/evilvol`,
          img,
          'sh',
          '-c',
          'cat /evil/sub/mine /evilabs/mine; echo from-ctr > /evilvol/w',
        ]),
      );
      assert.equal(out, 'bind content\nbind content');
      // Nothing happened on the host path the links name: no mount, no new entry, no write.
      assert.deepEqual(fs.readdirSync(hostTarget), ['precious']);
      assert.equal(fs.readFileSync(path.join(hostTarget, 'precious'), 'utf8'), 'untouched\n');
      assert.deepEqual(mountsUnder(hostTarget), []);
      assert.equal(fs.readFileSync(path.join(d.dataRoot, 'volumes', `hv-${tag}`, '_data', 'w'), 'utf8'), 'from-ctr\n');
      // The volume landed inside the container, beneath the bind at the same resolved parent.
      assert.ok(exists(path.join(src, 'vol')), 'mount point created inside the bind source, as in the container');
      ok(await x(['volume', 'rm', `hv-${tag}`]));
      ok(await x(['volume', 'prune', '-f']));
    });
  });
}

describe('volumes: API, events, restart, docker-py', () => {
  it('API: create/list/inspect/remove/prune shapes, status codes and events', T, async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    let r = await d.api.post('/volumes/create', { Name: 'api-vol', Labels: { a: 'b' }, DriverOpts: {} });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json().Name, 'api-vol');
    r = await d.api.post('/volumes/create', { Name: 'q' });
    assert.equal(r.status, 400);
    assert.equal(r.json().message, 'create q: volume name is too short, names should be at least two alphanumeric characters');
    r = await d.api.post('/volumes/create', { Name: 'zz', Driver: 'other' });
    assert.equal(r.status, 404);
    assert.equal(r.json().message, 'create zz: error looking up volume plugin other: plugin "other" not found');
    r = await d.api.get('/volumes?filters=' + encodeURIComponent(JSON.stringify({ foo: ['x'] })));
    assert.equal(r.status, 400);
    assert.equal(r.json().message, "Invalid filter 'foo'");
    r = await d.api.get('/volumes?filters=' + encodeURIComponent(JSON.stringify({ dangling: ['x'] })));
    assert.equal(r.status, 400);
    r = await d.api.get('/volumes');
    assert.equal(r.status, 200);
    assert.equal(r.json().Warnings, null);
    assert.ok(r.json().Volumes.some((v: { Name: string }) => v.Name === 'api-vol'));
    const cr = await d.api.post('/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { Binds: ['api-vol:/d'] } });
    assert.equal(cr.status, 201, cr.text);
    r = await d.api.delete('/volumes/api-vol');
    assert.equal(r.status, 409);
    assert.equal(r.json().message, `remove api-vol: volume is in use - [${cr.json().Id}]`);
    assert.equal((await d.api.post(`/containers/${cr.json().Id}/start`)).status, 204);
    await waitFor(async () => (await d.state(cr.json().Id)).Status === 'exited' || undefined, { what: 'exit' });
    assert.equal((await d.api.delete(`/containers/${cr.json().Id}?v=1`)).status, 204);
    assert.equal((await d.api.get('/volumes/api-vol')).status, 200, 'rm -v keeps named volumes');
    // Before API 1.42, prune removes every unused volume.
    r = await d.api.post('/v1.41/volumes/prune?filters=' + encodeURIComponent(JSON.stringify({ label: ['a=b'] })));
    assert.equal(r.status, 200);
    assert.deepEqual(r.json().VolumesDeleted, ['api-vol']);
    const ev = await d.api.get(
      `/events?since=${since}&until=${Math.floor(Date.now() / 1000) + 1}&filters=${encodeURIComponent(JSON.stringify({ type: ['volume'] }))}`,
    );
    const events = ev.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.Actor.ID === 'api-vol');
    assert.deepEqual(
      events.map((e) => e.Action),
      ['create', 'mount', 'unmount', 'destroy'],
      ev.text,
    );
    assert.deepEqual(events[1].Actor.Attributes, { container: cr.json().Id, destination: '/d', driver: 'local', propagation: '', 'read/write': 'true' });
  });

  it('volumes and their data survive a daemon restart and a crash; a running user keeps its volume', T, async () => {
    ok(await d.berth(['run', '--rm', '-v', 'persist:/p', 'busybox', 'sh', '-c', 'echo kept > /p/f']));
    const cid = ok(await d.berth(['run', '-d', '-v', 'persist:/p', 'busybox', 'sleep', '300']));
    await d.stop();
    d = await TestDaemon.start({ reuse: d });
    assert.equal(ok(await d.berth(['run', '--rm', '-v', 'persist:/p', 'busybox', 'cat', '/p/f'])), 'kept');
    fails(await d.berth(['volume', 'rm', 'persist']), 1, /volume is in use/);
    await d.kill9();
    d = await TestDaemon.start({ reuse: d });
    assert.equal(JSON.parse(ok(await d.berth(['volume', 'inspect', 'persist'])))[0].Name, 'persist');
    assert.equal(ok(await d.berth(['exec', cid, 'cat', '/p/f'])), 'kept');
    ok(await d.berth(['rm', '-f', cid]));
    ok(await d.berth(['volume', 'rm', 'persist']));
  });

  it("docker-py's volume calls work unchanged", T, async () => {
    const py = spawnSync(
      'python3',
      [
        '-c',
        `
import docker, json, sys
c = docker.DockerClient(base_url='unix://${d.socket}', version='1.50')
v = c.volumes.create(name='pyvol', driver='local', labels={'py': '1'})
assert v.name == 'pyvol', v.name
assert v.attrs['Labels'] == {'py': '1'}, v.attrs
assert c.volumes.get('pyvol').attrs['Mountpoint'].endswith('/volumes/pyvol/_data')
assert 'pyvol' in [x.name for x in c.volumes.list(filters={'label': 'py=1'})]
anon = c.api.create_volume()
try:
    c.volumes.get('nope-py')
    sys.exit('expected NotFound')
except docker.errors.NotFound:
    pass
c.containers.run('busybox', 'true', volumes={'pyvol': {'bind': '/d', 'mode': 'rw'}}, name='pyctr')
try:
    c.volumes.get('pyvol').remove()
    sys.exit('expected APIError 409')
except docker.errors.APIError as e:
    assert e.status_code == 409, e
c.containers.get('pyctr').remove(v=True)
res = c.volumes.prune(filters={'all': 'true', 'label': 'py=1'})
assert res['VolumesDeleted'] == ['pyvol'], res
c.api.remove_volume(anon['Name'])
print('ok')
`,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(py.status, 0, `${py.stdout}\n${py.stderr}`);
    assert.equal(py.stdout.trim(), 'ok');
  });
});

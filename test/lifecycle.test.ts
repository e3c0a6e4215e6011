/**
 * Container lifecycle through both CLIs (berth and docker) against one real berthd: exit codes,
 * create/start/stop/kill/restart/rm/wait/rename/pause/top/diff/export/cp, ps, logs, inspect,
 * names, stdin, run flags and the default isolation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLIS, HAVE_DOCKER, HEX64, NO_DOCKER_MSG, TestDaemon, waitFor, type RunOptions } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { exits, fails, lines, ok } from './helpers/assert.js';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.start();
});

after(async () => {
  await cleanupAndCheck(d);
});

const T = { timeout: 180_000 };

for (const cli of CLIS) {
  const skip = cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false;
  describe(`lifecycle via ${cli}`, { skip }, () => {
    const x = (args: string[], o?: RunOptions) => d.cli(cli, args, o);
    const tag = cli;

    it('propagates exit codes: 3, 125, 126, 127', T, async () => {
      exits(await x(['run', '--rm', '-l', `exitcodes=${tag}`, 'busybox', 'sh', '-c', 'exit 3']), 3);
      exits(await x(['run', '--rm', '-l', `exitcodes=${tag}`, 'busybox', 'true']), 0);
      const unknown = await x(['run', '--rm', 'no-such-image-berth:nope', 'true']);
      exits(unknown, 125);
      assert.match(unknown.stderr, /no-such-image-berth/, unknown.desc);
      fails(await x(['run', '--restart', 'bogus', 'busybox', 'true']), 125, /restart policy/i);
      const r126 = await x(['run', '--rm', '-l', `exitcodes=${tag}`, 'busybox', '/etc/passwd']);
      exits(r126, 126);
      assert.match(r126.stderr, /permission denied/, r126.desc);
      const r127 = await x(['run', '--rm', '-l', `exitcodes=${tag}`, 'busybox', 'nonexistent']);
      exits(r127, 127);
      assert.match(r127.stderr, /executable file not found/, r127.desc);
      // Every one of them was --rm: none is left behind, even those that failed to start.
      await waitFor(async () => ok(await x(['ps', '-aq', '--filter', `label=exitcodes=${tag}`])) === '', {
        timeout: 10_000,
        what: '--rm containers to be gone',
      });
    });

    it('run --rm leaves no container; run -d prints a 64-hex ID', T, async () => {
      ok(await x(['run', '--rm', '--name', `rm-${tag}`, 'busybox', 'true']));
      await waitFor(async () => (await d.api.get(`/containers/rm-${tag}/json`)).status === 404, { what: 'rm container gone' });
      const id = ok(await x(['run', '-d', 'busybox', 'true']));
      assert.match(id, HEX64);
      await waitFor(async () => (await d.state(id)).Status === 'exited', { what: 'exit' });
    });

    it('create, start, rm refused while running, stop, kill -s, restart, rm -f', T, async () => {
      const name = `lc-${tag}`;
      const id = ok(await x(['create', '--name', name, 'busybox', 'sh', '-c', 'trap "exit 42" TERM; while true; do sleep 0.1; done']));
      assert.match(id, HEX64);
      assert.equal((await d.state(id)).Status, 'created');
      assert.equal(ok(await x(['start', name])), name);
      let st = await d.state(id);
      assert.equal(st.Status, 'running');
      assert.ok(st.Pid > 0);
      assert.ok(fs.existsSync(`/proc/${st.Pid}`), 'container process exists on the host');

      // rm without -f is refused with 409 and Docker's message.
      const rm = await x(['rm', name]);
      exits(rm, 1);
      assert.match(rm.stderr, /Error response from daemon: .*(container is running|cannot remove a running container)/i, rm.desc);
      const apiRm = await d.api.delete(`/containers/${id}`);
      assert.equal(apiRm.status, 409, apiRm.text);
      assert.match(apiRm.json().message, /container is running: stop the container before removing or force remove/);

      // kill -s TERM runs the trap: exit 42.
      ok(await x(['kill', '-s', 'TERM', name]));
      st = await waitFor(
        async () => {
          const s = await d.state(id);
          return s.Status === 'exited' ? s : undefined;
        },
        { what: 'exit after SIGTERM' },
      );
      assert.equal(st.ExitCode, 42);

      // start again, stop: the trap exits 42 on SIGTERM well before the timeout.
      ok(await x(['start', name]));
      assert.equal((await d.state(id)).Status, 'running');
      assert.equal(ok(await x(['stop', '-t', '10', name])), name);
      st = await d.state(id);
      assert.equal(st.Status, 'exited');
      assert.equal(st.ExitCode, 42);

      // restart gives a new process.
      ok(await x(['start', name]));
      const pid1 = (await d.state(id)).Pid;
      ok(await x(['restart', '-t', '10', name]));
      st = await d.state(id);
      assert.equal(st.Status, 'running');
      assert.notEqual(st.Pid, pid1);
      assert.ok(!fs.existsSync(`/proc/${pid1}`) || !fs.readFileSync(`/proc/${pid1}/cmdline`, 'utf8').includes('trap'));

      // kill (default SIGKILL) → 137.
      ok(await x(['kill', name]));
      st = await waitFor(
        async () => {
          const s = await d.state(id);
          return s.Status === 'exited' ? s : undefined;
        },
        { what: 'exit after kill' },
      );
      assert.equal(st.ExitCode, 137);

      ok(await x(['start', name]));
      assert.equal(ok(await x(['rm', '-f', name])), name);
      assert.equal((await d.api.get(`/containers/${id}/json`)).status, 404);
      assert.ok(!fs.existsSync(path.join(d.dataRoot, 'containers', id)), 'container directory removed');
    });

    it('wait prints the exit code; stop of a sleeping PID 1 kills after the timeout (137)', T, async () => {
      const id = ok(await x(['run', '-d', 'busybox', 'sh', '-c', 'sleep 1; exit 5']));
      assert.equal(ok(await x(['wait', id], { timeout: 30_000 })), '5');
      const s = ok(await x(['run', '-d', 'busybox', 'sleep', '300']));
      ok(await x(['stop', '-t', '1', s]));
      const st = await d.state(s);
      assert.equal(st.Status, 'exited');
      assert.equal(st.ExitCode, 137);
    });

    it('rename, names, duplicate name conflict, ID prefixes', T, async () => {
      const id = ok(await x(['run', '-d', '--name', `old-${tag}`, 'busybox', 'sleep', '300']));
      ok(await x(['rename', `old-${tag}`, `new-${tag}`]));
      assert.equal((await d.api.inspect(id)).Name, `/new-${tag}`);
      assert.equal((await d.api.get(`/containers/old-${tag}/json`)).status, 404);
      // Duplicate name: Docker's 409 conflict message, exit 125 from run.
      const dup = await x(['run', '-d', '--name', `new-${tag}`, 'busybox', 'true']);
      exits(dup, 125);
      assert.ok(
        dup.stderr.includes(
          `Conflict. The container name "/new-${tag}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`,
        ),
        dup.desc,
      );
      const apiDup = await d.api.post(`/containers/create?name=new-${tag}`, { Image: 'busybox', Cmd: ['true'] });
      assert.equal(apiDup.status, 409, apiDup.text);
      // Generated names: adjective_surname.
      const gen = ok(await x(['run', '-d', 'busybox', 'true']));
      const genName = ok(await x(['inspect', '-f', '{{.Name}}', gen]));
      assert.match(genName, /^\/[a-z]+_[a-z]+\d*$/);
      // Unique ID prefixes resolve.
      assert.equal(ok(await x(['inspect', '-f', '{{.Id}}', id.slice(0, 12)])), id);
      assert.equal(ok(await x(['inspect', '-f', '{{.Id}}', id.slice(0, 7)])), id);
      assert.equal(ok(await x(['inspect', '-f', '{{.State.Status}} {{.Config.Image}} {{.Name}}', id])), `running busybox /new-${tag}`);
      const missing = await x(['inspect', 'no-such-container-x']);
      exits(missing, 1);
      assert.match(missing.stderr, /No such (container|object): no-such-container-x/);
      ok(await x(['rm', '-f', id, gen]));
    });

    it('pause and unpause freeze the cgroup', T, async () => {
      const id = ok(await x(['run', '-d', 'busybox', 'sleep', '300']));
      const freezer = d.cgroupFile('freezer', id, 'freezer.state');
      ok(await x(['pause', id]));
      let st = await d.state(id);
      assert.equal(st.Status, 'paused');
      assert.equal(st.Paused, true);
      assert.equal(fs.readFileSync(freezer, 'utf8').trim(), 'FROZEN');
      assert.match(ok(await x(['ps', '--filter', `id=${id}`, '--format', '{{.Status}}'])), /\(Paused\)$/);
      ok(await x(['unpause', id]));
      st = await d.state(id);
      assert.equal(st.Status, 'running');
      assert.equal(st.Paused, false);
      assert.equal(fs.readFileSync(freezer, 'utf8').trim(), 'THAWED');
      ok(await x(['rm', '-f', id]));
    });

    it('top lists the container processes', T, async () => {
      const id = ok(await x(['run', '-d', 'busybox', 'sleep', '301']));
      const top = ok(await x(['top', id]));
      const [head, ...rows] = lines(top);
      assert.match(head ?? '', /PID/);
      assert.ok(
        rows.some((r) => r.includes('sleep 301')),
        top,
      );
      const pid = (await d.state(id)).Pid;
      assert.ok(
        rows.some((r) => r.split(/\s+/).includes(String(pid))),
        `top shows host PID ${pid}:\n${top}`,
      );
      ok(await x(['rm', '-f', id]));
    });

    it('diff and export', T, async () => {
      const id = ok(await x(['run', '-d', 'busybox', 'sh', '-c', 'mkdir /newdir && echo x > /newdir/f && rm /etc/group']));
      assert.equal(ok(await x(['wait', id])), '0');
      const diff = lines(ok(await x(['diff', id])));
      for (const want of ['A /newdir', 'A /newdir/f', 'D /etc/group', 'C /etc']) assert.ok(diff.includes(want), `${want} in ${diff.join(', ')}`);
      assert.ok(!diff.includes('A /bin'), 'unchanged image paths are not listed');
      const tarFile = path.join(d.root, `export-${tag}.tar`);
      ok(await x(['export', '-o', tarFile, id]));
      const list = spawnSync('tar', ['-tf', tarFile], { encoding: 'utf8' });
      assert.equal(list.status, 0, list.stderr);
      const names = lines(list.stdout).map((n) => n.replace(/^\.?\//, ''));
      assert.ok(names.includes('bin/busybox'), 'export contains bin/busybox');
      assert.ok(names.includes('newdir/f'), 'export contains the container layer');
      assert.ok(!names.includes('etc/group'), 'export omits the deleted file');
      fs.rmSync(tarFile);
    });

    it('cp into a container and out of it', T, async () => {
      const content = `hello from the host ${tag} ${Date.now()}\n`;
      const hostFile = path.join(d.root, `cp-in-${tag}.txt`);
      fs.writeFileSync(hostFile, content);
      const id = ok(await x(['create', 'busybox', 'cat', '/tmp/in.txt']));
      ok(await x(['cp', hostFile, `${id}:/tmp/in.txt`]));
      const started = await x(['start', '-a', id]);
      assert.equal(ok(started) + '\n', content);
      const outFile = path.join(d.root, `cp-out-${tag}.txt`);
      ok(await x(['cp', `${id}:/tmp/in.txt`, outFile]));
      assert.equal(fs.readFileSync(outFile, 'utf8'), content);
      // A directory out of the image layer.
      const outDir = path.join(d.root, `cp-dir-${tag}`);
      ok(await x(['cp', `${id}:/etc`, outDir]));
      assert.ok(fs.existsSync(path.join(outDir, 'passwd')), 'etc/passwd copied out');
      const missing = await x(['cp', `${id}:/no/such/file`, outFile]);
      assert.notEqual(missing.code, 0, missing.desc);
      assert.match(missing.stderr, /Could not find the file \/no\/such\/file in container/i);
      fs.rmSync(outDir, { recursive: true });
    });

    it("cp: dockerd's archive names, headers and Path-Stat; owners kept; dir/non-dir overwrite refused", T, async () => {
      const setup =
        'mkdir -p /dir/sub && echo hi > /dir/f && echo x > /dir/sub/g && chown 1000:1001 /dir/f && ln -s /dir/f /dir/l && ln /dir/sub/g /dir/h && ln -s dir /ldir';
      const id = ok(await x(['run', '-d', 'busybox', 'sh', '-c', `${setup} && exec sleep 300`]));
      await waitFor(async () => (await x(['exec', id, 'test', '-L', '/ldir'])).code === 0, { what: 'setup done' });
      const get = async (p: string): Promise<{ entries: TarEntry[]; stat: any }> => {
        const r = await d.api.get(`/containers/${id}/archive?path=${encodeURIComponent(p)}`);
        assert.equal(r.status, 200, `GET ${p}: ${r.text}`);
        const h = r.headers['x-docker-container-path-stat'] as string;
        return { entries: tarEntries(r.body), stat: JSON.parse(Buffer.from(h, 'base64').toString()) };
      };
      const names = (es: TarEntry[]): string[] => es.map((e) => e.name);
      // /dir/. → ./ then ./f …; /dir and /dir/ → dir/ …; hard links name the first entry as packed.
      const dot = await get('/dir/.');
      assert.deepEqual(names(dot.entries), ['./', './f', './h', './l', './sub/', './sub/g']);
      assert.equal(dot.stat.name, '.');
      assert.equal(dot.entries.find((e) => e.name === './sub/g')?.linkname, './h');
      for (const p of ['/dir', '/dir/']) {
        const r = await get(p);
        assert.deepEqual(names(r.entries), ['dir/', 'dir/f', 'dir/h', 'dir/l', 'dir/sub/', 'dir/sub/g'], p);
        assert.equal(r.stat.name, 'dir');
        assert.equal(r.stat.mode, 2 ** 31 + 0o755);
      }
      const f = (await get('/dir/f')).entries;
      assert.deepEqual(
        f.map((e) => [e.name, e.uid, e.gid, e.mode, e.type]),
        [['f', 1000, 1001, 0o100644, '0']],
      );
      const dirEntry = dot.entries[0] as TarEntry;
      assert.deepEqual([dirEntry.mode, dirEntry.uname, dirEntry.gname], [0o40755, 'root', 'root']);
      const link = await get('/ldir');
      assert.deepEqual(
        link.entries.map((e) => [e.name, e.type, e.linkname]),
        [['ldir', '2', 'dir']],
      );
      assert.equal(link.stat.linkTarget, '/dir');
      assert.deepEqual(names((await get('/ldir/')).entries).slice(0, 2), ['ldir/', 'ldir/f']);
      // docker cp ctr:/dir/. out puts the directory's content into out.
      const out = path.join(d.root, `cp-dot-${tag}`);
      ok(await x(['cp', `${id}:/dir/.`, out]));
      assert.deepEqual(fs.readdirSync(out).sort(), ['f', 'h', 'l', 'sub']);
      fs.rmSync(out, { recursive: true });
      // PUT keeps the archive's owners (dockerd: without a configured user, copyUIDGID changes nothing).
      const owned = tarOf([{ name: 'pf', type: '0', data: 'abc', uid: 1234, gid: 4321, mode: 0o640 }]);
      for (const q of ['', '&copyUIDGID=1']) {
        const r = await d.api.request({ method: 'PUT', path: `/containers/${id}/archive?path=/tmp${q}`, raw: owned });
        assert.equal(r.status, 200, r.text);
        assert.equal(ok(await x(['exec', id, 'stat', '-c', '%u:%g:%a', '/tmp/pf'])), '1234:4321:640');
      }
      // noOverwriteDirNonDir (what the docker CLI always asks for): dockerd's 500 and text.
      const fileOverDir = tarOf([{ name: 'sub', type: '0', data: 'x' }]);
      const r1 = await d.api.request({ method: 'PUT', path: `/containers/${id}/archive?path=/dir&noOverwriteDirNonDir=1`, raw: fileOverDir });
      assert.equal(r1.status, 500);
      assert.equal(r1.json().message, 'Error processing tar file(exit status 1): cannot overwrite directory "/dir/sub" with non-directory "/dir"');
      const dirOverFile = tarOf([{ name: 'f', type: '5' }]);
      const r2 = await d.api.request({ method: 'PUT', path: `/containers/${id}/archive?path=/dir&noOverwriteDirNonDir=true`, raw: dirOverFile });
      assert.equal(r2.status, 500);
      assert.equal(r2.json().message, 'Error processing tar file(exit status 1): cannot overwrite non-directory "/dir/f" with directory "/dir"');
      // Without it, the entry replaces what is there.
      const r3 = await d.api.request({ method: 'PUT', path: `/containers/${id}/archive?path=/dir`, raw: fileOverDir });
      assert.equal(r3.status, 200, r3.text);
      assert.equal(ok(await x(['exec', id, 'cat', '/dir/sub'])), 'x');
      const notDir = await d.api.request({ method: 'PUT', path: `/containers/${id}/archive?path=/dir/f`, raw: fileOverDir });
      assert.deepEqual([notDir.status, notDir.json().message], [500, 'extraction point is not a directory']);
      ok(await x(['rm', '-f', id]));
    });

    it('ps: -a, -q, -n, -s, --no-trunc, filters, --format', T, async () => {
      const lbl = `ps=${tag}`;
      const exited = ok(await x(['run', '-d', '-l', lbl, '--name', `ps-exited-${tag}`, 'busybox', 'true']));
      assert.equal(ok(await x(['wait', exited])), '0');
      const running = ok(await x(['run', '-d', '-l', lbl, '-l', 'other=1', '--name', `ps-running-${tag}`, 'busybox', 'sleep', '300']));
      const created = ok(await x(['create', '-l', lbl, '--name', `ps-created-${tag}`, 'busybox', 'true']));
      const f = ['--filter', `label=${lbl}`];
      assert.deepEqual(lines(ok(await x(['ps', '-q', ...f]))), [running.slice(0, 12)]);
      assert.deepEqual(new Set(lines(ok(await x(['ps', '-aq', ...f])))), new Set([exited, running, created].map((i) => i.slice(0, 12))));
      assert.deepEqual(new Set(lines(ok(await x(['ps', '-aq', '--no-trunc', ...f])))), new Set([exited, running, created]));
      assert.deepEqual(lines(ok(await x(['ps', '-n', '1', '-q', '--no-trunc']))), [created]);
      assert.deepEqual(lines(ok(await x(['ps', '-a', ...f, '--filter', 'status=exited', '--format', '{{.Names}}']))), [`ps-exited-${tag}`]);
      assert.deepEqual(lines(ok(await x(['ps', '-a', ...f, '--filter', 'status=created', '--format', '{{.Names}}']))), [`ps-created-${tag}`]);
      assert.deepEqual(lines(ok(await x(['ps', '-a', '--filter', `name=ps-running-${tag}`, '--format', '{{.Names}}']))), [`ps-running-${tag}`]);
      assert.deepEqual(lines(ok(await x(['ps', '-a', '--filter', 'label=other=1', '--format', '{{.ID}}']))), [running.slice(0, 12)]);
      const table = lines(ok(await x(['ps', '-a', '-s', ...f])));
      assert.match(table[0] ?? '', /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\s+SIZE$/);
      assert.equal(table.length, 4, table.join('\n'));
      const runningRow = table.find((l) => l.includes(`ps-running-${tag}`)) ?? '';
      assert.match(runningRow, /Up /);
      assert.match(runningRow, /\d+(\.\d+)?[kMG]?B \(virtual \d+(\.\d+)?[kMG]?B\)$/);
      const json = lines(ok(await x(['ps', '-a', ...f, '--format', 'json']))).map((l) => JSON.parse(l) as Record<string, string>);
      assert.deepEqual(new Set(json.map((j) => j['Names'])), new Set([`ps-exited-${tag}`, `ps-running-${tag}`, `ps-created-${tag}`]));
      const rj = json.find((j) => j['Names'] === `ps-running-${tag}`);
      assert.equal(rj?.['State'], 'running');
      assert.equal(rj?.['ID'], running.slice(0, 12));
      assert.equal(rj?.['Image'], 'busybox');
      ok(await x(['rm', '-f', exited, running, created]));
    });

    it('logs: stdout/stderr, -t, --tail, --since, -f', T, async () => {
      const id = ok(await x(['run', '-d', 'busybox', 'sh', '-c', 'echo out1; echo err1 >&2; sleep 1.5; echo out2']));
      assert.equal(ok(await x(['wait', id])), '0');
      const all = await x(['logs', id]);
      assert.equal(all.code, 0, all.desc);
      assert.equal(all.stdout, 'out1\nout2\n');
      assert.equal(all.stderr, 'err1\n');
      const tail = await x(['logs', '--tail', '1', id]);
      assert.equal(tail.stdout, 'out2\n', tail.desc);
      assert.equal(tail.stderr, '', tail.desc);
      const ts = await x(['logs', '-t', id]);
      const tsRe = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (\S+)$/;
      const stamped = lines(ts.stdout).map((l) => tsRe.exec(l));
      assert.equal(stamped.length, 2, ts.desc);
      assert.ok(stamped.every(Boolean), ts.desc);
      assert.match(ts.stderr.trim(), tsRe);
      const t2 = stamped[1]?.[1] ?? '';
      assert.ok(Date.parse(t2) - Date.parse(stamped[0]?.[1] ?? '') >= 1000, 'out2 logged ≥1 s after out1');
      const since = await x(['logs', '--since', t2, id]);
      assert.equal(since.stdout, 'out2\n', since.desc);
      assert.equal(since.stderr, '', since.desc);
      // -f follows until the container exits.
      const f = ok(await x(['run', '-d', 'busybox', 'sh', '-c', 'echo a; sleep 2; echo b; exit 0']));
      const follow = await x(['logs', '-f', f], { timeout: 30_000 });
      assert.equal(follow.code, 0, follow.desc);
      assert.equal(follow.stdout, 'a\nb\n');
      assert.equal((await d.state(f)).Status, 'exited');
      const missing = await x(['logs', 'no-such-container-x']);
      fails(missing, 1, /No such container: no-such-container-x/);
    });

    it('run -i passes stdin', T, async () => {
      const r = await x(['run', '-i', '--rm', 'busybox', 'cat'], { input: 'hi\n' });
      assert.equal(r.code, 0, r.desc);
      assert.equal(r.stdout, 'hi\n');
      const wc = await x(['run', '-i', '--rm', 'busybox', 'wc', '-l'], { input: 'a\nb\nc\n' });
      assert.equal(wc.stdout.trim(), '3', wc.desc);
    });

    it('env, -w, -u, -h, --entrypoint, -l are applied', T, async () => {
      const r = await x([
        'run',
        '--name',
        `flags-${tag}`,
        '-e',
        'FOO=bar baz',
        '-w',
        '/tmp/wd',
        '-u',
        '1234:5678',
        '-h',
        'myhost',
        '-l',
        'team=berth',
        '--entrypoint',
        'sh',
        'busybox',
        '-c',
        'echo "$FOO"; pwd; id -u; id -g; hostname; cat /etc/hostname; echo "$PATH"',
      ]);
      assert.equal(ok(r), 'bar baz\n/tmp/wd\n1234\n5678\nmyhost\nmyhost\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
      const info = await d.api.inspect(`flags-${tag}`);
      assert.equal(info.Config.Labels.team, 'berth');
      assert.deepEqual(info.Config.Entrypoint, ['sh']);
      assert.ok(info.Config.Env.includes('FOO=bar baz'));
      ok(await x(['rm', `flags-${tag}`]));
    });

    it('--read-only and the /etc files', T, async () => {
      const ro = await x(['run', '--rm', '--read-only', 'busybox', 'touch', '/x']);
      assert.notEqual(ro.code, 0, ro.desc);
      assert.match(ro.stderr, /Read-only file system/);
      const rw = await x(['run', '--rm', 'busybox', 'touch', '/x']);
      assert.equal(rw.code, 0, rw.desc);
      const etc = ok(
        await x([
          'run',
          '--rm',
          '-h',
          'etchost',
          'busybox',
          'sh',
          '-c',
          "cat /etc/hostname; grep -c localhost /etc/hosts; test -f /etc/resolv.conf && echo resolv; mount | grep -c -E ' /etc/(hostname|hosts|resolv.conf) '",
        ]),
      );
      const [hn, lhCount, resolv, binds] = lines(etc);
      assert.equal(hn, 'etchost');
      assert.ok(Number(lhCount) >= 1, etc);
      assert.equal(binds, '3', `hostname, hosts and resolv.conf are bind mounts: ${etc}`);
      assert.equal(resolv, 'resolv');
    });

    it('default isolation: capabilities, seccomp, network, PID 1', T, async () => {
      const out = ok(
        await x([
          'run',
          '--rm',
          '--network',
          'none',
          'busybox',
          'sh',
          '-c',
          'grep -E "^(CapBnd|CapEff|Seccomp|NoNewPrivs):" /proc/self/status; ls /sys/class/net; echo pid=$$',
        ]),
      );
      const l = lines(out);
      assert.ok(l.includes('CapBnd:\t00000000a80425fb'), out);
      assert.ok(l.includes('CapEff:\t00000000a80425fb'), out);
      assert.ok(l.includes('Seccomp:\t2'), out);
      assert.ok(l.includes('lo'), out);
      assert.ok(!l.some((x) => /^(eth|veth|wl|en|docker|br)/.test(x)), `no host interfaces: ${out}`);
      assert.ok(l.includes('pid=1'), out);
      const cmdline = await x(['run', '--rm', 'busybox', 'cat', '/proc/1/cmdline']);
      assert.equal(cmdline.stdout, 'cat\0/proc/1/cmdline\0', cmdline.desc);
      const ps = ok(await x(['run', '--rm', 'busybox', 'ps', '-o', 'pid,comm']));
      assert.deepEqual(
        lines(ps)
          .slice(1)
          .map((r) => r.split(/\s+/)[0]),
        ['1'],
        `only PID 1 visible: ${ps}`,
      );
      // Privileged paths are masked / read-only.
      const kcore = await x(['run', '--rm', 'busybox', 'sh', '-c', 'echo 1 > /proc/sys/kernel/sysrq']);
      assert.notEqual(kcore.code, 0, kcore.desc);
    });
  });
}

interface TarEntry {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  type: string;
  linkname: string;
  uname: string;
  gname: string;
}

/** The entries of a ustar archive (names up to 100 bytes, no pax), header fields as written. */
function tarEntries(buf: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  const str = (off: number, len: number): string => {
    const b = buf.subarray(off, off + len);
    const z = b.indexOf(0);
    return b.toString('utf8', 0, z < 0 ? len : z);
  };
  const num = (off: number, len: number): number => Number.parseInt(str(off, len).trim() || '0', 8);
  for (let pos = 0; pos + 512 <= buf.length;) {
    if (buf.subarray(pos, pos + 512).every((b) => b === 0)) break;
    const prefix = str(pos + 345, 155);
    const name = str(pos, 100);
    const size = num(pos + 124, 12);
    out.push({
      name: prefix ? `${prefix}/${name}` : name,
      mode: num(pos + 100, 8),
      uid: num(pos + 108, 8),
      gid: num(pos + 116, 8),
      type: str(pos + 156, 1),
      linkname: str(pos + 157, 100),
      uname: str(pos + 265, 32),
      gname: str(pos + 297, 32),
    });
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** A ustar archive of the given entries (type '0' file, '5' directory). */
function tarOf(entries: Array<{ name: string; type: '0' | '5'; data?: string; uid?: number; gid?: number; mode?: number }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const h = Buffer.alloc(512);
    h.write(e.name, 0);
    h.write(`${(e.mode ?? (e.type === '5' ? 0o755 : 0o644)).toString(8).padStart(7, '0')}\0`, 100);
    h.write(`${(e.uid ?? 0).toString(8).padStart(7, '0')}\0`, 108);
    h.write(`${(e.gid ?? 0).toString(8).padStart(7, '0')}\0`, 116);
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write(
      `${Math.trunc(Date.now() / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
    );
    h.write(e.type, 156);
    h.write('ustar\u000000', 257, 'latin1');
    h.write('        ', 148);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

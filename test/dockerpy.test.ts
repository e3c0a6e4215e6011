/**
 * docker-py (Debian's python3-docker, the Docker SDK for Python) against berthd, unchanged:
 * run with output, attach (stream, logs, a stdin socket), exec_run (exit codes, demux, tty,
 * stream, workdir/env/user), logs, wait, stats, commit, events. The Python script prints one JSON
 * document of what it observed; the assertions are here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, TestDaemon, run } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';

const HAVE_PY = spawnSync('python3', ['-c', 'import docker'], { stdio: 'ignore' }).status === 0;
let d: TestDaemon | undefined;

before(async () => {
  if (HAVE_PY) d = await TestDaemon.start();
});

after(async () => {
  if (d) await cleanupAndCheck(d);
});

const SCRIPT = String.raw`
import docker, json, sys, time, socket
out = {}
c = docker.DockerClient(base_url='unix://' + sys.argv[1], version='auto', timeout=60)
api = c.api
out['ping'] = c.ping()
out['api_version'] = api.api_version

# run without detach: output of stdout and stderr
out['run'] = c.containers.run('busybox', ['sh', '-c', 'echo out; echo err >&2'], stderr=True, remove=True).decode()

ct = c.containers.run('busybox', ['sh', '-c', 'echo started; exec sleep 300'], detach=True, name='py-main')
for _ in range(100):
    ct.reload()
    if ct.status == 'running' and b'started' in ct.logs():
        break
    time.sleep(0.1)
out['status'] = ct.status

r = ct.exec_run(['sh', '-c', 'echo hi; echo oops >&2; exit 3'])
out['exec_code'] = r.exit_code
out['exec_output'] = r.output.decode()
r = ct.exec_run(['sh', '-c', 'echo so; echo se >&2'], demux=True)
out['exec_demux'] = [r.output[0].decode(), r.output[1].decode()]
r = ct.exec_run('tty', tty=True)
out['exec_tty'] = r.output.decode()
r = ct.exec_run(['sh', '-c', 'pwd; echo $FOO; id -u'], workdir='/tmp', environment={'FOO': 'bar'}, user='nobody')
out['exec_opts'] = r.output.decode()
r = ct.exec_run(['sh', '-c', 'for i in 1 2 3; do echo n$i; sleep 0.1; done'], stream=True)
out['exec_stream'] = b''.join(r.output).decode()
r = ct.exec_run(['nonexistent-binary'])
out['exec_missing'] = r.exit_code

# low-level exec with a stdin socket
e = api.exec_create(ct.id, ['cat'], stdin=True)
s = api.exec_start(e['Id'], socket=True)
raw = s._sock
raw.sendall(b'piped through exec\n')
raw.shutdown(socket.SHUT_WR)
data = b''
raw.settimeout(10)
while True:
    chunk = raw.recv(4096)
    if not chunk:
        break
    data += chunk
out['exec_stdin_frames'] = list(data[:8])
out['exec_stdin'] = data[8:].decode()
for _ in range(50):
    info = api.exec_inspect(e['Id'])
    if not info['Running']:
        break
    time.sleep(0.1)
out['exec_stdin_exit'] = info['ExitCode']

# attach: logs + stream, on a container that prints after the attach
a = c.containers.create('busybox', ['sh', '-c', 'sleep 0.5; echo one; echo two >&2; echo three'], name='py-attach')
stream = a.attach(stdout=True, stderr=True, stream=True, logs=True)
a.start()
out['attach'] = b''.join(stream).decode()
out['attach_wait'] = a.wait()['StatusCode']
out['attach_logs'] = a.logs().decode()
out['attach_logs_stdout'] = a.logs(stderr=False).decode()

# attach_socket with stdin (no TTY: multiplexed frames)
i = c.containers.create('busybox', ['sh', '-c', 'read line; echo got:$line'], stdin_open=True, name='py-stdin')
sock = api.attach_socket(i.id, params={'stdin': 1, 'stream': 1, 'stdout': 1, 'stderr': 1})
i.start()
sock._sock.sendall(b'hello\n')
data = b''
sock._sock.settimeout(10)
while True:
    chunk = sock._sock.recv(4096)
    if not chunk:
        break
    data += chunk
out['attach_stdin'] = data[8:].decode()
out['attach_stdin_wait'] = i.wait()['StatusCode']

# logs follow until the container exits
f = c.containers.run('busybox', ['sh', '-c', 'for i in 1 2 3; do echo f$i; sleep 0.2; done'], detach=True)
out['logs_follow'] = b''.join(f.logs(stream=True, follow=True)).decode()

st = ct.stats(stream=False)
out['stats_keys'] = sorted(st.keys())
out['stats_mem'] = st['memory_stats'].get('usage', 0) > 0

img = ct.commit(repository='py-commit', tag='1', message='from python', changes=['ENV PY=1'])
out['commit_env'] = [e for e in img.attrs['Config']['Env'] if e.startswith('PY=')]
out['commit_comment'] = img.attrs['Comment']

since = time.time() - 60
evs = [e['Action'] for e in c.events(since=since, until=time.time() + 0.001, decode=True, filters={'container': ct.id})]
out['events'] = evs

ct.remove(force=True)
for x in (a, i, f):
    x.remove(force=True)
c.images.remove('py-commit:1')
print(json.dumps(out))
`;

describe('docker-py', { skip: HAVE_PY ? false : 'python3-docker not installed' }, () => {
  it('attach, exec and friends work unchanged', { timeout: 180_000 }, async () => {
    const dd = d as TestDaemon;
    const r = await run('python3', ['-c', SCRIPT, dd.socket], { timeout: 150_000 });
    assert.equal(r.code, 0, r.desc);
    const o = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    assert.equal(o.ping, true);
    assert.equal(o.run, 'out\nerr\n');
    assert.equal(o.status, 'running');
    assert.equal(o.exec_code, 3);
    assert.equal(o.exec_output, 'hi\noops\n');
    assert.deepEqual(o.exec_demux, ['so\n', 'se\n']);
    assert.match(o.exec_tty, /^\/dev\/pts\/\d+\r?\n$/);
    assert.equal(o.exec_opts, '/tmp\nbar\n65534\n');
    assert.equal(o.exec_stream, 'n1\nn2\nn3\n');
    assert.equal(o.exec_missing, 127);
    assert.deepEqual(o.exec_stdin_frames.slice(0, 4), [1, 0, 0, 0]);
    assert.equal(o.exec_stdin, 'piped through exec\n');
    assert.equal(o.exec_stdin_exit, 0);
    assert.deepEqual(o.attach.split('\n').filter(Boolean).sort(), ['one', 'three', 'two']);
    assert.equal(o.attach_wait, 0);
    assert.deepEqual(o.attach_logs.split('\n').filter(Boolean).sort(), ['one', 'three', 'two']);
    assert.equal(o.attach_logs_stdout, 'one\nthree\n');
    assert.equal(o.attach_stdin, 'got:hello\n');
    assert.equal(o.attach_stdin_wait, 0);
    assert.equal(o.logs_follow, 'f1\nf2\nf3\n');
    for (const k of ['blkio_stats', 'cpu_stats', 'id', 'memory_stats', 'name', 'pids_stats', 'precpu_stats', 'read']) assert.ok(o.stats_keys.includes(k), k);
    assert.equal(o.stats_mem, true);
    assert.deepEqual(o.commit_env, ['PY=1']);
    assert.equal(o.commit_comment, 'from python');
    for (const a of ['create', 'start', 'exec_die', 'commit']) assert.ok(o.events.includes(a), `${a} in ${o.events.join(',')}`);
  });
});

describe("docker-py's own integration tests: ArchiveTest (put_archive, get_archive, stat)", () => {
  it('pass on berthd as on dockerd', { timeout: 300_000 }, async () => {
    const suite = path.resolve(REPO, '../shared/clients/docker-py');
    assert.ok(fs.existsSync(path.join(suite, 'tests/integration/api_container_test.py')), `docker-py's suite not found at ${suite}`);
    assert.ok(d, 'python3 with the docker module is needed');
    const dd = d;
    const tag = await dd.berth(['tag', 'busybox:latest', 'alpine:3.10']);
    assert.equal(tag.code, 0, tag.desc);
    const copy = fs.mkdtempSync('/tmp/berth-dpy-');
    try {
      fs.cpSync(suite, copy, { recursive: true });
      const r = await run(
        '/usr/bin/python3',
        ['-m', 'pytest', 'tests/integration/api_container_test.py', '-q', '-p', 'no:cacheprovider', '-k', 'ArchiveTest'],
        {
          cwd: copy,
          timeout: 240_000,
          env: { DOCKER_HOST: dd.host, PYTHONDONTWRITEBYTECODE: '1' },
        },
      );
      assert.equal(r.code, 0, r.desc);
      assert.match(r.stdout, /\b4 passed\b/, r.desc);
      assert.doesNotMatch(r.stdout, /failed|error/i, r.desc);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
      await dd.berth(['rmi', 'alpine:3.10']);
    }
  });
});

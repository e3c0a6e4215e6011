/**
 * Interactive containers through a real pseudo-terminal (util-linux `script`), with berth and
 * with the docker CLI against one berthd: `run -it` / `exec -it` see the terminal (tty, size,
 * resizes), Ctrl-C and Ctrl-D reach the container as bytes, the detach sequence leaves the
 * container running (run, start -ai, attach, exec), attach again; exec without a TTY (streams,
 * exit codes, -i/-d/-e/-w/-u/--env-file/--privileged, stopped containers), exec inspect through
 * the API, `run -i` with piped stdin, and --sig-proxy for non-TTY runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BERTH, CLIS, DOCKER, HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, cleanupAndCheck, waitFor, type CliName, type RunOptions } from './helpers/daemon.js';
import { exits, fails, ok } from './helpers/assert.js';
import { PtySession } from './helpers/pty.js';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.start();
});

after(async () => {
  await cleanupAndCheck(d);
});

const T = { timeout: 60_000 };
const PROMPT = /\/ # /g;

function cliEnv(): Record<string, string> {
  return { BERTH_HOST: d.host, DOCKER_HOST: d.host, DOCKER_CONFIG: path.join(d.root, 'docker-config'), DOCKER_CLI_HINTS: 'false' };
}

function argv(cli: CliName, args: string[]): string[] {
  return cli === 'berth' ? [process.execPath, BERTH, ...args] : [DOCKER, ...args];
}

/** Starts a CLI on a fresh 30x100 terminal. */
function pty(cli: CliName, args: string[], o: { rows?: number; cols?: number } = {}): PtySession {
  return new PtySession(argv(cli, args), { rows: o.rows ?? 30, cols: o.cols ?? 100, env: cliEnv() });
}

/** Counts prompts of busybox's ash seen so far. */
function prompts(p: PtySession): number {
  return p.output.match(PROMPT)?.length ?? 0;
}

/** Shell that waits (bounded) until its terminal has a size: the size arrives after start. */
const WAIT_SIZE = 'i=0; while [ -z "$(stty size 2>/dev/null)" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done';

async function running(id: string): Promise<boolean> {
  return (await d.state(id)).Running === true;
}

for (const cli of CLIS) {
  const skip = cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false;
  describe(`interactive via ${cli}`, { skip }, () => {
    const x = (args: string[], o?: RunOptions) => d.cli(cli, args, o);
    const tag = cli;
    let box = '';

    before(async () => {
      if (skip) return;
      box = ok(await x(['run', '-d', '--name', `box-${tag}`, 'busybox', 'sleep', '600']));
    });

    after(async () => {
      if (box) await d.api.delete(`/containers/${box}?force=1`);
    });

    it('run -it: the container has a tty of the terminal size, resizes reach it, Ctrl-C is a byte', T, async () => {
      const script = `trap 'echo "winch $(stty size)"' WINCH; trap 'exit 130' INT; ${WAIT_SIZE}; echo "size $(stty size) $(tty)"; echo ready; while :; do sleep 0.1; done`;
      const p = pty(cli, ['run', '--rm', '-it', '-l', `runit=${tag}`, 'busybox', 'sh', '-c', script]);
      try {
        await p.expect(/size 30 100 \/dev\/pts\/\d+\r\n/);
        await p.expect(/ready\r\n/);
        const mark = p.output.length;
        await p.resize(40, 120);
        await p.expect(/winch 40 120\r\n/, { from: mark });
        // raw mode: Ctrl-C is not a signal for the client but a byte for the container's tty
        p.write('\x03');
        assert.equal(await p.wait(), 130, p.desc);
        // the caller's terminal got no "\r\r\n": output processing was off, like docker's MakeRaw
        assert.doesNotMatch(p.output, /\r\r\n/, p.desc);
      } finally {
        p.kill();
      }
    });

    it('run -it: the first process sees the terminal size at once (HostConfig.ConsoleSize)', T, async () => {
      const p = pty(cli, ['run', '--rm', '-it', 'busybox', 'stty', 'size']);
      try {
        await p.wait();
        assert.match(p.output, /^30 100\r\n/, p.desc);
      } finally {
        p.kill();
      }
    });

    it('run -it busybox sh: Ctrl-C interrupts a command, Ctrl-D ends the shell', T, async () => {
      const name = `ctrlc-${tag}`;
      const p = pty(cli, ['run', '--rm', '-it', '--name', name, 'busybox', 'sh']);
      try {
        await p.expect(PROMPT);
        p.write('sleep 30\r');
        // ash may redraw the line (ESC[J) when the terminal answers its cursor query late
        await p.expect(/sleep 30(?:\x1b\[J)?\r\n/);
        await waitFor(
          async () => {
            const top = await d.api.get(`/containers/${name}/top`);
            return top.status === 200 && top.text.includes('sleep 30');
          },
          { what: 'sleep to run' },
        );
        const before = prompts(p);
        p.write('\x03');
        await waitFor(() => prompts(p) > before, { what: `a new prompt after Ctrl-C\n${p.desc}` });
        p.write('echo "status=$?"\r');
        await p.expect(/status=130\r\n/);
        await waitFor(() => prompts(p) > before + 1, { what: `a prompt after echo\n${p.desc}` });
        // Ctrl-D at an empty prompt: EOF, the shell exits with the last status (echo's 0)
        p.write('\x04');
        assert.equal(await p.wait(), 0, p.desc);
      } finally {
        p.kill();
      }
    });

    it('run -it: Ctrl-P Ctrl-Q detaches silently (exit 0), the container keeps running; attach again', T, async () => {
      const name = `detach-${tag}`;
      const p = pty(cli, ['run', '-it', '--name', name, 'busybox', 'sh']);
      try {
        await p.expect(PROMPT);
        const mark = p.output.length;
        p.write('\x10\x11');
        assert.equal(await p.wait(), 0, p.desc);
        assert.doesNotMatch(p.output.slice(mark), /escape|error/i, p.desc);
        assert.equal(await running(name), true, 'container still running after detach');
        // attach again: the shell redraws its prompt (attach nudges the size), detach again
        const a = pty(cli, ['attach', name]);
        try {
          await a.expect(PROMPT);
          a.write('\x10\x11');
          assert.equal(await a.wait(), 1, a.desc);
          assert.match(a.output, /read escape sequence/, a.desc);
        } finally {
          a.kill();
        }
        assert.equal(await running(name), true, 'container still running after the second detach');
      } finally {
        p.kill();
        await d.api.delete(`/containers/${name}?force=1`);
      }
    });

    it('run -it: after a detach, a new attach still reaches the shell’s stdin', T, async () => {
      const name = `restdin-${tag}`;
      const p = pty(cli, ['run', '-it', '--name', name, 'busybox', 'sh']);
      try {
        await p.expect(PROMPT);
        p.write('\x10\x11');
        await p.wait();
        const a = pty(cli, ['attach', name]);
        try {
          await a.expect(PROMPT);
          a.write('echo $((6*7))\r');
          await a.expect(/\r\n42\r\n/, { timeout: 4000 });
        } finally {
          a.kill();
        }
      } finally {
        p.kill();
        await d.api.delete(`/containers/${name}?force=1`);
      }
    });

    it('attach to a run -dit shell: stdin, output, detach with custom keys', T, async () => {
      const name = `attach-${tag}`;
      ok(await x(['run', '-dit', '--name', name, 'busybox', 'sh']));
      try {
        const a = pty(cli, ['attach', '--detach-keys', 'ctrl-x,x', name]);
        try {
          await a.expect(PROMPT);
          a.write('echo $((6*7))\r');
          await a.expect(/\r\n42\r\n/);
          // the default sequence is now just bytes for the shell
          a.write('\x10\x11');
          a.write('\x18x');
          assert.equal(await a.wait(), 1, a.desc);
          assert.match(a.output, /read escape sequence/, a.desc);
        } finally {
          a.kill();
        }
        assert.equal(await running(name), true, 'container still running after detach');
      } finally {
        await d.api.delete(`/containers/${name}?force=1`);
      }
    });

    it('start -ai: a created -it container runs on the terminal; its exit code is returned', T, async () => {
      const name = `startai-${tag}`;
      ok(await x(['create', '-it', '--name', name, 'busybox', 'sh']));
      try {
        const p = pty(cli, ['start', '-ai', name]);
        try {
          await p.expect(PROMPT);
          p.write('exit 3\r');
          assert.equal(await p.wait(), 3, p.desc);
        } finally {
          p.kill();
        }
      } finally {
        await d.api.delete(`/containers/${name}?force=1`);
      }
    });

    it('exec -it: tty and terminal size; the exit code is returned', T, async () => {
      const p = pty(cli, ['exec', '-it', box, 'sh', '-c', `${WAIT_SIZE}; echo "size $(stty size) $(tty)"; exit 3`]);
      try {
        await p.expect(/size 30 100 \/dev\/pts\/\d+\r\n/);
        const code = await p.wait();
        assert.equal(code, 3, p.desc);
      } finally {
        p.kill();
      }
    });

    it('exec -it: a resize reaches the process; Ctrl-C kills it (130)', T, async () => {
      const script = `trap 'echo "winch $(stty size)"' WINCH; ${WAIT_SIZE}; echo ready; while :; do sleep 0.1; done`;
      const q = pty(cli, ['exec', '-it', box, 'sh', '-c', script], { rows: 20, cols: 70 });
      try {
        await q.expect(/ready\r\n/);
        const mark = q.output.length;
        await q.resize(33, 111);
        await q.expect(/winch 33 111\r\n/, { from: mark });
        q.write('\x03'); // SIGINT for the exec's process group: sh dies of it
        assert.equal(await q.wait(), 130, q.desc);
      } finally {
        q.kill();
      }
    });

    it('events: attach, resize (height/width), detach of an attached client; exec_detach', T, async () => {
      // The docker CLI watches for the detach keys itself and just hangs up, so the engine sees no
      // escape sequence and (like dockerd 20.10) publishes no detach event; berth leaves the keys
      // to the engine, which publishes `detach` / `exec_detach` as dockerd does when it sees them.
      const serverDetach = cli === 'berth';
      const t0 = Date.now() / 1000 - 0.5;
      const id = ok(await x(['run', '-dit', '--name', `evtty-${tag}`, 'busybox', 'sh']));
      try {
        const p = pty(cli, ['attach', id]);
        try {
          const evs = async (): Promise<Array<{ action: string; attrs: Record<string, string> }>> => {
            const r = await d.api.get(
              `/events?since=${t0}&until=${Date.now() / 1000 + 0.001}&filters=${encodeURIComponent(JSON.stringify({ container: [id] }))}`,
            );
            return r.text
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l))
              .map((e) => ({ action: e.Action, attrs: e.Actor.Attributes }));
          };
          const resized = (h: number, w: number) => async () =>
            (await evs()).find((e) => e.action === 'resize' && e.attrs.height === String(h) && e.attrs.width === String(w));
          await waitFor(resized(30, 100), { what: 'resize event 30x100' });
          await p.resize(40, 120);
          const ev = await waitFor(resized(40, 120), { what: 'resize event 40x120' });
          assert.deepEqual(ev.attrs, { height: '40', width: '120', image: 'busybox', name: `evtty-${tag}` });
          p.write('\x10\x11');
          await p.wait();
          assert.match(p.output, /read escape sequence/, p.desc);
          if (serverDetach) {
            const acts = (
              await waitFor(
                async () => {
                  const all = await evs();
                  return all.some((e) => e.action === 'detach') ? all : undefined;
                },
                { what: `detach event (${p.desc})` },
              )
            ).map((e) => e.action);
            assert.deepEqual(
              acts.filter((a) => ['create', 'start', 'attach', 'detach'].includes(a)),
              ['create', 'start', 'attach', 'detach'],
              acts.join(','),
            );
          } else {
            const acts = (await evs()).map((e) => e.action);
            assert.deepEqual(
              acts.filter((a) => ['create', 'start', 'attach', 'detach'].includes(a)),
              ['create', 'start', 'attach'],
              acts.join(','),
            );
          }
        } finally {
          p.kill();
        }
        const q = pty(cli, ['exec', '-it', id, 'sh']);
        try {
          await q.expect(PROMPT);
          q.write('\x10\x11');
          assert.equal(await q.wait(), 1, q.desc);
        } finally {
          q.kill();
        }
        if (!serverDetach) return;
        const execDetach = await waitFor(
          async () => {
            const r = await d.api.get(
              `/events?since=${t0}&until=${Date.now() / 1000 + 0.001}&filters=${encodeURIComponent(JSON.stringify({ container: [id], event: ['exec_detach'] }))}`,
            );
            return r.text
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l))[0];
          },
          { what: 'exec_detach event' },
        );
        assert.match(execDetach.Actor.Attributes.execID, /^[0-9a-f]{64}$/);
      } finally {
        await d.api.delete(`/containers/${id}?force=1`);
      }
    });

    it('exec -it: the detach sequence ends the session with "read escape sequence"', T, async () => {
      const p = pty(cli, ['exec', '-it', box, 'sh']);
      try {
        await p.expect(PROMPT);
        p.write('\x10\x11');
        assert.equal(await p.wait(), 1, p.desc);
        assert.match(p.output, /read escape sequence/, p.desc);
      } finally {
        p.kill();
      }
      assert.equal(await running(box), true);
    });

    it('-it without a terminal: "the input device is not a TTY"', T, async () => {
      fails(await x(['run', '--rm', '-it', 'busybox', 'true'], { input: '' }), 1, /the input device is not a TTY/);
      fails(await x(['exec', '-it', box, 'true'], { input: '' }), 1, /the input device is not a TTY/);
      // -t alone is fine without a terminal (nothing to put in raw mode)
      const r = await x(['exec', '-t', box, 'tty']);
      exits(r, 0);
      assert.match(r.stdout, /^\/dev\/pts\/\d+\r\n$/, r.desc);
    });

    it('exec: stdout and stderr separate; No such container', T, async () => {
      const r = await x(['exec', box, 'sh', '-c', 'echo out; echo err >&2']);
      exits(r, 0);
      assert.equal(r.stdout, 'out\n', r.desc);
      assert.equal(r.stderr, 'err\n', r.desc);
      fails(await x(['exec', 'no-such-container', 'true']), 1, /^Error response from daemon: No such container: no-such-container$/m);
    });

    // The docker CLI reads the exit code from GET /exec/{id}/json as soon as the stream ends, so
    // berthd ends the stream only once the exit code is recorded; repeated to catch a race.
    it('exec: the exit code is propagated (exit 4; 127 for a missing command)', T, async () => {
      for (let i = 0; i < 5; i++) {
        exits(await x(['exec', box, 'sh', '-c', 'echo out; exit 4']), 4);
        exits(await x(['exec', '-t', box, 'sh', '-c', 'exit 5']), 5);
      }
      exits(await x(['exec', box, 'true']), 0);
      exits(await x(['exec', box, 'no-such-command']), 127);
      // An unknown user: the error arrives in the stream and the exit code is 126, as dockerd.
      const u = await x(['exec', '-u', 'nouser', box, 'id']);
      exits(u, 126);
      assert.match(u.stdout + u.stderr, /unable to find user nouser/, u.desc);
    });

    it('exec -i: piped stdin reaches the process and EOF ends it', T, async () => {
      const r = await x(['exec', '-i', box, 'sh', '-c', 'cat; echo done'], { input: 'hello\nworld\n' });
      exits(r, 0);
      assert.equal(r.stdout, 'hello\nworld\ndone\n', r.desc);
      // without -i stdin is not attached
      const n = await x(['exec', box, 'sh', '-c', 'cat; echo done'], { input: 'ignored\n' });
      assert.equal(n.stdout, 'done\n', n.desc);
    });

    it('exec -e, --env-file, -w, -u, --privileged', T, async () => {
      const envFile = path.join(d.root, `env-${tag}`);
      fs.writeFileSync(envFile, '# comment\nFROMFILE=yes\n');
      const r = await x([
        'exec',
        '-e',
        'A=b c',
        '--env-file',
        envFile,
        '-w',
        '/tmp',
        '-u',
        '1000:1001',
        box,
        'sh',
        '-c',
        'echo "$A|$FROMFILE|$(pwd)|$(id -u):$(id -g)"',
      ]);
      assert.equal(ok(r), 'b c|yes|/tmp|1000:1001', r.desc);
      const plain = ok(await x(['exec', box, 'sh', '-c', 'grep CapEff /proc/self/status']));
      const priv = ok(await x(['exec', '--privileged', box, 'sh', '-c', 'grep CapEff /proc/self/status']));
      assert.match(plain, /00000000a80425fb/);
      assert.notEqual(priv, plain, 'privileged exec has more capabilities');
    });

    it('exec -d: returns at once, the process runs in the background', T, async () => {
      const file = `/tmp/detached-${tag}`;
      const r = await x(['exec', '-d', box, 'sh', '-c', `sleep 0.2; echo bg > ${file}`]);
      assert.equal(ok(r), '', r.desc);
      await waitFor(async () => (await x(['exec', box, 'cat', file])).stdout === 'bg\n', { what: 'the detached exec to write its file' });
    });

    it('exec into a stopped container fails with Docker’s message', T, async () => {
      const name = `stopped-${tag}`;
      ok(await x(['run', '--name', name, 'busybox', 'true']));
      try {
        const id = (await d.api.inspect(name)).Id as string;
        fails(await x(['exec', name, 'true']), 1, new RegExp(`^Error response from daemon: container ${id} is not running$`, 'm'));
      } finally {
        await d.api.delete(`/containers/${name}?force=1`);
      }
    });

    it('run -i with piped stdin: EOF closes the container’s stdin', T, async () => {
      const r = await x(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo eof'], { input: 'one\ntwo\n' });
      exits(r, 0);
      assert.equal(r.stdout, 'one\ntwo\neof\n', r.desc);
    });

    it('--sig-proxy: SIGINT to the client reaches a non-TTY container; exit code follows', T, async () => {
      const [file, ...args] = argv(cli, ['run', '--rm', 'busybox', 'sh', '-c', 'trap "echo got-int; exit 7" INT; echo ready; while :; do sleep 0.1; done']);
      const child = spawn(file as string, args, { env: { ...process.env, ...cliEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const closed = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
      try {
        await waitFor(() => out.includes('ready'), { what: `ready (${out})` });
        child.kill('SIGINT');
        const code = await Promise.race([closed, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
        assert.equal(code, 7, out);
        assert.match(out, /got-int/);
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
}

describe('resize API', () => {
  it('back-to-back resizes reach the TTY in order: the last one wins (conmon merged FIFO lines)', T, async () => {
    const c = await d.api.post('/containers/create', { Image: 'busybox', Cmd: ['sleep', '600'], Tty: true, OpenStdin: true });
    assert.equal(c.status, 201, c.text);
    const id = c.json().Id as string;
    try {
      assert.equal((await d.api.post(`/containers/${id}/start`)).status, 204);
      // As `stty rows 40 cols 120` makes a client send: rows first, then columns, with no pause.
      for (let i = 0; i < 10; i++) {
        for (const [h, w] of [
          [20 + i, 60 + i],
          [40, 60 + i],
          [40, 120],
        ] as const) {
          const r = await d.api.post(`/containers/${id}/resize?h=${h}&w=${w}`);
          assert.equal(r.status, 200, r.text);
        }
        const size = await waitFor(
          async () => {
            const out = ok(await d.berth(['exec', id, 'stty', '-F', '/dev/console', 'size']));
            return out === '40 120' ? out : undefined;
          },
          { what: `terminal size 40 120 after round ${i}`, timeout: 5_000 },
        );
        assert.equal(size, '40 120');
      }
    } finally {
      await d.api.delete(`/containers/${id}?force=1`);
    }
  });
});

describe('exec API', () => {
  it('exec start: stdin flows when the Upgrade request body comes in its own packet (lost Ctrl-C)', T, async () => {
    const { createConnection } = await import('node:net');
    const run = await d.api.post('/containers/create', { Image: 'busybox', Cmd: ['sleep', '600'] });
    assert.equal(run.status, 201, run.text);
    const id = run.json().Id as string;
    try {
      assert.equal((await d.api.post(`/containers/${id}/start`)).status, 204);
      const c = await d.api.post(`/containers/${id}/exec`, { Cmd: ['head', '-c', '6'], AttachStdin: true, AttachStdout: true });
      assert.equal(c.status, 201, c.text);
      const execId = c.json().Id as string;
      const body = JSON.stringify({ Detach: false, Tty: false });
      const sock = createConnection(d.socket);
      let got = Buffer.alloc(0);
      sock.on('data', (b: Buffer) => (got = Buffer.concat([got, b])));
      const closed = new Promise<void>((r) => sock.on('close', () => r()));
      try {
        await new Promise<void>((r) => sock.once('connect', () => r()));
        sock.write(
          `POST /v1.50/exec/${execId}/start HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
        );
        await new Promise((r) => setTimeout(r, 100)); // the body in a later packet, as Go's client sometimes sends it
        sock.write(body);
        await waitFor(() => got.includes('101 UPGRADED'), { what: `101 (${got.toString()})` });
        sock.write('hello\n');
        await waitFor(() => got.includes('hello\n'), { what: `echoed input (${JSON.stringify(got.toString())})` });
        // the 8-byte stdout frame header precedes it
        assert.ok(got.includes(Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 6]), Buffer.from('hello\n')])), JSON.stringify(got.toString()));
      } finally {
        sock.destroy();
        await closed;
      }
    } finally {
      await d.api.delete(`/containers/${id}?force=1`);
    }
  });

  it('exec inspect: Running and Pid while it runs, ExitCode after; 409 for a stopped container', T, async () => {
    const run = await d.api.post('/containers/create?name=execapi', { Image: 'busybox', Cmd: ['sleep', '600'] });
    assert.equal(run.status, 201, run.text);
    const id = run.json().Id as string;
    try {
      assert.equal((await d.api.post(`/containers/${id}/start`)).status, 204);
      const c = await d.api.post(`/containers/${id}/exec`, { Cmd: ['sh', '-c', 'sleep 0.5; exit 5'] });
      assert.equal(c.status, 201, c.text);
      const execId = c.json().Id as string;
      const before = (await d.api.get(`/exec/${execId}/json`)).json();
      assert.equal(before.Running, false);
      assert.equal(before.ExitCode, null);
      const s = await d.api.post(`/exec/${execId}/start`, { Detach: true });
      assert.equal(s.status, 200, s.text);
      const during = (await d.api.get(`/exec/${execId}/json`)).json();
      assert.equal(during.Running, true, JSON.stringify(during));
      assert.ok(during.Pid > 0, JSON.stringify(during));
      const done = await waitFor(
        async () => {
          const j = (await d.api.get(`/exec/${execId}/json`)).json();
          return j.Running === false ? j : undefined;
        },
        { what: 'exec to finish' },
      );
      assert.equal(done.ExitCode, 5, JSON.stringify(done));
      assert.equal((await d.api.get('/exec/nope/json')).status, 404);
      // stopped container: 409 with Docker's message
      assert.equal((await d.api.post(`/containers/${id}/stop?t=0`)).status, 204);
      const e = await d.api.post(`/containers/${id}/exec`, { Cmd: ['true'] });
      assert.equal(e.status, 409, e.text);
      assert.equal(e.json().message, `container ${id} is not running`);
    } finally {
      await d.api.delete(`/containers/${id}?force=1`);
    }
  });
});

/**
 * The CRI streaming server driven by crictl (cri-tools v1.26.1, a real client-go SPDY client)
 * before berthd's CRI has containers of its own: the test runs the streaming server and cri-core's
 * CRI gRPC server (src/cri/server.ts, runtime.ts) in this process, with a StreamingRuntime over a
 * real berthd's Engine API (exec create/start hijacked, resize, inspect; attach), and port
 * forwarding through BerthStreamingRuntime's real path (nsenter + socat into a Berth container's
 * network namespace). Once CRI containers exist, test/cri-streaming.test.ts does the same
 * against berthd's own CRI socket.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { CriServer } from '../src/cri/server.js';
import { runtimeHandlers } from '../src/cri/runtime.js';
import { BerthStreamingRuntime, StreamingServer, type CommandIO, type StreamingRuntime } from '../src/cri/streaming/index.js';
import { firstSize } from '../src/cri/streaming/remotecommand.js';
import { cleanupAndCheck, run, sleep, TestDaemon, waitFor, type RunResult } from './helpers/daemon.js';
import { PtySession } from './helpers/pty.js';
import { runRemoteCommand } from './helpers/spdyclient.js';

const CRICTL = '/work/shared/tools/cri/crictl';

/** Opens `POST path` on the Engine API socket hijacked (Upgrade: tcp); the raw stream after the 101. */
function hijack(socketPath: string, p: string, body: unknown): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    const json = JSON.stringify(body);
    s.once('error', reject);
    s.write(
      `POST ${p} HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
    );
    let head = Buffer.alloc(0);
    const onData = (b: Buffer): void => {
      head = Buffer.concat([head, b]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onData);
      s.pause();
      const status = head.subarray(0, end).toString();
      if (!/^HTTP\/1\.1 (101|200)/.test(status)) return reject(new Error(status));
      const rest = head.subarray(end + 4);
      if (rest.length > 0) s.unshift(rest);
      resolve(s);
    };
    s.on('data', onData);
  });
}

/** Engine API stream → the command's streams (8-byte frames unless a TTY). */
function pump(conn: Duplex, io: CommandIO): Promise<void> {
  let buf = Buffer.alloc(0);
  conn.on('data', (b: Buffer) => {
    if (io.tty) return void io.stdout?.write(b);
    buf = Buffer.concat([buf, b]);
    while (buf.length >= 8) {
      const n = buf.readUInt32BE(4);
      if (buf.length < 8 + n) break;
      const out = buf[0] === 2 ? io.stderr : io.stdout;
      out?.write(buf.subarray(8, 8 + n));
      buf = buf.subarray(8 + n);
    }
  });
  if (io.stdin) {
    io.stdin.on('data', (b: Buffer) => conn.write(b));
    io.stdin.on('end', () => (conn as net.Socket).end());
  }
  conn.resume();
  return new Promise((r) => conn.on('close', () => r()));
}

/** A StreamingRuntime over the Engine API of a test daemon (a stand-in for the in-daemon one). */
class EngineRuntime implements StreamingRuntime {
  constructor(
    private readonly d: TestDaemon,
    private readonly forwarder: BerthStreamingRuntime,
  ) {}

  async exec(id: string, cmd: string[], io: CommandIO): Promise<{ exitCode: number }> {
    const body = { Cmd: cmd, Tty: io.tty, AttachStdin: !!io.stdin, AttachStdout: !!io.stdout, AttachStderr: !!io.stderr };
    const created = await this.d.api.post(`/containers/${id}/exec`, body);
    const execId = created.json<{ Id: string }>().Id;
    const { first, rest } = await firstSize(io.resize, 1000);
    const start = { Tty: io.tty, ...(first ? { ConsoleSize: [first.height, first.width] } : {}) };
    const conn = await hijack(this.d.socket, `/exec/${execId}/start`, start);
    const resizing = (async () => {
      for await (const s of rest ?? []) await this.d.api.post(`/exec/${execId}/resize?h=${s.height}&w=${s.width}`);
    })().catch(() => undefined);
    await pump(conn, io);
    void resizing;
    const info = (await this.d.api.get(`/exec/${execId}/json`)).json<{ ExitCode: number }>();
    return { exitCode: info.ExitCode };
  }

  async attach(id: string, io: CommandIO): Promise<void> {
    const q = `stream=1&stdin=${io.stdin ? 1 : 0}&stdout=${io.stdout ? 1 : 0}&stderr=${io.stderr ? 1 : 0}`;
    const conn = await hijack(this.d.socket, `/containers/${id}/attach?${q}`, {});
    for (const s of [io.stdout, io.stderr]) s?.once('close', () => conn.destroy());
    await pump(conn, io);
  }

  portForward(pod: string, port: number, conn: Duplex): Promise<void> {
    return this.forwarder.portForward(pod, port, conn);
  }
}

describe('CRI streaming (crictl through a test-process CRI server)', () => {
  let d: TestDaemon | undefined;
  let streaming: StreamingServer | undefined;
  let cri: CriServer | undefined;
  let criSock = '';
  let box = '';
  let web = '';
  const crictl = (args: string[], o: { input?: string; timeout?: number } = {}): Promise<RunResult> =>
    run(CRICTL, ['--runtime-endpoint', `unix://${criSock}`, '--timeout', '20s', ...args], {
      timeout: o.timeout ?? 60_000,
      ...(o.input !== undefined ? { input: o.input } : {}),
    });

  before(async () => {
    assert.ok(fs.existsSync(CRICTL), `crictl not found at ${CRICTL}`);
    d = await TestDaemon.start({});
    const dd = d;
    const pids = new Map<string, number>();
    const forwarder = new BerthStreamingRuntime({
      execs: { create: () => assert.fail('unused'), start: () => assert.fail('unused'), resize: () => assert.fail('unused') },
      containers: { get: () => assert.fail('unused'), attachSocket: () => assert.fail('unused'), resize: () => assert.fail('unused') },
      netns: { netnsPath: async (id) => `/proc/${pids.get(id) ?? 0}/ns/net` },
    });
    streaming = new StreamingServer(new EngineRuntime(dd, forwarder), { streamCreationTimeoutMs: 5000 });
    await streaming.start();
    criSock = path.join(dd.root, 'harness-cri.sock');
    const runtime = runtimeHandlers({
      runtimeName: 'berth-harness',
      runtimeVersion: '0',
      streaming,
      targets: { runningContainer: (id) => id, readySandbox: (id) => id },
      parts: [],
    });
    cri = new CriServer({ socket: criSock, runtime, image: { unary: {} } });
    await cri.start();
    const r = await dd.docker(['run', '-d', '-i', 'busybox', 'sh', '-c', 'while read l; do echo "got:$l"; done']);
    assert.equal(r.code, 0, r.desc);
    box = r.stdout.trim();
    const w = await dd.docker([
      'run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'mkdir /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 80 -h /www',
    ]); // prettier-ignore
    assert.equal(w.code, 0, w.desc);
    web = w.stdout.trim();
    pids.set('pod-web', (await dd.api.inspect(web)).State.Pid as number);
  });
  after(async () => {
    await cri?.stop().catch(() => undefined);
    await streaming?.stop().catch(() => undefined);
    await cleanupAndCheck(d);
  });

  it('crictl exec: stdout and stderr apart, the exit code', async () => {
    const r = await crictl(['exec', box, 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(r.code, 0, r.desc);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    // crictl 1.26 reports the code client-go decoded from the v4 Status and exits 1 (as with containerd).
    const x = await crictl(['exec', box, 'sh', '-c', 'exit 3']);
    assert.equal(x.code, 1, x.desc);
    assert.match(x.stderr, /command terminated with exit code 3/, x.desc);
  });

  it('crictl exec -i: stdin through to the command, its end closes the input', async () => {
    const r = await crictl(['exec', '-i', box, 'sh', '-c', 'cat; echo done'], { input: 'line one\nline two\n' });
    assert.equal(r.code, 0, r.desc);
    assert.equal(r.stdout, 'line one\nline two\ndone\n');
  });

  it('crictl exec -it: a terminal of the client size, keystrokes, the exit code', async () => {
    const pty = new PtySession([CRICTL, '--runtime-endpoint', `unix://${criSock}`, 'exec', '-it', box, 'sh'], { rows: 33, cols: 101 });
    try {
      pty.write('stty size; tty\r');
      await pty.expect(/33 101/);
      await pty.expect(/\/dev\/pts\/\d+/);
      await pty.resize(40, 120);
      await sleep(100);
      const from = pty.output.length;
      pty.write('stty size\r');
      await pty.expect(/40 120/, { from });
      pty.write('exit 7\r');
      assert.equal(await pty.wait(), 1, pty.desc);
      assert.match(pty.output, /command terminated with exit code 7/, pty.desc);
    } finally {
      pty.kill();
    }
  });

  it('crictl attach -i: the container main process streams both ways', async () => {
    const r = await crictl(['attach', '-i', box], { input: 'ping\n', timeout: 20_000 });
    assert.match(r.stdout, /got:ping/, r.desc);
  });

  it('crictl port-forward: HTTP requests through the forwarded port into the pod netns', async () => {
    const pf = spawn(CRICTL, ['--runtime-endpoint', `unix://${criSock}`, 'port-forward', 'pod-web', '0:80'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    pf.stdout.on('data', (b: Buffer) => (out += b.toString()));
    pf.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const gone = new Promise((r) => pf.on('close', r));
    try {
      // client-go prints "Forwarding from 127.0.0.1:<port> -> 80" once it listens.
      const port = await waitFor(() => /Forwarding from 127\.0\.0\.1:(\d+) -> 80/.exec(out)?.[1], { timeout: 15_000 });
      for (let i = 0; i < 3; i++) {
        const c = await run('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${port}/`]);
        assert.equal(c.stdout, 'hello-from-pod\n', `${c.desc}\ncrictl: ${out}`);
      }
    } finally {
      pf.kill('SIGTERM');
      await gone;
    }
    // Each forwarded connection's socat ended with it.
    await waitFor(() => childCommands().every((c) => !/socat|nsenter/.test(c)), { what: 'no socat left', timeout: 10_000 });
    // Nothing listens on 81 in the pod: the client reads the error stream's text.
    const bad = spawn(CRICTL, ['--runtime-endpoint', `unix://${criSock}`, 'port-forward', 'pod-web', '0:81'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let badOut = '';
    bad.stdout.on('data', (b: Buffer) => (badOut += b.toString()));
    bad.stderr.on('data', (b: Buffer) => (badOut += b.toString()));
    const badGone = new Promise((r) => bad.on('close', r));
    try {
      const port = await waitFor(() => /Forwarding from 127\.0\.0\.1:(\d+) -> 81/.exec(badOut)?.[1], { timeout: 15_000 });
      const c = await run('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${port}/`]);
      assert.notEqual(c.code, 0, c.desc);
      await waitFor(() => /error forwarding port 81 to pod pod-web: .*connection refused/.test(badOut), { what: `the error in crictl's output: ${badOut}` });
      // client-go (0.26) then closes the session itself ("lost connection to pod") and crictl ends.
    } finally {
      bad.kill('SIGTERM');
      await badGone;
    }
  });

  it('the test client: bad tokens are 404, no common protocol is 403, v4 status JSON', async () => {
    const { url } = streaming!.exec({ container_id: box, cmd: ['sh', '-c', 'exit 2'], stdout: true });
    const r = await runRemoteCommand(url, {});
    assert.equal(r.protocol, 'v4.channel.k8s.io');
    assert.deepEqual(JSON.parse(r.error), {
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [sh -c exit 2], exit code 2',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '2' }] },
    });
    await assert.rejects(() => runRemoteCommand(url, {}), /HTTP 404/, 'a token is good once');
    const again = streaming!.exec({ container_id: box, cmd: ['true'], stdout: true });
    await assert.rejects(() => runRemoteCommand(again.url, { protocols: ['v9.channel.k8s.io'] }), /HTTP 403: unable to upgrade: unable to negotiate protocol/);
    const v2 = streaming!.exec({ container_id: box, cmd: ['sh', '-c', 'echo x; exit 4'], stdout: true });
    const r2 = await runRemoteCommand(v2.url, { protocols: ['v2.channel.k8s.io'] });
    assert.equal(r2.stdout, 'x\n');
    assert.match(r2.error, /non-zero exit code.*exit code 4/);
  });
});

/** The command lines of this process's children. */
function childCommands(): string[] {
  const kids = fs.readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return kids.map((k) => {
    try {
      return fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      return '';
    }
  });
}

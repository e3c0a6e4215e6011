/**
 * The streaming server's HTTP and protocol edges, with a StreamingRuntime of host processes
 * (commands run by spawn, port forwarding to a TCP server of the test) and the SPDY test client:
 * tokens (one use, expiry, kind), the upgrade's refusals, protocol negotiation, v2 and v4 error
 * streams, stdin's end, the stream-creation timeout, request validation. crictl drives the same
 * server inside berthd in test/cri-streaming.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { StreamingServer, type StreamingRuntime } from '../src/cri/streaming/server.js';
import { parseStreamAddress } from '../src/cri/streaming/index.js';
import type { CommandIO } from '../src/cri/streaming/remotecommand.js';
import { openStream, readAll, runRemoteCommand, upgrade } from './helpers/spdyclient.js';

/** Commands as host processes: the runtime a test can run without containers. */
class HostRuntime implements StreamingRuntime {
  exec(_id: string, cmd: string[], io: CommandIO): Promise<{ exitCode: number }> {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd[0] as string, cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      child.on('error', reject);
      if (io.stdin) io.stdin.pipe(child.stdin);
      else child.stdin.end();
      child.stdin.on('error', () => undefined);
      if (io.stdout) child.stdout.on('data', (b: Buffer) => io.stdout?.write(b));
      if (io.stderr) child.stderr.on('data', (b: Buffer) => io.stderr?.write(b));
      child.on('close', (code) => resolve({ exitCode: code ?? 255 }));
    });
  }
  async attach(): Promise<void> {
    throw new Error('container "nope" is not running');
  }
  portForward(_pod: string, port: number, conn: Duplex): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('error', (err) => reject(err));
      s.once('connect', () => {
        conn.pipe(s);
        s.pipe(conn, { end: false });
      });
      s.once('close', () => resolve());
    });
  }
}

function post(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('streaming server (host-process runtime, SPDY test client)', () => {
  const server = new StreamingServer(new HostRuntime(), { streamCreationTimeoutMs: 300 });
  const echo = net.createServer((s) => s.pipe(s));
  let echoPort = 0;
  before(async () => {
    await server.start();
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as net.AddressInfo).port;
  });
  after(async () => {
    await server.stop();
    await new Promise((r) => echo.close(r));
  });

  it('URLs on 127.0.0.1 by kind; requests the kubelet refuses are InvalidParameter', () => {
    const { url } = server.exec({ container_id: 'c1', cmd: ['true'], stdout: true });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{16}$/);
    assert.match(server.attach({ container_id: 'c1', stdout: true }).url, /\/attach\//);
    assert.match(server.portForward({ pod_sandbox_id: 'p1', port: [80] }).url, /\/portforward\//);
    assert.throws(() => server.exec({ container_id: '', cmd: ['true'], stdout: true }), /missing required container_id/);
    assert.throws(() => server.exec({ container_id: 'c', cmd: [], stdout: true }), /missing required cmd/);
    assert.throws(() => server.exec({ container_id: 'c', cmd: ['x'], tty: true, stderr: true }), /tty and stderr cannot both be true/);
    assert.throws(() => server.attach({ container_id: 'c' }), /one of stdin, stdout, or stderr must be set/);
    assert.throws(() => server.portForward({ pod_sandbox_id: '' }), /missing required pod_sandbox_id/);
    assert.throws(() => server.portForward({ pod_sandbox_id: 'p', port: [70000] }), /invalid port 70000/);
  });

  it('exec on v4: output, stdin to its end, the Status JSON with the exit code; a token works once', async () => {
    const { url } = server.exec({ container_id: 'c1', cmd: ['sh', '-c', 'cat; echo err >&2; exit 5'], stdin: true, stdout: true, stderr: true });
    const r = await runRemoteCommand(url, { stdin: 'through stdin\n', stderr: true });
    assert.equal(r.protocol, 'v4.channel.k8s.io');
    assert.equal(r.stdout, 'through stdin\n');
    assert.equal(r.stderr, 'err\n');
    assert.deepEqual(JSON.parse(r.error), {
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [sh -c cat; echo err >&2; exit 5], exit code 5',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '5' }] },
    });
    await assert.rejects(() => runRemoteCommand(url, {}), /HTTP 404: 404 page not found/);
    const ok = server.exec({ container_id: 'c1', cmd: ['true'], stdout: true });
    assert.deepEqual(JSON.parse((await runRemoteCommand(ok.url, {})).error), { metadata: {}, status: 'Success' });
  });

  it('v2/v3 clients get the error as text, nothing on success; a runtime error is an InternalError Status on v4', async () => {
    const bad = server.exec({ container_id: 'c1', cmd: ['sh', '-c', 'exit 4'], stdout: true });
    const r = await runRemoteCommand(bad.url, { protocols: ['v2.channel.k8s.io'] });
    assert.equal(r.protocol, 'v2.channel.k8s.io');
    assert.match(r.error, /^command terminated with non-zero exit code: .*exit code 4$/);
    const good = server.exec({ container_id: 'c1', cmd: ['true'], stdout: true });
    assert.equal((await runRemoteCommand(good.url, { protocols: ['v3.channel.k8s.io'] })).error, '');
    const att = server.attach({ container_id: 'nope', stdout: true });
    const a = JSON.parse((await runRemoteCommand(att.url, {})).error) as { status: string; reason: string; code: number; message: string };
    assert.deepEqual([a.status, a.reason, a.code], ['Failure', 'InternalError', 500]);
    assert.match(a.message, /container "nope" is not running/);
  });

  it('refusals: no common protocol 403, no upgrade headers 400, wrong kind or expired token 404', async () => {
    const e1 = server.exec({ container_id: 'c1', cmd: ['true'], stdout: true });
    const refused = await upgrade(e1.url, ['v9.channel.k8s.io']).then(
      () => assert.fail('upgraded'),
      (err: { status: number; body: string; headers: http.IncomingHttpHeaders }) => err,
    );
    assert.equal(refused.status, 403);
    assert.match(refused.body, /unable to upgrade: unable to negotiate protocol: client supports \[v9\.channel\.k8s\.io\]/);
    assert.match(String(refused.headers['x-accepted-stream-protocol-versions']), /v4\.channel\.k8s\.io/);
    const e2 = server.exec({ container_id: 'c1', cmd: ['true'], stdout: true });
    assert.deepEqual(await post(e2.url), { status: 400, body: 'unable to upgrade: missing upgrade headers in request\n' });
    const e3 = server.exec({ container_id: 'c1', cmd: ['true'], stdout: true });
    assert.equal((await post(e3.url.replace('/exec/', '/attach/'), { Connection: 'Upgrade', Upgrade: 'SPDY/3.1' })).status, 404);
    const short = new StreamingServer(new HostRuntime(), { tokenTtlMs: 0 });
    await short.start();
    try {
      const e4 = short.exec({ container_id: 'c1', cmd: ['true'], stdout: true });
      await assert.rejects(() => upgrade(e4.url, ['v4.channel.k8s.io']), /HTTP 404/);
    } finally {
      await short.stop();
    }
  });

  it('a client that does not open the streams it asked for is cut off after the creation timeout', async () => {
    const { url } = server.exec({ container_id: 'c1', cmd: ['true'], stdin: true, stdout: true });
    const { session } = await upgrade(url, ['v4.channel.k8s.io']);
    openStream(session, 'error');
    await new Promise((r) => session.once('close', r));
  });

  it('a stream the request did not ask for is answered and drained, and does not hold up the session', async () => {
    const { url } = server.exec({ container_id: 'c1', cmd: ['sh', '-c', 'echo fine'], stdout: true });
    const { session } = await upgrade(url, ['v4.channel.k8s.io']);
    try {
      const error = readAll(openStream(session, 'error'));
      const extra = openStream(session, 'stdin');
      await extra.replied;
      extra.write(Buffer.alloc(1 << 20, 1));
      const out = readAll(openStream(session, 'stdout'));
      assert.equal((await out).toString(), 'fine\n');
      assert.deepEqual(JSON.parse((await error).toString()), { metadata: {}, status: 'Success' });
    } finally {
      session.destroy();
    }
  });

  it('--cri-stream-address: host:port, [v6]:port; anything else refused', () => {
    assert.deepEqual(parseStreamAddress('127.0.0.1:0'), { address: '127.0.0.1', port: 0 });
    assert.deepEqual(parseStreamAddress('[::1]:10010'), { address: '::1', port: 10010 });
    assert.deepEqual(parseStreamAddress('node1.local:8080'), { address: 'node1.local', port: 8080 });
    for (const bad of ['127.0.0.1', ':80', '1.2.3.4:99999', '::1:80', '']) assert.throws(() => parseStreamAddress(bad), /invalid --cri-stream-address/);
  });

  it('WebSocket: v5 binary (stdin closed by channel 255), v4 base64; output on channels 1/2, the Status on 3', async () => {
    const v5 = server.exec({ container_id: 'c1', cmd: ['sh', '-c', 'cat; echo err >&2; exit 3'], stdin: true, stdout: true, stderr: true });
    const r5 = await wsClient(v5.url, 'v5.channel.k8s.io', 'over websocket\n');
    assert.equal(r5.proto, 'v5.channel.k8s.io');
    assert.deepEqual(r5.first, [1, 0], 'an empty stdout message opens the session');
    assert.equal(r5.stdout, 'over websocket\n');
    assert.equal(r5.stderr, 'err\n');
    const st = JSON.parse(r5.error) as { reason: string; details: { causes: { message: string }[] } };
    assert.equal(st.reason, 'NonZeroExitCode');
    assert.equal(st.details.causes[0]?.message, '3');
    const v4 = server.exec({ container_id: 'c1', cmd: ['echo', 'b64'], stdout: true });
    const r4 = await wsClient(v4.url, 'v4.base64.channel.k8s.io', '');
    assert.equal(r4.stdout, 'b64\n');
    assert.deepEqual(JSON.parse(r4.error), { metadata: {}, status: 'Success' });
    const pf = server.portForward({ pod_sandbox_id: 'p1' });
    await assert.rejects(() => wsClient(pf.url, 'v4.channel.k8s.io', ''), /400/);
  });

  it('an idle session is closed after the idle timeout', async () => {
    const idle = new StreamingServer(new HostRuntime(), { idleTimeoutMs: 200 });
    await idle.start();
    try {
      const { url } = idle.portForward({ pod_sandbox_id: 'p1' });
      const { session } = await upgrade(url, ['portforward.k8s.io']);
      await new Promise((r) => session.once('close', r));
    } finally {
      await idle.stop();
    }
  });

  it('port-forward: pairs by requestID, bytes both ways, a refused port as text on the error stream', async () => {
    const { url } = server.portForward({ pod_sandbox_id: 'p1', port: [echoPort] });
    const { session, protocol } = await upgrade(url, ['portforward.k8s.io']);
    try {
      assert.equal(protocol, 'portforward.k8s.io');
      for (const id of ['0', '1']) {
        const err = openStream(session, 'error', { port: String(echoPort), requestID: id });
        err.end();
        const errText = readAll(err);
        const data = openStream(session, 'data', { port: String(echoPort), requestID: id });
        const back = readAll(data);
        data.end(`hello ${id}`);
        assert.equal((await back).toString(), `hello ${id}`);
        assert.equal((await errText).toString(), '');
      }
      const err = openStream(session, 'error', { port: '1', requestID: '2' });
      err.end();
      const errText = readAll(err);
      openStream(session, 'data', { port: '1', requestID: '2' }).end();
      assert.match((await errText).toString(), /^error forwarding port 1 to pod p1: .*ECONNREFUSED/);
    } finally {
      session.destroy();
    }
  });
});

/** python3-websocket (websocket-client 1.2, Debian's) as the client: the channel protocol by hand on its frames. */
async function wsClient(url: string, proto: string, stdin: string): Promise<{ proto: string; first: number[]; stdout: string; stderr: string; error: string }> {
  const script = `
import sys, json, base64, websocket
url, proto, stdin = sys.argv[1], sys.argv[2], sys.argv[3]
ws = websocket.create_connection(url.replace('http://', 'ws://'), subprotocols=[proto], timeout=20)
b64 = 'base64' in proto
def send(ch, data):
    if b64: ws.send(str(ch) + base64.b64encode(data).decode())
    else: ws.send_binary(bytes([ch]) + data)
if stdin:
    send(0, stdin.encode())
    if proto.startswith('v5'): ws.send_binary(bytes([255, 0]))
out = {}
first = None
while True:
    try: op, data = ws.recv_data()
    except websocket.WebSocketConnectionClosedException: break
    if op == 8: break
    if b64:
        t = data.decode(); ch = int(t[0]); payload = base64.b64decode(t[1:])
    else:
        ch = data[0]; payload = data[1:]
    if first is None: first = [ch, len(payload)]
    out[ch] = out.get(ch, b'') + payload
print(json.dumps({'proto': ws.getsubprotocol(), 'first': first, 'stdout': out.get(1, b'').decode(), 'stderr': out.get(2, b'').decode(), 'error': out.get(3, b'').decode()}))
`;
  // Not spawnSync: the server answering it runs in this process.
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const c = spawn('/usr/bin/python3', ['-c', script, url, proto, stdin], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  if (r.code !== 0) throw new Error(`websocket client: ${r.stderr}`);
  return JSON.parse(r.stdout) as { proto: string; first: number[]; stdout: string; stderr: string; error: string };
}

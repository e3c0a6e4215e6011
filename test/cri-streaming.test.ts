/**
 * The CRI streaming server inside berthd, driven end to end by crictl (cri-tools v1.26.1, a real
 * client-go SPDY client): a pod on its own CNI bridge (bcris0, 10.208.0.0/24), containers in it,
 * then `exec` (streams, stdin, exit codes), `exec -it` on a pseudo-terminal with resizes,
 * `attach`, and `port-forward` to a busybox httpd in the pod with curl through the forwarded port.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupAndCheck, run, sleep, TestDaemon, waitFor, type RunResult } from './helpers/daemon.js';
import { PtySession } from './helpers/pty.js';

const CRICTL = '/work/shared/tools/cri/crictl';
const BRIDGE = 'bcris0';
const SUBNET = '10.208.0.0/24';

describe('CRI streaming: crictl exec, attach, port-forward against berthd', () => {
  let d: TestDaemon | undefined;
  let pod = '';
  let shell = '';
  let web = '';
  let cniDir = '';
  const endpoint = (): string[] => ['--runtime-endpoint', d!.criEndpoint, '--image-endpoint', d!.criEndpoint];
  const crictl = (args: string[], o: { input?: string; timeout?: number } = {}): Promise<RunResult> =>
    run(CRICTL, [...endpoint(), '--timeout', '30s', ...args], { timeout: o.timeout ?? 60_000, ...(o.input !== undefined ? { input: o.input } : {}) });
  const file = (name: string, doc: unknown): string => {
    const p = path.join(d!.root, name);
    fs.writeFileSync(p, JSON.stringify(doc));
    return p;
  };
  const container = async (name: string, command: string[], extra: Record<string, unknown> = {}): Promise<string> => {
    const cfg = file(`${name}.json`, { metadata: { name }, image: { image: 'busybox:latest' }, command, log_path: `${name}.log`, linux: {}, ...extra });
    const c = await crictl(['create', pod, cfg, path.join(d!.root, 'pod.json')]);
    assert.equal(c.code, 0, c.desc);
    const id = c.stdout.trim();
    const s = await crictl(['start', id]);
    assert.equal(s.code, 0, s.desc);
    return id;
  };

  before(async () => {
    assert.ok(fs.existsSync(CRICTL), `crictl not found at ${CRICTL}`);
    assert.ok(spawnSync('socat', ['-V']).status === 0, 'socat is missing (scripts/install-deps.sh)');
    // The CNI configuration lives beside the daemon's root (the flag is given before the root exists).
    cniDir = fs.mkdtempSync('/tmp/cris-cni-');
    const net = {
      cniVersion: '0.4.0',
      name: 'cris-test',
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: false,
          ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], dataDir: path.join(cniDir, 'ipam') },
        },
      ],
    };
    fs.mkdirSync(path.join(cniDir, 'net.d'));
    fs.writeFileSync(path.join(cniDir, 'net.d', '10-cris.conflist'), JSON.stringify(net));
    d = await TestDaemon.start({ cri: true, args: ['--cni-conf-dir', path.join(cniDir, 'net.d'), '--cni-bin-dir', '/usr/lib/cni'] });
    const podCfg = file('pod.json', {
      metadata: { name: 'streaming', namespace: 'default', uid: 'streaming-uid', attempt: 0 },
      log_directory: path.join(d.root, 'podlogs'),
      linux: {},
    });
    fs.mkdirSync(path.join(d.root, 'podlogs'));
    const p = await crictl(['runp', podCfg], { timeout: 90_000 });
    assert.equal(p.code, 0, p.desc);
    pod = p.stdout.trim();
    shell = await container('shell', ['sh', '-c', 'while read l; do echo "got:$l"; done'], { stdin: true });
    web = await container('web', ['sh', '-c', 'mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 80 -h /www']);
    await container('web6', ['sh', '-c', 'mkdir -p /www6 && echo hello-over-ipv6 > /www6/index.html && exec httpd -f -p [::1]:8081 -h /www6']);
  });
  after(async () => {
    if (d && pod) {
      await crictl(['stopp', pod]).catch(() => undefined);
      await crictl(['rmp', pod]).catch(() => undefined);
    }
    await cleanupAndCheck(d);
    spawnSync('ip', ['link', 'del', BRIDGE]);
    if (cniDir) fs.rmSync(cniDir, { recursive: true, force: true });
  });

  it('berthd announces its streaming server (--cri-stream-address, default 127.0.0.1:<ephemeral>)', () => {
    assert.match(d!.log, /CRI streaming server on http:\/\/127\.0\.0\.1:\d+/);
  });

  it('exec: stdout and stderr apart; a non-zero exit reaches crictl through the v4 Status', async () => {
    const r = await crictl(['exec', shell, 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(r.code, 0, r.desc);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    // crictl 1.26 prints the code client-go decoded and exits 1 (its own behaviour, whatever the runtime).
    const x = await crictl(['exec', shell, 'sh', '-c', 'exit 3']);
    assert.equal(x.code, 1, x.desc);
    assert.match(x.stderr, /command terminated with exit code 3/, x.desc);
    const missing = await crictl(['exec', shell, 'no-such-command']);
    assert.notEqual(missing.code, 0, missing.desc);
  });

  it('exec -i: stdin reaches the command and its end closes the input', async () => {
    const r = await crictl(['exec', '-i', shell, 'sh', '-c', 'cat; echo done'], { input: 'line one\nline two\n' });
    assert.equal(r.code, 0, r.desc);
    assert.equal(r.stdout, 'line one\nline two\ndone\n');
    const big = 'x'.repeat(200_000) + '\n';
    const b = await crictl(['exec', '-i', shell, 'wc', '-c'], { input: big });
    assert.equal(b.stdout.trim(), String(big.length), b.desc);
  });

  it('exec -i: a client that vanishes ends the input of the command, which does not linger', async () => {
    const c = spawn(CRICTL, [...endpoint(), 'exec', '-i', shell, 'sh', '-c', 'echo started; exec cat > /dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const gone = new Promise((r) => c.on('close', r));
    await waitFor(() => out.includes('started'), { what: 'the exec running' });
    const running = await crictl(['exec', shell, 'ps']);
    assert.match(running.stdout, /cat/, running.desc);
    c.kill('SIGKILL');
    await gone;
    await waitFor(async () => !/\bcat\b/.test((await crictl(['exec', shell, 'ps'])).stdout), { what: 'cat gone after the client', timeout: 15_000 });
  });

  it('exec -it: a client that vanishes hangs up the terminal (SIGHUP), nothing is left behind', async () => {
    const pty = new PtySession([CRICTL, ...endpoint(), 'exec', '-it', shell, 'sh', '-c', 'echo marker-$((6*7)); exec sleep 1234'], { rows: 24, cols: 80 });
    try {
      await pty.expect(/marker-42/);
    } finally {
      pty.kill();
    }
    await pty.exited;
    await waitFor(async () => !/sleep 1234/.test((await crictl(['exec', shell, 'ps'])).stdout), { what: 'the exec ended after the client', timeout: 15_000 });
  });

  it('exec -it: a terminal of the client size, resizes, keystrokes, the exit code', async () => {
    const pty = new PtySession([CRICTL, ...endpoint(), 'exec', '-it', shell, 'sh'], { rows: 33, cols: 101 });
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

  it('attach -i: the main process gets stdin and its output comes back', async () => {
    const r = await crictl(['attach', '-i', shell], { input: 'ping\n', timeout: 30_000 });
    assert.match(r.stdout, /got:ping/, r.desc);
    // The container outlives the client.
    const ps = await crictl(['inspect', '-o', 'go-template', '--template', '{{.status.state}}', shell]);
    assert.match(ps.stdout, /CONTAINER_RUNNING/, ps.desc);
  });

  it('attach -it: a TTY container gets the client terminal size and keystrokes; the client leaves, it runs on', async () => {
    const tty = await container('tty', ['sh'], { stdin: true, tty: true });
    const pty = new PtySession([CRICTL, ...endpoint(), 'attach', '-it', tty], { rows: 31, cols: 97 });
    try {
      pty.write('echo attached-$((40+2)); stty size\r');
      await pty.expect(/attached-42/);
      await pty.expect(/31 97/);
    } finally {
      pty.kill();
    }
    await pty.exited;
    const st = await crictl(['inspect', '-o', 'go-template', '--template', '{{.status.state}}', tty]);
    assert.match(st.stdout, /CONTAINER_RUNNING/, st.desc);
  });

  it('port-forward: curl through the forwarded port reaches httpd on the pod loopback', async () => {
    const pf = spawn(CRICTL, [...endpoint(), 'port-forward', pod, '0:80'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    pf.stdout.on('data', (b: Buffer) => (out += b.toString()));
    pf.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const gone = new Promise((r) => pf.on('close', r));
    try {
      const port = await waitFor(() => /Forwarding from 127\.0\.0\.1:(\d+) -> 80/.exec(out)?.[1], { timeout: 20_000, what: `crictl listening: ${out}` });
      for (let i = 0; i < 3; i++) {
        const c = await run('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${port}/`]);
        assert.equal(c.stdout, 'hello-from-pod\n', `${c.desc}\ncrictl: ${out}`);
      }
      const w = await run('wget', ['-q', '-O', '-', `http://127.0.0.1:${port}/index.html`], { timeout: 20_000 });
      assert.equal(w.stdout, 'hello-from-pod\n', w.desc);
    } finally {
      pf.kill('SIGTERM');
      await gone;
    }
    void web;
  });

  it('port-forward: a server on the pod IPv6 loopback only is reached too; a closed port is an error crictl shows', async () => {
    const forward = async (spec: string, fn: (port: string, out: () => string) => Promise<void>): Promise<void> => {
      const pf = spawn(CRICTL, [...endpoint(), 'port-forward', pod, spec], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      pf.stdout.on('data', (b: Buffer) => (out += b.toString()));
      pf.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const gone = new Promise((r) => pf.on('close', r));
      try {
        const port = await waitFor(() => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1], { timeout: 20_000, what: `crictl listening: ${out}` });
        await fn(port, () => out);
      } finally {
        pf.kill('SIGTERM');
        await gone;
      }
    };
    await forward('0:8081', async (port, out) => {
      const c = await run('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${port}/`]);
      assert.equal(c.stdout, 'hello-over-ipv6\n', `${c.desc}\ncrictl: ${out()}`);
    });
    await forward('0:81', async (port, out) => {
      const c = await run('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${port}/`]);
      assert.notEqual(c.code, 0, c.desc);
      await waitFor(() => /failed to connect to localhost:81 inside the pod's network namespace: .*connection refused/.test(out()), {
        what: `the error: ${out()}`,
      });
    });
  });
});

/**
 * The remote API behind mutual TLS: `berth tls init` makes the certificates; berthd serves
 * `-H tcp://127.0.0.1:<random>` with --tlsverify; the docker CLI and berth reach it with the
 * --tls* flags and with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH/DOCKER_HOST (ps, run with output,
 * attach, exec, exec -it); a client without a certificate, with one from another CA, a client
 * that does not trust the daemon's CA and plain HTTP are all refused. A plain TCP host without
 * an explicit --tls=false makes berthd refuse to start; with it berthd warns (log and info).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { BERTH, BERTHD, DOCKER, HAVE_DOCKER, TestDaemon, cleanupAndCheck, run, waitFor, type RunOptions } from './helpers/daemon.js';
import { ok } from './helpers/assert.js';
import { freePort } from '../bench/registry-harness.js';

let d: TestDaemon | undefined;
let work: string;
let port: number;
let pki: string;
let other: string;
let clientDir: string;

const T = { timeout: 120_000 };

before(async () => {
  work = fs.mkdtempSync('/tmp/berth-tls-test-');
  pki = path.join(work, 'pki');
  other = path.join(work, 'other');
  clientDir = path.join(work, 'client');
  const init = await run(process.execPath, [BERTH, 'tls', 'init', '--dir', pki, '--hostname', 'berth-tls.example', '--hostname', '10.1.2.3']);
  assert.equal(init.code, 0, init.desc);
  const init2 = await run(process.execPath, [BERTH, 'tls', 'init', '--dir', other]);
  assert.equal(init2.code, 0, init2.desc);
  // What a client machine holds: the CA and its own pair, under Docker's names.
  fs.mkdirSync(clientDir);
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.copyFileSync(path.join(pki, f), path.join(clientDir, f));
  port = await freePort();
  d = await TestDaemon.start({
    args: [
      '-H',
      `tcp://127.0.0.1:${port}`,
      '--tlsverify',
      '--tlscacert',
      path.join(pki, 'ca.pem'),
      '--tlscert',
      path.join(pki, 'server-cert.pem'),
      '--tlskey',
      path.join(pki, 'server-key.pem'),
    ],
  });
});

after(async () => {
  try {
    await cleanupAndCheck(d);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

const tcpHost = (): string => `tcp://127.0.0.1:${port}`;
const flagsFor = (dir: string, verify = true): string[] => [
  verify ? '--tlsverify' : '--tls',
  '--tlscacert',
  path.join(dir, 'ca.pem'),
  '--tlscert',
  path.join(dir, 'cert.pem'),
  '--tlskey',
  path.join(dir, 'key.pem'),
  '-H',
  tcpHost(),
];
/** No unix socket in the environment: only the TCP host can answer. */
const bare = (extra: Record<string, string> = {}): Record<string, string> => ({ BERTH_HOST: '', DOCKER_HOST: '', ...extra });
const envTls = (): Record<string, string> => ({ BERTH_HOST: '', DOCKER_HOST: tcpHost(), DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: clientDir });

function docker(args: string[], o: RunOptions = {}) {
  assert.ok(HAVE_DOCKER, `the docker CLI is needed at ${DOCKER}`);
  return d!.docker(args, o);
}

describe('berth tls init', () => {
  it('makes the CA, server and client certificates as Docker names them, keys 0600', T, () => {
    for (const f of ['ca.pem', 'ca-key.pem', 'server-cert.pem', 'server-key.pem', 'cert.pem', 'key.pem']) {
      const st = fs.statSync(path.join(pki, f));
      assert.equal(st.mode & 0o777, f.includes('key') ? 0o600 : 0o644, `${f} mode ${(st.mode & 0o777).toString(8)}`);
    }
    assert.deepEqual(
      fs.readdirSync(pki).sort(),
      ['ca-key.pem', 'ca.pem', 'cert.pem', 'key.pem', 'server-cert.pem', 'server-key.pem'],
      'nothing else left behind',
    );
    const text = (f: string): string => spawnSync('openssl', ['x509', '-in', path.join(pki, f), '-noout', '-text'], { encoding: 'utf8' }).stdout;
    const server = text('server-cert.pem');
    assert.match(server, /TLS Web Server Authentication/);
    assert.doesNotMatch(server, /TLS Web Client Authentication/);
    for (const n of ['DNS:localhost', 'IP Address:127.0.0.1', 'DNS:berth-tls.example', 'IP Address:10.1.2.3'])
      assert.ok(server.includes(n), `server SAN ${n}:\n${server}`);
    const client = text('cert.pem');
    assert.match(client, /TLS Web Client Authentication/);
    assert.doesNotMatch(client, /TLS Web Server Authentication/);
    assert.match(text('ca.pem'), /CA:TRUE/);
    const verify = (purpose: string, f: string) =>
      spawnSync('openssl', ['verify', '-CAfile', path.join(pki, 'ca.pem'), '-purpose', purpose, path.join(pki, f)], { encoding: 'utf8' });
    assert.equal(verify('sslserver', 'server-cert.pem').status, 0);
    assert.equal(verify('sslclient', 'cert.pem').status, 0);
    assert.notEqual(verify('sslclient', 'server-cert.pem').status, 0, 'the server certificate is no client certificate');
  });

  it('refuses to overwrite existing certificates without --force', T, async () => {
    const before = fs.readFileSync(path.join(pki, 'ca.pem'));
    const r = await run(process.execPath, [BERTH, 'tls', 'init', '--dir', pki]);
    assert.equal(r.code, 1, r.desc);
    assert.match(r.stderr, /already exists/, r.desc);
    assert.deepEqual(fs.readFileSync(path.join(pki, 'ca.pem')), before);
  });
});

describe('mutual TLS via docker', () => {
  it('ps and run with output, with the --tls* flags', T, async () => {
    ok(await docker([...flagsFor(clientDir), 'ps'], { env: bare() }));
    const r = await docker([...flagsFor(clientDir), 'run', '--rm', 'busybox', 'echo', 'hello over tls'], { env: bare() });
    assert.equal(ok(r), 'hello over tls', r.desc);
  });

  it('DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_HOST', T, async () => {
    const r = await docker(['run', '--rm', '-i', 'busybox', 'cat'], { env: envTls(), input: 'stdin over tls\n' });
    assert.equal(ok(r), 'stdin over tls', r.desc);
    const v = await docker(['version', '--format', '{{.Server.APIVersion}}'], { env: envTls() });
    assert.equal(ok(v), '1.50', v.desc);
  });

  it('attach (start -a), exec and exec -it over TLS', T, async () => {
    const id = ok(await docker(['create', 'busybox', 'sh', '-c', 'echo attached-output; echo to-stderr >&2'], { env: envTls() }));
    const a = await docker(['start', '-a', id], { env: envTls() });
    assert.equal(a.code, 0, a.desc);
    assert.equal(a.stdout.trim(), 'attached-output', a.desc);
    assert.equal(a.stderr.trim(), 'to-stderr', a.desc);
    ok(await docker(['rm', id], { env: envTls() }));

    const c = ok(await docker(['run', '-d', 'busybox', 'sleep', '600'], { env: envTls() }));
    const e = await docker(['exec', c, 'sh', '-c', 'echo exec-output'], { env: envTls() });
    assert.equal(ok(e), 'exec-output', e.desc);
    // exec -it needs a terminal: script(1) gives docker one.
    const cmd = `${DOCKER} exec -it ${c} sh -c 'tty >/dev/null && echo tty-ok'`;
    const t = await run('script', ['-qec', cmd, '/dev/null'], { env: { ...envTls(), DOCKER_CONFIG: path.join(d!.root, 'docker-config') }, timeout: 30_000 });
    assert.equal(t.code, 0, t.desc);
    assert.match(t.stdout, /tty-ok/, t.desc);
    ok(await docker(['rm', '-f', c], { env: envTls() }));
  });
});

describe('mutual TLS via berth', () => {
  const berth = (args: string[], o: RunOptions = {}) => d!.berth(args, o);

  it('ps and run with output, with the --tls* flags', T, async () => {
    ok(await berth([...flagsFor(clientDir), 'ps'], { env: bare() }));
    const r = await berth([...flagsFor(clientDir), 'run', '--rm', 'busybox', 'echo', 'hello over tls'], { env: bare() });
    assert.equal(ok(r), 'hello over tls', r.desc);
  });

  it('DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_HOST', T, async () => {
    const r = await berth(['run', '--rm', '-i', 'busybox', 'cat'], { env: envTls(), input: 'stdin over tls\n' });
    assert.equal(ok(r), 'stdin over tls', r.desc);
  });

  it('attach (start -a) and exec over TLS', T, async () => {
    const id = ok(await berth(['create', 'busybox', 'sh', '-c', 'echo attached-output; echo to-stderr >&2'], { env: envTls() }));
    const a = await berth(['start', '-a', id], { env: envTls() });
    assert.equal(a.code, 0, a.desc);
    assert.equal(a.stdout.trim(), 'attached-output', a.desc);
    assert.equal(a.stderr.trim(), 'to-stderr', a.desc);
    const c = ok(await berth(['run', '-d', 'busybox', 'sleep', '600'], { env: envTls() }));
    const e = await berth(['exec', '-i', c, 'cat'], { env: envTls(), input: 'exec stdin\n' });
    assert.equal(ok(e), 'exec stdin', e.desc);
    ok(await berth(['rm', '-f', c, id], { env: envTls() }));
  });
});

describe('mutual TLS via docker-py', () => {
  it('run output, exec_run and an attach socket', T, async () => {
    const script = String.raw`
import docker, json, sys
d = sys.argv[1]
tls = docker.tls.TLSConfig(client_cert=(d + '/cert.pem', d + '/key.pem'), ca_cert=d + '/ca.pem', verify=True)
c = docker.DockerClient(base_url=sys.argv[2], tls=tls)
out = {'run': c.containers.run('busybox', ['echo', 'py over tls'], remove=True).decode()}
ct = c.containers.run('busybox', ['sleep', '300'], detach=True)
r = ct.exec_run(['sh', '-c', 'echo exec-py; exit 3'])
out['exec'] = [r.exit_code, r.output.decode()]
ct.remove(force=True)
print(json.dumps(out))
`;
    // requests prefers REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE (set on this machine) over the client's own CA file.
    const env = { REQUESTS_CA_BUNDLE: '', CURL_CA_BUNDLE: '' };
    const r = await run('python3', ['-c', script, clientDir, `https://127.0.0.1:${port}`], { env, timeout: 60_000 });
    assert.equal(r.code, 0, r.desc);
    const o = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    assert.equal(o.run, 'py over tls\n');
    assert.deepEqual(o.exec, [3, 'exec-py\n']);
  });
});

describe('refused connections', () => {
  for (const cli of ['berth', 'docker'] as const) {
    const x = (args: string[], o: RunOptions = {}) => (cli === 'docker' ? docker(args, o) : d!.berth(args, o));

    it(`${cli}: without a client certificate`, T, async () => {
      const r = await x(['--tls', '--tlscacert', path.join(clientDir, 'ca.pem'), '-H', tcpHost(), 'ps'], {
        env: bare({ DOCKER_CERT_PATH: path.join(work, 'empty') }),
      });
      assert.equal(r.code, 1, r.desc);
      assert.match(r.stderr, /certificate required|bad certificate/, r.desc);
      assert.doesNotMatch(r.stdout, /CONTAINER ID/, r.desc);
    });

    it(`${cli}: with a client certificate from another CA`, T, async () => {
      const r = await x(
        [
          '--tlsverify',
          '--tlscacert',
          path.join(pki, 'ca.pem'),
          '--tlscert',
          path.join(other, 'cert.pem'),
          '--tlskey',
          path.join(other, 'key.pem'),
          '-H',
          tcpHost(),
          'ps',
        ],
        { env: bare() },
      );
      assert.equal(r.code, 1, r.desc);
      assert.doesNotMatch(r.stdout, /CONTAINER ID/, r.desc);
    });

    it(`${cli}: the server's own certificate is no client certificate (extendedKeyUsage)`, T, async () => {
      const r = await x(
        [
          '--tlsverify',
          '--tlscacert',
          path.join(pki, 'ca.pem'),
          '--tlscert',
          path.join(pki, 'server-cert.pem'),
          '--tlskey',
          path.join(pki, 'server-key.pem'),
          '-H',
          tcpHost(),
          'ps',
        ],
        { env: bare() },
      );
      assert.equal(r.code, 1, r.desc);
      assert.doesNotMatch(r.stdout, /CONTAINER ID/, r.desc);
    });

    it(`${cli}: a daemon whose certificate the client's CA did not sign`, T, async () => {
      const r = await x(
        [
          '--tlsverify',
          '--tlscacert',
          path.join(other, 'ca.pem'),
          '--tlscert',
          path.join(other, 'cert.pem'),
          '--tlskey',
          path.join(other, 'key.pem'),
          '-H',
          tcpHost(),
          'ps',
        ],
        { env: bare() },
      );
      assert.equal(r.code, 1, r.desc);
      assert.match(r.stderr, /certificate/, r.desc);
    });

    it(`${cli}: no CA file in the certificate directory`, T, async () => {
      const r = await x(['--tlsverify', '-H', tcpHost(), 'ps'], { env: bare({ DOCKER_CERT_PATH: path.join(work, 'empty') }) });
      assert.equal(r.code, 1, r.desc);
      assert.match(r.stderr, /^Failed to initialize: unable to resolve docker endpoint: open .*empty\/ca\.pem: no such file or directory/, r.desc);
    });

    it(`${cli}: plain HTTP`, T, async () => {
      const r = await x(['-H', tcpHost(), 'ps'], { env: bare() });
      assert.equal(r.code, 1, r.desc);
      assert.match(r.stderr, /Client sent an HTTP request to an HTTPS server\./, r.desc);
    });
  }

  it('raw: no HTTP is answered before the client shows a certificate', T, async () => {
    // A TLS client without a certificate: the handshake (TLS 1.3: the first read) fails.
    const got = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(path.join(pki, 'ca.pem')), servername: 'localhost' }, () => {
        s.write('GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      let data = '';
      s.on('data', (b: Buffer) => (data += b.toString()));
      s.on('error', (e: Error & { code?: string }) => resolve(`error ${e.code ?? e.message}`));
      s.on('close', () => resolve(data === '' ? 'closed' : `data ${data}`));
    });
    assert.match(got, /^(error|closed)/, got);
    assert.doesNotMatch(got, /OK/);
    // Plain HTTP: Go's 400, nothing from the API.
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/containers/json' }, (r) => {
          let body = '';
          r.on('data', (b: Buffer) => (body += b.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
    assert.equal(res.status, 400);
    assert.equal(res.body, 'Client sent an HTTP request to an HTTPS server.\n');
  });
});

describe('plain TCP listeners', () => {
  it('without --tls=false berthd refuses to start', T, async () => {
    const root = fs.mkdtempSync('/tmp/berth-tls-plain-');
    try {
      const p = await freePort();
      fs.writeFileSync(path.join(root, 'daemon.json'), '{}');
      const r = await run(
        process.execPath,
        [
          BERTHD,
          '--data-root',
          path.join(root, 'data'),
          '--exec-root',
          path.join(root, 'exec'),
          '--pidfile',
          path.join(root, 'pid'),
          '--config-file',
          path.join(root, 'daemon.json'),
          '--bridge',
          'none',
          '--cgroup-parent',
          '/berth-tls-plain',
          '-H',
          `unix://${root}/s.sock`,
          '-H',
          `tcp://127.0.0.1:${p}`,
        ],
        { timeout: 30_000 },
      );
      assert.equal(r.code, 1, r.desc);
      assert.match(r.stderr, new RegExp(`refusing to listen on tcp://127\\.0\\.0\\.1:${p} without TLS`), r.desc);
      assert.match(r.stderr, /--tls=false/, r.desc);
      assert.ok(!fs.existsSync(path.join(root, 's.sock')), 'no socket left');
      assert.ok(!fs.existsSync(path.join(root, 'data')), 'nothing started');
      // The same from daemon.json.
      fs.writeFileSync(path.join(root, 'daemon.json'), JSON.stringify({ hosts: [`tcp://127.0.0.1:${p}`] }));
      const r2 = await run(
        process.execPath,
        [
          BERTHD,
          '--data-root',
          path.join(root, 'data'),
          '--exec-root',
          path.join(root, 'exec'),
          '--pidfile',
          path.join(root, 'pid'),
          '--config-file',
          path.join(root, 'daemon.json'),
          '--bridge',
          'none',
        ],
        { timeout: 30_000 },
      );
      assert.equal(r2.code, 1, r2.desc);
      assert.match(r2.stderr, /refusing to listen/, r2.desc);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('with --tls=false berthd starts, warns in its log and in info', T, async () => {
    const p = await freePort();
    const plain = await TestDaemon.start({ args: ['-H', `tcp://127.0.0.1:${p}`, '--tls=false'], busybox: false });
    try {
      assert.match(
        plain.log,
        /Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network\. host="tcp:\/\/127\.0\.0\.1:\d+"/,
      );
      assert.match(plain.log, /Binding to an IP address, even on localhost, can also give access to scripts run in a browser\. Be safe out there!/);
      const info = await plain.docker(['-H', `tcp://127.0.0.1:${p}`, 'info', '--format', '{{json .Warnings}}'], { env: bare() });
      assert.equal(info.code, 0, info.desc);
      assert.match(info.stdout, new RegExp(`API is accessible on http://127\\.0\\.0\\.1:${p} without encryption`), info.desc);
      const ps = await plain.berth(['-H', `tcp://127.0.0.1:${p}`, 'ps'], { env: bare() });
      assert.equal(ps.code, 0, ps.desc);
    } finally {
      await cleanupAndCheck(plain);
    }
  });

  it('--tlsverify=false: TLS without client certificates, with the warnings', T, async () => {
    const p = await freePort();
    const h = `tcp://127.0.0.1:${p}`;
    const srv = await TestDaemon.start({
      args: ['-H', h, '--tlsverify=false', '--tlscert', path.join(pki, 'server-cert.pem'), '--tlskey', path.join(pki, 'server-key.pem')],
      busybox: false,
    });
    try {
      assert.match(srv.log, /Binding to IP address without --tlsverify is insecure/);
      const noCert = { ...bare(), DOCKER_CERT_PATH: path.join(work, 'empty') };
      for (const c of ['berth', 'docker'] as const) {
        // The client still verifies the daemon against the CA; it shows no certificate itself.
        const r = await srv.cli(c, ['--tlsverify', '--tlscacert', path.join(pki, 'ca.pem'), '-H', h, 'info', '--format', '{{json .Warnings}}'], {
          env: noCert,
        });
        assert.equal(r.code, 0, r.desc);
        assert.match(r.stdout, new RegExp(`API is accessible on https://127\\.0\\.0\\.1:${p} without TLS client verification`), r.desc);
      }
    } finally {
      await cleanupAndCheck(srv);
    }
  });

  it('the mutual-TLS daemon has no such warning', T, async () => {
    await waitFor(() => d!.log.includes('ready'), { what: 'berthd ready line' });
    assert.doesNotMatch(d!.log, /Binding to IP address without --tlsverify/);
    const info = await docker(['info', '--format', '{{json .Warnings}}'], { env: envTls() });
    assert.equal(ok(info), 'null', info.desc);
  });
});

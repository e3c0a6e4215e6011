import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { normalizeHost, parseArgs, UsageError, type DaemonConfig } from './config.js';
import { checkTcpHost, infoWarnings } from './tls.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-config-test-'));
const empty = path.join(dir, 'empty.json');
fs.writeFileSync(empty, '{}');
const env = { HOME: '/home/u' };

function cfg(args: string[], e: NodeJS.ProcessEnv = env): DaemonConfig {
  const r = parseArgs(['--config-file', empty, ...args], e);
  assert.equal(r.kind, 'run');
  return (r as { config: DaemonConfig }).config;
}

test('TLS flags: --tlsverify turns TLS on; --tls alone verifies clients too (dockerd)', () => {
  const v = cfg(['--tlsverify', '-H', 'tcp://127.0.0.1:2376']);
  assert.equal(v.tls, true);
  assert.equal(v.tlsVerify, true);
  assert.equal(v.tlsCaCert, '/home/u/.docker/ca.pem');
  assert.equal(v.tlsCert, '/home/u/.docker/cert.pem');
  assert.equal(v.tlsKey, '/home/u/.docker/key.pem');
  const t = cfg(['--tls', '-H', 'tcp://127.0.0.1:2376']);
  assert.equal(t.tlsVerify, true);
  const nv = cfg(['--tlsverify=false', '-H', 'tcp://127.0.0.1:2376']);
  assert.equal(nv.tls, true);
  assert.equal(nv.tlsVerify, false);
  const off = cfg(['--tls=false', '-H', 'tcp://127.0.0.1:2375']);
  assert.equal(off.tls, false);
  assert.equal(cfg([]).tls, undefined);
  assert.throws(() => cfg(['--tls=maybe']), UsageError);
});

test('default certificate directory: DOCKER_CERT_PATH, then DOCKER_CONFIG, then ~/.docker', () => {
  assert.equal(cfg(['--tlsverify'], { HOME: '/h', DOCKER_CERT_PATH: '/certs' }).tlsKey, '/certs/key.pem');
  assert.equal(cfg(['--tlsverify'], { HOME: '/h', DOCKER_CONFIG: '/cfg' }).tlsCaCert, '/cfg/ca.pem');
  assert.equal(cfg(['--tlsverify', '--tlscert', '/x/c.pem']).tlsCert, '/x/c.pem');
});

test('hosts: TLS without -H listens on tcp://localhost:2376; a host without a port gets 2375 (as dockerd)', () => {
  assert.deepEqual(cfg(['--tlsverify']).hosts, ['tcp://localhost:2376']);
  assert.deepEqual(cfg([]).hosts, ['unix:///run/berth.sock']);
  assert.deepEqual(cfg(['--tlsverify', '-H', 'tcp://127.0.0.1']).hosts, ['tcp://127.0.0.1:2375']);
  assert.equal(normalizeHost('tcp://'), 'tcp://localhost:2375');
  assert.equal(normalizeHost('tcp://[::1]:2376'), 'tcp://[::1]:2376');
  assert.equal(normalizeHost('unix:///run/x.sock'), 'unix:///run/x.sock');
  assert.throws(() => normalizeHost('tcp://h:0'), UsageError);
  assert.throws(() => normalizeHost('http://h:1'), UsageError);
});

test('daemon.json: tls, tlsverify, tlscacert, tlscert, tlskey; a flag and the file together are refused', () => {
  const f = path.join(dir, 'tls.json');
  fs.writeFileSync(f, JSON.stringify({ tlsverify: true, tlscacert: '/p/ca.pem', tlscert: '/p/s.pem', tlskey: '/p/s-key.pem', hosts: ['tcp://0.0.0.0:2376'] }));
  const r = parseArgs(['--config-file', f], env);
  assert.equal(r.kind, 'run');
  const c = (r as { config: DaemonConfig }).config;
  assert.equal(c.tls, true);
  assert.equal(c.tlsVerify, true);
  assert.equal(c.tlsCert, '/p/s.pem');
  assert.throws(() => parseArgs(['--config-file', f, '--tlsverify'], env), /specified both as a flag and in the configuration file: tlsverify/);
  fs.writeFileSync(f, JSON.stringify({ tls: 'yes' }));
  assert.throws(() => parseArgs(['--config-file', f], env), /invalid value for tls/);
});

test('a plain TCP host is refused unless --tls=false; then it warns, as server-only TLS does', () => {
  assert.throws(() => checkTcpHost(cfg(['-H', 'tcp://127.0.0.1:2375']), 'tcp://127.0.0.1:2375'), /refusing to listen on tcp:\/\/127\.0\.0\.1:2375 without TLS/);
  const off = cfg(['--tls=false', '-H', 'tcp://127.0.0.1:2375']);
  assert.equal(checkTcpHost(off, 'tcp://127.0.0.1:2375').warnings.length, 2);
  assert.match(infoWarnings(off)[0] ?? '', /API is accessible on http:\/\/127\.0\.0\.1:2375 without encryption/);
  const noVerify = cfg(['--tlsverify=false', '-H', 'tcp://127.0.0.1:2376']);
  assert.equal(checkTcpHost(noVerify, 'tcp://127.0.0.1:2376').warnings.length, 2);
  assert.match(infoWarnings(noVerify)[0] ?? '', /https:\/\/127\.0\.0\.1:2376 without TLS client verification/);
  const mutual = cfg(['--tlsverify', '-H', 'tcp://127.0.0.1:2376']);
  assert.deepEqual(checkTcpHost(mutual, 'tcp://127.0.0.1:2376').warnings, []);
  assert.deepEqual(infoWarnings(mutual), []);
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveHost } from './host.js';
import { clientCertDir, resolveClientTls, tlsEnabled } from './tls.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-client-tls-'));
for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.writeFileSync(path.join(dir, f), `${f}\n`);
const onlyCa = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-client-tls-ca-'));
fs.writeFileSync(path.join(onlyCa, 'ca.pem'), 'ca\n');

test('TLS on as the docker CLI decides it: flags, then DOCKER_TLS_VERIFY / DOCKER_TLS (any non-empty value)', () => {
  assert.equal(tlsEnabled({}, {}), false);
  assert.equal(tlsEnabled({ tls: true }, {}), true);
  assert.equal(tlsEnabled({ tlsVerify: false }, {}), true, 'saying --tlsverify=false still means TLS');
  assert.equal(tlsEnabled({}, { DOCKER_TLS_VERIFY: '1' }), true);
  assert.equal(tlsEnabled({}, { DOCKER_TLS_VERIFY: '0' }), true, 'the docker CLI only asks for non-empty');
  assert.equal(tlsEnabled({}, { DOCKER_TLS: '1' }), true);
  assert.equal(tlsEnabled({ tls: false }, { DOCKER_TLS: '1' }), false);
});

test('certificate directory and files', () => {
  assert.equal(clientCertDir({ HOME: '/h' }), '/h/.docker');
  assert.equal(clientCertDir({ HOME: '/h', DOCKER_CONFIG: '/c' }), '/c');
  assert.equal(clientCertDir({ HOME: '/h', DOCKER_CONFIG: '/c', DOCKER_CERT_PATH: '/p' }), '/p');
  assert.equal(clientCertDir({ DOCKER_CERT_PATH: '/p', BERTH_CERT_PATH: '/b' }), '/b');
  const t = resolveClientTls({}, { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir });
  assert.equal(t?.verify, true);
  assert.equal(t?.cert?.toString(), 'cert.pem\n');
  assert.equal(t?.key?.toString(), 'key.pem\n');
  const skip = resolveClientTls({ tls: true }, { DOCKER_CERT_PATH: onlyCa });
  assert.equal(skip?.verify, false);
  assert.equal(skip?.cert, undefined, 'no client pair in the directory: none sent');
  assert.throws(
    () => resolveClientTls({ tlsVerify: true }, { DOCKER_CERT_PATH: path.join(dir, 'nope') }),
    /unable to resolve docker endpoint: open .*nope\/ca\.pem: no such file or directory/,
  );
  assert.throws(() => resolveClientTls({ tlsVerify: true, certFile: path.join(dir, 'cert.pem') }, { DOCKER_CERT_PATH: onlyCa }), /--tlskey is missing/);
  assert.equal(resolveClientTls({}, {}), undefined);
});

test('hosts: -H, BERTH_HOST, DOCKER_HOST, then tcp://localhost:2376 with TLS, else the socket', () => {
  assert.equal(resolveHost({ flag: 'tcp://a:1', env: { BERTH_HOST: 'tcp://b:2' } }), 'tcp://a:1');
  assert.equal(resolveHost({ env: { BERTH_HOST: 'tcp://b:2', DOCKER_HOST: 'tcp://c:3' } }), 'tcp://b:2');
  assert.equal(resolveHost({ env: { DOCKER_HOST: 'tcp://c:3' } }), 'tcp://c:3');
  assert.equal(resolveHost({ env: {}, tls: true }), 'tcp://localhost:2376');
  assert.equal(resolveHost({ env: {} }), 'unix:///run/berth.sock');
});

test.after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(onlyCa, { recursive: true, force: true });
});

/** Unit tests: challenges, endpoints (loopback, insecure, mirrors), X-Registry-Auth, platforms, progress text. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { domainOfServerAddress, endpointsFor, isInsecure, isLoopback, authKeyFor, validateDistributionConfig } from './endpoint.js';
import { humanSize, progressBar } from './progress.js';
import { parsePlatform, pickManifest } from './pull.js';
import { parseChallenges } from './session.js';
import { decodeAuthHeader } from './types.js';

describe('WWW-Authenticate', () => {
  it('parses bearer and basic challenges', () => {
    const [b] = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"');
    assert.deepEqual(b, {
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    });
    const both = parseChallenges(['Basic realm="x"', 'Bearer realm="r",service=s']);
    assert.deepEqual(
      both.map((c) => c.scheme),
      ['basic', 'bearer'],
    );
    assert.equal(both[1]?.params['service'], 's');
  });
});

describe('endpoints', () => {
  it('loopback is plain HTTP, others HTTPS, insecure ones fall back', () => {
    for (const h of ['localhost:5000', '127.0.0.1:5000', '127.9.9.9', '[::1]:5000', 'localhost']) assert.ok(isLoopback(h), h);
    assert.ok(!isLoopback('registry.example:5000'));
    assert.equal(endpointsFor('localhost:5000', {})[0]?.base, 'http://localhost:5000');
    assert.deepEqual(endpointsFor('reg.example', {})[0], { base: 'https://reg.example', insecureTLS: false, httpFallback: false, mirror: false });
    const cfg = { insecureRegistries: ['reg.example:5000', '10.0.0.0/8'] };
    assert.ok(isInsecure('reg.example:5000', cfg));
    assert.ok(isInsecure('10.1.2.3:443', cfg));
    assert.ok(!isInsecure('11.1.2.3', cfg));
    assert.equal(endpointsFor('10.1.2.3:5000', cfg)[0]?.httpFallback, true);
  });
  it('docker.io goes through mirrors first (pull only)', () => {
    const cfg = { registryMirrors: ['https://mirror.example:5000'] };
    assert.deepEqual(
      endpointsFor('docker.io', cfg).map((e) => e.base),
      ['https://mirror.example:5000', 'https://registry-1.docker.io'],
    );
    assert.deepEqual(
      endpointsFor('docker.io', cfg, { push: true }).map((e) => e.base),
      ['https://registry-1.docker.io'],
    );
    assert.throws(() => validateDistributionConfig({ registryMirrors: ['ftp://x'] }), /invalid mirror/);
    assert.throws(() => validateDistributionConfig({ registryMirrors: ['https://x/path'] }), /path, query, or fragment/);
  });
  it('login server addresses and config.json keys', () => {
    assert.equal(domainOfServerAddress(undefined), 'docker.io');
    assert.equal(domainOfServerAddress('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(domainOfServerAddress('http://127.0.0.1:5000/'), '127.0.0.1:5000');
    assert.equal(authKeyFor('docker.io'), 'https://index.docker.io/v1/');
    assert.equal(authKeyFor('localhost:5000'), 'localhost:5000');
  });
});

describe('X-Registry-Auth', () => {
  it('decodes base64url JSON and the auth field', () => {
    const h = Buffer.from(JSON.stringify({ username: 'u', password: 'p?>', serveraddress: 's' })).toString('base64url');
    assert.deepEqual(decodeAuthHeader(h), { username: 'u', password: 'p?>', serveraddress: 's' });
    const a = Buffer.from(JSON.stringify({ auth: Buffer.from('x:y:z').toString('base64') })).toString('base64');
    assert.equal(decodeAuthHeader(a)?.password, 'y:z');
    assert.equal(decodeAuthHeader('not json'), undefined);
    assert.equal(decodeAuthHeader(undefined), undefined);
  });
});

describe('platforms', () => {
  const index = {
    schemaVersion: 2 as const,
    manifests: [
      { mediaType: 'm', digest: 'arm7', size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { mediaType: 'm', digest: 'arm64', size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      {
        mediaType: 'm',
        digest: 'att',
        size: 1,
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
      },
      { mediaType: 'm', digest: 'amd', size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    ],
  };
  it('picks linux/amd64 by default, variants on request', () => {
    assert.equal(pickManifest(index, parsePlatform(undefined))?.digest, 'amd');
    assert.equal(pickManifest(index, parsePlatform('linux/arm64'))?.digest, 'arm64');
    assert.equal(pickManifest(index, parsePlatform('linux/arm64/v8'))?.digest, 'arm64');
    assert.equal(pickManifest(index, parsePlatform('linux/arm/v7'))?.digest, 'arm7');
    assert.equal(pickManifest(index, parsePlatform('linux/s390x')), undefined);
    assert.deepEqual(parsePlatform('aarch64'), { os: 'linux', architecture: 'arm64' });
  });
});

describe('progress text', () => {
  it('uses docker units and a 50-column bar', () => {
    assert.equal(humanSize(512), '512B');
    assert.equal(humanSize(2_130_944), '2.131MB');
    const bar = progressBar(1, 2);
    assert.match(bar, /^\[={25}>\s{24}\]\s+1B\/2B$/);
  });
});

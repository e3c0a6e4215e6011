import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Project, Service } from '../model/types.js';
import { toContainer } from './convert.js';
import { durationNs } from './duration.js';
import { serviceHash } from './hash.js';
import { levels, withDependencies } from './plan.js';
import { splitReference } from './images.js';

function svc(name: string, extra: Partial<Service> = {}): Service {
  return {
    name,
    environment: {},
    labels: {},
    ports: [],
    volumes: [],
    networks: { default: null },
    depends_on: {},
    replicas: 1,
    secrets: [],
    configs: [],
    extensions: {},
    ...extra,
  };
}

function project(services: Service[]): Project {
  return {
    name: 'p',
    workingDir: '/w',
    files: ['/w/compose.yaml'],
    services: Object.fromEntries(services.map((s) => [s.name, s])),
    networks: { default: { name: 'p_default', labels: {} }, back: { name: 'p_back', labels: {} } },
    volumes: { data: { name: 'p_data', labels: {} } },
    configs: { cfg: { name: 'p_cfg', file: '/w/cfg.txt' } },
    secrets: { pw: { name: 'p_pw', file: '/w/pw.txt' }, tok: { name: 'p_tok', environment: 'TOK' } },
    disabledServices: {},
    extensions: {},
  };
}

const dep = { condition: 'service_started' as const, restart: false, required: true };

describe('compose engine', () => {
  it('config hash: stable under key order, blind to scale/replicas/build/depends_on, sensitive to env', () => {
    const a = svc('web', { environment: { A: '1', B: '2' } });
    const b = svc('web', {
      environment: { B: '2', A: '1' },
      replicas: 3,
      scale: 3,
      deploy: { replicas: 3 },
      depends_on: { db: dep },
      build: { context: '/x', args: {} },
    });
    assert.equal(serviceHash(a), serviceHash(b));
    assert.match(serviceHash(a), /^[0-9a-f]{64}$/);
    assert.notEqual(serviceHash(a), serviceHash(svc('web', { environment: { A: '2', B: '2' } })));
  });

  it('dependency levels, selection closure and cycles', () => {
    const p = project([svc('web', { depends_on: { app: dep } }), svc('app', { depends_on: { db: dep, cache: dep } }), svc('db'), svc('cache'), svc('other')]);
    assert.deepEqual(levels(p.services), [['cache', 'db', 'other'], ['app'], ['web']]);
    assert.deepEqual(withDependencies(p, ['app']).sort(), ['app', 'cache', 'db']);
    const c = project([svc('a', { depends_on: { b: dep } }), svc('b', { depends_on: { c: dep } }), svc('c', { depends_on: { a: dep } })]);
    assert.throws(() => levels(c.services), /dependency cycle detected: a -> b -> c -> a/);
  });

  it('converts a service to a create request as v2 does', () => {
    const s = svc('web', {
      image: 'busybox',
      command: ['httpd', '-f'],
      environment: { A: '1', UNSET: null },
      ports: [
        { target: 80, published: '8080', protocol: 'tcp', mode: 'ingress' },
        { target: 53, protocol: 'udp', mode: 'ingress', host_ip: '127.0.0.1' },
      ],
      volumes: [
        { type: 'volume', source: 'data', target: '/data' },
        { type: 'bind', source: '/w/src', target: '/src', read_only: true, bind: { create_host_path: true } },
        { type: 'volume', target: '/anon' },
      ],
      networks: { default: null, back: { aliases: ['web-alias'], priority: 10 } },
      healthcheck: { test: ['CMD', 'true'], interval: '1m30s', timeout: '500ms', retries: 3 },
      restart: 'on-failure:5',
      deploy: { resources: { limits: { cpus: '0.5', memory: 64 * 1024 * 1024 } } },
      secrets: [{ source: 'pw' }, { source: 'tok', target: 'token' }],
      configs: [{ source: 'cfg' }],
      cap_add: ['NET_ADMIN'],
      tmpfs: ['/run:size=64k'],
      stop_grace_period: '20s',
    });
    const plan = toContainer(project([s]), s, { number: 2, name: 'p-web-2', hash: 'h', imageId: 'sha256:x' });
    const b = plan.body;
    const h = b.HostConfig ?? {};
    assert.equal(b.Image, 'busybox');
    assert.deepEqual(b.Env, ['A=1']);
    assert.equal(b.Labels?.['com.docker.compose.container-number'], '2');
    assert.equal(b.Labels?.['com.docker.compose.image'], 'sha256:x');
    assert.deepEqual(b.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
    assert.deepEqual(h.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    assert.deepEqual(h.Binds, ['/w/src:/src:ro']);
    assert.deepEqual(h.Mounts, [
      { Type: 'volume', Target: '/data', Source: 'p_data' },
      { Type: 'volume', Target: '/anon' },
      { Type: 'bind', Source: '/w/pw.txt', Target: '/run/secrets/pw', ReadOnly: true },
      { Type: 'bind', Source: '/w/cfg.txt', Target: '/cfg', ReadOnly: true },
    ]);
    assert.deepEqual(plan.files, [{ target: '/run/secrets/token', content: process.env['TOK'] ?? '', mode: 0o444 }]);
    assert.equal(h.NetworkMode, 'p_back', 'the highest priority network first');
    assert.deepEqual(b.NetworkingConfig?.EndpointsConfig, { p_back: { Aliases: ['p-web-2', 'web', 'web-alias'] } });
    assert.deepEqual(plan.connect, [{ network: 'p_default', endpoint: { Aliases: ['p-web-2', 'web'] } }]);
    assert.deepEqual(b.Healthcheck, { Test: ['CMD', 'true'], Interval: 90e9, Timeout: 500e6, Retries: 3 });
    assert.deepEqual(h.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 5 });
    assert.equal(h.NanoCpus, 5e8);
    assert.equal(h.Memory, 64 * 1024 * 1024);
    assert.deepEqual(h.Tmpfs, { '/run': 'size=64k' });
    assert.equal(b.StopTimeout, 20);
  });

  it('durations and references', () => {
    assert.equal(durationNs('1h2m3.5s'), 3723.5e9);
    assert.throws(() => durationNs('5 parsecs'), /invalid duration/);
    assert.deepEqual(splitReference('localhost:5000/app'), { image: 'localhost:5000/app', tag: 'latest' });
    assert.deepEqual(splitReference('busybox:1.36'), { image: 'busybox', tag: '1.36' });
  });
});

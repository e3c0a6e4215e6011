// The loader against Debian's docker-compose 1.29 (`/usr/bin/docker-compose config`, no daemon
// needed): the same fixture files must give the same services, images, build contexts, environment,
// ports, volumes, networks and dependencies. 1.29 prints another format (short volume strings, ports
// half long, half short, all services whatever their profiles), so parsed facts are compared, not text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parse } from 'yaml';
import { withFixture } from '../../../test/helpers/composefixture.js';
import { loadProject } from './load.js';
import type { Project } from './types.js';

const COMPOSE129 = '/usr/bin/docker-compose';

interface Facts {
  services: Record<string, Record<string, unknown>>;
  networks: string[];
  volumes: string[];
}

type Doc = Record<string, unknown>;
const asDoc = (v: unknown): Doc => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Doc) : {});

function portFact(p: unknown): string {
  if (typeof p === 'string') {
    const m = /^(?:(.*):)?(\d*):(\d+)(?:\/(\w+))?$/.exec(p);
    assert.ok(m !== null, `1.29 port ${p}`);
    return `${m[1] ?? ''}|${m[2] ?? ''}|${m[3] ?? ''}|${m[4] ?? 'tcp'}`;
  }
  const o = asDoc(p);
  return `${String(o.host_ip ?? '')}|${String(o.published ?? '')}|${String(o.target)}|${String(o.protocol ?? 'tcp')}`;
}

function volumeFact(v: unknown): string {
  const [source, target, mode] = String(v).split(':');
  return `${source ?? ''}|${target ?? ''}|${mode === 'ro' ? 'ro' : 'rw'}`;
}

/** the facts of 1.29's `config` output */
function factsOf129(dir: string, args: string[], env: Record<string, string> = {}): Facts {
  const r = spawnSync(COMPOSE129, [...args, 'config'], { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, `docker-compose 1.29 config failed: ${r.stderr}`);
  const doc = asDoc(parse(r.stdout));
  const services: Facts['services'] = {};
  for (const [name, raw] of Object.entries(asDoc(doc.services))) {
    const s = asDoc(raw);
    services[name] = {
      image: s.image,
      build: asDoc(s.build).context,
      environment: asDoc(s.environment),
      ports: (Array.isArray(s.ports) ? s.ports : []).map(portFact).sort(),
      volumes: (Array.isArray(s.volumes) ? s.volumes : []).map(volumeFact).sort(),
      networks: Object.keys(asDoc(s.networks)).sort(),
      depends_on: Object.keys(asDoc(s.depends_on)).sort(),
    };
  }
  return { services, networks: Object.keys(asDoc(doc.networks)).sort(), volumes: Object.keys(asDoc(doc.volumes)).sort() };
}

/** the same facts of a loaded project (1.29 has no `default` network entry when no service names networks) */
function factsOf(p: Project): Facts {
  const services: Facts['services'] = {};
  for (const [name, s] of Object.entries(p.services)) {
    services[name] = {
      image: s.image,
      build: s.build?.context,
      environment: s.environment,
      ports: s.ports.map((x) => `${x.host_ip ?? ''}|${x.published ?? ''}|${x.target}|${x.protocol}`).sort(),
      volumes: s.volumes.map((v) => `${v.source ?? ''}|${v.target}|${v.read_only === true ? 'ro' : 'rw'}`).sort(),
      networks: Object.keys(s.networks)
        .filter((n) => n !== 'default')
        .sort(),
      depends_on: Object.keys(s.depends_on).sort(),
    };
  }
  return {
    services,
    networks: Object.keys(p.networks)
      .filter((n) => n !== 'default')
      .sort(),
    volumes: Object.keys(p.volumes).sort(),
  };
}

test('docker-compose 1.29 is installed (these comparisons need it)', () => {
  assert.ok(existsSync(COMPOSE129), `${COMPOSE129} is missing: apt-get install docker-compose`);
});

test('1.29 and the loader agree: ports, bind and named volumes, networks, build contexts, depends_on', async () => {
  const files = {
    'docker-compose.yml': [
      'version: "3.8"',
      'services:',
      '  web:',
      '    image: nginx:1.25',
      '    ports: ["8080:80", "127.0.0.1:8443:443/tcp", "5353:53/udp", "9000-9001:9000-9001"]',
      '    volumes: ["./html:/usr/share/nginx/html:ro", "logs:/var/log/nginx"]',
      '    depends_on: [app]',
      '    networks: [front]',
      '  app:',
      '    build: ./app',
      '    environment: {MODE: prod, EMPTY: ""}',
      '    networks: [front, back]',
      '    volumes: ["data:/data", "/srv/abs:/abs"]',
      'networks:',
      '  front: {}',
      '  back: {internal: true}',
      'volumes:',
      '  logs: {}',
      '  data: {}',
    ].join('\n'),
    'app/Dockerfile': 'FROM debian:bookworm\n',
  };
  await withFixture(files, async (dir) => {
    const p = await loadProject({ cwd: dir, environment: { HOME: dir } });
    assert.deepEqual(factsOf(p), factsOf129(dir, []));
  });
});

test('1.29 and the loader agree: override file merge, extends, .env interpolation (all profiles)', async () => {
  const files = {
    'compose.yaml': [
      'services:',
      '  base:',
      '    image: busybox:${TAG:-1.36}',
      '    environment: [A=1]',
      '  worker:',
      '    extends: base',
      '    environment: {B: "${B_VAL}"}',
      '    ports: ["9000-9001:9000-9001"]',
      '    volumes: ["/abs:/abs", "./rel:/rel:ro"]',
      '  debug:',
      '    image: alpine',
      '    profiles: [dbg]',
    ].join('\n'),
    'compose.override.yaml': 'services:\n  worker:\n    ports: ["7000:7000"]\n    environment: {C: "3"}\n    volumes: ["./other:/rel"]\n',
    '.env': 'B_VAL=from-dotenv\nTAG=1.37\n',
  };
  await withFixture(files, async (dir) => {
    const p = await loadProject({ cwd: dir, environment: { HOME: dir }, profiles: ['*'] });
    assert.deepEqual(factsOf(p), factsOf129(dir, []));
  });
});

test('1.29 and the loader agree: -f files, env_file under environment, extends from another file, bare variables, external and named resources', async () => {
  const files = {
    'a.yml': [
      'services:',
      '  svc:',
      '    image: redis:7',
      '    env_file: [svc.env]',
      '    environment: {OVER: from-environment}',
      '    volumes: ["cache:/data"]',
      '    networks: [ext, named]',
      '  derived:',
      '    extends: {file: lib/base.yml, service: base}',
      '    environment: [BARE, SET=1]',
      'networks:',
      '  ext: {external: true}',
      '  named: {name: my-net}',
      'volumes:',
      '  cache: {name: my-cache}',
    ].join('\n'),
    'lib/base.yml': 'services:\n  base:\n    image: alpine:3\n    volumes: ["./conf:/conf:ro"]\n    ports: ["127.0.0.1::8000"]\n',
    'b.yml': 'services:\n  svc:\n    ports: ["6379:6379"]\n    environment: {EXTRA: "1"}\n',
    'svc.env': 'FROM_FILE=yes\nOVER=from-file\n',
  };
  await withFixture(files, async (dir) => {
    const args = ['-f', 'a.yml', '-f', 'b.yml'];
    const p = await loadProject({ cwd: dir, files: ['a.yml', 'b.yml'], environment: { HOME: dir, BARE: 'from-shell' } });
    assert.deepEqual(factsOf(p), factsOf129(dir, args, { BARE: 'from-shell' }));
    assert.equal(p.services.derived?.volumes[0]?.source, `${dir}/lib/conf`);
    assert.equal(p.networks.ext?.name, 'ext');
    assert.equal(p.networks.named?.name, 'my-net');
    assert.equal(p.volumes.cache?.name, 'my-cache');
  });
});

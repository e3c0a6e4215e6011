import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { withFixture } from '../../../test/helpers/composefixture.js';
import { loadProject } from './load.js';

const compose = `
name: shop
services:
  web:
    image: nginx
    ports:
      - "8080:80/udp"
      - "127.0.0.1:8443:443"
      - "9000-9001:9000-9001"
      - 3000
      - target: 5000
        published: 5001
        host_ip: 0.0.0.0
        mode: host
    expose: [7000, "7001/udp"]
    volumes:
      - ./data:/d:ro
      - ~/cache:/c
      - named:/n
      - /anon
      - type: tmpfs
        target: /t
        tmpfs: {size: 64m}
    depends_on: [db, cache]
    environment: [A=1, B=, C, D=x=y]
    env_file: [web.env, {path: optional.env, required: false}]
    networks: [front, back]
    healthcheck:
      test: curl -f http://localhost/ || exit 1
      interval: 30s
      retries: "3"
    command: nginx -g "daemon off;"
    entrypoint: ["/docker-entrypoint.sh"]
    mem_limit: 512m
    shm_size: 1g
    cpus: "0.5"
    privileged: "true"
    scale: 2
    sysctls: [net.core.somaxconn=1024]
    ulimits: {nofile: 1024, nproc: {soft: 10, hard: 20}}
    extra_hosts: {somehost: 162.242.195.82}
    labels: [com.example=web]
    x-custom: {a: 1}
    cgroup_parent: mygroup
  db:
    build: ./db
    deploy:
      replicas: 3
      resources:
        limits: {cpus: "1.5", memory: 1g, pids: 100}
        reservations: {memory: 256m}
    secrets: [token]
    configs: [{source: conf, target: /etc/conf, mode: "0440"}]
    networks:
      back:
        aliases: [database]
        ipv4_address: 172.28.0.5
  cache:
    image: redis
    network_mode: host
networks:
  front: {}
  back:
    driver: bridge
    ipam: {config: [{subnet: 172.28.0.0/16}]}
  outside:
    external: true
  named_net:
    name: custom-net
volumes:
  named: {labels: [a=b]}
  ext: {external: true, name: real-ext}
secrets:
  token: {file: ./token.txt}
configs:
  conf: {content: "hello"}
x-top: 1
`;

test('short syntaxes become the long forms docker compose v2 prints', async () => {
  const files = { 'compose.yaml': compose, 'web.env': "A=from-file\nE=env-${HOME}\nC=c-from-file\nLIT='$HOME'\nF=${E}+\n", 'token.txt': 's3cret' };
  await withFixture(files, async (dir) => {
    const p = await loadProject({ cwd: dir, environment: { HOME: '/home/u', C: 'c-shell' } });
    const web = p.services.web;
    const db = p.services.db;
    assert.ok(web !== undefined && db !== undefined);
    assert.deepEqual(web.ports, [
      { target: 80, published: '8080', protocol: 'udp', mode: 'ingress' },
      { target: 443, published: '8443', host_ip: '127.0.0.1', protocol: 'tcp', mode: 'ingress' },
      { target: 9000, published: '9000', protocol: 'tcp', mode: 'ingress' },
      { target: 9001, published: '9001', protocol: 'tcp', mode: 'ingress' },
      { target: 3000, protocol: 'tcp', mode: 'ingress' },
      { target: 5000, published: '5001', host_ip: '0.0.0.0', protocol: 'tcp', mode: 'host' },
    ]);
    assert.deepEqual(web.expose, ['7000', '7001/udp']);
    assert.deepEqual(web.volumes, [
      { type: 'bind', source: path.join(dir, 'data'), target: '/d', read_only: true, bind: { create_host_path: true } },
      { type: 'bind', source: '/home/u/cache', target: '/c', bind: { create_host_path: true } },
      { type: 'volume', source: 'named', target: '/n' },
      { type: 'volume', target: '/anon' },
      { type: 'tmpfs', target: '/t', tmpfs: { size: 64 * 1024 * 1024 } },
    ]);
    assert.deepEqual(web.depends_on, {
      db: { condition: 'service_started', restart: false, required: true },
      cache: { condition: 'service_started', restart: false, required: true },
    });
    // env_file first, environment over it; a bare name takes the environment's value
    assert.deepEqual(web.environment, { A: '1', E: 'env-/home/u', LIT: '$HOME', F: 'env-/home/u+', C: 'c-shell', B: '', D: 'x=y' });
    assert.deepEqual(web.env_file, [path.join(dir, 'web.env'), path.join(dir, 'optional.env')]);
    assert.deepEqual(web.networks, { front: null, back: null });
    assert.deepEqual(web.healthcheck, { test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], interval: '30s', retries: 3 });
    assert.deepEqual(web.command, ['nginx', '-g', 'daemon off;']);
    assert.deepEqual(web.entrypoint, ['/docker-entrypoint.sh']);
    assert.equal(web.mem_limit, 512 * 1024 ** 2);
    assert.equal(web.shm_size, 1024 ** 3);
    assert.equal(web.cpus, 0.5);
    assert.equal(web.privileged, true);
    assert.equal(web.replicas, 2);
    assert.deepEqual(web.sysctls, { 'net.core.somaxconn': '1024' });
    assert.deepEqual(web.ulimits, { nofile: { soft: 1024, hard: 1024 }, nproc: { soft: 10, hard: 20 } });
    assert.deepEqual(web.extra_hosts, ['somehost:162.242.195.82']);
    assert.deepEqual(web.labels, { 'com.example': 'web' });
    assert.deepEqual(web.extensions, { 'x-custom': { a: 1 } });
    assert.deepEqual(web.other, { cgroup_parent: 'mygroup' });

    assert.equal(db.build?.context, path.join(dir, 'db'));
    assert.equal(db.command, null);
    assert.equal(db.replicas, 3);
    assert.deepEqual(db.deploy?.resources, { limits: { cpus: '1.5', memory: 1024 ** 3, pids: 100 }, reservations: { memory: 256 * 1024 ** 2 } });
    assert.deepEqual(db.secrets, [{ source: 'token' }]);
    assert.deepEqual(db.configs, [{ source: 'conf', target: '/etc/conf', mode: 0o440 }]);
    assert.deepEqual(db.networks, { back: { aliases: ['database'], ipv4_address: '172.28.0.5' } });
    assert.deepEqual(p.services.cache?.networks, {});

    assert.equal(p.name, 'shop');
    assert.deepEqual(Object.fromEntries(Object.entries(p.networks).map(([k, n]) => [k, n.name])), {
      front: 'shop_front',
      back: 'shop_back',
      outside: 'outside',
      named_net: 'custom-net',
    });
    assert.equal(p.networks.default, undefined, 'no service uses the default network');
    assert.deepEqual(p.networks.back?.ipam, { config: [{ subnet: '172.28.0.0/16' }] });
    assert.deepEqual(p.volumes, { named: { name: 'shop_named', labels: { a: 'b' } }, ext: { name: 'real-ext', external: true, labels: {} } });
    assert.deepEqual(p.secrets.token, { name: 'shop_token', file: path.join(dir, 'token.txt') });
    assert.deepEqual(p.configs.conf, { name: 'shop_conf', content: 'hello' });
    assert.deepEqual(p.extensions, { 'x-top': 1 });
  });
});

test('the default network is added for services without networks or network_mode; replicas default to 1', async () => {
  await withFixture({ 'compose.yaml': 'services:\n  a:\n    image: x\n  b:\n    image: y\n    network_mode: none\n' }, async (dir) => {
    const p = await loadProject({ cwd: dir, projectName: 'proj', environment: {} });
    assert.deepEqual(p.services.a?.networks, { default: null });
    assert.deepEqual(p.networks, { default: { name: 'proj_default', labels: {} } });
    assert.equal(p.services.a?.replicas, 1);
    assert.deepEqual(p.services.a?.ports, []);
    assert.deepEqual(p.services.a?.environment, {});
  });
});

test('relative paths resolve against the project directory (--project-directory), not the cwd', async () => {
  await withFixture(
    { 'files/compose.yaml': 'services:\n  a:\n    build: {context: ., dockerfile: Dockerfile.dev}\n    volumes: [../shared:/s]\n', 'proj/.env': 'X=1\n' },
    async (dir) => {
      const p = await loadProject({ cwd: dir, files: ['files/compose.yaml'], projectDirectory: 'proj', environment: {} });
      assert.equal(p.workingDir, path.join(dir, 'proj'));
      assert.equal(p.services.a?.build?.context, path.join(dir, 'proj'));
      assert.equal(p.services.a?.build?.dockerfile, 'Dockerfile.dev');
      assert.equal(p.services.a?.volumes[0]?.source, path.join(dir, 'shared'));
      assert.equal(p.name, 'proj');
    },
  );
});

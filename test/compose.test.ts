/**
 * Debian's docker-compose 1.29 (docker-py 5, which negotiates the daemon's newest API version)
 * through a whole application life cycle on berthd: a three-service project in a temp dir — a
 * `build:` service from a Dockerfile FROM busybox that fills a shared volume, a busybox httpd web
 * service publishing a port, and a client reaching the web service by name over the project
 * network — built, started, listed, reached over HTTP, scaled, restarted (same addresses),
 * recreated after an edit, with --force-recreate and with --build (the image's anonymous VOLUME
 * carried along), its logs and exec, and taken
 * down with -v leaving nothing behind but what dockerd leaves too. Bridges are `bh6…`, subnets inside 10.206.0.0/16.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestDaemon, run, waitFor, type RunResult } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { lines, ok } from './helpers/assert.js';
import { drainNetLeftovers, linkExists, uniqueBridge, uniqueOctet } from './helpers/net.js';

const COMPOSE = '/usr/bin/docker-compose';
const defBridge = uniqueBridge('bh6d');
const appBridge = uniqueBridge('bh6n');
const defOctet = uniqueOctet([], '10.206');
const appOctet = uniqueOctet([defOctet], '10.206');
const project = `compat${Math.random().toString(36).slice(2, 7)}`;

let d: TestDaemon;
let dir: string;

before(async () => {
  assert.ok(fs.existsSync(COMPOSE), `docker-compose 1.29 is needed at ${COMPOSE} (apt-get install docker-compose; scripts/install-deps.sh)`);
  d = await TestDaemon.start({ bridge: defBridge, bip: `10.206.${defOctet}.1/24` });
  dir = fs.mkdtempSync('/tmp/berth-compose-');
});

after(async () => {
  try {
    if (d && dir) await compose(['down', '-v', '--remove-orphans']).catch(() => undefined);
    await cleanupAndCheck(d);
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(await drainNetLeftovers([defBridge, appBridge], waitFor), [], 'no veths left on the test bridges');
  }
});

const T = { timeout: 300_000 };

function compose(args: string[], timeout = 180_000): Promise<RunResult> {
  return run(COMPOSE, ['-p', project, ...args], {
    cwd: dir,
    timeout,
    env: { DOCKER_HOST: d.host, COMPOSE_INTERACTIVE_NO_CLI: '1', DOCKER_CONFIG: path.join(d.root, 'docker-config') },
  });
}

/** compose's result, failing on a non-zero exit or a Python traceback (the KeyError of old). */
function composeOk(r: RunResult): string {
  assert.equal(r.code, 0, r.desc);
  assert.doesNotMatch(r.stderr, /Traceback|KeyError/, r.desc);
  return r.stdout.trim();
}

function writeApp(o: { clientSleep: number; buildTag: string }): void {
  fs.mkdirSync(path.join(dir, 'tool'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'tool', 'Dockerfile'), `FROM busybox\nRUN echo ${o.buildTag} > /built\nVOLUME /state\nLABEL compat.tool=1\n`);
  fs.writeFileSync(
    path.join(dir, 'docker-compose.yml'),
    `version: "3.8"
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    volumes:
      - www:/www
    ports:
      - "127.0.0.1::8080"
  tool:
    build: ./tool
    command: ["sh", "-c", "test -f /state/first || cp /built /state/first; echo \\"hello from $$(cat /built)\\" > /www/index.html; echo tool ready; exec sleep 3600"]
    volumes:
      - www:/www
  client:
    image: busybox
    command: ["sh", "-c", "while :; do wget -q -O /tmp/last http://web:8080/ 2>/tmp/err; sleep ${o.clientSleep}; done"]
volumes:
  www: {}
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: ${appBridge}
    ipam:
      config:
        - subnet: 10.206.${appOctet}.0/24
`,
  );
}

interface Listed {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string>;
}

async function projectContainers(): Promise<Listed[]> {
  const f = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  return (await d.api.get(`/containers/json?all=1&filters=${f}`)).json<Listed[]>();
}

/** name → IPv4 address on the project network, for running containers. */
async function addresses(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of await projectContainers()) {
    if (c.State !== 'running') continue;
    const ins = await d.api.inspect(c.Id);
    out[(c.Names[0] ?? '').slice(1)] = ins.NetworkSettings.Networks[`${project}_default`]?.IPAddress ?? '';
  }
  return out;
}

async function httpGet(url: string): Promise<string> {
  const res = await fetch(url);
  return `${res.status} ${await res.text()}`;
}

/** The published host port of web's 8080, as `docker-compose port` prints it. */
async function webUrl(): Promise<string> {
  const hostPort = composeOk(await compose(['port', 'web', '8080']));
  assert.match(hostPort, /^127\.0\.0\.1:\d+$/);
  return `http://${hostPort}/`;
}

describe('docker-compose 1.29', () => {
  it('build, up -d, ps, the published port over HTTP, the client reaching web by name', T, async () => {
    writeApp({ clientSleep: 1, buildTag: 'build-one' });
    const build = await compose(['build']);
    assert.match(composeOk(build), new RegExp(`Successfully tagged ${project}_tool:latest`), build.desc);
    const up = await compose(['up', '-d']);
    composeOk(up);
    assert.match(up.stderr, new RegExp(`Creating network "${project}_default" with the default driver`), up.desc);
    assert.ok(linkExists(appBridge), `the project network's bridge ${appBridge} exists`);
    const ps = composeOk(await compose(['ps']));
    for (const svc of ['web', 'tool', 'client']) assert.match(ps, new RegExp(`^${project}_${svc}_1 .* Up`, 'm'), ps);
    assert.deepEqual(lines(composeOk(await compose(['ps', '--services']))).sort(), ['client', 'tool', 'web']);
    const url = await webUrl();
    await waitFor(async () => (await httpGet(url)) === '200 hello from build-one\n', { timeout: 20_000, what: `GET ${url}` });
    // the client resolves "web" through the embedded DNS on the project network
    await waitFor(async () => (await compose(['exec', '-T', 'client', 'cat', '/tmp/last'])).stdout === 'hello from build-one\n', {
      timeout: 20_000,
      what: 'client fetched http://web:8080/',
    });
  });

  it('scale client to 2; restart keeps every address', T, async () => {
    const up = await compose(['up', '-d', '--scale', 'client=2']);
    composeOk(up);
    assert.match(up.stderr, new RegExp(`Creating ${project}_client_2`), up.desc);
    const before = await addresses();
    assert.deepEqual(Object.keys(before).sort(), [`${project}_client_1`, `${project}_client_2`, `${project}_tool_1`, `${project}_web_1`]);
    for (const ip of Object.values(before)) assert.match(ip, new RegExp(`^10\\.206\\.${appOctet}\\.\\d+$`));
    await waitFor(async () => (await compose(['exec', '-T', '--index=2', 'client', 'cat', '/tmp/last'])).stdout === 'hello from build-one\n', {
      timeout: 20_000,
      what: 'client_2 fetched http://web:8080/',
    });
    composeOk(await compose(['restart']));
    assert.deepEqual(await addresses(), before, "a restart keeps the containers' addresses");
    await waitFor(async () => (await httpGet(await webUrl())) === '200 hello from build-one\n', { timeout: 20_000, what: 'web after restart' });
  });

  it('recreate after editing the file, --force-recreate, --build after a Dockerfile change: no KeyError, names kept, app serving', T, async () => {
    const idsOf = async (): Promise<Record<string, string>> => Object.fromEntries((await projectContainers()).map((c) => [(c.Names[0] ?? '').slice(1), c.Id]));
    const ids0 = await idsOf();

    writeApp({ clientSleep: 2, buildTag: 'build-one' });
    const edit = await compose(['up', '-d']);
    composeOk(edit);
    assert.match(edit.stderr, new RegExp(`Recreating ${project}_client_1 .*done`), edit.desc);
    const ids1 = await idsOf();
    assert.deepEqual(Object.keys(ids1).sort(), [`${project}_client_1`, `${project}_tool_1`, `${project}_web_1`], 'scale back to 1, nothing renamed');
    assert.notEqual(ids1[`${project}_client_1`], ids0[`${project}_client_1`], 'client recreated');
    assert.equal(ids1[`${project}_web_1`], ids0[`${project}_web_1`], 'web untouched');
    const ins = await d.api.inspect(`${project}_client_1`);
    assert.deepEqual(ins.Config.Cmd.at(-1), 'while :; do wget -q -O /tmp/last http://web:8080/ 2>/tmp/err; sleep 2; done');

    const force = await compose(['up', '-d', '--force-recreate']);
    composeOk(force);
    for (const svc of ['web', 'tool', 'client']) assert.match(force.stderr, new RegExp(`Recreating ${project}_${svc}_1 .*done`), force.desc);
    const ids2 = await idsOf();
    for (const svc of ['web', 'tool', 'client']) assert.notEqual(ids2[`${project}_${svc}_1`], ids1[`${project}_${svc}_1`], `${svc} recreated`);
    for (const c of await projectContainers()) assert.equal(c.State, 'running', `${c.Names[0]} running`);

    writeApp({ clientSleep: 2, buildTag: 'build-two' });
    const rebuild = await compose(['up', '--build', '-d']);
    composeOk(rebuild);
    assert.match(rebuild.stderr, new RegExp(`Recreating ${project}_tool_1 .*done`), rebuild.desc);
    assert.equal((await compose(['exec', '-T', 'tool', 'cat', '/built'])).stdout, 'build-two\n');
    // the image's anonymous VOLUME came along through every recreate (compose reads the old
    // image's ContainerConfig.Volumes and binds the old container's volume into the new one)
    assert.equal((await compose(['exec', '-T', 'tool', 'cat', '/state/first'])).stdout, 'build-one\n');
    // the named volume survived every recreate and now holds the new build's page
    await waitFor(async () => (await httpGet(await webUrl())) === '200 hello from build-two\n', { timeout: 20_000, what: 'web serving build-two' });
    assert.equal((await projectContainers()).length, 3, 'no renamed leftovers');
  });

  it('logs and exec', T, async () => {
    const logs = composeOk(await compose(['logs', '--no-color', 'tool']));
    assert.match(logs, /^tool_1 +\| tool ready$/m, logs);
    const ex = await compose(['exec', '-T', 'web', 'sh', '-c', 'cat /www/index.html; exit 3']);
    assert.equal(ex.code, 3, ex.desc);
    assert.equal(ex.stdout, 'hello from build-two\n');
  });

  it('down -v leaves no container, network or bridge, and only the volume dockerd leaves too', T, async () => {
    const tool = await d.api.inspect(`${project}_tool_1`);
    const state = (tool.Mounts as Array<{ Destination: string; Name: string }>).find((m) => m.Destination === '/state')?.Name;
    assert.ok(state, 'the tool container mounts its image VOLUME');
    const down = await compose(['down', '-v']);
    composeOk(down);
    assert.match(down.stderr, new RegExp(`Removing network ${project}_default`), down.desc);
    assert.match(down.stderr, new RegExp(`Removing volume ${project}_www`), down.desc);
    assert.deepEqual(await projectContainers(), []);
    const nets = (await d.api.get('/networks')).json<Array<{ Name: string }>>().map((n) => n.Name);
    assert.equal(nets.includes(`${project}_default`), false, nets.join(' '));
    // The image VOLUME's anonymous volume, carried over the recreates by name (a Binds entry),
    // outlives `down -v` — as on dockerd 20.10, which keeps volumes mounted by name on rm -v.
    const vols = (await d.api.get('/volumes')).json<{ Volumes: Array<{ Name: string }> }>().Volumes.map((v) => v.Name);
    assert.deepEqual(vols, [state], 'only the carried-over anonymous volume is left');
    assert.equal((await d.api.delete(`/volumes/${state}`)).status, 204);
    await waitFor(() => !linkExists(appBridge), { timeout: 10_000, what: `bridge ${appBridge} removed` });
    assert.equal(ok(await d.docker(['ps', '-aq'])), '');
  });
});

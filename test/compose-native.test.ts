/**
 * `berth compose` (the native engine, src/compose/engine/) on a fresh berthd: a three-service
 * application — db (busybox httpd with a healthcheck and a named volume), app (depends_on db
 * service_healthy, on a user network where db has an alias), web (publishing a port) — brought
 * up, listed, scaled up and down, edited so only the changed service is recreated, restarted
 * keeping its addresses; the real docker CLI 28 driving the same project through the plugin
 * (bin/docker-compose linked into $DOCKER_CONFIG/cli-plugins); Debian's docker-compose 1.29
 * listing and removing a berth project and berth removing a 1.29 project; and `down -v` leaving
 * no container, network or volume. Bridges are `bcn…`, subnets inside 10.213.0.0/16.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DOCKER, REPO, TestDaemon, cleanupAndCheck, waitFor, type RunResult } from './helpers/daemon.js';
import { projectAddresses, projectContainers, projectIds, type Listed } from './helpers/composeproject.js';
import { lines } from './helpers/assert.js';
import { drainNetLeftovers, linkExists, uniqueBridge, uniqueOctet } from './helpers/net.js';

const COMPOSE129 = '/usr/bin/docker-compose';
const defBridge = uniqueBridge('bcnd');
const appDef = uniqueBridge('bcna');
const appBack = uniqueBridge('bcnb');
const oldDef = uniqueBridge('bcno');
const bldDef = uniqueBridge('bcnk');
const octets: number[] = [];
const octet = (): number => {
  const x = uniqueOctet(octets, '10.213');
  octets.push(x);
  return x;
};
const [defOctet, appDefOctet, appBackOctet, oldOctet, bldOctet] = [octet(), octet(), octet(), octet(), octet()];
const project = `native${Math.random().toString(36).slice(2, 7)}`;
const oldProject = `${project}old`;
const bldProject = `${project}bld`;

let d: TestDaemon;
let dir: string;

before(async () => {
  assert.ok(fs.existsSync(DOCKER), `the docker CLI is needed at ${DOCKER}`);
  assert.ok(fs.existsSync(COMPOSE129), `docker-compose 1.29 is needed at ${COMPOSE129} (scripts/install-deps.sh)`);
  d = await TestDaemon.start({ bridge: defBridge, bip: `10.213.${defOctet}.1/24` });
  dir = fs.mkdtempSync('/tmp/berth-compose-native-');
});

after(async () => {
  try {
    if (d && dir) {
      await compose(['down', '-v', '--remove-orphans']).catch(() => undefined);
      await compose(['-p', oldProject, 'down', '-v']).catch(() => undefined);
      await compose(['-p', bldProject, 'down', '-v', '--rmi', 'local']).catch(() => undefined);
    }
    await cleanupAndCheck(d);
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(await drainNetLeftovers([defBridge, appDef, appBack, oldDef, bldDef], waitFor), [], 'no veths left on the test bridges');
  }
});

const T = { timeout: 300_000 };

function compose(args: string[], o: { timeout?: number; cwd?: string } = {}): Promise<RunResult> {
  return d.berth(['compose', ...(args[0] === '-p' ? [] : ['-p', project]), ...args], { cwd: o.cwd ?? dir, timeout: o.timeout ?? 180_000 });
}

function okOut(r: RunResult): string {
  assert.equal(r.code, 0, r.desc);
  return r.stdout;
}

function writeApp(o: { mode: string }): void {
  fs.writeFileSync(
    path.join(dir, 'compose.yaml'),
    `services:
  db:
    image: busybox
    stop_grace_period: 1s
    command: ["sh", "-c", "echo db up; echo hello > /data/index.html; exec httpd -f -p 80 -h /data"]
    volumes:
      - data:/data
    healthcheck:
      test: ["CMD-SHELL", "test -f /data/index.html"]
      interval: 1s
      timeout: 2s
      retries: 10
    networks:
      back:
        aliases: [database]
  app:
    image: busybox
    stop_grace_period: 1s
    command: ["sh", "-c", "echo app $$MODE; while :; do wget -q -O /tmp/last http://database/; sleep 1; done"]
    environment:
      MODE: ${o.mode}
    depends_on:
      db:
        condition: service_healthy
    networks: [back, default]
  web:
    image: busybox
    stop_grace_period: 1s
    command: ["httpd", "-f", "-p", "8080"]
    ports: ["127.0.0.1::8080"]
    depends_on: [app]
volumes:
  data: {}
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: ${appDef}
    ipam:
      config:
        - subnet: 10.213.${appDefOctet}.0/24
  back:
    driver_opts:
      com.docker.network.bridge.name: ${appBack}
    ipam:
      config:
        - subnet: 10.213.${appBackOctet}.0/24
`,
  );
}

const containersOf = (p = project): Promise<Listed[]> => projectContainers(d, p);
const idsByName = (): Promise<Record<string, string>> => projectIds(d, project);
const addresses = (): Promise<Record<string, Record<string, string>>> => projectAddresses(d, project);

describe('berth compose', () => {
  it('up -d: networks, volume, dependency order with service_healthy, v2 names and labels, name resolution', T, async () => {
    writeApp({ mode: 'one' });
    const up = await compose(['up', '-d']);
    assert.equal(up.code, 0, up.desc);
    for (const l of [
      `Network ${project}_back  Created`,
      `Network ${project}_default  Created`,
      `Volume "${project}_data"  Created`,
      `Container ${project}-db-1  Healthy`,
      `Container ${project}-web-1  Started`,
    ]) {
      assert.ok(up.stderr.includes(l), `${l} in\n${up.stderr}`);
    }
    const order = ['db-1  Started', 'db-1  Healthy', 'app-1  Started', 'web-1  Started'].map((s) => up.stderr.indexOf(`${project}-${s}`));
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      `start order db → healthy → app → web:\n${up.stderr}`,
    );
    assert.ok(linkExists(appBack), `the back network's bridge ${appBack} exists`);

    const ps = okOut(await compose(['ps']));
    for (const svc of ['db', 'app', 'web']) assert.match(ps, new RegExp(`^${project}-${svc}-1 +busybox .* ${svc} .* Up`, 'm'), ps);
    assert.match(ps, /^NAME +IMAGE +COMMAND +SERVICE +CREATED +STATUS +PORTS$/m);
    assert.match(ps, /127\.0\.0\.1:\d+->8080\/tcp/);
    assert.deepEqual(lines(okOut(await compose(['ps', '--services']))), ['app', 'db', 'web']);

    const app = await d.api.inspect(`${project}-app-1`);
    const labels = app.Config.Labels as Record<string, string>;
    assert.equal(labels['com.docker.compose.project'], project);
    assert.equal(labels['com.docker.compose.service'], 'app');
    assert.equal(labels['com.docker.compose.container-number'], '1');
    assert.equal(labels['com.docker.compose.oneoff'], 'False');
    assert.match(labels['com.docker.compose.config-hash'] ?? '', /^[0-9a-f]{64}$/);
    assert.equal(labels['com.docker.compose.project.config_files'], path.join(dir, 'compose.yaml'));
    assert.equal(labels['com.docker.compose.project.working_dir'], dir);
    assert.equal(labels['com.docker.compose.depends_on'], 'db:service_healthy:false');
    assert.match(labels['com.docker.compose.version'] ?? '', /^2\.\d+\.\d+$/);
    assert.match(labels['com.docker.compose.image'] ?? '', /^sha256:[0-9a-f]{64}$/);
    const net = (await d.api.get(`/networks/${project}_back`)).json<{ Labels: Record<string, string> }>();
    assert.equal(net.Labels['com.docker.compose.network'], 'back');
    assert.equal(net.Labels['com.docker.compose.project'], project);
    const vol = (await d.api.get(`/volumes/${project}_data`)).json<{ Labels: Record<string, string> }>();
    assert.equal(vol.Labels['com.docker.compose.volume'], 'data');
    assert.equal(vol.Labels['com.docker.compose.project'], project);

    // app reaches db by its alias on the back network, and by service name
    await waitFor(async () => (await compose(['exec', '-T', 'app', 'cat', '/tmp/last'])).stdout === 'hello\n', {
      timeout: 20_000,
      what: 'app fetched http://database/',
    });
    const byName = await compose(['exec', '-T', 'app', 'wget', '-q', '-O', '-', `http://db/`]);
    assert.equal(byName.stdout, 'hello\n', byName.desc);
    const logs = okOut(await compose(['logs', '--no-color', 'app']));
    assert.match(logs, /^app-1 +\| app one$/m, logs);
  });

  it('run --rm and exec pass exit codes; a one-off carries oneoff=True and is gone after --rm', T, async () => {
    const r = await compose(['run', '--rm', '-T', '-e', 'X=42', 'app', 'sh', '-c', 'echo x=$X; exit 7']);
    assert.equal(r.code, 7, r.desc);
    assert.equal(r.stdout, 'x=42\n');
    const e = await compose(['exec', '-T', 'db', 'sh', '-c', 'cat /data/index.html; exit 3']);
    assert.equal(e.code, 3, e.desc);
    assert.equal(e.stdout, 'hello\n');
    const one = await compose(['run', '-d', 'app', 'sleep', '30']);
    assert.equal(one.code, 0, one.desc);
    const name = one.stdout.trim();
    assert.match(name, new RegExp(`^${project}-app-run-[0-9a-f]{12}$`));
    assert.equal((await d.api.inspect(name)).Config.Labels['com.docker.compose.oneoff'], 'True');
    assert.deepEqual(lines(okOut(await compose(['ps', '-q']))).length, 3, 'ps leaves one-offs out');
    assert.equal((await d.api.delete(`/containers/${name}?force=1`)).status, 204);
  });

  it('a bad file fails with file, line and field and creates nothing', T, async () => {
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'services:\n  x:\n    image: busybox\n    ports: 12\n');
    const r = await compose(['-p', `${project}bad`, '-f', bad, 'up', '-d']);
    assert.equal(r.code, 1, r.desc);
    assert.match(r.stderr, new RegExp(`${bad}:4: services\\.x\\.ports`), r.stderr);
    assert.deepEqual(await containersOf(`${project}bad`), []);
    const nets = (await d.api.get('/networks')).json<Array<{ Name: string }>>().map((n) => n.Name);
    assert.equal(nets.includes(`${project}bad_default`), false);
  });

  it('scale app up to 3 and back down to 1 (highest numbers removed)', T, async () => {
    const upScale = await compose(['up', '-d', '--scale', 'app=3']);
    assert.equal(upScale.code, 0, upScale.desc);
    assert.match(upScale.stderr, new RegExp(`Container ${project}-app-3  Started`));
    assert.match(upScale.stderr, new RegExp(`Container ${project}-db-1  Running`));
    const names = Object.keys(await idsByName()).sort();
    assert.deepEqual(names, [`${project}-app-1`, `${project}-app-2`, `${project}-app-3`, `${project}-db-1`, `${project}-web-1`]);
    await waitFor(async () => (await compose(['exec', '-T', '--index', '3', 'app', 'cat', '/tmp/last'])).stdout === 'hello\n', {
      timeout: 20_000,
      what: 'app-3 fetched',
    });
    const down = await compose(['up', '-d', '--scale', 'app=1']);
    assert.equal(down.code, 0, down.desc);
    assert.match(down.stderr, new RegExp(`Container ${project}-app-3  Removed`));
    assert.deepEqual(Object.keys(await idsByName()).sort(), [`${project}-app-1`, `${project}-db-1`, `${project}-web-1`]);
  });

  it("editing app's environment recreates only app; up again changes nothing", T, async () => {
    const before = await idsByName();
    writeApp({ mode: 'two' });
    const up = await compose(['up', '-d']);
    assert.equal(up.code, 0, up.desc);
    assert.match(up.stderr, new RegExp(`Container ${project}-app-1  Recreated`));
    const after = await idsByName();
    assert.notEqual(after[`${project}-app-1`], before[`${project}-app-1`], 'app recreated');
    assert.equal(after[`${project}-db-1`], before[`${project}-db-1`], 'db kept');
    assert.equal(after[`${project}-web-1`], before[`${project}-web-1`], 'web kept');
    assert.ok(((await d.api.inspect(`${project}-app-1`)).Config.Env as string[]).includes('MODE=two'));
    const again = await compose(['up', '-d']);
    assert.equal(again.code, 0, again.desc);
    assert.doesNotMatch(again.stderr, /Recreate|Creat/, again.stderr);
    assert.deepEqual(await idsByName(), after);
  });

  it('restart keeps every address', T, async () => {
    const before = await addresses();
    assert.match(before[`${project}-db-1`]?.[`${project}_back`] ?? '', new RegExp(`^10\\.213\\.${appBackOctet}\\.\\d+$`));
    const r = await compose(['restart']);
    assert.equal(r.code, 0, r.desc);
    assert.deepEqual(await addresses(), before);
    for (const c of await containersOf()) assert.equal(c.State, 'running', `${c.Names[0]} running`);
  });

  it('the docker CLI 28 runs docker compose ps/up -d through the plugin', T, async () => {
    const plugins = path.join(d.root, 'docker-config', 'cli-plugins');
    const inst = await d.berth(['compose', 'install-plugin']);
    assert.equal(inst.code, 0, inst.desc);
    assert.equal(fs.realpathSync(path.join(plugins, 'docker-compose')), path.join(REPO, 'bin', 'docker-compose'));
    const meta = JSON.parse(okOut(await d.docker(['compose', 'version', '--format', 'json']))) as { version: string };
    assert.match(meta.version, /^v2\./);
    const ps = await d.docker(['compose', '-p', project, 'ps', '--format', 'json'], { cwd: dir });
    assert.equal(ps.code, 0, ps.desc);
    assert.deepEqual(
      lines(ps.stdout)
        .map((l) => (JSON.parse(l) as { Name: string }).Name)
        .sort(),
      [`${project}-app-1`, `${project}-db-1`, `${project}-web-1`],
    );
    const before = await idsByName();
    const up = await d.docker(['compose', '-p', project, 'up', '-d'], { cwd: dir });
    assert.equal(up.code, 0, up.desc);
    assert.match(up.stderr, new RegExp(`Container ${project}-web-1  Running`));
    assert.deepEqual(await idsByName(), before, 'nothing recreated through the plugin');
  });

  it("docker-compose 1.29 lists berth's project; berth lists and removes a 1.29 project", T, async () => {
    const env = { DOCKER_HOST: d.host, COMPOSE_INTERACTIVE_NO_CLI: '1' };
    const ps = await runCompose129(['-p', project, 'ps'], env);
    assert.equal(ps.code, 0, ps.desc);
    for (const svc of ['db', 'app', 'web']) assert.match(ps.stdout, new RegExp(`^${project}-${svc}-1 .* Up`, 'm'), ps.stdout);

    const old = path.join(dir, 'old');
    fs.mkdirSync(old);
    fs.writeFileSync(
      path.join(old, 'docker-compose.yml'),
      `version: "3.8"\nservices:\n  one:\n    image: busybox\n    command: ["sleep", "3600"]\n    volumes: [keep:/keep]\nvolumes:\n  keep: {}\nnetworks:\n  default:\n    driver_opts:\n      com.docker.network.bridge.name: ${oldDef}\n    ipam:\n      config:\n        - subnet: 10.213.${oldOctet}.0/24\n`,
    );
    const up = await runCompose129(['-p', oldProject, 'up', '-d'], env, old);
    assert.equal(up.code, 0, up.desc);
    const bps = okOut(await compose(['-p', oldProject, 'ps'], { cwd: old }));
    assert.match(bps, new RegExp(`^${oldProject}_one_1 +busybox .* one .* Up`, 'm'), bps);
    const down = await compose(['-p', oldProject, 'down', '-v'], { cwd: old });
    assert.equal(down.code, 0, down.desc);
    assert.deepEqual(await containersOf(oldProject), []);
    const nets = (await d.api.get('/networks')).json<Array<{ Name: string }>>().map((n) => n.Name);
    assert.equal(nets.includes(`${oldProject}_default`), false, nets.join(' '));
    const vols = (await d.api.get('/volumes')).json<{ Volumes: Array<{ Name: string }> | null }>().Volumes ?? [];
    assert.equal(
      vols.some((v) => v.Name === `${oldProject}_keep`),
      false,
    );
  });

  it('build sections, a file secret and an inline config, service_completed_successfully, --wait, depends_on restart', T, async () => {
    const bdir = path.join(dir, 'bld');
    fs.mkdirSync(path.join(bdir, 'tool'), { recursive: true });
    fs.writeFileSync(path.join(bdir, 'tool', 'Dockerfile'), 'FROM busybox\nARG GREETING=none\nRUN echo $GREETING > /greeting\n');
    fs.writeFileSync(path.join(bdir, 'pw.txt'), 's3cret\n');
    const write = (initMsg: string): void =>
      fs.writeFileSync(
        path.join(bdir, 'compose.yaml'),
        `services:
  init:
    image: busybox
    command: ["sh", "-c", "echo ${initMsg} > /shared/init; exit 0"]
    volumes: [shared:/shared]
  tool:
    build:
      context: ./tool
      args: { GREETING: built-here }
    stop_grace_period: 1s
    command: ["sh", "-c", "cat /greeting /run/secrets/pw /etc/app.conf /shared/init; exec sleep 3600"]
    volumes: [shared:/shared]
    secrets: [pw]
    configs:
      - source: appconf
        target: /etc/app.conf
    healthcheck:
      test: ["CMD", "test", "-f", "/greeting"]
      interval: 1s
    depends_on:
      init:
        condition: service_completed_successfully
        restart: true
secrets:
  pw:
    file: ./pw.txt
configs:
  appconf:
    content: |
      conf-line
volumes:
  shared: {}
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: ${bldDef}
    ipam:
      config:
        - subnet: 10.213.${bldOctet}.0/24
`,
      );
    write('first');
    const up = await compose(['-p', bldProject, 'up', '-d', '--wait'], { cwd: bdir });
    assert.equal(up.code, 0, up.desc);
    assert.match(up.stderr, new RegExp(`Container ${bldProject}-init-1  Exited`));
    assert.match(up.stderr, new RegExp(`Container ${bldProject}-tool-1  Healthy`));
    const tool = `${bldProject}-tool-1`;
    assert.equal((await d.api.inspect(tool)).State.Health.Status, 'healthy', '--wait returned once healthy');
    await waitFor(
      async () => okOut(await compose(['-p', bldProject, 'logs', '--no-log-prefix', 'tool'], { cwd: bdir })) === 'built-here\ns3cret\nconf-line\nfirst\n',
      {
        timeout: 20_000,
        what: 'tool printed its build, secret, config and init output',
      },
    );
    const images = okOut(await compose(['-p', bldProject, 'images'], { cwd: bdir }));
    assert.match(images, new RegExp(`^${tool} +${bldProject}-tool +latest +[0-9a-f]{12}`, 'm'), images);
    // init changes: it is recreated, and tool (depends_on restart: true) restarted, not recreated
    const toolId = (await d.api.inspect(tool)).Id as string;
    const started = (await d.api.inspect(tool)).State.StartedAt as string;
    write('second');
    const again = await compose(['-p', bldProject, 'up', '-d'], { cwd: bdir });
    assert.equal(again.code, 0, again.desc);
    assert.match(again.stderr, new RegExp(`Container ${bldProject}-init-1  Recreated`));
    assert.match(again.stderr, new RegExp(`Container ${tool}  Restarted`));
    const after = await d.api.inspect(tool);
    assert.equal(after.Id, toolId);
    assert.notEqual(after.State.StartedAt, started);
    const down = await compose(['-p', bldProject, 'down', '-v', '--rmi', 'local'], { cwd: bdir });
    assert.equal(down.code, 0, down.desc);
    assert.equal((await d.api.get(`/images/${bldProject}-tool/json`)).status, 404, 'down --rmi local removed the built image');
  });

  it('attached up: prefixed logs, exit statuses, --exit-code-from stops the rest', T, async () => {
    const adir = path.join(dir, 'att');
    fs.mkdirSync(adir, { recursive: true });
    fs.writeFileSync(
      path.join(adir, 'compose.yaml'),
      `services:
  job:
    image: busybox
    command: ["sh", "-c", "echo working; sleep 1; echo done; exit 3"]
  side:
    image: busybox
    init: true
    command: ["sh", "-c", "echo side up; exec sleep 300"]
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: ${bldDef}
    ipam:
      config:
        - subnet: 10.213.${bldOctet}.0/24
`,
    );
    try {
      const r = await compose(['-p', bldProject, 'up', '--exit-code-from', 'job'], { cwd: adir });
      assert.equal(r.code, 3, r.desc);
      const out = lines(r.stdout);
      assert.equal(out[0], 'Attaching to job-1, side-1');
      for (const l of ['job-1   | working', 'job-1   | done', 'side-1  | side up', 'job-1 exited with code 3'])
        assert.ok(out.includes(l), `${l} in\n${r.stdout}`);
      assert.match(r.stderr, /Aborting on container exit/);
      for (const c of await containersOf(bldProject)) assert.notEqual(c.State, 'running', `${c.Names[0]} stopped`);
    } finally {
      const down = await compose(['-p', bldProject, 'down'], { cwd: adir });
      assert.equal(down.code, 0, down.desc);
    }
  });

  it('down -v (through the plugin) leaves no container, network or volume', T, async () => {
    const down = await d.docker(['compose', '-p', project, 'down', '-v'], { cwd: dir });
    assert.equal(down.code, 0, down.desc);
    assert.match(down.stderr, new RegExp(`Network ${project}_back  Removed`));
    assert.deepEqual(await containersOf(), []);
    const nets = (await d.api.get('/networks')).json<Array<{ Name: string }>>().map((n) => n.Name);
    assert.deepEqual(
      nets.filter((n) => n.startsWith(project)),
      [],
    );
    const vols = (await d.api.get('/volumes')).json<{ Volumes: Array<{ Name: string }> | null }>().Volumes ?? [];
    assert.deepEqual(
      vols.map((v) => v.Name),
      [],
    );
    await waitFor(() => !linkExists(appBack) && !linkExists(appDef), { timeout: 10_000, what: 'project bridges removed' });
    assert.equal(okOut(await compose(['ls', '-a', '-q'])).trim(), '');
  });
});

async function runCompose129(args: string[], env: Record<string, string>, cwd = dir): Promise<RunResult> {
  const { run } = await import('./helpers/daemon.js');
  return run(COMPOSE129, args, { cwd, env: { ...env, DOCKER_CONFIG: path.join(d.root, 'docker-config') }, timeout: 180_000 });
}

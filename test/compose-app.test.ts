/**
 * issue 16's first "Done when" with a real application: debian:bookworm bootstrapped into a fresh
 * berthd (debootstrap), and a three-service project whose images are built FROM it with apt —
 * `cache` (redis-server, healthcheck `redis-cli ping`, its data on a named volume), `app` (a bash
 * HTTP handler under socat that INCRs a counter in cache; depends_on cache service_healthy) and
 * `web` (nginx-light proxying to app through the embedded DNS; depends_on app service_started,
 * publishing a port). One Dockerfile: a `base` stage installs the packages once (one apt run),
 * each service builds its own target. Brought up with `berth compose up -d --build`, HTTP
 * through web's published port reaches app and cache, scaled to two apps (both answer through
 * web), one service edited (only it recreated), restarted (same addresses, counter kept), taken
 * down with -v; then the same file through Debian's docker-compose 1.29 on the same berthd gives
 * the same containers, networks and volumes; and bad files (schema, YAML syntax) fail with file,
 * line and field and create nothing. Bridges are `bcap…`, subnets inside 10.214.0.0/16.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { TestDaemon, cleanupAndCheck, run, waitFor, type RunResult } from './helpers/daemon.js';
import { projectAddresses, projectContainers, projectIds, type Listed } from './helpers/composeproject.js';
import { lines } from './helpers/assert.js';
import { drainNetLeftovers, linkExists, uniqueBridge, uniqueOctet } from './helpers/net.js';

const COMPOSE129 = '/usr/bin/docker-compose';
const defBridge = uniqueBridge('bcapd');
const appDef = uniqueBridge('bcapa');
const appBack = uniqueBridge('bcapb');
const octets: number[] = [];
const octet = (): number => {
  const x = uniqueOctet(octets, '10.214');
  octets.push(x);
  return x;
};
const [defOctet, appDefOctet, appBackOctet] = [octet(), octet(), octet()];
const project = `capp${Math.random().toString(36).slice(2, 7)}`;
const badProject = `${project}bad`;

let d: TestDaemon;
let dir: string;

before(async () => {
  assert.ok(fs.existsSync(COMPOSE129), `docker-compose 1.29 is needed at ${COMPOSE129} (scripts/install-deps.sh)`);
  d = await TestDaemon.start({ busybox: false, bridge: defBridge, bip: `10.214.${defOctet}.1/24` });
  dir = fs.mkdtempSync('/tmp/berth-compose-app-');
});

after(async () => {
  try {
    if (d && dir) {
      await compose(['down', '-v', '--remove-orphans']).catch(() => undefined);
      await compose129(['-p', project, 'down', '-v', '--remove-orphans']).catch(() => undefined);
      await d.berth(['compose', '-p', badProject, 'down', '-v'], { cwd: dir }).catch(() => undefined);
    }
    await cleanupAndCheck(d);
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(await drainNetLeftovers([defBridge, appDef, appBack], waitFor), [], 'no veths left on the test bridges');
  }
});

const T = { timeout: 600_000 };

function compose(args: string[], o: { timeout?: number } = {}): Promise<RunResult> {
  return d.berth(['compose', '-p', project, ...args], { cwd: dir, timeout: o.timeout ?? 300_000 });
}

function compose129(args: string[]): Promise<RunResult> {
  return run(COMPOSE129, args, {
    cwd: dir,
    timeout: 300_000,
    env: { DOCKER_HOST: d.host, COMPOSE_INTERACTIVE_NO_CLI: '1', DOCKER_CONFIG: path.join(d.root, 'docker-config') },
  });
}

function okOut(r: RunResult): string {
  assert.equal(r.code, 0, r.desc);
  return r.stdout;
}

const DOCKERFILE = `FROM debian:bookworm AS base
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light redis-server socat busybox \\
 && rm -rf /var/lib/apt/lists/*

FROM base AS cache
RUN mkdir -p /data && chown redis:redis /data
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data", "--appendonly", "yes"]

FROM base AS app
COPY handler.sh /srv/handler.sh
CMD ["socat", "TCP-LISTEN:8080,fork,reuseaddr", "EXEC:/srv/handler.sh"]

FROM base AS web
COPY nginx.conf /etc/nginx/sites-enabled/default
CMD ["nginx", "-g", "daemon off;"]
`;

// One request per connection: read the request line and headers, answer, exit.
const HANDLER = `#!/bin/bash
read -r method target proto
while IFS= read -r line; do line=\${line%$'\\r'}; [ -z "$line" ] && break; done
if [ "$target" = /health ]; then body=ok; else body="hits=$(redis-cli -h cache INCR hits) app=$HOSTNAME mode=$MODE"; fi
printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n%s\\n' $((\${#body} + 1)) "$body"
`;

// The variable in proxy_pass makes nginx resolve app per request (valid=1s), so scaled and
// recreated apps are reached.
const NGINX = `server {
  listen 80 default_server;
  resolver 127.0.0.11 valid=1s ipv6=off;
  location = /healthz { return 200 "web ok\\n"; }
  location / {
    set $app http://app:8080;
    proxy_pass $app;
  }
}
`;

function composeFile(o: { mode: string }): string {
  return `services:
  cache:
    build: { context: ., target: cache }
    stop_grace_period: 2s
    volumes:
      - cachedata:/data
    networks: [back]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 1s
      timeout: 3s
      retries: 30
  app:
    build: { context: ., target: app }
    stop_grace_period: 2s
    environment:
      MODE: ${o.mode}
    networks: [back, default]
    depends_on:
      cache:
        condition: service_healthy
    healthcheck:
      test: ["CMD", "busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 3s
      retries: 30
  web:
    build: { context: ., target: web }
    stop_grace_period: 2s
    ports: ["127.0.0.1::80"]
    depends_on:
      app:
        condition: service_started
    healthcheck:
      test: ["CMD", "busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/healthz"]
      interval: 1s
      timeout: 3s
      retries: 30
volumes:
  cachedata: {}
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: ${appDef}
    ipam:
      config:
        - subnet: 10.214.${appDefOctet}.0/24
  back:
    driver_opts:
      com.docker.network.bridge.name: ${appBack}
    ipam:
      config:
        - subnet: 10.214.${appBackOctet}.0/24
`;
}

function writeApp(o: { mode: string }): void {
  fs.writeFileSync(path.join(dir, 'Dockerfile'), DOCKERFILE);
  fs.writeFileSync(path.join(dir, 'handler.sh'), HANDLER, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'nginx.conf'), NGINX);
  fs.writeFileSync(path.join(dir, 'compose.yaml'), composeFile(o));
}

const containersOf = (p = project): Promise<Listed[]> => projectContainers(d, p);
const idsByName = (): Promise<Record<string, string>> => projectIds(d, project);
const addresses = (): Promise<Record<string, Record<string, string>>> => projectAddresses(d, project);

function httpGet(port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, timeout: 10_000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** web's published host port (the web container of `p`, whatever its separator). */
async function webPort(p = project): Promise<number> {
  const web = (await containersOf(p)).find((c) => c.Labels['com.docker.compose.service'] === 'web');
  assert.ok(web, 'a web container');
  const ins = await d.api.inspect(web.Id);
  const b = (ins.NetworkSettings.Ports as Record<string, Array<{ HostIp: string; HostPort: string }> | null>)['80/tcp'];
  const port = Number(b?.[0]?.HostPort);
  assert.ok(port > 0, `web publishes 80/tcp: ${JSON.stringify(ins.NetworkSettings.Ports)}`);
  return port;
}

/** GET /hits through web until it answers 200 (nginx → app → cache), parsed. */
async function hit(port: number): Promise<{ hits: number; app: string; mode: string }> {
  const r = await waitFor(
    async () => {
      const res = await httpGet(port, '/hits').catch(() => undefined);
      return res?.status === 200 ? res : undefined;
    },
    { timeout: 30_000, what: 'GET /hits through web' },
  );
  const m = /^hits=(\d+) app=(\S+) mode=(\S*)\n$/.exec(r.body);
  assert.ok(m, `answer of app through web: ${JSON.stringify(r.body)}`);
  return { hits: Number(m[1]), app: m[2] as string, mode: m[3] as string };
}

/** What both tools must agree on, names normalised (`-` and `_` as the separator → `/`). */
async function snapshot(p: string): Promise<unknown> {
  const norm = (s: string): string => s.replace(new RegExp(`^/?${p}[-_]`), `${p}/`).replace(/[-_](\d+)$/, '/$1');
  const containers: Record<string, unknown> = {};
  for (const c of await containersOf(p)) {
    const ins = await d.api.inspect(c.Id);
    const labels = ins.Config.Labels as Record<string, string>;
    const img = await d.api.get(`/images/${encodeURIComponent(ins.Image as string)}/json`);
    containers[norm((c.Names[0] ?? '').slice(1))] = {
      service: labels['com.docker.compose.service'],
      number: labels['com.docker.compose.container-number'],
      image: norm(ins.Config.Image as string),
      imageExists: img.status === 200,
      env: [...(ins.Config.Env as string[])].sort(),
      cmd: ins.Config.Cmd,
      ports: ins.HostConfig.PortBindings,
      mounts: (ins.Mounts as Array<{ Type: string; Name?: string; Destination: string; RW: boolean }>).map((m) => ({
        type: m.Type,
        name: m.Name ? norm(m.Name) : undefined,
        dst: m.Destination,
        rw: m.RW,
      })),
      networks: Object.fromEntries(
        Object.entries(ins.NetworkSettings.Networks as Record<string, { Aliases: string[] | null }>).map(([k, v]) => [
          norm(k),
          (v.Aliases ?? []).filter((a) => !ins.Id.startsWith(a)).sort(),
        ]),
      ),
      healthcheck: ins.Config.Healthcheck,
      restart: ins.HostConfig.RestartPolicy?.Name ?? '',
      state: ins.State.Status,
    };
  }
  const networks = (await d.api.get('/networks')).json<
    Array<{ Name: string; Driver: string; Options: Record<string, string>; IPAM: { Config: unknown[] }; Labels: Record<string, string>; Internal: boolean }>
  >();
  const vols =
    (await d.api.get('/volumes')).json<{ Volumes: Array<{ Name: string; Driver: string; Labels: Record<string, string> | null }> | null }>().Volumes ?? [];
  return {
    containers,
    networks: networks
      .filter((n) => n.Name.startsWith(`${p}_`))
      .map((n) => ({
        name: n.Name,
        driver: n.Driver,
        options: n.Options,
        ipam: n.IPAM.Config,
        internal: n.Internal,
        network: n.Labels['com.docker.compose.network'],
        project: n.Labels['com.docker.compose.project'],
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    volumes: vols
      .filter((v) => v.Name.startsWith(`${p}_`))
      .map((v) => ({ name: v.Name, driver: v.Driver, volume: v.Labels?.['com.docker.compose.volume'], project: v.Labels?.['com.docker.compose.project'] })),
  };
}

async function projectLeftovers(p: string): Promise<string[]> {
  const left = (await containersOf(p)).map((c) => `container ${c.Names[0]}`);
  for (const n of (await d.api.get('/networks')).json<Array<{ Name: string }>>()) if (n.Name.startsWith(p)) left.push(`network ${n.Name}`);
  const vols = (await d.api.get('/volumes')).json<{ Volumes: Array<{ Name: string }> | null }>().Volumes ?? [];
  for (const v of vols) if (v.Name.startsWith(p)) left.push(`volume ${v.Name}`);
  return left;
}

let berthSnapshot: unknown;

describe('a debian:bookworm web + app + cache application under berth compose', () => {
  it('bootstraps debian:bookworm (debootstrap) into the daemon', T, async () => {
    const tmp = path.join(d.root, 'client-tmp');
    fs.mkdirSync(tmp);
    const r = await d.berth(['image', 'bootstrap', 'debian:bookworm'], { timeout: 600_000, env: { TMPDIR: tmp } });
    assert.equal(r.code, 0, r.desc);
    assert.equal((await d.api.get('/images/debian:bookworm/json')).status, 200);
  });

  it('up -d --build: apt-built images, dependency order, healthy services, HTTP web → app → cache', T, async () => {
    writeApp({ mode: 'one' });
    const up = await compose(['up', '-d', '--build'], { timeout: 600_000 });
    assert.equal(up.code, 0, up.desc);
    for (const l of [
      `Network ${project}_back  Created`,
      `Network ${project}_default  Created`,
      `Volume "${project}_cachedata"  Created`,
      `Container ${project}-cache-1  Healthy`,
    ]) {
      assert.ok(up.stderr.includes(l), `${l} in\n${up.stderr}`);
    }
    const order = ['cache-1  Started', 'cache-1  Healthy', 'app-1  Started', 'web-1  Started'].map((s) => up.stderr.indexOf(`${project}-${s}`));
    assert.ok(
      order.every((i) => i >= 0),
      up.stderr,
    );
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      `start order cache → healthy → app → web:\n${up.stderr}`,
    );
    assert.ok(linkExists(appBack) && linkExists(appDef), 'the project bridges exist');
    for (const svc of ['cache', 'app', 'web']) assert.equal((await d.api.get(`/images/${project}-${svc}/json`)).status, 200, `image ${project}-${svc}`);
    const ver = await compose(['exec', '-T', 'cache', 'redis-server', '--version']);
    assert.match(ver.stdout, /^Redis server v=7\./, ver.desc);

    const port = await webPort();
    const first = await hit(port);
    const second = await hit(port);
    assert.equal(second.hits, first.hits + 1, 'the counter lives in cache');
    assert.equal(first.mode, 'one');
    assert.equal(okOut(await compose(['exec', '-T', 'cache', 'redis-cli', 'GET', 'hits'])).trim(), String(second.hits));
    await waitFor(async () => (await d.api.inspect(`${project}-web-1`)).State.Health?.Status === 'healthy', { timeout: 60_000, what: 'web healthy' });
    assert.equal((await d.api.inspect(`${project}-app-1`)).State.Health?.Status, 'healthy');
    berthSnapshot = await snapshot(project);
  });

  it('up -d --scale app=2: both apps answer through web', T, async () => {
    const before = await idsByName();
    const up = await compose(['up', '-d', '--scale', 'app=2']);
    assert.equal(up.code, 0, up.desc);
    assert.match(up.stderr, new RegExp(`Container ${project}-app-2  Started`));
    const after = await idsByName();
    assert.deepEqual(Object.keys(after).sort(), [`${project}-app-1`, `${project}-app-2`, `${project}-cache-1`, `${project}-web-1`]);
    for (const n of [`${project}-app-1`, `${project}-cache-1`, `${project}-web-1`]) assert.equal(after[n], before[n], `${n} kept`);
    const port = await webPort();
    const seen = new Set<string>();
    await waitFor(
      async () => {
        seen.add((await hit(port)).app);
        return seen.size === 2;
      },
      { timeout: 60_000, what: 'answers from both app containers through web' },
    );
    const down = await compose(['up', '-d', '--scale', 'app=1']);
    assert.equal(down.code, 0, down.desc);
    assert.deepEqual(Object.keys(await idsByName()).sort(), [`${project}-app-1`, `${project}-cache-1`, `${project}-web-1`]);
  });

  it("editing app's environment recreates only app; web reaches the new app", T, async () => {
    const before = await idsByName();
    writeApp({ mode: 'two' });
    const up = await compose(['up', '-d']);
    assert.equal(up.code, 0, up.desc);
    assert.match(up.stderr, new RegExp(`Container ${project}-app-1  Recreated`));
    const after = await idsByName();
    assert.notEqual(after[`${project}-app-1`], before[`${project}-app-1`], 'app recreated');
    assert.equal(after[`${project}-cache-1`], before[`${project}-cache-1`], 'cache kept');
    assert.equal(after[`${project}-web-1`], before[`${project}-web-1`], 'web kept');
    const port = await webPort();
    await waitFor(async () => (await hit(port)).mode === 'two', { timeout: 30_000, what: 'the recreated app answers through web' });
    const again = await compose(['up', '-d']);
    assert.equal(again.code, 0, again.desc);
    assert.doesNotMatch(again.stderr, /Recreate|Creat/, again.stderr);
    assert.deepEqual(await idsByName(), after);
  });

  it('restart keeps every address, and the counter (on the named volume) survives', T, async () => {
    const before = await addresses();
    const hitsBefore = (await hit(await webPort())).hits;
    assert.match(before[`${project}-cache-1`]?.[`${project}_back`] ?? '', new RegExp(`^10\\.214\\.${appBackOctet}\\.\\d+$`));
    const r = await compose(['restart']);
    assert.equal(r.code, 0, r.desc);
    assert.deepEqual(await addresses(), before);
    for (const c of await containersOf()) assert.equal(c.State, 'running', `${c.Names[0]} running`);
    // the ephemeral host port is allocated again at each start (as dockerd does)
    assert.ok((await hit(await webPort())).hits > hitsBefore, 'redis kept its data across the restart');
  });

  it('down -v leaves no container, network or volume of the project', T, async () => {
    const down = await compose(['down', '-v']);
    assert.equal(down.code, 0, down.desc);
    assert.deepEqual(await projectLeftovers(project), []);
    await waitFor(() => !linkExists(appBack) && !linkExists(appDef), { timeout: 10_000, what: 'project bridges removed' });
    assert.equal(okOut(await compose(['ls', '-a', '-q'])).trim(), '');
  });

  it('the same file through docker-compose 1.29 gives the same containers, networks and volumes', T, async () => {
    writeApp({ mode: 'one' });
    try {
      const up = await compose129(['-p', project, 'up', '-d', '--build']);
      assert.equal(up.code, 0, up.desc);
      assert.doesNotMatch(up.stderr, /Traceback/, up.desc);
      const port = await webPort();
      const h = await hit(port);
      assert.equal(h.mode, 'one');
      await waitFor(async () => (await d.api.inspect(`${project}_web_1`)).State.Health?.Status === 'healthy', { timeout: 60_000, what: 'web healthy' });
      // What 1.29 does differently: it gives each endpoint only the service's name as an alias
      // (v2 adds the container's name too), and sends no restart policy (v2 sends "no").
      const known = (snap: unknown): unknown =>
        JSON.parse(JSON.stringify(snap), (k, v: unknown) => {
          if (k === 'restart') return v === '' ? 'no' : v;
          return Array.isArray(v) ? v.filter((a) => !(typeof a === 'string' && new RegExp(`^${project}-[a-z]+-\\d+$`).test(a))) : v;
        }) as unknown;
      assert.deepEqual(known(await snapshot(project)), known(berthSnapshot));
      const ps = okOut(await compose(['ps', '--services']));
      assert.deepEqual(lines(ps), ['app', 'cache', 'web'], 'berth compose lists the 1.29 project');
    } finally {
      const down = await compose129(['-p', project, 'down', '-v']);
      assert.equal(down.code, 0, down.desc);
    }
    assert.deepEqual(await projectLeftovers(project), []);
  });

  it('a schema error and a YAML syntax error name file, line and field and create nothing', T, async () => {
    const schema = path.join(dir, 'bad-schema.yaml');
    fs.writeFileSync(schema, composeFile({ mode: 'one' }).replace('      retries: 30\n  app:', '      retries: thirty\n  app:'));
    const r1 = await d.berth(['compose', '-p', badProject, '-f', schema, 'up', '-d'], { cwd: dir, timeout: 60_000 });
    assert.equal(r1.code, 1, r1.desc);
    const line = composeFile({ mode: 'one' }).split('\n').indexOf('      retries: 30') + 1;
    assert.match(r1.stderr, new RegExp(`${schema}:${line}: services\\.cache\\.healthcheck\\.retries`), r1.stderr);
    assert.deepEqual(await projectLeftovers(badProject), []);

    const cond = path.join(dir, 'bad-condition.yaml');
    fs.writeFileSync(cond, composeFile({ mode: 'one' }).replace('condition: service_healthy', 'condition: service_ready'));
    const r3 = await d.berth(['compose', '-p', badProject, '-f', cond, 'up', '-d'], { cwd: dir, timeout: 60_000 });
    assert.equal(r3.code, 1, r3.desc);
    const condLine = composeFile({ mode: 'one' }).split('\n').indexOf('        condition: service_healthy') + 1;
    assert.match(
      r3.stderr,
      new RegExp(
        `${cond}:${condLine}: services\\.app\\.depends_on\\.cache\\.condition: must be one of service_started, service_healthy, service_completed_successfully`,
      ),
      r3.stderr,
    );
    assert.deepEqual(await projectLeftovers(badProject), []);

    const syntax = path.join(dir, 'bad-syntax.yaml');
    fs.writeFileSync(syntax, composeFile({ mode: 'one' }).replace('    networks: [back]\n', '    networks: [back\n'));
    const r2 = await d.berth(['compose', '-p', badProject, '-f', syntax, 'up', '-d'], { cwd: dir, timeout: 60_000 });
    assert.equal(r2.code, 1, r2.desc);
    // the parser names the line where the flow sequence turns out to be unclosed (the next one)
    const open = composeFile({ mode: 'one' }).split('\n').indexOf('    networks: [back]') + 1;
    assert.match(r2.stderr, new RegExp(`${syntax}:(${open}|${open + 1}): invalid YAML: .*must be sufficiently indented and end with a \\]`), r2.stderr);
    assert.deepEqual(await projectLeftovers(badProject), []);
  });
});

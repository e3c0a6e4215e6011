/**
 * The Node clients most test suites use, from npm (devDependencies), driving a test berthd the
 * way their users do: testcontainers (GenericContainer with defaults, exposed + mapped ports and
 * an HTTP request to busybox httpd, the log-message, listening-ports and health-check wait
 * strategies, exec, logs, a Network with aliases) and dockerode (create/start/attach/logs/exec,
 * network connect/disconnect, inspect). testcontainers' ryuk reaper comes from Docker Hub, which
 * is unreachable here: it is disabled the documented way (TESTCONTAINERS_RYUK_DISABLED=true), so
 * the test stops what it starts. Both find the daemon from DOCKER_HOST. The daemon has its own
 * default bridge (`bn3…`, 10.238.X.1/24); traffic stays on loopback and the test's bridges.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { PassThrough } from 'node:stream';
import { TestDaemon, waitFor } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { drainNetLeftovers, uniqueBridge, uniqueOctet } from './helpers/net.js';

let d: TestDaemon;
const defBridge = uniqueBridge('bn3');
const bridges: string[] = [defBridge];

before(async () => {
  d = await TestDaemon.start({ bridge: defBridge, bip: `10.238.${uniqueOctet([], '10.238')}.1/24` });
  process.env.DOCKER_HOST = `unix://${d.socket}`;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
});

after(async () => {
  try {
    await cleanupAndCheck(d);
  } finally {
    assert.deepEqual(await drainNetLeftovers(bridges, waitFor), [], 'no veths left on the test bridges');
  }
});

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
  });
}

const HTTPD = ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && echo "httpd up" && exec httpd -f -v -p 80 -h /www'];

describe('testcontainers (npm) against berthd', () => {
  it('GenericContainer with defaults: exposed port, mapped port, an HTTP request, logs, exec', { timeout: 120_000 }, async () => {
    const { GenericContainer, Wait } = await import('testcontainers');
    const c = await new GenericContainer('busybox:latest').withCommand(HTTPD).withExposedPorts(80).withWaitStrategy(Wait.forLogMessage('httpd up')).start();
    try {
      const port = c.getMappedPort(80);
      assert.ok(port > 0, `mapped port ${port}`);
      // dockerd puts a container created without a NetworkMode on the default bridge.
      const info = (await d.api.inspect(c.getId())) as {
        HostConfig: { NetworkMode: string };
        NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
      };
      assert.equal(info.HostConfig.NetworkMode, 'default'); // dockerd 20.10 shows 'default' too
      assert.match(info.NetworkSettings.Networks.bridge?.IPAddress ?? '', /^10\.238\./);
      const r = await get(`http://${c.getHost()}:${port}/`);
      assert.equal(r.status, 200);
      assert.equal(r.body.trim(), c.getId().slice(0, 12));
      // The same port on IPv6 loopback (dockerd publishes on [::] too).
      assert.equal((await get(`http://[::1]:${port}/`)).body.trim(), c.getId().slice(0, 12));
      const ex = await c.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
      assert.equal(ex.exitCode, 3);
      assert.match(ex.output, /out/);
      assert.equal(ex.stdout.trim(), 'out');
      assert.equal(ex.stderr.trim(), 'err');
      const logs = await c.logs();
      const text = await new Promise<string>((resolve) => {
        let s = '';
        logs.on('data', (b: Buffer | string) => {
          s += b.toString();
          if (s.includes('httpd up')) resolve(s);
        });
      });
      assert.match(text, /httpd up/);
      logs.destroy();
    } finally {
      await c.stop({ timeout: 1 });
    }
    await waitFor(async () => (await d.api.get(`/containers/${c.getId()}/json`)).status === 404, { what: 'testcontainers removed its container' });
  });

  it('wait strategies: forListeningPorts and forHealthCheck', { timeout: 120_000 }, async () => {
    const { GenericContainer, Wait } = await import('testcontainers');
    const ports = await new GenericContainer('busybox:latest')
      .withCommand(['sh', '-c', 'sleep 1; exec httpd -f -p 80'])
      .withExposedPorts(80)
      .withWaitStrategy(Wait.forListeningPorts())
      .start();
    try {
      assert.equal((await get(`http://localhost:${ports.getMappedPort(80)}/`)).status, 404, 'httpd answers once the port listens');
    } finally {
      await ports.stop({ timeout: 1 });
    }
    const healthy = await new GenericContainer('busybox:latest')
      .withCommand(['sh', '-c', 'sleep 1; touch /tmp/ready; exec sleep 300'])
      .withHealthCheck({ test: ['CMD-SHELL', 'test -f /tmp/ready'], interval: 500, timeout: 2000, retries: 20, startPeriod: 0 })
      .withWaitStrategy(Wait.forHealthCheck())
      .start();
    try {
      const st = (await d.api.inspect(healthy.getId())) as { State: { Health: { Status: string } } };
      assert.equal(st.State.Health.Status, 'healthy');
    } finally {
      await healthy.stop({ timeout: 1 });
    }
  });

  it('a Network with aliases: containers reach each other by alias', { timeout: 120_000 }, async () => {
    const { GenericContainer, Network, Wait } = await import('testcontainers');
    const network = await new Network().start();
    bridges.push(`br-${network.getId().slice(0, 12)}`);
    try {
      const srv = await new GenericContainer('busybox:latest')
        .withCommand(HTTPD)
        .withNetwork(network)
        .withNetworkAliases('web')
        .withWaitStrategy(Wait.forLogMessage('httpd up'))
        .start();
      try {
        const cli = await new GenericContainer('busybox:latest').withCommand(['sleep', '300']).withNetwork(network).start();
        try {
          const r = await cli.exec(['wget', '-qO-', 'http://web/']);
          assert.equal(r.exitCode, 0, r.output);
          assert.equal(r.output.trim(), srv.getId().slice(0, 12));
          const rc = await cli.exec(['cat', '/etc/resolv.conf']);
          assert.equal(rc.output.trim(), 'nameserver 127.0.0.11\noptions ndots:0');
        } finally {
          await cli.stop({ timeout: 1 });
        }
      } finally {
        await srv.stop({ timeout: 1 });
      }
    } finally {
      await network.stop();
    }
  });
});

describe('dockerode (npm) against berthd', () => {
  it('createContainer, attach, start, wait, logs, exec, inspect', { timeout: 120_000 }, async () => {
    const { default: Docker } = await import('dockerode');
    const docker = new Docker({ socketPath: d.socket });
    const c = await docker.createContainer({
      Image: 'busybox:latest',
      Cmd: ['sh', '-c', 'echo hello; echo oops >&2; read line; echo "got $line"'],
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
    });
    try {
      const stream = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      const out = new PassThrough();
      const err = new PassThrough();
      let so = '';
      let se = '';
      out.on('data', (b: Buffer) => (so += b.toString()));
      err.on('data', (b: Buffer) => (se += b.toString()));
      c.modem.demuxStream(stream, out, err);
      await c.start();
      await waitFor(() => so.includes('hello'), { what: 'attached stdout' });
      stream.end('line1\n');
      const res = (await c.wait()) as { StatusCode: number };
      assert.equal(res.StatusCode, 0);
      await waitFor(() => so.includes('got line1'), { what: 'stdin echoed' });
      assert.equal(se.trim(), 'oops');
      const logs = await c.logs({ stdout: true, stderr: true, follow: false });
      assert.match(logs.toString(), /hello/);
      const info = await c.inspect();
      assert.equal(info.HostConfig.NetworkMode, 'default'); // dockerd 20.10 shows 'default' too
      assert.equal(info.State.ExitCode, 0);
    } finally {
      await c.remove({ force: true });
    }
    const r = await docker.createContainer({ Image: 'busybox:latest', Cmd: ['sleep', '300'] });
    try {
      await r.start();
      const ex = await r.exec({ Cmd: ['sh', '-c', 'echo in-exec; exit 4'], AttachStdout: true, AttachStderr: true });
      const s = await ex.start({ hijack: true, stdin: false });
      const o = new PassThrough();
      let text = '';
      o.on('data', (b: Buffer) => (text += b.toString()));
      r.modem.demuxStream(s, o, new PassThrough());
      await new Promise<void>((resolve) => s.on('end', () => resolve()));
      assert.equal(text.trim(), 'in-exec');
      await waitFor(async () => (await ex.inspect()).Running === false, { what: 'exec ended' });
      assert.equal((await ex.inspect()).ExitCode, 4);
    } finally {
      await r.remove({ force: true });
    }
  });

  it('network create, connect, disconnect, inspect', { timeout: 120_000 }, async () => {
    const { default: Docker } = await import('dockerode');
    const docker = new Docker({ socketPath: d.socket });
    const name = `dn-${Date.now()}`;
    const net = await docker.createNetwork({ Name: name, CheckDuplicate: true });
    bridges.push(`br-${net.id.slice(0, 12)}`);
    const c = await docker.createContainer({ Image: 'busybox:latest', Cmd: ['sleep', '300'] });
    try {
      await c.start();
      await net.connect({ Container: c.id, EndpointConfig: { Aliases: ['dode'] } });
      const ni = (await net.inspect()) as { Containers: Record<string, { IPv4Address: string }> };
      assert.ok(ni.Containers[c.id], 'network lists the container');
      const ci = await c.inspect();
      assert.deepEqual(Object.keys(ci.NetworkSettings.Networks).sort(), ['bridge', name].sort());
      assert.deepEqual(ci.NetworkSettings.Networks[name]?.Aliases, ['dode']);
      await net.disconnect({ Container: c.id });
      assert.deepEqual(Object.keys((await c.inspect()).NetworkSettings.Networks), ['bridge']);
      // A second disconnect is dockerd's error (500), force or not.
      await assert.rejects(
        net.disconnect({ Container: c.id, Force: true }),
        (e: Error & { statusCode?: number }) => e.statusCode === 500 && /is not connected to network/.test(e.message),
      );
    } finally {
      await c.remove({ force: true });
      await net.remove();
    }
  });
});

/**
 * Networking: the default bridge, user-defined networks with embedded DNS (names, aliases, short
 * IDs, forwarding), published ports reached on loopback and from containers, none/host/container:
 * modes, live connect/disconnect, IPAM across restarts, and nothing leaked after a kill -9 of
 * berthd. Every check runs through berth and the docker CLI. The daemon gets its own bridge
 * (`bn…`) and subnets inside 10.231.0.0/16; traffic stays on loopback and the test's bridges.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLIS, HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, run, waitFor, type CliName } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { fails, ok } from './helpers/assert.js';
import { bridgePorts, fakeUpstream, linkExists, drainNetLeftovers, taggedRules, uniqueBridge, uniqueOctet } from './helpers/net.js';

let d: TestDaemon;
const defBridge = uniqueBridge();
const defOctet = uniqueOctet();
const bridges: string[] = [defBridge];

before(async () => {
  d = await TestDaemon.start({ bridge: defBridge, bip: `10.231.${defOctet}.1/24` });
});

after(async () => {
  try {
    await cleanupAndCheck(d);
  } finally {
    // Containers are gone: no veth may remain on any of the test's bridges.
    assert.deepEqual(await drainNetLeftovers(bridges, waitFor), [], 'no veths left on the test bridges');
  }
});

const curl = (url: string): Promise<{ code: number | null; stdout: string }> => run('curl', ['-s', '--max-time', '5', url]);

async function userNet(cli: CliName, tag: string): Promise<{ name: string; bridge: string; octet: number }> {
  const bridge = uniqueBridge();
  bridges.push(bridge);
  const octet = uniqueOctet([defOctet]);
  const name = `net-${tag}-${cli}`;
  ok(
    await d.cli(cli, ['network', 'create', '--subnet', `10.231.${octet}.0/24`, '-o', `com.docker.network.bridge.name=${bridge}`, '--label', 'test=net', name]),
  );
  return { name, bridge, octet };
}

async function httpd(cli: CliName, args: string[]): Promise<string> {
  const id = ok(await d.cli(cli, ['run', '-d', ...args, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']));
  return id;
}

async function inspectNet(id: string): Promise<any> {
  return (await d.api.inspect(id)).NetworkSettings;
}

for (const cli of CLIS) {
  describe(`networking via ${cli}`, { skip: cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false }, () => {
    it('default bridge: an address in --bip, gateway route, hosts and resolv.conf', async () => {
      const out = ok(
        await d.cli(cli, [
          'run',
          '--rm',
          '--add-host',
          'gw:host-gateway',
          '--dns-search',
          'example.test',
          'busybox',
          'sh',
          '-c',
          'ip -o -4 addr show eth0; ip route; cat /etc/hosts /etc/resolv.conf',
        ]),
      );
      assert.match(out, new RegExp(`inet 10\\.231\\.${defOctet}\\.\\d+/24`));
      assert.match(out, new RegExp(`default via 10\\.231\\.${defOctet}\\.1 dev eth0`));
      assert.match(out, new RegExp(`10\\.231\\.${defOctet}\\.1\\tgw`), 'host-gateway is the bridge gateway');
      assert.match(out, /search example\.test/);
      assert.ok(linkExists(defBridge));
      assert.ok(
        taggedRules(defBridge, 'net').some((l) => l.includes('MASQUERADE')),
        'outbound NAT rule for the default bridge',
      );
    });

    it('containers reach each other by name, alias and short ID on a user network', async () => {
      const net = await userNet(cli, 'dns');
      const srv = await httpd(cli, ['--name', `srv-${cli}`, '--network', net.name, '--network-alias', `web-${cli}`]);
      const ns = await inspectNet(srv);
      const ip = ns.Networks[net.name].IPAddress as string;
      assert.match(ip, new RegExp(`^10\\.231\\.${net.octet}\\.\\d+$`));
      assert.deepEqual(ns.Networks[net.name].Aliases, [`web-${cli}`]);
      for (const host of [`srv-${cli}`, `web-${cli}`, srv.slice(0, 12)]) {
        const r = await waitFor(
          async () => {
            const x = await d.cli(cli, ['run', '--rm', '--network', net.name, 'busybox', 'wget', '-qO-', `http://${host}/hostname`]);
            return x.code === 0 ? x : undefined;
          },
          { timeout: 30_000, what: `wget http://${host}` },
        );
        assert.equal(r.stdout.trim(), srv.slice(0, 12), r.desc);
      }
      const rc = ok(await d.cli(cli, ['run', '--rm', '--network', net.name, 'busybox', 'cat', '/etc/resolv.conf']));
      // dockerd 20.10 writes exactly this on a user network (the embedded DNS at 127.0.0.11).
      assert.equal(rc, 'nameserver 127.0.0.11\noptions ndots:0');
      const viaLoopback = ok(await d.cli(cli, ['run', '--rm', '--network', net.name, 'busybox', 'nslookup', `web-${cli}`, '127.0.0.11']));
      assert.match(viaLoopback, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`), 'the alias answers at 127.0.0.11');
      const nx = await d.cli(cli, ['run', '--rm', '--network', `${net.name}`, '--dns', '127.0.0.1', 'busybox', 'nslookup', `nobody-${cli}`]);
      assert.notEqual(nx.code, 0, nx.desc);
      // The network lists its container; it cannot be removed while it runs.
      const inspected = JSON.parse(ok(await d.cli(cli, ['network', 'inspect', net.name])));
      assert.ok(inspected[0].Containers[srv], 'network inspect lists the container');
      fails(await d.cli(cli, ['network', 'rm', net.name]), 1, /has active endpoints/);
      ok(await d.cli(cli, ['rm', '-f', srv]));
      ok(await d.cli(cli, ['network', 'rm', net.name]));
      assert.ok(!linkExists(net.bridge), 'bridge removed with its network');
      assert.deepEqual(taggedRules(net.bridge), [], 'its rules too');
    });

    it('DNS forwards other names to upstream resolvers (--dns), NXDOMAIN passes through', async () => {
      const upstreamIp = `127.231.${uniqueOctet()}.${2 + Math.floor(Math.random() * 200)}`;
      const up = await fakeUpstream(upstreamIp, { [`fwd-${cli}.example.test`]: '10.231.250.7' });
      try {
        const net = await userNet(cli, 'fwd');
        const args = ['run', '--rm', '--network', net.name, '--dns', upstreamIp, 'busybox'];
        const yes = ok(await d.cli(cli, [...args, 'nslookup', `fwd-${cli}.example.test`]));
        assert.match(yes, /10\.231\.250\.7/);
        const no = await d.cli(cli, [...args, 'nslookup', `missing-${cli}.example.test`]);
        assert.notEqual(no.code, 0, no.desc);
        assert.match(no.stdout + no.stderr, /NXDOMAIN|can't find/, no.desc);
        assert.ok(up.queries.includes(`missing-${cli}.example.test`), 'the query reached the upstream');
        ok(await d.cli(cli, ['network', 'rm', net.name]));
      } finally {
        up.close();
      }
    });

    it('published ports: loopback, random ports, from other containers, released on stop, collisions refused', async () => {
      const c = await httpd(cli, ['-p', '127.0.0.1::80', '-p', '0.0.0.0::80/udp', '--expose', '90', '-P']);
      const port = ok(await d.cli(cli, ['port', c, '80/tcp']));
      const m = /^127\.0\.0\.1:(\d+)$/.exec(port);
      assert.ok(m, port);
      const hostPort = Number(m[1]);
      const r = await waitFor(
        async () => {
          const x = await curl(`http://127.0.0.1:${hostPort}/hostname`);
          return x.code === 0 ? x : undefined;
        },
        { what: 'curl on loopback' },
      );
      assert.equal(r.stdout.trim(), c.slice(0, 12));
      const all = ok(await d.cli(cli, ['port', c]));
      assert.match(all, /90\/tcp -> 0\.0\.0\.0:\d+/, '-P publishes the exposed port');
      const ps = ok(await d.cli(cli, ['ps', '--filter', `id=${c}`, '--format', '{{.Ports}}']));
      assert.match(ps, new RegExp(`127\\.0\\.0\\.1:${hostPort}->80/tcp`));
      // A second container reaches the port through the host (the gateway address).
      const fixed = 20000 + Math.floor(Math.random() * 20000);
      const c2 = await httpd(cli, ['-p', `${fixed}:80`]);
      const viaGw = await waitFor(
        async () => {
          const x = await d.cli(cli, ['run', '--rm', 'busybox', 'wget', '-qO-', `http://10.231.${defOctet}.1:${fixed}/hostname`]);
          return x.code === 0 ? x : undefined;
        },
        { what: 'container → published port' },
      );
      assert.equal(viaGw.stdout.trim(), c2.slice(0, 12));
      fails(await d.cli(cli, ['run', '-d', '-p', `${fixed}:80`, 'busybox', 'true']), 125, /Bind for 0\.0\.0\.0:\d+ failed: port is already allocated/);
      assert.ok(taggedRules(defBridge, c.slice(0, 12)).length > 0);
      ok(await d.cli(cli, ['stop', '-t', '0', c]));
      assert.deepEqual(taggedRules(defBridge, c.slice(0, 12)), [], 'rules removed on stop');
      assert.notEqual((await curl(`http://127.0.0.1:${hostPort}/hostname`)).code, 0, 'port released');
      ok(await d.cli(cli, ['rm', '-f', c, c2]));
      assert.deepEqual(taggedRules(defBridge, c2.slice(0, 12)), [], 'rules removed on rm -f');
      // Clean up the container the collision created.
      for (const id of (await d.cli(cli, ['ps', '-aq', '--filter', 'status=created'])).stdout.split('\n').filter(Boolean)) await d.cli(cli, ['rm', id]);
    });

    it('none, host and container: modes', async () => {
      const none = ok(await d.cli(cli, ['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']));
      assert.deepEqual(
        none.split('\n').map((l) => l.split(':')[1]?.trim()),
        ['lo'],
      );
      const host = ok(await d.cli(cli, ['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link']));
      assert.match(host, new RegExp(`: ${defBridge}:`), 'host mode sees the host bridge');
      const target = ok(await d.cli(cli, ['run', '-d', 'busybox', 'sleep', '300']));
      const ip = (await inspectNet(target)).IPAddress as string;
      assert.match(ip, /^10\.231\./);
      const joined = ok(await d.cli(cli, ['run', '--rm', '--network', `container:${target}`, 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']));
      assert.match(joined, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));
      ok(await d.cli(cli, ['rm', '-f', target]));
    });

    it('connect and disconnect a running container', async () => {
      const net = await userNet(cli, 'conn');
      const c = ok(await d.cli(cli, ['run', '-d', '--name', `conn-${cli}`, 'busybox', 'sleep', '300']));
      const want = `10.231.${net.octet}.77`;
      ok(await d.cli(cli, ['network', 'connect', '--alias', `extra-${cli}`, '--ip', want, net.name, c]));
      const addrs = ok(await d.cli(cli, ['exec', c, 'ip', '-o', '-4', 'addr']));
      assert.match(addrs, new RegExp(`eth1\\s+inet ${want.replace(/\./g, '\\.')}/24`));
      const seen = ok(await d.cli(cli, ['run', '--rm', '--network', net.name, 'busybox', 'nslookup', `extra-${cli}`]));
      assert.match(seen, new RegExp(want.replace(/\./g, '\\.')));
      fails(await d.cli(cli, ['network', 'connect', net.name, c]), 1, /already exists in network/);
      ok(await d.cli(cli, ['network', 'disconnect', net.name, c]));
      const after1 = ok(await d.cli(cli, ['exec', c, 'ip', '-o', '-4', 'addr']));
      assert.doesNotMatch(after1, /eth1/);
      assert.equal(bridgePorts(net.bridge).length, 0, 'veth gone from the user bridge');
      // The address is free again for a static request.
      const again = ok(await d.cli(cli, ['run', '--rm', '--network', net.name, '--ip', want, 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']));
      assert.match(again, new RegExp(want.replace(/\./g, '\\.')));
      ok(await d.cli(cli, ['rm', '-f', c]));
      ok(await d.cli(cli, ['network', 'rm', net.name]));
    });

    it('user networks are isolated from each other', async () => {
      const a = await userNet(cli, 'isoa');
      const b = await userNet(cli, 'isob');
      const srv = await httpd(cli, ['--network', b.name]);
      const ip = (await inspectNet(srv)).Networks[b.name].IPAddress as string;
      const same = await waitFor(
        async () => {
          const x = await d.cli(cli, ['run', '--rm', '--network', b.name, 'busybox', 'sh', '-c', `timeout 3 wget -qO- http://${ip}/hostname; exit $?`]);
          return x.code === 0 ? x : undefined;
        },
        { what: 'same-network fetch' },
      );
      assert.equal(same.stdout.trim(), srv.slice(0, 12));
      const other = await d.cli(cli, ['run', '--rm', '--network', a.name, 'busybox', 'sh', '-c', `timeout 3 wget -qO- http://${ip}/hostname; exit $?`]);
      assert.notEqual(other.code, 0, `another network cannot reach it: ${other.desc}`);
      ok(await d.cli(cli, ['rm', '-f', srv]));
      ok(await d.cli(cli, ['network', 'rm', a.name, b.name]));
      const iso = taggedRules(defBridge).filter((l) => l.includes(a.bridge) || l.includes(b.bridge));
      assert.deepEqual(iso, [], 'isolation rules naming the removed bridges are gone');
    });

    it("bad input gets Docker's errors and changes nothing", async () => {
      const net = await userNet(cli, 'bad');
      const before1 = ok(await d.cli(cli, ['network', 'ls', '-q'])).split('\n').length;
      fails(await d.cli(cli, ['network', 'create', net.name]), 1, /network with name .* already exists/);
      fails(
        await d.cli(cli, ['network', 'create', '--subnet', `10.231.${net.octet}.0/25`, `${net.name}-2`]),
        1,
        /Pool overlaps with other one on this address space/,
      );
      fails(await d.cli(cli, ['network', 'rm', 'no-such-net']), 1, /network no-such-net not found/);
      fails(await d.cli(cli, ['network', 'rm', 'bridge']), 1, /bridge is a pre-defined network and cannot be removed/);
      fails(await d.cli(cli, ['run', '--rm', '--network', 'no-such-net', 'busybox', 'true']), 125, /network no-such-net not found/);
      fails(
        await d.cli(cli, ['run', '--rm', '--ip', `10.231.${defOctet}.9`, 'busybox', 'true']),
        125,
        /user specified IP address is supported on user defined networks only/,
      );
      fails(await d.cli(cli, ['run', '--rm', '-p', '80/xyz', 'busybox', 'true']), 125, /invalid proto: xyz/);
      assert.equal(ok(await d.cli(cli, ['network', 'ls', '-q'])).split('\n').length, before1);
      const pruned = ok(await d.cli(cli, ['network', 'prune', '-f', '--filter', 'label=test=net']));
      assert.match(pruned, new RegExp(net.name));
      assert.ok(!linkExists(net.bridge));
    });
  });
}

describe('addresses and the network survive daemon restarts and kill -9', () => {
  it('IPAM never hands an address twice, across a restart', { timeout: 120_000 }, async () => {
    const a = ok(await d.berth(['run', '-d', 'busybox', 'sleep', '300']));
    const b = ok(await d.berth(['run', '-d', 'busybox', 'sleep', '300']));
    const ipA = (await inspectNet(a)).IPAddress;
    const ipB = (await inspectNet(b)).IPAddress;
    assert.notEqual(ipA, ipB);
    await d.stop();
    d = await TestDaemon.start({ reuse: d });
    const c = ok(await d.berth(['run', '-d', 'busybox', 'sleep', '300']));
    const ipC = (await inspectNet(c)).IPAddress;
    assert.ok(![ipA, ipB].includes(ipC), `${ipC} is new`);
    assert.equal((await inspectNet(a)).IPAddress, ipA, 'running containers keep their address');
    ok(await d.berth(['rm', '-f', a, b, c]));
  });

  it('kill -9 of berthd: published ports keep working, the new daemon cleans what is gone', { timeout: 120_000 }, async () => {
    const keep = await httpd('berth', ['-p', '127.0.0.1::80']);
    const gone = ok(await d.berth(['run', '-d', '-p', '127.0.0.1::80', 'busybox', 'sleep', '300']));
    const port = Number(ok(await d.berth(['port', keep, '80'])).split(':')[1]);
    const gonePid = (await d.state(gone)).Pid as number;
    await d.kill9();
    process.kill(gonePid, 'SIGKILL'); // exits while no daemon runs
    const r = await waitFor(
      async () => {
        const x = await curl(`http://127.0.0.1:${port}/hostname`);
        return x.code === 0 ? x : undefined;
      },
      { what: 'published port while berthd is down' },
    );
    assert.equal(r.stdout.trim(), keep.slice(0, 12));
    d = await TestDaemon.start({ reuse: d });
    await waitFor(() => taggedRules(defBridge, gone.slice(0, 12)).length === 0, { what: 'rules of the dead container removed' });
    assert.ok(taggedRules(defBridge, keep.slice(0, 12)).length > 0, 'rules of the live one kept');
    assert.equal((await curl(`http://127.0.0.1:${port}/hostname`)).stdout.trim(), keep.slice(0, 12));
    ok(await d.berth(['rm', '-f', keep, gone]));
    assert.deepEqual(taggedRules(defBridge, keep.slice(0, 12)), []);
    await waitFor(() => bridgePorts(defBridge).length === 0, { what: 'no veth left on the bridge' });
  });
});

/**
 * Networking gaps closed after the first networking round: `ps --filter publish=/expose=` with
 * dockerd's semantics, `port` edge cases as the docker CLI prints them, a published port that
 * another program already holds, IPv6 networks (addresses from the IPv6 subnet through IPAM,
 * reachability over IPv6, AAAA), PTR answers of the embedded DNS, and `--mac-address`. Every
 * check runs through berth and the docker CLI. Bridges are `bn2…`, IPv4 subnets inside
 * 10.237.0.0/16, IPv6 inside fd00:b2::/48; traffic stays on loopback and the test's bridges.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as http from 'node:http';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { CLIS, HAVE_DOCKER, NO_DOCKER_MSG, TestDaemon, waitFor } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { fails, lines, ok } from './helpers/assert.js';
import { drainNetLeftovers, taggedRules, uniqueBridge, uniqueOctet } from './helpers/net.js';

let d: TestDaemon;
const usedOctets: number[] = [];
/** A random X for 10.237.X.0/24 that no interface on this host (nor this file) uses. */
function octet(): number {
  const x = uniqueOctet(usedOctets, '10.237');
  usedOctets.push(x);
  return x;
}
const bridge2 = (): string => uniqueBridge('bn2');
const defBridge = bridge2();
const defOctet = octet();
const bridges: string[] = [defBridge];

before(async () => {
  d = await TestDaemon.start({ bridge: defBridge, bip: `10.237.${defOctet}.1/24` });
});

after(async () => {
  try {
    await cleanupAndCheck(d);
  } finally {
    assert.deepEqual(await drainNetLeftovers(bridges, waitFor), [], 'no veths left on the test bridges');
  }
});

function freePort(): number {
  return 20000 + Math.floor(Math.random() * 20000);
}

for (const cli of CLIS) {
  describe(`network gaps via ${cli}`, { skip: cli === 'docker' && !HAVE_DOCKER ? NO_DOCKER_MSG : false }, () => {
    it('ps --filter publish= / expose= match public and private ports as dockerd', async () => {
      const label = `pf-${cli}-${Date.now()}`;
      const fixed = freePort();
      const a = ok(await d.cli(cli, ['run', '-d', '-l', label, '-p', `127.0.0.1:${fixed}:80`, '--expose', '90', 'busybox', 'sleep', '60']));
      const b = ok(await d.cli(cli, ['run', '-d', '-l', label, '--expose', '7000/udp', 'busybox', 'sleep', '60']));
      const stopped = ok(await d.cli(cli, ['create', '-l', label, '-p', `127.0.0.1:${fixed + 1}:80`, 'busybox', 'true']));
      const ps = async (...f: string[]): Promise<string[]> =>
        lines(ok(await d.cli(cli, ['ps', '-a', '-q', '--no-trunc', '--filter', `label=${label}`, ...f.flatMap((x) => ['--filter', x])]))).sort();
      assert.deepEqual(await ps(`publish=${fixed}`), [a], 'publish matches the host port');
      assert.deepEqual(await ps(`publish=${fixed}/tcp`), [a]);
      assert.deepEqual(await ps(`publish=${fixed}/udp`), [], 'protocol must match');
      assert.deepEqual(await ps('publish=80'), [], 'publish does not match the container port');
      assert.deepEqual(await ps(`publish=${fixed - 5}-${fixed + 5}`), [a], 'ranges; a created container has no ports');
      assert.deepEqual(await ps('expose=80'), [a], 'expose matches the container port of a published port');
      assert.deepEqual(await ps('expose=90'), [a], 'and exposed-only ports');
      assert.deepEqual(await ps('expose=6990-7010/udp'), [b]);
      assert.deepEqual(await ps('expose=7000'), [], 'tcp by default');
      assert.deepEqual(await ps('expose=90', 'expose=7000/udp'), [a, b].sort(), 'values of one key are alternatives');
      assert.deepEqual(await ps(`publish=${fixed}`, 'expose=7000/udp'), [a, b].sort(), 'publish or expose');
      fails(await d.cli(cli, ['ps', '--filter', `publish=127.0.0.1:${fixed}`]), 1, /filter for 'publish' should not contain ':'/);
      fails(await d.cli(cli, ['ps', '--filter', 'expose=abc']), 1, /error while looking up for expose abc: strconv\.ParseUint: parsing "abc": invalid syntax/);
      fails(await d.cli(cli, ['ps', '--filter', 'publish=90-80']), 1, /error while looking up for publish 90-80: Invalid range specified for the Port: 90-80/);
      // dockerd (20.10 and 28) answers these with a plain error: 500.
      assert.equal((await d.api.get(`/containers/json?filters=${encodeURIComponent('{"publish":["1:80"]}')}`)).status, 500);
      ok(await d.cli(cli, ['rm', '-f', a, b, stopped]));
    });

    it('port: one mapping, a trailing slash, unpublished and exposed-only ports, natural order', async () => {
      const fixed = freePort();
      const c = ok(
        await d.cli(cli, [
          'run',
          '-d',
          '--expose',
          '90',
          '-p',
          `127.0.0.1:${fixed}:80`,
          '-p',
          `127.0.0.1:${fixed + 1}:9/udp`,
          '-p',
          `127.0.0.1:${fixed + 2}:100`,
          'busybox',
          'sleep',
          '60',
        ]),
      );
      assert.equal(ok(await d.cli(cli, ['port', c, '80'])), `127.0.0.1:${fixed}`);
      assert.equal(ok(await d.cli(cli, ['port', c, '80/'])), `127.0.0.1:${fixed}`, '`80/` is 80/tcp');
      assert.equal(ok(await d.cli(cli, ['port', c, '9/udp'])), `127.0.0.1:${fixed + 1}`);
      fails(await d.cli(cli, ['port', c, '9']), 1, new RegExp(`^Error: No public port '9' published for ${c}$`, 'm'));
      fails(await d.cli(cli, ['port', c, '90/tcp']), 1, /No public port '90\/tcp' published/);
      fails(await d.cli(cli, ['port', c, 'abc']), 1, /^Error: invalid port \(abc\): strconv\.ParseUint: parsing "abc": invalid syntax$/m);
      // Natural order: 9/udp before 80/tcp before 100/tcp (docker sorts the printed lines).
      assert.deepEqual(lines(ok(await d.cli(cli, ['port', c]))), [
        `9/udp -> 127.0.0.1:${fixed + 1}`,
        `80/tcp -> 127.0.0.1:${fixed}`,
        `100/tcp -> 127.0.0.1:${fixed + 2}`,
      ]);
      const none = ok(await d.cli(cli, ['run', '-d', 'busybox', 'sleep', '60']));
      assert.equal(ok(await d.cli(cli, ['port', none])), '', 'no ports: nothing printed');
      ok(await d.cli(cli, ['stop', '-t', '0', c]));
      assert.equal(ok(await d.cli(cli, ['port', c])), '', 'a stopped container has no mappings');
      fails(await d.cli(cli, ['port', `nosuch-${cli}`]), 1, /No such container/);
      ok(await d.cli(cli, ['rm', '-f', c, none]));
    });

    it("a host port another program listens on: start refused with dockerd's text, nothing left", async () => {
      const holder = net.createServer();
      const port = await new Promise<number>((resolve, reject) => {
        holder.once('error', reject);
        holder.listen(0, '127.0.0.1', () => resolve((holder.address() as net.AddressInfo).port));
      });
      try {
        const name = `busy-${cli}`;
        const r = await d.cli(cli, ['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '60']);
        fails(r, 125, new RegExp(`Error starting userland proxy: listen tcp4 127\\.0\\.0\\.1:${port}: bind: address already in use`));
        const st = JSON.parse(ok(await d.cli(cli, ['inspect', '-f', '{{json .State}}', name])));
        assert.equal(st.Running, false);
        assert.deepEqual(
          taggedRules(defBridge).filter((l) => l.includes(`--dport ${port} `)),
          [],
          'no rule for the port',
        );
        ok(await d.cli(cli, ['rm', '-f', name]));
      } finally {
        holder.close();
      }
    });

    it('IPv6 network: addresses from the IPv6 subnet through IPAM, --ip6, reachability, AAAA and PTR', async () => {
      const bridge = bridge2();
      bridges.push(bridge);
      const x = octet();
      const hex = x.toString(16);
      const prefix = `fd00:b2:${hex}::`;
      const name = `v6-${cli}`;
      ok(
        await d.cli(cli, [
          'network',
          'create',
          '--ipv6',
          '--subnet',
          `10.237.${x}.0/24`,
          '--subnet',
          `${prefix}/64`,
          '-o',
          `com.docker.network.bridge.name=${bridge}`,
          name,
        ]),
      );
      const a = ok(await d.cli(cli, ['run', '-d', '--name', `v6a-${cli}`, '--network', name, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']));
      const b = ok(await d.cli(cli, ['run', '-d', '--name', `v6b-${cli}`, '--network', name, 'busybox', 'sleep', '120']));
      const c = ok(await d.cli(cli, ['run', '-d', '--network', name, '--ip6', `${prefix}99`, 'busybox', 'sleep', '120']));
      const ep = async (id: string): Promise<any> => (await d.api.inspect(id)).NetworkSettings.Networks[name];
      const [ea, eb, ec] = [await ep(a), await ep(b), await ep(c)];
      assert.equal(ea.GlobalIPv6Address, `${prefix}2`, 'first address after the gateway');
      assert.equal(eb.GlobalIPv6Address, `${prefix}3`, 'then the next one (not derived from the IPv4 host part)');
      assert.equal(ec.GlobalIPv6Address, `${prefix}99`, '--ip6');
      for (const e of [ea, eb, ec]) {
        assert.equal(e.IPv6Gateway, `${prefix}1`);
        assert.equal(e.GlobalIPv6PrefixLen, 64);
      }
      const inside = ok(await d.cli(cli, ['exec', b, 'ip', '-6', '-o', 'addr', 'show', 'eth0']));
      assert.match(inside, new RegExp(`inet6 ${prefix}3/64`));
      // Over IPv6: HTTP to [a] and ping to the --ip6 container.
      const r = await waitFor(
        async () => {
          // busybox-static's wget crashes on [v6] URLs: a raw HTTP request through nc instead.
          const y = await d.cli(cli, ['exec', b, 'sh', '-c', `printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${prefix}2 80`]);
          return y.code === 0 && y.stdout.includes('200 OK') ? y : undefined;
        },
        { timeout: 30_000, what: 'HTTP over IPv6' },
      );
      assert.equal(lines(r.stdout).at(-1), a.slice(0, 12), r.desc);
      ok(await d.cli(cli, ['exec', b, 'ping', '-6', '-c', '1', '-W', '3', `${prefix}99`]));
      // Embedded DNS: AAAA for a name, PTR for IPv4 and IPv6 container addresses.
      const aaaa = ok(await d.cli(cli, ['exec', b, 'nslookup', '-type=aaaa', `v6a-${cli}`]));
      assert.match(aaaa, new RegExp(`${prefix}2`), aaaa);
      const ptr4 = ok(await d.cli(cli, ['exec', b, 'nslookup', ea.IPAddress]));
      assert.match(ptr4, new RegExp(`name = v6a-${cli}\\.${name}`), ptr4);
      const ptr6 = ok(await d.cli(cli, ['exec', b, 'nslookup', `${prefix}2`]));
      assert.match(ptr6, new RegExp(`name = v6a-${cli}\\.${name}`), ptr6);
      // Bad input: an --ip6 outside the subnet changes nothing.
      const bad = await d.cli(cli, ['run', '-d', '--network', name, '--ip6', 'fd00:b2:ffff::5', 'busybox', 'true']);
      assert.notEqual(bad.code, 0, bad.desc);
      assert.match(bad.stderr, /no configured subnet or ip-range contain the IP address fd00:b2:ffff::5/, bad.desc);
      // Freed on rm: a new container reuses no live address.
      ok(await d.cli(cli, ['rm', '-f', a]));
      const e = ok(await d.cli(cli, ['run', '-d', '--network', name, 'busybox', 'sleep', '60']));
      const ee = await ep(e);
      assert.ok(![eb.GlobalIPv6Address, ec.GlobalIPv6Address].includes(ee.GlobalIPv6Address), ee.GlobalIPv6Address);
      assert.ok(ee.GlobalIPv6Address.startsWith(prefix));
      ok(await d.cli(cli, ['rm', '-f', b, c, e]));
      ok(await d.cli(cli, ['network', 'rm', name]));
    });

    it('PTR on an IPv4-only user network; unknown addresses are forwarded', async () => {
      const bridge = bridge2();
      bridges.push(bridge);
      const x = octet();
      const name = `ptr-${cli}`;
      ok(await d.cli(cli, ['network', 'create', '--subnet', `10.237.${x}.0/24`, '-o', `com.docker.network.bridge.name=${bridge}`, name]));
      const a = ok(await d.cli(cli, ['run', '-d', '--name', `ptra-${cli}`, '--network', name, 'busybox', 'sleep', '120']));
      const ip = (await d.api.inspect(a)).NetworkSettings.Networks[name].IPAddress as string;
      const out = ok(await d.cli(cli, ['run', '--rm', '--network', name, '--dns', '127.0.0.1', 'busybox', 'nslookup', ip]));
      assert.match(out, new RegExp(`name = ptra-${cli}\\.${name}`), out);
      ok(await d.cli(cli, ['rm', '-f', a]));
      ok(await d.cli(cli, ['network', 'rm', name]));
    });

    it("--link on the default bridge writes dockerd's hosts line; --mac-address sets the MAC", async () => {
      const db = ok(
        await d.cli(cli, ['run', '-d', '--name', `db-${cli}`, '--expose', '5432', '--expose', '80/udp', '-e', 'FOO=bar', 'busybox', 'sleep', '120']),
      );
      const dbIp = (await d.api.inspect(db)).NetworkSettings.IPAddress as string;
      assert.match(dbIp, new RegExp(`^10\\.237\\.${defOctet}\\.`));
      const hosts = ok(await d.cli(cli, ['run', '--rm', '--link', `db-${cli}:dbalias`, '--link', `db-${cli}`, 'busybox', 'cat', '/etc/hosts']));
      assert.ok(hosts.split('\n').includes(`${dbIp}\tdbalias ${db.slice(0, 12)} db-${cli}`), hosts);
      assert.ok(hosts.split('\n').includes(`${dbIp}\tdb-${cli} ${db.slice(0, 12)}`), hosts);
      // The link environment, as dockerd 20.10 writes it (read off a reference daemon).
      const env = lines(ok(await d.cli(cli, ['run', '--rm', '--name', `par-${cli}`, '--link', `db-${cli}:my-db`, 'busybox', 'env']))).sort();
      const want = [
        'MY_DB_ENV_FOO=bar',
        `MY_DB_NAME=/par-${cli}/my-db`,
        `MY_DB_PORT=udp://${dbIp}:80`,
        `MY_DB_PORT_5432_TCP=tcp://${dbIp}:5432`,
        `MY_DB_PORT_5432_TCP_ADDR=${dbIp}`,
        'MY_DB_PORT_5432_TCP_PORT=5432',
        'MY_DB_PORT_5432_TCP_PROTO=tcp',
        `MY_DB_PORT_80_UDP=udp://${dbIp}:80`,
        `MY_DB_PORT_80_UDP_ADDR=${dbIp}`,
        'MY_DB_PORT_80_UDP_PORT=80',
        'MY_DB_PORT_80_UDP_PROTO=udp',
      ];
      assert.deepEqual(
        env.filter((l) => l.startsWith('MY_DB_')),
        want,
      );
      const ping = ok(await d.cli(cli, ['run', '--rm', '--link', `db-${cli}:dbalias`, 'busybox', 'ping', '-c', '1', '-W', '3', 'dbalias']));
      assert.match(ping, /1 packets received/);
      // dockerd's errors: a missing target at create (nothing created), a stopped one at start.
      const before = lines(ok(await d.cli(cli, ['ps', '-aq']))).length;
      fails(
        await d.cli(cli, ['run', '--rm', '--link', `nosuch-${cli}:s`, 'busybox', 'true']),
        125,
        new RegExp(`could not get container for nosuch-${cli}: No such container: nosuch-${cli}`),
      );
      assert.equal(lines(ok(await d.cli(cli, ['ps', '-aq']))).length, before, 'nothing created');
      const stopped = ok(await d.cli(cli, ['create', '--name', `stopped-${cli}`, 'busybox', 'true']));
      fails(
        await d.cli(cli, ['run', '--rm', '--name', `lk-${cli}`, '--link', `stopped-${cli}:s`, 'busybox', 'true']),
        125,
        new RegExp(`Cannot link to a non running container: /stopped-${cli} AS /lk-${cli}/s`),
      );
      ok(await d.cli(cli, ['rm', '-f', stopped]));
      const mac = `02:42:0a:ed:${(0x10 + Math.floor(Math.random() * 200)).toString(16)}:0${CLIS.indexOf(cli) + 1}`;
      const m = ok(await d.cli(cli, ['run', '-d', '--mac-address', mac, 'busybox', 'sleep', '60']));
      assert.equal(ok(await d.cli(cli, ['exec', m, 'cat', '/sys/class/net/eth0/address'])), mac);
      assert.equal((await d.api.inspect(m)).NetworkSettings.MacAddress, mac);
      ok(await d.cli(cli, ['rm', '-f', db, m]));
    });

    // Expected values below are what dockerd 20.10.24 answered to the same commands (docker CLI 28).
    it("network-mode conflicts are refused at create with dockerd's messages; nothing is created", async () => {
      const donor = ok(await d.cli(cli, ['run', '-d', '--name', `donor-${cli}`, 'busybox', 'sleep', '300']));
      const cases: Array<[string[], string]> = [
        [['--uts', 'host', '-h', 'foo'], 'conflicting options: hostname and the UTS mode'],
        [['--network', `container:donor-${cli}`, '-p', '8080:80'], 'conflicting options: port publishing and the container type network mode'],
        [['--network', `container:donor-${cli}`, '-P', '--expose', '80'], 'conflicting options: port publishing and the container type network mode'],
        [['--network', `container:donor-${cli}`, '--expose', '80'], 'conflicting options: port exposing and the container type network mode'],
        [['--network', `container:donor-${cli}`, '-h', 'foo'], 'conflicting options: hostname and the network mode'],
        [['--network', `container:donor-${cli}`, '--dns', '1.1.1.1'], 'conflicting options: dns and the network mode'],
        [['--network', `container:donor-${cli}`, '--add-host', 'a:1.2.3.4'], 'conflicting options: custom host-to-IP mapping and the network mode'],
        [
          ['--network', `container:donor-${cli}`, '--link', `donor-${cli}:x`],
          "conflicting options: container type network can't be used with links. This would result in undefined behavior",
        ],
        [
          ['--network', 'host', '--link', `donor-${cli}:x`],
          "conflicting options: host type networking can't be used with links. This would result in undefined behavior",
        ],
        [['--network', 'container:'], 'Invalid network mode: invalid container format container:<name|id>'],
        [['--ipc', `container:nosuch-${cli}`], `No such container: nosuch-${cli}`],
        // docker CLI 28 sends the MAC on the endpoint (API 1.44+); dockerd 20.10 took it from Config: same answer.
        [['--network', 'host', '--mac-address', '02:42:ac:11:00:09'], 'conflicting options: mac-address and the network mode'],
        [['--network', `container:donor-${cli}`, '--mac-address', '02:42:ac:11:00:09'], 'conflicting options: mac-address and the network mode'],
      ];
      const before = lines(ok(await d.cli(cli, ['ps', '-aq']))).length;
      for (const [args, msg] of cases) {
        const r = await d.cli(cli, ['create', ...args, 'busybox', 'true']);
        assert.notEqual(r.code, 0, r.desc);
        assert.ok(r.stderr.includes(`Error response from daemon: ${msg}`), `${args.join(' ')}: ${r.desc}`);
      }
      assert.equal(lines(ok(await d.cli(cli, ['ps', '-aq']))).length, before, 'nothing created');
      // MAC address with host / container: networking (raw API, as API < 1.44 clients send it).
      for (const mode of ['host', `container:donor-${cli}`]) {
        const r = await d.api.post('/v1.41/containers/create', { Image: 'busybox', MacAddress: '02:42:ac:11:00:09', HostConfig: { NetworkMode: mode } });
        assert.equal(r.status, 400, r.text);
        assert.equal(JSON.parse(r.text).message, 'conflicting options: mac-address and the network mode');
      }
      // What dockerd accepts: host networking with -h, --dns, --add-host, -p (ports discarded).
      for (const args of [
        ['--network', 'host', '-h', 'foo'],
        ['--network', 'host', '--dns', '1.1.1.1', '--add-host', 'a:1.2.3.4'],
        ['--network', 'none', '-p', '80:80'],
      ]) {
        ok(await d.cli(cli, ['rm', '-f', ok(await d.cli(cli, ['create', ...args, 'busybox', 'true']))]));
      }
      // IPC: a private donor is refused at start (500), a shareable one is joined.
      fails(
        await d.cli(cli, ['run', '--rm', '--ipc', `container:donor-${cli}`, 'busybox', 'true']),
        125,
        new RegExp(`can't join IPC of container ${donor}: non-shareable IPC \\(hint: use IpcMode:shareable for the donor container\\)`),
      );
      const shm = ok(await d.cli(cli, ['run', '-d', '--ipc', 'shareable', 'busybox', 'sleep', '300']));
      ok(await d.cli(cli, ['run', '--rm', '--ipc', `container:${shm}`, 'busybox', 'true']));
      const stopped = ok(await d.cli(cli, ['create', 'busybox', 'true']));
      fails(
        await d.cli(cli, ['run', '--rm', '--network', `container:${stopped}`, 'busybox', 'true']),
        125,
        new RegExp(`cannot join network of a non running container: ${stopped}`),
      );
      ok(await d.cli(cli, ['rm', '-f', donor, shm, stopped]));
    });

    it("--network host: the host's hostname and /etc/hosts; container:X: X's hostname and /etc files", async () => {
      assert.equal(ok(await d.cli(cli, ['run', '--rm', '--network', 'host', 'busybox', 'hostname'])), hostname());
      assert.equal(ok(await d.cli(cli, ['run', '--rm', '--network', 'host', '-h', 'foo', 'busybox', 'hostname'])), 'foo');
      assert.equal(ok(await d.cli(cli, ['run', '--rm', '--network', 'host', 'busybox', 'cat', '/etc/hosts'])), readFileSync('/etc/hosts', 'utf8').trim());
      const extra = lines(ok(await d.cli(cli, ['run', '--rm', '--network', 'host', '--add-host', 'a:1.2.3.4', 'busybox', 'cat', '/etc/hosts'])));
      assert.deepEqual(extra, [
        '127.0.0.1\tlocalhost',
        '::1\tlocalhost ip6-localhost ip6-loopback',
        'fe00::0\tip6-localnet',
        'ff00::0\tip6-mcastprefix',
        'ff02::1\tip6-allnodes',
        'ff02::2\tip6-allrouters',
        '1.2.3.4\ta',
      ]);
      const x = ok(await d.cli(cli, ['run', '-d', 'busybox', 'sleep', '300']));
      const joined = ok(await d.cli(cli, ['create', '--network', `container:${x}`, 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname; cat /etc/hosts']));
      assert.equal((await d.api.inspect(joined)).HostsPath, '', 'no files of its own before start (dockerd)');
      ok(await d.cli(cli, ['start', joined]));
      await waitFor(async () => !(await d.state(joined)).Running, { what: 'joined container exits' });
      const out = lines(ok(await d.cli(cli, ['logs', joined])));
      const donorHosts = lines(ok(await d.cli(cli, ['exec', x, 'cat', '/etc/hosts'])));
      assert.deepEqual(out, [x.slice(0, 12), x.slice(0, 12), ...donorHosts]);
      const [ji, xi] = [await d.api.inspect(joined), await d.api.inspect(x)];
      assert.equal(ji.Config.Hostname, x.slice(0, 12));
      assert.equal(ji.HostsPath, xi.HostsPath);
      assert.equal(ji.ResolvConfPath, xi.ResolvConfPath);
      ok(await d.cli(cli, ['rm', '-f', x, joined]));
    });

    it('-p PORT:80 publishes on 0.0.0.0 and [::]; restart keeps the address, a newcomer takes a freed one', async () => {
      const hp = freePort();
      const web = ok(await d.cli(cli, ['run', '-d', '-p', `${hp}:80`, 'busybox', 'sh', '-c', 'hostname > /tmp/index.html; exec httpd -f -p 80 -h /tmp']));
      assert.deepEqual(lines(ok(await d.cli(cli, ['port', web]))), [`80/tcp -> 0.0.0.0:${hp}`, `80/tcp -> [::]:${hp}`]);
      assert.deepEqual((await d.api.inspect(web)).NetworkSettings.Ports['80/tcp'], [
        { HostIp: '0.0.0.0', HostPort: String(hp) },
        { HostIp: '::', HostPort: String(hp) },
      ]);
      assert.equal(ok(await d.cli(cli, ['ps', '--filter', `id=${web}`, '--format', '{{.Ports}}'])), `0.0.0.0:${hp}->80/tcp, [::]:${hp}->80/tcp`);
      for (const host of ['127.0.0.1', '[::1]']) {
        const body = await waitFor(
          async () => {
            const r = await httpGet(`http://${host}:${hp}/`).catch(() => undefined);
            return r?.includes(web.slice(0, 12)) ? r : undefined;
          },
          { what: `http://${host}:${hp}/` },
        );
        assert.equal(body.trim(), web.slice(0, 12));
      }
      // A host port is taken on [::] too.
      fails(await d.cli(cli, ['run', '--rm', '-p', `${hp}:80`, 'busybox', 'true']), 125, /port is already allocated/);
      ok(await d.cli(cli, ['rm', '-f', web]));
      await waitFor(
        async () =>
          await httpGet(`http://[::1]:${hp}/`).then(
            () => false,
            () => true,
          ),
        { what: '[::] listener closed' },
      );
      // Addresses as dockerd 20.10 hands them out: the lowest free one, released at stop.
      const o = octet();
      const net = `ret-${cli}-${o}`;
      const br = bridge2();
      bridges.push(br);
      ok(await d.cli(cli, ['network', 'create', '--subnet', `10.237.${o}.0/24`, '-o', `com.docker.network.bridge.name=${br}`, net]));
      const ipOf = async (id: string): Promise<string> => (await d.api.inspect(id)).NetworkSettings.Networks[net].IPAddress as string;
      const a = ok(await d.cli(cli, ['run', '-d', '--network', net, 'busybox', 'sleep', '300']));
      const b = ok(await d.cli(cli, ['run', '-d', '--network', net, 'busybox', 'sleep', '300']));
      assert.deepEqual([await ipOf(a), await ipOf(b)], [`10.237.${o}.2`, `10.237.${o}.3`]);
      ok(await d.cli(cli, ['restart', '-t', '0', b]));
      assert.equal(await ipOf(b), `10.237.${o}.3`, 'restart keeps the address');
      ok(await d.cli(cli, ['stop', '-t', '0', a]));
      const c = ok(await d.cli(cli, ['run', '-d', '--network', net, 'busybox', 'sleep', '300']));
      assert.equal(await ipOf(c), `10.237.${o}.2`, "a newcomer takes the stopped container's address");
      ok(await d.cli(cli, ['start', a]));
      assert.equal(await ipOf(a), `10.237.${o}.4`);
      ok(await d.cli(cli, ['rm', '-f', a, b, c]));
      ok(await d.cli(cli, ['network', 'rm', net]));
    });
  });
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/**
 * berthd's CRI server driven end to end by crictl (cri-tools v1.26.1 from /work/shared/tools/cri):
 * a real daemon serving CRI on its own socket under its temp root, its own CNI conflist (bridge
 * bcric0, 10.207.0.0/25, IPAM state under the root) and a local berth-registry that
 * `registry.k8s.io` is mirrored to (--cri-registry-mirror). After `rmp` nothing of the pod may be
 * left: netns mount, veth on the bridge, IPAM reservation, cgroups, NAT rules.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthRegistry } from '../bench/registry-harness.js';
import { cleanupAndCheck, CRICTL, run, TestDaemon, type RunResult } from './helpers/daemon.js';

const BRIDGE = 'bcric0';
const SUBNET_PREFIX = '10.207.0.';

function conflist(dir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'bcric',
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.207.0.0/25' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(dir, 'ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'loopback' },
    ],
  });
}

const sh = (cmd: string, args: string[]): string => spawnSync(cmd, args, { encoding: 'utf8' }).stdout ?? '';

describe('CRI end to end with crictl', () => {
  let d: TestDaemon | undefined;
  let reg: BerthRegistry | undefined;
  const ep = (): string => (d as TestDaemon).criEndpoint;
  const crictl = (args: string[], timeout = 90_000): Promise<RunResult> =>
    run(CRICTL, ['--runtime-endpoint', ep(), '--image-endpoint', ep(), '--timeout', '60s', ...args], { timeout });
  const ok = async (args: string[]): Promise<string> => {
    const r = await crictl(args);
    assert.equal(r.code, 0, r.desc);
    return r.stdout.trim();
  };
  let cniDir = '';
  let podId = '';
  let ctrId = '';
  let ip = '';

  before(async () => {
    assert.ok(fs.existsSync(CRICTL), `crictl not found at ${CRICTL}`);
    reg = await BerthRegistry.start();
    const mirror = `http://${reg.host}`;
    cniDir = fs.mkdtempSync('/tmp/berth-cri-cni-');
    fs.mkdirSync(path.join(cniDir, 'net.d'));
    fs.writeFileSync(path.join(cniDir, 'net.d', '10-bcric.conflist'), conflist(cniDir));
    d = await TestDaemon.start({
      cri: true,
      args: ['--cri-registry-mirror', `registry.k8s.io=${mirror}`, '--cni-conf-dir', path.join(cniDir, 'net.d'), '--cni-bin-dir', '/usr/lib/cni'],
    });
    const push = async (args: string[]): Promise<void> => {
      const r = await d!.berth(args, { timeout: 60_000 });
      assert.equal(r.code, 0, r.desc);
    };
    await push(['tag', 'busybox', `${reg.host}/e2e/busybox:1`]);
    await push(['push', `${reg.host}/e2e/busybox:1`]);
    await push(['rmi', `${reg.host}/e2e/busybox:1`]);
    await push(['rmi', 'busybox']); // the pull below downloads it again
  });

  after(async () => {
    try {
      if (d) {
        // Whatever a failed step left: pods first (CNI DEL while the netns is there).
        if (podId) await crictl(['rmp', '-f', podId]).catch(() => undefined);
        const nsDir = path.join(d.execRoot, 'cri', 'netns');
        for (const f of fs.existsSync(nsDir) ? fs.readdirSync(nsDir) : []) spawnSync('umount', [path.join(nsDir, f)]);
      }
      await cleanupAndCheck(d);
    } finally {
      await reg?.stop();
      spawnSync('ip', ['link', 'del', BRIDGE]);
      if (cniDir) fs.rmSync(cniDir, { recursive: true, force: true });
    }
  });

  it('version and info', async () => {
    assert.match(await ok(['version']), /RuntimeName:\s+berth\n[\s\S]*RuntimeApiVersion:\s+v1/);
    const info = JSON.parse(await ok(['info'])) as { status: { conditions: Array<{ type: string; status: boolean }> } };
    assert.deepEqual(
      info.status.conditions.map((c) => [c.type, c.status]),
      [
        ['RuntimeReady', true],
        ['NetworkReady', true],
      ],
    );
  });

  it('pull through the registry mirror, images, inspecti', async () => {
    assert.match(await ok(['pull', 'registry.k8s.io/e2e/busybox:1']), /Image is up to date for sha256:[0-9a-f]{64}/);
    const images = await ok(['images']);
    assert.match(images, /registry\.k8s\.io\/e2e\/busybox\s+1\s/);
    const st = JSON.parse(await ok(['inspecti', 'registry.k8s.io/e2e/busybox:1'])) as { status: { repoTags: string[] } };
    assert.deepEqual(st.status.repoTags, ['registry.k8s.io/e2e/busybox:1']);
  });

  it('runp, create, start, ps, exec -s, logs', async () => {
    const root = (d as TestDaemon).root;
    const podFile = path.join(root, 'pod.json');
    fs.writeFileSync(
      podFile,
      JSON.stringify({
        metadata: { name: 'p1', namespace: 'default', uid: 'uid-p1', attempt: 0 },
        hostname: 'p1host',
        log_directory: path.join(root, 'pod-logs'),
        linux: {},
      }),
    );
    const ctrFile = path.join(root, 'ctr.json');
    fs.writeFileSync(
      ctrFile,
      JSON.stringify({
        metadata: { name: 'c1' },
        image: { image: 'registry.k8s.io/e2e/busybox:1' },
        command: ['sh', '-c', 'echo hello-out; echo hello-err >&2; exec sleep 1000'],
        envs: [{ key: 'GREETING', value: 'hi' }],
        log_path: 'c1/0.log',
        linux: {},
      }),
    );
    podId = await ok(['runp', podFile]);
    assert.match(podId, /^[0-9a-f]{64}$/);
    const pod = JSON.parse(await ok(['inspectp', podId])) as { status: { state: string; network: { ip: string } } };
    assert.equal(pod.status.state, 'SANDBOX_READY');
    ip = pod.status.network.ip;
    assert.ok(ip.startsWith(SUBNET_PREFIX) && Number(ip.split('.')[3]) < 128, `pod IP ${ip} not in 10.207.0.0/25`);
    ctrId = await ok(['create', podId, ctrFile, podFile]);
    await ok(['start', ctrId]);
    assert.match(await ok(['ps']), new RegExp(`${ctrId.slice(0, 13)}.*Running\\s+c1`));
    assert.match(await ok(['pods']), new RegExp(`${podId.slice(0, 13)}.*Ready\\s+p1\\s+default`));
    const exec = await ok(['exec', '-s', ctrId, 'sh', '-c', 'hostname; echo $GREETING; ip -4 addr show eth0']);
    assert.match(exec, /^p1host\nhi\n/);
    assert.ok(exec.includes(`inet ${ip}/25`), exec);
    const failing = await crictl(['exec', '-s', ctrId, 'sh', '-c', 'echo bad >&2; exit 3']);
    assert.notEqual(failing.code, 0);
    assert.match(failing.stderr, /exited with 3: bad/);
    // The log in CRI's format at log_directory/log_path, as `crictl logs` reads it.
    const logFile = path.join(root, 'pod-logs', 'c1', '0.log');
    const logs = await crictl(['logs', ctrId]);
    assert.equal(logs.code, 0, logs.desc);
    assert.equal(logs.stdout, 'hello-out\n');
    assert.equal(logs.stderr, 'hello-err\n');
    assert.match(fs.readFileSync(logFile, 'utf8'), /^\S+ stdout F hello-out\n\S+ stderr F hello-err\n$/);
    // The pod and its container are Berth containers: the Engine API lists them, labelled.
    const r = await (d as TestDaemon).api.get('/containers/json?filters=' + encodeURIComponent(JSON.stringify({ label: ['io.kubernetes.pod.name=p1'] })));
    const names = r
      .json<Array<{ Names: string[] }>>()
      .map((c) => c.Names[0])
      .sort();
    assert.deepEqual(names, ['/k8s_POD_p1_default_uid-p1_0', '/k8s_c1_p1_default_uid-p1_0']);
    // ... but leaves changing them to the kubelet (cri/guard.ts).
    for (const [method, p] of [
      ['DELETE', `/containers/${ctrId}?force=1`],
      ['POST', `/containers/${podId}/stop`],
      ['POST', `/containers/${ctrId}/kill`],
    ] as const) {
      const g = await (d as TestDaemon).api.request({ method, path: p });
      assert.equal(g.status, 409, `${method} ${p}: ${g.text}`);
      assert.match(g.text, /managed through the CRI: use crictl/);
    }
  });

  it('stop, rm, stopp, rmp leave nothing behind', async () => {
    await ok(['stop', ctrId]);
    const st = JSON.parse(await ok(['inspect', ctrId])) as { status: { state: string } };
    assert.equal(st.status.state, 'CONTAINER_EXITED');
    // An exited CRI container is the kubelet's to remove: `docker container prune` leaves it.
    const pruned = await (d as TestDaemon).api.post('/containers/prune');
    assert.equal(pruned.json<{ ContainersDeleted: unknown }>().ContainersDeleted, null, pruned.text);
    await ok(['rm', ctrId]);
    await ok(['stopp', podId]);
    const pod = JSON.parse(await ok(['inspectp', podId])) as { status: { state: string } };
    assert.equal(pod.status.state, 'SANDBOX_NOTREADY');
    await ok(['rmp', podId]);
    const id = podId;
    podId = '';
    assert.equal(await ok(['pods', '-q']), '');
    assert.equal(await ok(['ps', '-a', '-q']), '');
    const t = d as TestDaemon;
    const nsDir = path.join(t.execRoot, 'cri', 'netns');
    assert.deepEqual(fs.existsSync(nsDir) ? fs.readdirSync(nsDir) : [], [], 'netns files left');
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(id));
    assert.deepEqual(mounts, [], 'mounts left');
    assert.equal(sh('ip', ['-o', 'link', 'show', 'master', BRIDGE]).trim(), '', 'veth left on the bridge');
    const ipam = path.join(cniDir, 'ipam', 'bcric');
    assert.deepEqual(
      fs.readdirSync(ipam).filter((f) => f.startsWith(SUBNET_PREFIX)),
      [],
      'IPAM reservation left',
    );
    assert.equal(fs.existsSync(t.cgroupFile('memory', id, '')), false, 'pod cgroup left');
    assert.ok(!sh('iptables-save', ['-t', 'nat']).includes(id), 'NAT rules of the pod left');
  });
});

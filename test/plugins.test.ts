/**
 * Managed plugins: created from a tar of a directory holding config.json and rootfs/ (the raw
 * API, the docker CLI and docker-py), inspected (config.json's keys mapped to PluginConfig as
 * dockerd maps them), listed with filters, configured with `set` (dockerd's settable rules),
 * refused for what Berth cannot do (enable, push), removed, kept across a daemon restart, and
 * hostile or incomplete archives refused leaving nothing behind.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DOCKER, HAVE_DOCKER, HEX64, TestDaemon, run } from './helpers/daemon.js';
import { cleanupAndCheck } from './helpers/daemon.js';
import { ok } from './helpers/assert.js';

const PY = '/usr/bin/python3';
const HAVE_PY = spawnSync(PY, ['-c', 'import docker'], { stdio: 'ignore' }).status === 0;

let d: TestDaemon;
let tmp: string;

/** docker-py's dummy-plugin test directory, as its integration tests ship it. */
const CONFIG = {
  description: 'Dummy test plugin for docker python SDK',
  documentation: 'https://github.com/docker/docker-py',
  entrypoint: ['/dummy'],
  network: { type: 'host' },
  interface: { types: ['docker.volumedriver/1.0'], socket: 'dummy.sock' },
  env: [{ name: 'DEBUG', settable: ['value'], value: '0' }],
  Args: { name: 'args', settable: ['value'], value: ['-v'] },
  mounts: [{ name: 'data', source: '/var/lib/x', destination: '/data', type: 'bind', settable: ['source'] }],
};

function pluginDir(name: string, config: unknown = CONFIG): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, 'rootfs', 'dummy'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'rootfs', 'dummy', 'file.txt'), 'dummy\n');
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

function tarOf(dir: string, entries: string[]): Buffer {
  const r = spawnSync('tar', ['-C', dir, '-cf', '-', ...entries]);
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout;
}

const create = (name: string, tar: Buffer) =>
  d.api.request({ method: 'POST', path: `/plugins/create?name=${encodeURIComponent(name)}`, raw: tar, headers: { 'Content-Type': 'application/x-tar' } });

const pluginDirs = (): string[] =>
  fs
    .readdirSync(path.join(d.dataRoot, 'plugins'))
    .filter((n) => n !== 'tmp')
    .sort();

before(async () => {
  assert.ok(HAVE_DOCKER, `the docker CLI is needed at ${DOCKER}`);
  assert.ok(HAVE_PY, `docker-py (python3-docker) is needed for ${PY}: scripts/install-deps.sh installs it`);
  d = await TestDaemon.start();
  tmp = fs.mkdtempSync('/tmp/berth-plugins-');
});

after(async () => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  if (d) await cleanupAndCheck(d);
});

const T = { timeout: 180_000 };

describe('managed plugins', () => {
  it('create from a tar, inspect by name/ID/prefix, list with filters, set, disable/enable/push refused, remove', T, async () => {
    const r = await create('plugtest/p1', tarOf(pluginDir('p1'), ['config.json', 'rootfs']));
    assert.equal(r.status, 204, r.text);
    const p = (await d.api.get('/plugins/plugtest/p1/json')).json();
    assert.equal(p.Name, 'plugtest/p1:latest');
    assert.equal(p.PluginReference, 'plugtest/p1:latest');
    assert.equal(p.Enabled, false);
    assert.match(p.Id, HEX64);
    assert.equal(p.Config.Description, CONFIG.description);
    assert.equal(p.Config.Documentation, CONFIG.documentation);
    assert.deepEqual(p.Config.Entrypoint, ['/dummy']);
    assert.deepEqual(p.Config.Network, { Type: 'host' });
    assert.deepEqual(p.Config.Interface, { Socket: 'dummy.sock', Types: ['docker.volumedriver/1.0'] });
    assert.deepEqual(p.Config.Env, [{ Description: '', Name: 'DEBUG', Settable: ['value'], Value: '0' }]);
    assert.deepEqual(p.Config.Args, { Description: '', Name: 'args', Settable: ['value'], Value: ['-v'] });
    assert.deepEqual(p.Config.Linux, { AllowAllDevices: false, Capabilities: null, Devices: null });
    assert.deepEqual(p.Config.User, {});
    assert.equal(p.Config.WorkDir, '');
    assert.equal(p.Config.rootfs.type, 'layers');
    assert.match(p.Config.rootfs.diff_ids[0], /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(p.Settings, {
      Args: ['-v'],
      Devices: [],
      Env: ['DEBUG=0'],
      Mounts: [{ Description: '', Destination: '/data', Name: 'data', Options: null, Settable: ['source'], Source: '/var/lib/x', Type: 'bind' }],
    });
    assert.equal(fs.readFileSync(path.join(d.dataRoot, 'plugins', p.Id, 'rootfs', 'dummy', 'file.txt'), 'utf8'), 'dummy\n');

    for (const ref of [p.Id, p.Id.slice(0, 5), 'plugtest/p1:latest']) {
      const i = await d.api.get(`/plugins/${ref}/json`);
      assert.equal(i.status, 200, `${ref}: ${i.text}`);
      assert.equal(i.json().Id, p.Id);
    }
    for (const ref of ['plugtest/p1:v2', 'PLUGTEST', 'f'.repeat(64)]) {
      const i = await d.api.get(`/plugins/${ref}/json`);
      assert.equal(i.status, 404, `${ref}: ${i.text}`);
      assert.equal(i.json().message, `plugin "${ref}" not found`);
    }
    const again = await create('plugtest/p1:latest', tarOf(pluginDir('p1'), ['config.json', 'rootfs']));
    assert.equal(again.status, 409, again.text);
    assert.equal(again.json().message, 'plugin plugtest/p1:latest already exists');
    const upper = await create('BAD', tarOf(pluginDir('p1'), ['config.json', 'rootfs']));
    assert.equal(upper.status, 400); // dockerd: 500
    assert.equal(upper.json().message, 'failed to parse reference BAD: invalid reference format: repository name must be lowercase');

    const q = (f: unknown): string => `/plugins?filters=${encodeURIComponent(JSON.stringify(f))}`;
    const names = async (f?: unknown): Promise<string[]> => {
      const l = await d.api.get(f ? q(f) : '/plugins');
      assert.equal(l.status, 200, l.text);
      return l.json().map((x: any) => x.Name);
    };
    assert.deepEqual(await names(), ['plugtest/p1:latest']);
    assert.deepEqual(await names({ enabled: { false: true } }), ['plugtest/p1:latest']);
    assert.deepEqual(await names({ enabled: { true: true } }), []);
    assert.deepEqual(await names({ capability: { volumedriver: true } }), ['plugtest/p1:latest']);
    assert.deepEqual(await names({ capability: { authz: true } }), []);
    const badFilter = await d.api.get(q({ enable: { true: true } }));
    assert.equal(badFilter.status, 400);
    assert.equal(badFilter.json().message, "Invalid filter 'enable'");

    const set = (args: unknown) => d.api.request({ method: 'POST', path: '/plugins/plugtest/p1/set', body: args });
    assert.equal((await set(['DEBUG=1', 'args=-x -y', 'data.source=/srv'])).status, 204);
    const s = (await d.api.get('/plugins/plugtest/p1/json')).json().Settings;
    assert.deepEqual([s.Env, s.Args, s.Mounts[0].Source], [['DEBUG=1'], ['-x', '-y'], '/srv']);
    for (const [args, msg] of [
      [['NOPE=1'], 'setting "NOPE" not found in the plugin configuration'],
      [['DEBUG.source=2'], '"DEBUG.source" is not settable'],
      [['=1'], 'invalid format, must be <name>[.<field>][=<value>]'],
      [{}, 'json: cannot unmarshal object into Go value of type []string'],
    ] as const) {
      const e = await set(args);
      assert.equal(e.status, 400, `${JSON.stringify(args)}: ${e.text}`); // dockerd: 500 for the setting errors
      assert.equal(e.json().message, msg);
    }
    assert.equal((await d.api.get('/plugins/plugtest/p1/json')).json().Settings.Env[0], 'DEBUG=1', 'a refused set changes nothing');

    const dis = await d.api.post('/plugins/plugtest/p1/disable');
    assert.equal(dis.status, 409);
    assert.equal(dis.json().message, 'plugin is already disabled: plugin plugtest/p1:latest found but disabled');
    const en = await d.api.post('/plugins/plugtest/p1/enable?timeout=0');
    assert.equal(en.status, 501);
    assert.match(en.json().message, /^Berth cannot run managed plugins/);
    const push = await d.api.post('/plugins/plugtest/p1/push');
    assert.equal(push.status, 501);

    // the CLI: list, inspect, set; then a restart keeps the plugin and its settings
    assert.match(ok(await run(DOCKER, ['-H', `unix://${d.socket}`, 'plugin', 'ls'])), /plugtest\/p1:latest\s+Dummy test plugin for docker python SDK\s+false/);
    ok(await run(DOCKER, ['-H', `unix://${d.socket}`, 'plugin', 'set', 'plugtest/p1', 'DEBUG=2']));
    await d.stop();
    d = await TestDaemon.start({ reuse: d });
    const kept = (await d.api.get('/plugins/plugtest/p1/json')).json();
    assert.equal(kept.Id, p.Id);
    assert.deepEqual(kept.Settings.Env, ['DEBUG=2']);

    const missing = await d.api.delete('/plugins/plugtest/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.json().message, 'plugin "plugtest/nope" not found');
    assert.equal((await d.api.delete('/plugins/plugtest/p1')).status, 200);
    assert.deepEqual(await names(), []);
    assert.deepEqual(pluginDirs(), []);
  });

  it('docker-py and the docker CLI create, inspect and remove a plugin', T, async () => {
    const dir = pluginDir('py', { ...CONFIG, description: 'from docker-py' });
    const script = String.raw`
import docker, json, sys
c = docker.APIClient(base_url='unix://' + sys.argv[1], version='auto')
assert c.create_plugin('plugtest/py', sys.argv[2]) is True
p = c.inspect_plugin('plugtest/py')
out = {'name': p['Name'], 'enabled': p['Enabled'], 'entrypoint': p['Config']['Entrypoint'], 'listed': [x['Name'] for x in c.plugins()]}
c.configure_plugin('plugtest/py', {'DEBUG': '5'})
out['env'] = c.inspect_plugin('plugtest/py')['Settings']['Env']
assert c.remove_plugin('plugtest/py') is True
try:
    c.inspect_plugin('plugtest/py')
except docker.errors.NotFound as e:
    out['gone'] = e.explanation
print(json.dumps(out))
`;
    const r = await run(PY, ['-c', script, d.socket, dir]);
    const out = JSON.parse(ok(r));
    assert.deepEqual(out, {
      name: 'plugtest/py:latest',
      enabled: false,
      entrypoint: ['/dummy'],
      listed: ['plugtest/py:latest'],
      env: ['DEBUG=5'],
      gone: 'plugin "plugtest/py" not found',
    });
    ok(await run(DOCKER, ['-H', `unix://${d.socket}`, 'plugin', 'create', 'plugtest/cli:1', pluginDir('cli', { ...CONFIG, description: 'from the CLI' })]));
    assert.equal(
      ok(await run(DOCKER, ['-H', `unix://${d.socket}`, 'plugin', 'inspect', '-f', '{{.Name}} {{.Config.Description}}', 'plugtest/cli:1'])).trim(),
      'plugtest/cli:1 from the CLI',
    );
    ok(await run(DOCKER, ['-H', `unix://${d.socket}`, 'plugin', 'rm', 'plugtest/cli:1']));
    assert.deepEqual(pluginDirs(), []);
  });

  it('hostile or incomplete archives are refused and leave nothing', T, async () => {
    const mk = String.raw`
import tarfile, io, sys
kind = sys.argv[2]
with tarfile.open(sys.argv[1], 'w') as t:
    def add(name, data=None, typ=tarfile.REGTYPE, link=''):
        ti = tarfile.TarInfo(name); ti.type = typ; ti.linkname = link
        if data is not None: ti.size = len(data)
        t.addfile(ti, io.BytesIO(data) if data is not None else None)
    if kind == 'climb':
        add('config.json', b'{}'); add('rootfs/', typ=tarfile.DIRTYPE); add('../../../../' + sys.argv[3], b'x')
    elif kind == 'conflink':
        add('config.json', typ=tarfile.SYMTYPE, link='/etc/passwd'); add('rootfs/', typ=tarfile.DIRTYPE)
    elif kind == 'rootlink':
        add('config.json', b'{}'); add('rootfs', typ=tarfile.SYMTYPE, link='/etc')
`;
    const escaped = path.join(tmp, 'escaped');
    const cases: Array<[string, string]> = [
      ['climb', `invalid tar entry "../../../../${escaped.slice(1)}": path escapes the destination`],
      ['conflink', 'config not found'],
      ['rootlink', 'no rootfs found: EOF'],
    ];
    for (const [kind, msg] of cases) {
      const file = path.join(tmp, `${kind}.tar`);
      ok(await run(PY, ['-c', mk, file, kind, escaped.slice(1)]));
      const r = await create(`plugtest/${kind}`, fs.readFileSync(file));
      assert.equal(r.status, 400, `${kind}: ${r.text}`);
      assert.equal(r.json().message, msg, kind);
    }
    assert.equal(fs.existsSync(escaped), false);
    const noConfig = await create('plugtest/nc', tarOf(pluginDir('nc', undefined), ['rootfs']));
    assert.equal(noConfig.json().message, 'config not found');
    const badJSON = await create('plugtest/bj', tarOf(pluginDir('bj', '{bad'), ['config.json', 'rootfs']));
    assert.equal(badJSON.json().message, "failed to parse config: invalid character 'b' looking for beginning of object key string");
    const badType = await create('plugtest/bt', tarOf(pluginDir('bt', { entrypoint: 'x' }), ['config.json', 'rootfs']));
    assert.equal(badType.json().message, 'failed to parse config: json: cannot unmarshal string into Go struct field PluginConfig.Entrypoint of type []string');
    const garbage = await create('plugtest/g', Buffer.from('garbage\n'));
    assert.equal(garbage.status, 400); // dockerd: 500 "failed to read from tar: unexpected EOF"
    assert.match(garbage.json().message, /^failed to read from tar: /);
    assert.deepEqual(pluginDirs(), []);
    assert.deepEqual(fs.readdirSync(path.join(d.dataRoot, 'plugins', 'tmp')), []);
    assert.deepEqual((await d.api.get('/plugins')).json(), []);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { withFixture } from '../../../test/helpers/composefixture.js';
import { loadProject } from './load.js';

test('discovery: nearest directory upwards, compose.yaml preferred with a warning, its override merged', async () => {
  await withFixture(
    {
      'compose.yaml': 'services:\n  web:\n    image: nginx\n    environment: {A: "1"}\n',
      'docker-compose.yml': 'services:\n  other:\n    image: busybox\n',
      'compose.override.yaml': 'services:\n  web:\n    environment: {B: "2"}\n',
      'compose.override.yml': 'services:\n  web:\n    environment: {B: "yml-wins"}\n',
      'sub/deeper/README': 'x',
    },
    async (dir) => {
      const warnings: string[] = [];
      const p = await loadProject({ cwd: path.join(dir, 'sub/deeper'), environment: {}, warn: (m) => warnings.push(m) });
      assert.deepEqual(p.files, [path.join(dir, 'compose.yaml'), path.join(dir, 'compose.override.yml')]);
      assert.equal(p.workingDir, dir);
      assert.deepEqual(Object.keys(p.services), ['web']);
      assert.deepEqual(p.services.web?.environment, { A: '1', B: 'yml-wins' });
      assert.equal(warnings.length, 2);
      assert.match(
        warnings[1] ?? '',
        /Found multiple override files with supported names: .*compose\.override\.yml, .*compose\.override\.yaml\nUsing .*compose\.override\.yml/,
      );
      assert.match(warnings[0] ?? '', /Found multiple config files with supported names: .*compose\.yaml, .*docker-compose\.yml\nUsing .*compose\.yaml/);
    },
  );
  await withFixture({ 'x.txt': '' }, async (dir) => {
    await assert.rejects(loadProject({ cwd: dir, environment: {} }), /no configuration file provided: not found/);
  });
});

test('COMPOSE_FILE lists the files (":"-separated, relative to the working dir) when there is no -f', async () => {
  await withFixture(
    { 'a.yml': 'services:\n  a:\n    image: x\n', 'b/b.yml': 'services:\n  b:\n    image: y\n', 'compose.yaml': 'services:\n  c:\n    image: z\n' },
    async (dir) => {
      const p = await loadProject({ cwd: dir, environment: { COMPOSE_FILE: 'a.yml:b/b.yml' } });
      assert.deepEqual(Object.keys(p.services).sort(), ['a', 'b']);
      assert.equal(p.workingDir, dir);
      const f = await loadProject({ cwd: dir, files: ['compose.yaml'], environment: { COMPOSE_FILE: 'a.yml' } });
      assert.deepEqual(Object.keys(f.services), ['c']);
      writeFileSync(path.join(dir, '.env'), 'COMPOSE_FILE=b/b.yml\n');
      const fromDotenv = await loadProject({ cwd: dir, environment: {} });
      assert.deepEqual(Object.keys(fromDotenv.services), ['b']);
      assert.equal(fromDotenv.workingDir, path.join(dir, 'b'));
    },
  );
});

test('-f files merge: maps merged, sequences appended, ports/volumes by key, command replaced', async () => {
  const base = [
    'services:',
    '  app:',
    '    image: app:1',
    '    command: ["run", "a"]',
    '    environment: [A=1, B=2]',
    '    labels: {l1: x}',
    '    ports: ["8080:80", "9090:90"]',
    '    volumes: ["data:/data", "./conf:/conf"]',
    '    dns: [1.1.1.1]',
    '    healthcheck: {test: ["CMD", "true"], interval: 10s}',
    'volumes:',
    '  data: {}',
    '  other: {}',
  ].join('\n');
  const over = [
    'services:',
    '  app:',
    '    image: app:2',
    '    command: serve --port 80',
    '    environment: {B: "two", C: "3"}',
    '    labels: [l2=y]',
    '    ports: ["8080:80", "7070:70"]',
    '    volumes: ["other:/data"]',
    '    dns: [8.8.8.8, 1.1.1.1]',
    '    healthcheck: {test: curl -f localhost}',
  ].join('\n');
  await withFixture({ 'compose.yaml': base, 'prod.yaml': over }, async (dir) => {
    const p = await loadProject({ cwd: dir, files: ['compose.yaml', 'prod.yaml'], environment: {} });
    const app = p.services.app;
    assert.ok(app !== undefined);
    assert.equal(app.image, 'app:2');
    assert.deepEqual(app.command, ['serve', '--port', '80']);
    assert.deepEqual(app.environment, { A: '1', B: 'two', C: '3' });
    assert.deepEqual(app.labels, { l1: 'x', l2: 'y' });
    assert.deepEqual(
      app.ports.map((x) => `${x.published}:${x.target}`),
      ['8080:80', '9090:90', '7070:70'],
    );
    assert.deepEqual(
      app.volumes.map((v) => `${v.source}:${v.target}`),
      ['other:/data', `${dir}/conf:/conf`],
    );
    assert.deepEqual(app.dns, ['1.1.1.1', '8.8.8.8']);
    assert.deepEqual(app.healthcheck, { test: ['CMD-SHELL', 'curl -f localhost'], interval: '10s' });
  });
});

test('!reset removes and !override replaces what an earlier file set', async () => {
  const base =
    'services:\n  app:\n    image: myapp\n    healthcheck: {test: [CMD, "true"]}\n    ports: ["8080:80"]\n    environment: {FOO: BAR, KEEP: k}\n    dns: [1.1.1.1]\n';
  const over =
    'services:\n  app:\n    healthcheck: !reset null\n    ports: !reset []\n    environment:\n      FOO: !reset null\n    dns: !override [9.9.9.9]\n';
  await withFixture({ 'compose.yaml': base, 'compose.override.yaml': over }, async (dir) => {
    const p = await loadProject({ cwd: dir, environment: {} });
    assert.deepEqual(p.services.app?.ports, []);
    assert.equal(p.services.app?.healthcheck, undefined);
    assert.deepEqual(p.services.app?.environment, { KEEP: 'k' });
    assert.deepEqual(p.services.app?.dns, ['9.9.9.9']);
  });
});

test('project name: -p, COMPOSE_PROJECT_NAME, name: (interpolated, normalised), else the directory name normalised', async () => {
  await withFixture(
    { 'compose.yaml': 'name: ${N:-fromfile}\nservices:\n  a:\n    image: x\n' },
    async (dir) => {
      assert.equal((await loadProject({ cwd: dir, environment: {} })).name, 'fromfile');
      assert.equal((await loadProject({ cwd: dir, environment: { N: 'interp' } })).name, 'interp');
      // a name: is normalised like a directory name (compose-go), only -p/COMPOSE_PROJECT_NAME must be normal already
      assert.equal((await loadProject({ cwd: dir, environment: { N: '-My.Project_1' } })).name, 'myproject_1');
      await assert.rejects(loadProject({ cwd: dir, environment: { COMPOSE_PROJECT_NAME: 'Upper' } }), /invalid project name "Upper"/);
      assert.equal((await loadProject({ cwd: dir, environment: { COMPOSE_PROJECT_NAME: 'envname' } })).name, 'envname');
      assert.equal((await loadProject({ cwd: dir, projectName: 'flag_1', environment: { COMPOSE_PROJECT_NAME: 'envname' } })).name, 'flag_1');
      await assert.rejects(
        loadProject({ cwd: dir, projectName: 'Bad.Name', environment: {} }),
        (e: unknown) =>
          e instanceof Error &&
          e.message ===
            'invalid project name "Bad.Name": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number',
      );
      await assert.rejects(loadProject({ cwd: dir, projectName: '-x', environment: {} }), /invalid project name "-x"/);
    },
    'Berth_Compose.Test-',
  );
  await withFixture(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n' },
    async (dir) => {
      const p = await loadProject({ cwd: dir, environment: {} });
      assert.match(p.name, /^_?berth_composetest-/);
      assert.equal(
        p.name,
        path
          .basename(dir)
          .toLowerCase()
          .replace(/[^a-z0-9_-]/g, '')
          .replace(/^[_-]+/, ''),
      );
      assert.equal(p.networks.default?.name, `${p.name}_default`);
    },
    '__Berth_Compose.Test-',
  );
});

test('.env feeds interpolation, the process environment wins, --env-file replaces .env', async () => {
  const files = {
    'compose.yaml': 'services:\n  a:\n    image: img:${TAG}\n    environment: {FROM_ENV: "${WHO}", BARE: null}\n    profiles: [p1]\n',
    '.env': 'BASE=dot\nTAG=${BASE}env\nWHO=dotenv-who\nBARE=bare-from-dotenv\nCOMPOSE_PROFILES=p1\nCOMPOSE_PROJECT_NAME=fromdotenv\n',
    'alt.env': 'TAG=alt\nCOMPOSE_PROFILES=p1\n',
  };
  await withFixture(files, async (dir) => {
    const p = await loadProject({ cwd: dir, environment: { WHO: 'shell' } });
    assert.equal(p.name, 'fromdotenv');
    assert.equal(p.services.a?.image, 'img:dotenv');
    assert.deepEqual(p.services.a?.environment, { FROM_ENV: 'shell', BARE: 'bare-from-dotenv' });
    const alt = await loadProject({ cwd: dir, envFiles: ['alt.env'], environment: {} });
    assert.equal(alt.services.a?.image, 'img:alt');
    assert.deepEqual(alt.services.a?.environment, { FROM_ENV: '', BARE: null });
    await assert.rejects(loadProject({ cwd: dir, envFiles: ['nope.env'], environment: {} }), /couldn't find env file: .*nope\.env/);
    const noProfile = await loadProject({ cwd: dir, environment: { COMPOSE_PROFILES: '' } });
    assert.deepEqual(Object.keys(noProfile.services), []);
    assert.deepEqual(Object.keys(noProfile.disabledServices), ['a']);
  });
});

test('extends: same file and other files, recursive, base paths against the base file, cycles refused', async () => {
  const files = {
    'compose.yaml': [
      'services:',
      '  web:',
      '    extends: {file: common/base.yaml, service: webapp}',
      '    environment: {PORT: "8080"}',
      '    ports: ["80:80"]',
      '  cli:',
      '    extends: web',
      '    command: cli',
    ].join('\n'),
    'common/base.yaml': [
      'services:',
      '  root:',
      '    image: busybox',
      '    user: root',
      '    volumes: ["./shared:/shared"]',
      '  webapp:',
      '    extends: root',
      '    build: ./ctx',
      '    environment: {TZ: utc, PORT: "80"}',
      '    ports: ["80:80", "443:443"]',
    ].join('\n'),
  };
  await withFixture(files, async (dir) => {
    const p = await loadProject({ cwd: dir, environment: {} });
    const web = p.services.web;
    assert.ok(web !== undefined);
    assert.equal(web.image, 'busybox');
    assert.equal(web.user, 'root');
    assert.deepEqual(web.environment, { TZ: 'utc', PORT: '8080' });
    assert.equal(web.build?.context, path.join(dir, 'common/ctx'));
    assert.deepEqual(web.volumes[0]?.source, path.join(dir, 'common/shared'));
    assert.deepEqual(
      web.ports.map((x) => x.target),
      [80, 443],
    );
    assert.deepEqual(p.services.cli?.command, ['cli']);
    assert.equal(p.services.cli?.user, 'root');
  });
  const cyc = { 'compose.yaml': 'services:\n  a:\n    image: x\n    extends: b\n  b:\n    extends: {service: a}\n' };
  await withFixture(cyc, async (dir) => {
    const f = path.join(dir, 'compose.yaml');
    await assert.rejects(
      loadProject({ cwd: dir, environment: {} }),
      (e: unknown) =>
        e instanceof Error && e.message === `${f}:4: services.a.extends: Circular reference:\n  a in ${f}\n  extends b in ${f}\n  extends a in ${f}`,
    );
  });
  const missing = { 'compose.yaml': 'services:\n  a:\n    extends: {file: nope.yaml, service: x}\n' };
  await withFixture(missing, async (dir) => {
    await assert.rejects(
      loadProject({ cwd: dir, environment: {} }),
      /compose\.yaml:3: services\.a\.extends: cannot extend service "a": file .*nope\.yaml not found/,
    );
  });
});

test('include: short and long syntax, own directory and .env, resources usable, conflicts refused', async () => {
  const files = {
    'compose.yaml': [
      'include:',
      '  - sub/compose.yaml',
      '  - path: [other/o.yaml, other/o2.yaml]',
      '    env_file: other/vars.env',
      '  - path: lib/tool.yaml',
      '    project_directory: libroot',
      'services:',
      '  web:',
      '    image: web',
      '    depends_on: [db, cache]',
      '    volumes: ["dbdata:/x"]',
    ].join('\n'),
    'sub/compose.yaml': 'services:\n  db:\n    image: postgres:${PGV}\n    volumes: ["./init:/init", "dbdata:/var/lib/postgresql"]\nvolumes:\n  dbdata: {}\n',
    'sub/.env': 'PGV=16\n',
    'other/o.yaml': 'services:\n  cache:\n    image: redis:${RV}\n',
    'other/o2.yaml': 'services:\n  cache:\n    command: redis-server --save ""\n',
    'other/vars.env': 'RV=7\n',
    'lib/tool.yaml': 'services:\n  tool:\n    build: .\n    image: tool:${TV:-none}\n',
    'libroot/.env': 'TV=from-libroot\n',
  };
  await withFixture(files, async (dir) => {
    const p = await loadProject({ cwd: dir, environment: {} });
    assert.deepEqual(Object.keys(p.services).sort(), ['cache', 'db', 'tool', 'web']);
    assert.equal(p.services.tool?.build?.context, path.join(dir, 'libroot'));
    assert.equal(p.services.tool?.image, 'tool:from-libroot');
    assert.equal(p.services.db?.image, 'postgres:16');
    assert.equal(p.services.db?.volumes[0]?.source, path.join(dir, 'sub/init'));
    assert.equal(p.services.cache?.image, 'redis:7');
    assert.deepEqual(p.services.cache?.command, ['redis-server', '--save', '']);
    assert.equal(p.volumes.dbdata?.name, `${p.name}_dbdata`);
    const local = await loadProject({ cwd: dir, environment: { PGV: '17' } });
    assert.equal(local.services.db?.image, 'postgres:17');
  });
  const conflict = {
    'compose.yaml': 'include:\n  - sub.yaml\nservices:\n  db:\n    image: mine\n',
    'sub.yaml': 'services:\n  db:\n    image: theirs\n',
  };
  await withFixture(conflict, async (dir) => {
    await assert.rejects(loadProject({ cwd: dir, environment: {} }), /compose\.yaml:2: include\[0\]: services\.db conflicts with imported resource$/);
  });
});

test('profiles: disabled unless active, "*" enables all, a named service enables its profiles', async () => {
  const text = [
    'services:',
    '  foo: {image: foo}',
    '  bar: {image: bar, profiles: [test]}',
    '  baz: {image: baz, profiles: [test], depends_on: [bar]}',
    '  zot: {image: zot, profiles: [debug], depends_on: [bar]}',
  ].join('\n');
  await withFixture({ 'compose.yaml': text }, async (dir) => {
    const names = async (o: { profiles?: string[]; enableServices?: string[] }): Promise<string[]> =>
      Object.keys((await loadProject({ cwd: dir, environment: {}, ...o })).services).sort();
    assert.deepEqual(await names({}), ['foo']);
    assert.deepEqual(await names({ profiles: ['test'] }), ['bar', 'baz', 'foo']);
    assert.deepEqual(await names({ profiles: ['*'] }), ['bar', 'baz', 'foo', 'zot']);
    assert.deepEqual(await names({ profiles: ['debug', 'test'] }), ['bar', 'baz', 'foo', 'zot']);
    assert.deepEqual(await names({ enableServices: ['baz'] }), ['bar', 'baz', 'foo']);
    assert.deepEqual(await names({ enableServices: ['zot'], profiles: ['test'] }), ['bar', 'baz', 'foo', 'zot']);
    await assert.rejects(
      loadProject({ cwd: dir, environment: {}, profiles: ['debug'] }),
      (e: unknown) =>
        e instanceof Error &&
        /compose\.yaml:5: services\.zot\.depends_on\.bar: service bar is required by zot but is disabled\. Can be enabled by profiles \[test\]$/.test(
          e.message,
        ),
    );
    await assert.rejects(loadProject({ cwd: dir, environment: {}, enableServices: ['zot'] }), /service bar is required by zot but is disabled/);
    await assert.rejects(loadProject({ cwd: dir, environment: {}, enableServices: ['nope'] }), /no such service: nope/);
    const p = await loadProject({ cwd: dir, environment: {} });
    assert.deepEqual(Object.keys(p.disabledServices).sort(), ['bar', 'baz', 'zot']);
  });
});

test('-f - reads the file from stdin, relative paths against the working dir', async () => {
  await withFixture({ 'x.txt': '' }, async (dir) => {
    const p = await loadProject({ cwd: dir, files: ['-'], stdin: 'services:\n  a:\n    image: x\n    volumes: [./d:/d]\n', environment: {} });
    assert.equal(p.workingDir, dir);
    assert.equal(p.services.a?.volumes[0]?.source, path.join(dir, 'd'));
    assert.deepEqual(p.files, ['-']);
  });
});

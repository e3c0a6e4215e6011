import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { withFixture } from '../../../test/helpers/composefixture.js';
import { ComposeFileError } from './errors.js';
import { loadProject } from './load.js';

/** load `files` from a fixture dir and expect an error whose message, after the dir, is `expected` */
async function expectError(files: Record<string, string>, expected: string | RegExp, opts: { files?: string[] } = {}): Promise<void> {
  await withFixture(files, async (dir) => {
    await assert.rejects(loadProject({ cwd: dir, environment: {}, ...opts }), (e: unknown) => {
      assert.ok(e instanceof Error);
      const msg = e.message.split(`${dir}${path.sep}`).join('');
      if (typeof expected === 'string') assert.equal(msg, expected);
      else assert.match(msg, expected);
      return true;
    });
  });
}

test('bad YAML names the file and line', async () => {
  await expectError({ 'compose.yaml': 'services:\n  web:\n    image: [nginx\n' }, /^compose\.yaml:\d: invalid YAML: /);
  await expectError({ 'compose.yaml': 'services:\n  web:\n    image: a\n    image: b\n' }, /^compose\.yaml:4: invalid YAML: Map keys must be unique/);
});

test('schema violations name file, line and field, in the file that has them', async () => {
  await expectError(
    { 'compose.yaml': 'services:\n  web:\n    image: nginx\n', 'compose.override.yaml': 'services:\n  web:\n    ports: [80]\n    restrat: always\n' },
    'compose.override.yaml:4: services.web: additional property restrat is not allowed',
  );
  await expectError(
    { 'compose.yaml': 'services:\n  web:\n    image: nginx\n    tty: [1]\n' },
    'compose.yaml:4: services.web.tty: must be a boolean or a string',
  );
});

test('unknown depends_on, cycles, undefined resources and network_mode services are refused with file:line: field', async () => {
  await expectError(
    { 'compose.yaml': 'services:\n  web:\n    image: nginx\n    depends_on:\n      - db\n' },
    'compose.yaml:5: services.web.depends_on.db: service "web" depends on undefined service "db": invalid compose project',
  );
  await expectError(
    {
      'compose.yaml':
        'services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on:\n      c: {condition: service_healthy}\n  c:\n    image: x\n    depends_on: [a]\n',
    },
    'compose.yaml:4: services.a.depends_on: dependency cycle detected: a -> b -> c -> a',
  );
  await expectError(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n    networks: [front]\n' },
    'compose.yaml:4: services.a.networks.front: service "a" refers to undefined network front: invalid compose project',
  );
  await expectError(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n    volumes:\n      - ./bind:/b\n      - data:/d\n' },
    'compose.yaml:6: services.a.volumes[1]: service "a" refers to undefined volume data: invalid compose project',
  );
  await expectError(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n    secrets: [token]\n' },
    'compose.yaml:4: services.a.secrets[0]: service "a" refers to undefined secret token: invalid compose project',
  );
  await expectError(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n    network_mode: service:vpn\n' },
    'compose.yaml:4: services.a.network_mode: service "a" refers to undefined service "vpn" in network_mode: invalid compose project',
  );
  await expectError(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n    network_mode: host\n    networks: [n]\nnetworks:\n  n: {}\n' },
    'compose.yaml:4: services.a.network_mode: service a declares mutually exclusive `network_mode` and `networks`: invalid compose project',
  );
  await expectError(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n    container_name: one\n    deploy: {replicas: 2}\n' },
    "compose.yaml:4: services.a.container_name: services.a: can't set container_name and a as container name must be unique: invalid compose project",
  );
  await expectError(
    { 'compose.yaml': 'services:\n  a:\n    image: x\nvolumes:\n  v:\n    external: true\n    driver: local\n' },
    'compose.yaml:7: volumes.v.driver: conflicting parameters "external" and "driver" specified for volume "v"',
  );
  await expectError(
    { 'compose.yaml': 'services:\n  a:\n    restart: always\n' },
    'compose.yaml:2: services.a: service "a" has neither an image nor a build context specified: invalid compose project',
  );
});

test("a disabled service's missing env_file is no error", async () => {
  await withFixture({ 'compose.yaml': 'services:\n  a:\n    image: x\n  b:\n    image: y\n    profiles: [p]\n    env_file: nope.env\n' }, async (dir) => {
    const p = await loadProject({ cwd: dir, environment: {} });
    assert.deepEqual(Object.keys(p.disabledServices), ['b']);
    await assert.rejects(loadProject({ cwd: dir, environment: {}, profiles: ['p'] }), /env file .*nope\.env not found/);
  });
});

test('an optional dependency on a missing service is dropped, not an error', async () => {
  await withFixture(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n    depends_on:\n      gone: {condition: service_started, required: false}\n' },
    async (dir) => {
      const p = await loadProject({ cwd: dir, environment: {} });
      assert.deepEqual(p.services.a?.depends_on, {});
    },
  );
});

test('interpolation, short-syntax and value errors are located too', async () => {
  await expectError(
    { 'compose.yaml': 'services:\n  a:\n    image: ${IMG:?set IMG}\n' },
    'compose.yaml:3: services.a.image: required variable IMG is missing a value: set IMG',
  );
  await expectError(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n    ports:\n      - "80:80/icmp"\n' },
    'compose.yaml:5: services.a.ports[0]: invalid proto: icmp',
  );
  await expectError({ 'compose.yaml': 'services:\n  a:\n    image: x\n    mem_limit: lots\n' }, 'compose.yaml:4: services.a.mem_limit: invalid size: "lots"');
  await expectError(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n    command: echo "open\n' },
    /^compose\.yaml:4: services\.a\.command: invalid command line string: "echo \\"open"$/,
  );
  await expectError(
    { 'compose.yaml': 'services:\n  a:\n    image: x\n    env_file: [missing.env]\n' },
    /^compose\.yaml:4: services\.a\.env_file\[0\]: env file .*missing\.env not found: stat .*missing\.env: no such file or directory$/,
  );
  await expectError({ 'compose.yaml': 'services: {}\n' }, 'open nope.yaml: no such file or directory', { files: ['nope.yaml'] });
  await expectError({ 'compose.yaml': 'services: {}\n', '.env': 'A=1\nB=${NOPE:?needed}\n' }, '.env:2: B: required variable NOPE is missing a value: needed');
});

test('errors are ComposeFileErrors (InvalidParameter) carrying file, line and field', async () => {
  await withFixture({ 'compose.yaml': 'services:\n  web:\n    image: x\n    depends_on: [db]\n' }, async (dir) => {
    await assert.rejects(loadProject({ cwd: dir, environment: {} }), (e: unknown) => {
      assert.ok(e instanceof ComposeFileError);
      assert.equal(e.category, 'InvalidParameter');
      assert.equal(e.file, path.join(dir, 'compose.yaml'));
      assert.equal(e.line, 4);
      assert.equal(e.field, 'services.web.depends_on.db');
      return true;
    });
  });
});

test('a string in a typed field must read as its type after interpolation (as v2 casts it)', async () => {
  await expectError(
    { 'compose.yaml': 'services:\n  web:\n    image: nginx\n    healthcheck:\n      test: ["CMD", "true"]\n      retries: thirty\n' },
    'compose.yaml:6: services.web.healthcheck.retries: must be an integer (got "thirty")',
  );
  await expectError(
    { 'compose.yaml': 'services:\n  web:\n    image: nginx\n    privileged: maybe\n' },
    'compose.yaml:4: services.web.privileged: must be a boolean (got "maybe")',
  );
  await expectError(
    { 'compose.yaml': 'services:\n  web:\n    image: nginx\n    scale: ${N}\n', '.env': 'N=two\n' },
    'compose.yaml:4: services.web.scale: must be an integer (got "two")',
  );
  await withFixture({ 'compose.yaml': 'services:\n  web:\n    image: nginx\n    scale: ${N}\n    tty: "yes"\n', '.env': 'N=2\n' }, async (dir) => {
    const p = await loadProject({ cwd: dir, environment: {} });
    assert.equal(p.services['web']?.scale, 2);
  });
});

test('a oneOf field names the error of the form as written (a bad depends_on condition, not "must be an array")', async () => {
  await expectError(
    { 'compose.yaml': 'services:\n  db:\n    image: x\n  web:\n    image: nginx\n    depends_on:\n      db:\n        condition: service_ready\n' },
    'compose.yaml:8: services.web.depends_on.db.condition: must be one of service_started, service_healthy, service_completed_successfully',
  );
  await expectError({ 'compose.yaml': 'services:\n  web:\n    image: nginx\n    ports: 12\n' }, 'compose.yaml:4: services.web.ports: must be an array');
});

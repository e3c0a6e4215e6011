import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { withFixture } from '../../../test/helpers/composefixture.js';
import { loadProject } from './load.js';
import { configImages, configNetworks, configProfiles, configServices, configVolumes, renderConfig } from './render.js';

const files = {
  'compose.yaml': [
    'services:',
    '  web:',
    '    image: nginx',
    '    ports: ["8080:80"]',
    '    volumes: [data:/d]',
    '    depends_on: {api: {condition: service_healthy, restart: true}}',
    '    environment: {UNSET: null}',
    '  api:',
    '    build: {context: ., additional_contexts: {extra: ./x}}',
    '    command: serve',
    '    deploy: {mode: replicated, replicas: 2}',
    '  tools:',
    '    image: alpine',
    '    profiles: [debug, ops]',
    'volumes:',
    '  data: {}',
  ].join('\n'),
};

test('config (YAML): name, sorted services with v2 key names, long syntax, networks and volumes', async () => {
  await withFixture(files, async (dir) => {
    const p = await loadProject({ cwd: dir, projectName: 'demo', environment: {} });
    const text = renderConfig(p);
    assert.ok(text.startsWith('name: demo\nservices:\n  api:\n'), text);
    assert.match(text, /\n {4}ports:\n {6}- mode: ingress\n {8}target: 80\n {8}published: "8080"\n {8}protocol: tcp\n/);
    assert.match(text, /\n {4}networks:\n {6}default: null\n/);
    assert.doesNotMatch(text, /entrypoint/);
    const doc = parse(text) as Record<string, Record<string, Record<string, unknown>>>;
    assert.deepEqual(Object.keys(doc), ['name', 'services', 'networks', 'volumes']);
    assert.deepEqual(Object.keys(doc.services ?? {}), ['api', 'web']);
    assert.deepEqual(doc.services?.web?.depends_on, { api: { condition: 'service_healthy', restart: true, required: true } });
    assert.deepEqual(doc.services?.web?.environment, { UNSET: null });
    assert.deepEqual(doc.services?.web?.volumes, [{ type: 'volume', source: 'data', target: '/d' }]);
    assert.deepEqual(doc.services?.api?.command, ['serve']);
    assert.deepEqual(doc.services?.api?.build, { additional_contexts: { extra: `${dir}/x` }, context: dir, dockerfile: 'Dockerfile' });
    assert.deepEqual(doc.services?.api?.deploy, { mode: 'replicated', replicas: 2 });
    assert.deepEqual(doc.networks, { default: { name: 'demo_default' } });
    assert.deepEqual(doc.volumes, { data: { name: 'demo_data' } });
  });
});

test('config --format json keeps null command/entrypoint; the list flags', async () => {
  await withFixture(files, async (dir) => {
    const p = await loadProject({ cwd: dir, projectName: 'demo', environment: {} });
    const doc = JSON.parse(renderConfig(p, 'json')) as { services: Record<string, Record<string, unknown>> };
    assert.equal(doc.services.web?.command, null);
    assert.equal(doc.services.web?.entrypoint, null);
    assert.deepEqual(doc.services.api?.command, ['serve']);
    assert.deepEqual(configServices(p), ['api', 'web']);
    assert.deepEqual(configVolumes(p), ['data']);
    assert.deepEqual(configNetworks(p), ['default']);
    assert.deepEqual(configProfiles(p), ['debug', 'ops']);
    assert.deepEqual(configImages(p), ['demo-api', 'nginx']);
    const withTools = JSON.parse(renderConfig(await loadProject({ cwd: dir, projectName: 'demo', environment: {}, profiles: ['ops'] }), 'json')) as {
      services: Record<string, Record<string, unknown>>;
    };
    assert.deepEqual(Object.keys(withTools.services.tools ?? {}).slice(0, 2), ['profiles', 'command']);
    const all = await loadProject({ cwd: dir, projectName: 'demo', environment: {}, profiles: ['ops'] });
    assert.deepEqual(configServices(all), ['api', 'tools', 'web']);
  });
});

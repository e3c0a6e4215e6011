import test from 'node:test';
import assert from 'node:assert/strict';
import {
  bytesSize,
  containerStatusText,
  displayablePorts,
  ellipsis,
  formatG,
  goJson,
  humanDuration,
  humanSize,
  parseMemory,
  renderRows,
  tabwrite,
} from './format.js';

test('go-units HumanDuration', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(3000), '3 seconds');
  assert.equal(humanDuration(59_999), '59 seconds');
  assert.equal(humanDuration(60_000), 'About a minute');
  assert.equal(humanDuration(119_000), 'About a minute');
  assert.equal(humanDuration(120_000), '2 minutes');
  assert.equal(humanDuration(3_600_000), 'About an hour');
  assert.equal(humanDuration(5 * 3_600_000), '5 hours');
  assert.equal(humanDuration(3 * 86_400_000), '3 days');
  assert.equal(humanDuration(20 * 86_400_000), '2 weeks');
  assert.equal(humanDuration(90 * 86_400_000), '3 months');
  assert.equal(humanDuration(800 * 86_400_000), '2 years');
});

test('go-units sizes', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(4_260_000), '4.26MB');
  assert.equal(humanSize(1_982_464), '1.98MB');
  assert.equal(humanSize(1_982_464, 4), '1.982MB');
  assert.equal(humanSize(4_000_000), '4MB');
  assert.equal(humanSize(2048), '2.05kB');
  assert.equal(bytesSize(25_275_658_240), '23.54GiB');
  assert.equal(formatG(999.9, 3), '1e+03');
  assert.equal(formatG(0.00001234, 3), '1.23e-05');
  assert.equal(parseMemory('64m'), 64 * 1024 * 1024);
  assert.equal(parseMemory('1g'), 1024 ** 3);
  assert.equal(parseMemory('1024'), 1024);
});

test('status text like dockerd', () => {
  const now = Date.parse('2024-01-01T00:10:00Z');
  assert.equal(containerStatusText({ Running: true, StartedAt: '2024-01-01T00:09:57Z' }, now), 'Up 3 seconds');
  assert.equal(containerStatusText({ Running: true, Paused: true, StartedAt: '2024-01-01T00:00:00Z' }, now), 'Up 10 minutes (Paused)');
  assert.equal(
    containerStatusText({ Status: 'exited', ExitCode: 1, FinishedAt: '2024-01-01T00:08:00Z', StartedAt: '2024-01-01T00:07:00Z' }, now),
    'Exited (1) 2 minutes ago',
  );
  assert.equal(containerStatusText({ Status: 'created', FinishedAt: '0001-01-01T00:00:00Z' }, now), 'Created');
});

test('ellipsis and ports', () => {
  assert.equal(ellipsis('sh -c echo hello world', 20), 'sh -c echo hello wo…');
  assert.equal(ellipsis('short', 20), 'short');
  assert.equal(
    displayablePorts([
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { PrivatePort: 443, Type: 'tcp' },
    ]),
    '0.0.0.0:8080->80/tcp, 443/tcp',
  );
  assert.equal(
    displayablePorts([
      { PrivatePort: 80, Type: 'tcp' },
      { PrivatePort: 81, Type: 'tcp' },
      { PrivatePort: 82, Type: 'tcp' },
    ]),
    '80-82/tcp',
  );
});

test('tabwriter like Go with docker settings', () => {
  const out = tabwrite('CONTAINER ID\tIMAGE\tNAMES\nabc\tbusybox\tweb\n');
  assert.equal(out, 'CONTAINER ID   IMAGE     NAMES\nabc            busybox   web\n');
  assert.equal(tabwrite('a\tb\n'), 'a         b\n');
});

test('table rendering with header', () => {
  const rows = [{ id: 'x1', name: 'n' }];
  const out = renderRows(rows, 'table {{.ID}}\\t{{.Name}}', { toContext: (r) => ({ ID: r.id, Name: r.name }), headers: { ID: 'ID', Name: 'NAME' } });
  assert.equal(out, 'ID        NAME\nx1        n\n');
  assert.equal(renderRows(rows, '{{.ID}}', { toContext: (r) => ({ ID: r.id }), headers: {} }), 'x1\n');
  assert.equal(goJson({ b: '<none>', a: 1 }), '{"a":1,"b":"\\u003cnone\\u003e"}');
});

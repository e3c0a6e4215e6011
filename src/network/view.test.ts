import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCategory } from '../lib/errors.js';
import type { Container } from '../containers/types.js';
import type { NetworkRecord, PortMapping } from './types.js';
import { listPortsView, networkFilter, networkView, portsView } from './view.js';

const net = (Name: string, Id: string, o: Partial<NetworkRecord> = {}): NetworkRecord => ({
  Name,
  Id,
  Created: '2026-01-01T00:00:00Z',
  Scope: 'local',
  Driver: 'bridge',
  EnableIPv4: true,
  EnableIPv6: false,
  IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.1' }] },
  Internal: false,
  Attachable: false,
  Ingress: false,
  ConfigFrom: { Network: '' },
  ConfigOnly: false,
  Options: {},
  Labels: {},
  ...o,
});

const NETS = [
  net('bridge', 'b1', { isDefault: true, bridge: 'bn0' }),
  net('host', 'h1', { Driver: 'host' }),
  net('front', 'f1', { Labels: { tier: 'web' } }),
  net('back', 'f2'),
];
const names = (f: Map<string, string[]>, used: string[] = []): string[] => NETS.filter(networkFilter(f, (n) => used.includes(n.Name))).map((n) => n.Name);

test('networkFilter: dockerd filters', () => {
  assert.deepEqual(names(new Map()), ['bridge', 'host', 'front', 'back']);
  assert.deepEqual(names(new Map([['name', ['ro']]])), ['front']);
  assert.deepEqual(names(new Map([['id', ['f']]])), ['front', 'back']);
  assert.deepEqual(names(new Map([['driver', ['host']]])), ['host']);
  assert.deepEqual(names(new Map([['label', ['tier=web']]])), ['front']);
  assert.deepEqual(names(new Map([['type', ['builtin']]])), ['bridge', 'host']);
  assert.deepEqual(names(new Map([['type', ['custom']]])), ['front', 'back']);
  assert.deepEqual(names(new Map([['dangling', ['true']]]), ['front']), ['back']);
  assert.deepEqual(names(new Map([['dangling', ['false']]]), ['front']), ['bridge', 'host', 'front']);
});

test('networkFilter: bad filters are refused with dockerd messages', () => {
  assert.throws(
    () => networkFilter(new Map([['colour', ['x']]]), () => false),
    (e: unknown) => isCategory(e, 'InvalidParameter') && (e as Error).message === "invalid filter 'colour'",
  );
  assert.throws(
    () => networkFilter(new Map([['type', ['odd']]]), () => false),
    (e: unknown) => isCategory(e, 'InvalidParameter') && (e as Error).message === "invalid filter: 'type'='odd'",
  );
});

const container = (running: boolean): Container =>
  ({
    ID: 'c'.repeat(64),
    Name: '/web',
    State: { Running: running, Pid: 42 },
    Config: { ExposedPorts: { '80/tcp': {}, '53/udp': {}, '9000': {} } },
    HostConfig: { NetworkMode: 'bridge' },
  }) as unknown as Container;
const PORTS: PortMapping[] = [{ HostIp: '127.0.0.1', HostPort: 8080, ContainerPort: 80, Proto: 'tcp', ContainerIp: '10.9.0.2', Bridge: 'bn0' }];

test('network and port views', () => {
  const doc = networkView(NETS[0] as NetworkRecord, undefined);
  assert.equal('bridge' in doc || 'isDefault' in doc, false);
  assert.deepEqual(doc.Containers, {});
  assert.deepEqual(portsView(container(true), PORTS), { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '53/udp': null, '9000/tcp': null });
  assert.deepEqual(portsView(container(false), PORTS), {});
  assert.deepEqual(listPortsView(container(true), PORTS), [
    { IP: '127.0.0.1', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { PrivatePort: 9000, Type: 'tcp' }, // an integer-like key comes first in a JS object
    { PrivatePort: 53, Type: 'udp' },
  ]);
  assert.deepEqual(listPortsView(container(false), PORTS), []);
});

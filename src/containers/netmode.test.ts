import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateNetMode } from './netmode.js';

// Expected messages: what dockerd 20.10 answered (400) to the same create requests.
const refused = (cfg: Parameters<typeof validateNetMode>[0], hc: Parameters<typeof validateNetMode>[1], msg: string, mac?: string): void => {
  assert.throws(
    () => validateNetMode(cfg, hc, mac),
    (e: Error & { category?: string }) => e.message === msg && e.category === 'InvalidParameter',
    msg,
  );
};

test('validateNetMode: the conflicts dockerd refuses, with its messages', () => {
  const donor = { NetworkMode: 'container:db' };
  refused({}, { NetworkMode: 'container:' }, 'Invalid network mode: invalid container format container:<name|id>');
  refused({ Hostname: 'x' }, donor, 'conflicting options: hostname and the network mode');
  refused({}, { ...donor, Links: ['db:x'] }, "conflicting options: container type network can't be used with links. This would result in undefined behavior");
  refused({}, { ...donor, Dns: ['1.1.1.1'] }, 'conflicting options: dns and the network mode');
  refused({}, { ...donor, ExtraHosts: ['a:1.2.3.4'] }, 'conflicting options: custom host-to-IP mapping and the network mode');
  refused({ MacAddress: '02:42:ac:11:00:09' }, donor, 'conflicting options: mac-address and the network mode');
  refused({}, { NetworkMode: 'host' }, 'conflicting options: mac-address and the network mode', '02:42:ac:11:00:09');
  refused({}, { ...donor, PortBindings: { '80/tcp': [{ HostPort: '8080' }] } }, 'conflicting options: port publishing and the container type network mode');
  refused({}, { ...donor, PublishAllPorts: true }, 'conflicting options: port publishing and the container type network mode');
  refused({ ExposedPorts: { '80/tcp': {} } }, donor, 'conflicting options: port exposing and the container type network mode');
  refused({ Hostname: 'x' }, { UTSMode: 'host' }, 'conflicting options: hostname and the UTS mode');
  refused(
    {},
    { NetworkMode: 'host', Links: ['db:x'] },
    "conflicting options: host type networking can't be used with links. This would result in undefined behavior",
  );
});

test('validateNetMode: what dockerd accepts', () => {
  validateNetMode({}, donorOk());
  validateNetMode({ Hostname: 'x' }, { NetworkMode: 'host', Dns: ['1.1.1.1'], ExtraHosts: ['a:1.2.3.4'], PortBindings: { '80/tcp': [] } });
  validateNetMode({ MacAddress: '02:42:ac:11:00:09' }, { NetworkMode: 'bridge', Links: ['db:x'] });
  validateNetMode({}, { NetworkMode: 'none', PortBindings: { '80/tcp': [] } });
  validateNetMode({}, { NetworkMode: 'container:db', Links: [], Dns: [], ExtraHosts: null, PortBindings: {} });
});

function donorOk(): { NetworkMode: string } {
  return { NetworkMode: 'container:db' };
}

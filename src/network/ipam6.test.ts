import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bigToIp6, ip6ToBig, Ipam6, parseCidr6 } from './ipam6.js';
import { matchPortFilters, portFilterSet } from './portfilter.js';

describe('ipam6', () => {
  it('parses and prints RFC 5952 text', () => {
    for (const [input, want] of [
      ['fd00:b2:1::', 'fd00:b2:1::'],
      ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
      ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
      ['::', '::'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ]) {
      assert.equal(bigToIp6(ip6ToBig(input as string)), want);
    }
    for (const bad of ['1::2::3', 'fd00::g', '1.2.3.4', '1:2:3:4:5:6:7:8:9']) assert.throws(() => ip6ToBig(bad), /invalid IPv6 address/);
    assert.throws(() => parseCidr6('fd00::/129'), /invalid subnet/);
  });
  it('allocates serially after the gateway, honours --ip6, seeds and releases', () => {
    const p = new Ipam6({ subnet: 'fd00:b2:7::/64', gateway: 'fd00:b2:7::1' });
    assert.equal(p.allocate('a'), 'fd00:b2:7::2');
    assert.equal(p.allocate('a'), 'fd00:b2:7::2', 'idempotent per holder');
    assert.equal(p.allocate('b', 'fd00:b2:7::3'), 'fd00:b2:7::3');
    assert.equal(p.allocate('c'), 'fd00:b2:7::4');
    assert.throws(() => p.allocate('d', 'fd00:b2:7::1'), /Address already in use/);
    assert.throws(() => p.allocate('d', 'fd00:b2:8::1'), /no configured subnet/);
    p.release('a');
    assert.equal(p.allocate('d'), 'fd00:b2:7::5', 'a freed address is not reused at once');
    const q = new Ipam6({ subnet: 'fd00:b2:7::/126', gateway: 'fd00:b2:7::1' });
    q.seed('x', 'fd00:b2:7::2');
    assert.equal(q.allocate('y'), 'fd00:b2:7::3');
    assert.throws(() => q.allocate('z'), /no available IPv6 addresses/);
  });
});

describe('port filters', () => {
  it('ranges, protocols and errors as dockerd', () => {
    assert.deepEqual([...portFilterSet('publish', ['80', '90-91/udp'])], ['80/tcp', '90/udp', '91/udp']);
    assert.throws(() => portFilterSet('publish', ['1:80']), /filter for 'publish' should not contain ':'/);
    assert.throws(() => portFilterSet('expose', ['x']), /error while looking up for expose x/);
    const ports = [
      { PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { PrivatePort: 53, Type: 'udp' },
    ];
    assert.equal(matchPortFilters(ports, { publish: new Set(['8080/tcp']) }), true);
    assert.equal(matchPortFilters(ports, { publish: new Set(['80/tcp']) }), false);
    assert.equal(matchPortFilters(ports, { expose: new Set(['53/udp']) }), true);
    assert.equal(matchPortFilters([], { expose: new Set(['53/udp']) }), false);
  });
});

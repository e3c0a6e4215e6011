import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipam } from './ipam.js';

test('Ipam: the lowest free address (dockerd 20.10), the previous one when free, reserved and static ones', async () => {
  const ipam = await Ipam.open('/nonexistent/ipam.json', { subnet: '10.9.0.0/29', gateway: '10.9.0.1', reserved: ['10.9.0.3'] });
  assert.equal(await ipam.allocate('a'), '10.9.0.2');
  assert.equal(await ipam.allocate('b'), '10.9.0.4', 'the aux address is skipped');
  assert.equal(await ipam.allocate('a'), '10.9.0.2', 'idempotent per holder');
  await ipam.release('a');
  assert.equal(await ipam.allocate('c'), '10.9.0.2', 'a freed address is reused at once, as dockerd');
  assert.equal(await ipam.allocate('a', undefined, '10.9.0.2'), '10.9.0.5', 'the previous address is taken: the lowest free one');
  await ipam.release('b');
  assert.equal(await ipam.allocate('b', undefined, '10.9.0.4'), '10.9.0.4', 'the previous address back when free');
  assert.equal(await ipam.allocate('d', undefined, '10.9.0.7'), '10.9.0.6', 'never the broadcast address');
  await assert.rejects(ipam.allocate('e'), /no available IPv4 addresses/);
  await assert.rejects(ipam.allocate('e', '10.9.0.4'), /Address already in use/);
  await ipam.release('d');
  assert.equal(await ipam.allocate('e', '10.9.0.6'), '10.9.0.6');
});

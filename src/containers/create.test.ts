import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultHostConfig, updatedHostConfig, validateResources } from './create.js';
import { isCategory } from '../lib/errors.js';

const MiB = 1024 * 1024;

test('create and update check limits by the one rule set (runtime/resources.ts)', () => {
  assert.throws(() => validateResources({ Memory: 1024 }), /Minimum memory limit allowed is 6MB/);
  assert.throws(() => validateResources({ MemorySwap: 64 * MiB }), /You should always set the Memory limit when using Memoryswap limit/);
  assert.throws(() => validateResources({ NanoCpus: 1e9, CpuPeriod: 50000 }), /Nano CPUs and CPU Period cannot both be set/);
  assert.throws(() => validateResources({ NanoCpus: 1e9, CpuQuota: 50000 }), /Nano CPUs and CPU Quota cannot both be set/);
  assert.throws(() => validateResources({ MemoryReservation: 1024 }), /Minimum memory reservation allowed is 6MB/);
  assert.throws(() => validateResources({ BlkioWeight: 5 }), /Range of blkio weight is from 10 to 1000/);
  assert.throws(() => validateResources({ CpusetCpus: '9999' }), /Requested CPUs are not available - requested 9999/);
  assert.throws(() => validateResources({ CpusetCpus: 'x' }), /Invalid value x for cpuset cpus/);
  validateResources({ Memory: 64 * MiB, MemorySwap: -1, NanoCpus: 1e8, CpuShares: 512, PidsLimit: -1 });
  // update: the request's values alone; swap without memory is an update's right (the memory is the container's)
  validateResources({ MemorySwap: 64 * MiB }, { update: true });
  validateResources({ MemoryReservation: 512 * MiB }, { update: true });
  assert.throws(() => validateResources({ Memory: 64 * MiB, MemorySwap: 32 * MiB }, { update: true }), /Minimum memoryswap limit should be larger/);
});

/** What the docker CLI sends on `docker update --cpus 1`: every resource field, zeros included. */
const cliUpdate = (o: Record<string, unknown>): Record<string, unknown> => ({
  BlkioWeight: 0,
  CpuShares: 0,
  Memory: 0,
  NanoCpus: 0,
  CpuPeriod: 0,
  CpuQuota: 0,
  CpusetCpus: '',
  CpusetMems: '',
  MemoryReservation: 0,
  MemorySwap: 0,
  RestartPolicy: { Name: '', MaximumRetryCount: 0 },
  ...o,
});

test('update: zero and empty values leave the current ones (dockerd 20.10)', () => {
  const current = {
    ...defaultHostConfig(),
    Memory: 64 * MiB,
    MemorySwap: 128 * MiB,
    MemoryReservation: 32 * MiB,
    CpuShares: 512,
    CpusetCpus: '0',
    PidsLimit: 20,
    BlkioWeight: 300,
    RestartPolicy: { Name: 'on-failure' as const, MaximumRetryCount: 3 },
  };
  const next = updatedHostConfig(current, cliUpdate({ NanoCpus: 1e9 }), { id: 'c1' });
  assert.deepEqual(next, { ...current, NanoCpus: 1e9 });
  // PidsLimit: absent or null leaves it; 0 or below is unlimited (0)
  assert.equal(updatedHostConfig(current, { PidsLimit: null }, { id: 'c1' }).PidsLimit, 20);
  assert.equal(updatedHostConfig(current, { PidsLimit: -1 }, { id: 'c1' }).PidsLimit, 0);
  assert.equal(updatedHostConfig(current, { PidsLimit: 0 }, { id: 'c1' }).PidsLimit, 0);
  // memory below the swap keeps the swap; a new swap alone is taken
  const lower = updatedHostConfig(current, cliUpdate({ Memory: 100 * MiB }), { id: 'c1' });
  assert.deepEqual([lower.Memory, lower.MemorySwap], [100 * MiB, 128 * MiB]);
  assert.equal(updatedHostConfig(current, cliUpdate({ MemorySwap: 256 * MiB }), { id: 'c1' }).MemorySwap, 256 * MiB);
  assert.throws(() => updatedHostConfig(current, cliUpdate({ MemorySwap: 32 * MiB }), { id: 'c1' }), /Minimum memoryswap limit should be larger/);
  // the restart policy changes only with a name
  assert.deepEqual(updatedHostConfig(current, cliUpdate({ RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } }), { id: 'c1' }).RestartPolicy, {
    Name: 'always',
    MaximumRetryCount: 0,
  });
  // no memory limit yet: memory is taken, swap twice the memory as at create
  const fresh = updatedHostConfig(defaultHostConfig(), cliUpdate({ Memory: 64 * MiB }), { id: 'c1' });
  assert.deepEqual([fresh.Memory, fresh.MemorySwap], [64 * MiB, 128 * MiB]);
});

test("update: dockerd's conflicts are 409s naming the container", () => {
  const conflictWith = (re: RegExp) => (err: unknown) => isCategory(err, 'Conflict') && re.test((err as Error).message);
  const base = defaultHostConfig();
  const nano = { ...base, NanoCpus: 5e8 };
  const quota = { ...base, CpuQuota: 50000 };
  const period = { ...base, CpuPeriod: 50000 };
  assert.throws(
    () => updatedHostConfig(quota, cliUpdate({ NanoCpus: 1e9 }), { id: 'c1' }),
    conflictWith(/^Cannot update container c1: Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set$/),
  );
  assert.throws(
    () => updatedHostConfig(period, cliUpdate({ NanoCpus: 1e9 }), { id: 'c1' }),
    conflictWith(/Nano CPUs cannot be updated as CPU Period has already been set/),
  );
  assert.throws(
    () => updatedHostConfig(nano, cliUpdate({ CpuQuota: 20000 }), { id: 'c1' }),
    conflictWith(/CPU Quota cannot be updated as NanoCPUs has already been set/),
  );
  assert.throws(
    () => updatedHostConfig(nano, cliUpdate({ CpuPeriod: 20000 }), { id: 'c1' }),
    conflictWith(/CPU Period cannot be updated as NanoCPUs has already been set/),
  );
  assert.equal(updatedHostConfig(nano, cliUpdate({ NanoCpus: 2.5e8 }), { id: 'c1' }).NanoCpus, 2.5e8);
  const limited = { ...base, Memory: 64 * MiB, MemorySwap: 128 * MiB };
  assert.throws(
    () => updatedHostConfig(limited, cliUpdate({ Memory: 256 * MiB }), { id: 'c1' }),
    conflictWith(/Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time/),
  );
  assert.equal(updatedHostConfig(limited, cliUpdate({ Memory: 256 * MiB, MemorySwap: 512 * MiB }), { id: 'c1' }).Memory, 256 * MiB);
  const autoRemove = { ...base, AutoRemove: true };
  assert.throws(
    () => updatedHostConfig(autoRemove, cliUpdate({ RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } }), { id: 'c1' }),
    conflictWith(/Restart policy cannot be updated because AutoRemove is enabled for the container/),
  );
  updatedHostConfig(autoRemove, cliUpdate({ RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } }), { id: 'c1' });
});

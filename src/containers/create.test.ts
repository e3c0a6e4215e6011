import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultHostConfig, validateResources } from './create.js';

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
  // update: memory over the current swap limit is refused; a current swap alone is not the request's
  const current = { ...defaultHostConfig(), Memory: 64 * MiB, MemorySwap: 128 * MiB };
  assert.throws(() => validateResources({ Memory: 256 * MiB }, current), /Minimum memoryswap limit should be larger than memory limit/);
  validateResources({ Memory: 0 }, current);
  validateResources({ CpuShares: 100 }, current);
});

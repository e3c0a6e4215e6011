/**
 * berthd's CRI server driven by crictl (cri-tools v1.26.1 from /work/shared/tools/cri): a real
 * daemon serving CRI on its own socket under its temp root.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { cleanupAndCheck, run, TestDaemon, type RunResult } from './helpers/daemon.js';

const CRICTL = '/work/shared/tools/cri/crictl';

describe('CRI (crictl)', () => {
  let d: TestDaemon | undefined;
  const crictl = (args: string[], timeout = 60_000): Promise<RunResult> =>
    run(CRICTL, ['--runtime-endpoint', d!.criEndpoint, '--image-endpoint', d!.criEndpoint, '--timeout', '30s', ...args], { timeout });

  before(async () => {
    assert.ok(fs.existsSync(CRICTL), `crictl not found at ${CRICTL}`);
    d = await TestDaemon.start({ cri: true, busybox: false });
  });
  after(async () => {
    await cleanupAndCheck(d);
  });

  it('version answers the runtime name and CRI API version', async () => {
    const r = await crictl(['version']);
    assert.equal(r.code, 0, r.desc);
    assert.match(r.stdout, /RuntimeName:\s+berth/);
    assert.match(r.stdout, /RuntimeApiVersion:\s+v1/);
  });

  it('an RPC Berth does not implement answers UNIMPLEMENTED', async () => {
    const r = await crictl(['checkpoint', '--export', '/tmp/x.tar', 'abc']);
    assert.notEqual(r.code, 0, r.desc);
    assert.match(r.stderr, /Unimplemented|not implemented/i);
  });
});

/**
 * critest v1.26.1 (/work/shared/tools/cri/critest) against a fresh berthd, through
 * test/cri/run-critest.sh (stand-in images built into a local berth-registry, a second berthd on
 * fresh roots with its own CNI conflist; everything removed afterwards). containerd 1.6 passes 79
 * of these 80 specs here; the one it fails (an image pinned by an upstream digest) fails on any
 * runtime. Until berthd has its streaming server the 5 streaming specs may fail too; any other
 * failing spec fails this test.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, run } from './helpers/daemon.js';

const CRITEST = '/work/shared/tools/cri/critest';
/** Specs allowed to fail: the digest one, which fails on containerd too (its image cannot be made offline). */
const MAY_FAIL = [/public image with digest should be pulled and removed/];

describe('critest v1.26.1 against berthd', () => {
  it('passes every spec containerd passes', { timeout: 20 * 60_000 }, async (t) => {
    assert.ok(fs.existsSync(CRITEST), `critest not found at ${CRITEST}`);
    const work = fs.mkdtempSync('/tmp/berth-critest-');
    try {
      const r = await run(path.join(REPO, 'test/cri/run-critest.sh'), [], { env: { WORK: work, KEEP: '1' }, timeout: 19 * 60_000 });
      const junit = path.join(work, 'report', 'junit.xml');
      assert.ok(fs.existsSync(junit), r.desc);
      const xml = fs.readFileSync(junit, 'utf8');
      const cases = [...xml.matchAll(/<testcase name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)].map((m) => ({
        name: (m[1] as string)
          .replace(/^\[It\] /, '')
          .replace(/&#34;/g, '"')
          .replace(/&#39;/g, "'")
          .replace(/&amp;/g, '&'),
        body: m[3] ?? '',
      }));
      const specs = cases.filter((c) => !/BeforeSuite|AfterSuite/.test(c.name));
      const failed = specs.filter((c) => c.body.includes('<failure')).map((c) => c.name);
      const skipped = specs.filter((c) => c.body.includes('<skipped')).length;
      const passed = specs.length - failed.length - skipped;
      const unexpected = failed.filter((n) => !MAY_FAIL.some((re) => re.test(n)));
      const why = specs
        .filter((c) => unexpected.includes(c.name))
        .map((c) => `--- ${c.name}\n${c.body.slice(0, 3000)}`)
        .join('\n');
      assert.deepEqual(unexpected, [], `${passed} passed; unexpected failures:\n${unexpected.join('\n')}\n${r.stdout}\n${why}`);
      assert.ok(passed >= 79, `${passed} passed\n${r.stdout}`);
      t.diagnostic(`critest: ${passed} passed, ${failed.length} failed (${failed.join('; ')}), ${skipped} skipped`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

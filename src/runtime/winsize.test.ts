import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WINSZ_RECORD, sendWindowSize, winszRecord } from './winsize.js';

describe('window size records', () => {
  it('are exactly one conmon read long and parse as "h w"', () => {
    const r = winszRecord(40, 120);
    assert.equal(Buffer.byteLength(r), WINSZ_RECORD);
    assert.match(r, /^40 120 +\n$/);
  });

  it('queued back to back on a real FIFO, each conmon-sized read gets one record, in order', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-winsz-'));
    const fifo = path.join(dir, 'winsz');
    execFileSync('mkfifo', [fifo]);
    // A reader that holds the FIFO open without reading, as a busy conmon does
    const rd = await fs.open(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      const sizes: Array<[number, number]> = [];
      for (let i = 0; i < 12; i++) sizes.push([10 + i, 100 + i]);
      await Promise.all(sizes.map(([h, w]) => sendWindowSize(dir, h, w)));
      const got: string[] = [];
      for (;;) {
        const buf = Buffer.alloc(WINSZ_RECORD); // conmon: read(fd, ctlbuf, CTLBUFSZ - 1)
        const { bytesRead } = await rd.read(buf, 0, WINSZ_RECORD).catch(() => ({ bytesRead: 0 }));
        if (bytesRead === 0) break;
        const text = buf.subarray(0, bytesRead).toString();
        // one read, one complete line: conmon's first-line-only parse sees every size
        assert.equal(text.split('\n').length - 1, 1, JSON.stringify(text));
        got.push(text.trim());
      }
      assert.deepEqual(
        got,
        sizes.map(([h, w]) => `${h} ${w}`),
      );
    } finally {
      await rd.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('a FIFO without a reader (the session ended) is not an error', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-winsz-'));
    try {
      execFileSync('mkfifo', [path.join(dir, 'winsz')]);
      await sendWindowSize(dir, 1, 2);
      await sendWindowSize(path.join(dir, 'missing'), 1, 2);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

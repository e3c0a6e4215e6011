// Fixture directories for the compose loader's unit tests: a temp dir holding the given files,
// removed afterwards even when the test fails.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** create `files` (relative path → text) under a new temp dir whose name starts with `prefix` */
export function fixture(files: Record<string, string>, prefix = 'berth-compose-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  for (const [rel, text] of Object.entries(files)) {
    const p = path.join(dir, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return dir;
}

/** run `fn` in a fixture dir, removing it afterwards */
export async function withFixture<T>(files: Record<string, string>, fn: (dir: string) => Promise<T> | T, prefix?: string): Promise<T> {
  const dir = fixture(files, prefix);
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

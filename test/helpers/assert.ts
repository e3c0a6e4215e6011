/** Assertion helpers for CLI results. */
import assert from 'node:assert/strict';
import type { RunResult } from './daemon.js';

/** Asserts exit code 0 and returns trimmed stdout. */
export function ok(r: RunResult): string {
  assert.equal(r.code, 0, r.desc);
  return r.stdout.trim();
}

/** Asserts a specific exit code. */
export function exits(r: RunResult, code: number): RunResult {
  assert.equal(r.code, code, r.desc);
  return r;
}

/** Asserts that a CLI command failed with `code` and that stderr matches `re`. */
export function fails(r: RunResult, code: number, re: RegExp): void {
  assert.equal(r.code, code, r.desc);
  assert.match(r.stderr, re, r.desc);
}

export function lines(s: string): string[] {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

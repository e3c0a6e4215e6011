#!/usr/bin/env node
// `make lint`'s size rule (issue 17): no TypeScript source file in src/ or bench/ over LIMIT lines,
// except the files docs/architecture.md lists under "Files over the size limit" — each with the
// reason it stays whole (or why it is not split yet). Tests are not counted.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LIMIT = 650;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const doc = readFileSync(path.join(root, 'docs/architecture.md'), 'utf8');
const section = doc.split(/^## Files over the size limit$/m)[1]?.split(/^## /m)[0] ?? '';
const allowed = new Set([...section.matchAll(/^- `([^`]+)`/gm)].map((m) => m[1]));

const over = [];
for (const file of [...walk(path.join(root, 'src'), []), ...walk(path.join(root, 'bench'), [])]) {
  const rel = path.relative(root, file);
  const lines = readFileSync(file, 'utf8').split('\n').length - 1;
  if (lines > LIMIT && !allowed.has(rel)) over.push(`${rel}: ${lines} lines`);
}
const stale = [...allowed].filter((rel) => {
  try {
    return readFileSync(path.join(root, rel), 'utf8').split('\n').length - 1 <= LIMIT;
  } catch {
    return true;
  }
});
for (const o of over)
  process.stderr.write(`check-file-size: ${o} (limit ${LIMIT}; split it, or list it with its reason in docs/architecture.md, "Files over the size limit")\n`);
for (const s of stale)
  process.stderr.write(`check-file-size: ${s} is listed in docs/architecture.md but is not over ${LIMIT} lines (or is gone): remove it from the list\n`);
process.exit(over.length || stale.length ? 1 : 0);

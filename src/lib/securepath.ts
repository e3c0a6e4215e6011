/**
 * Paths from users resolved inside a root: symlinks are followed as if `root` were `/`,
 * `..` stops at the root, so nothing a container or a tar file holds can point outside it.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import { invalid } from './errors.js';

const MAX_LINKS = 255;

/** Lexically cleans a path to a list of components, `..` clamped at the root. */
export function cleanComponents(p: string): string[] {
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out;
}

/**
 * The host path for `p` inside `root`, with every symlink on the way resolved within root.
 * Components that do not exist are kept as they are. The last component is followed too
 * unless `followLast` is false.
 */
export function resolveInRoot(root: string, p: string, opts: { followLast?: boolean } = {}): string {
  const followLast = opts.followLast !== false;
  let pending = cleanComponentsKeepDots(p);
  let resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift() as string;
    if (c === '.') continue;
    if (c === '..') {
      resolved.pop();
      continue;
    }
    const cur = path.join(root, ...resolved, c);
    if (pending.length === 0 && !followLast) {
      resolved.push(c);
      break;
    }
    let isLink = false;
    try {
      isLink = lstatSync(cur).isSymbolicLink();
    } catch {
      isLink = false;
    }
    if (!isLink) {
      resolved.push(c);
      continue;
    }
    if (++links > MAX_LINKS) throw invalid(`too many levels of symbolic links: ${p}`);
    const target = readlinkSync(cur);
    if (target.startsWith('/')) resolved = [];
    pending = [...cleanComponentsKeepDots(target), ...pending];
  }
  return path.join(root, ...resolved);
}

function cleanComponentsKeepDots(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/** True when `child` is `root` or lies under it (lexically). */
export function isWithin(root: string, child: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

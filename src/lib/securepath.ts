/**
 * Paths from users resolved inside a root: symlinks are followed as if `root` were `/`,
 * `..` stops at the root, so nothing a container or a tar file holds can point outside it.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import { invalid } from './errors.js';

const MAX_LINKS = 255;

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

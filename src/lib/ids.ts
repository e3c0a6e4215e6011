import { randomBytes } from 'node:crypto';
import { invalid } from './errors.js';

/** A new 64-hex-character ID, as Docker's. */
export function newId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    // Docker avoids IDs that are all digits in their short form (they read like numbers).
    if (!/^\d{12}$/.test(id.slice(0, 12))) return id;
  }
}

export const shortId = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

/**
 * An index of IDs that resolves unique prefixes. Linear scan: fine for thousands of entries,
 * and simpler than a trie that has to be kept in step with every add and delete.
 */
export class PrefixIndex {
  private readonly ids = new Set<string>();
  add(id: string): void {
    this.ids.add(id);
  }
  delete(id: string): void {
    this.ids.delete(id);
  }
  /** The full ID for a prefix; undefined when none matches; throws when ambiguous. */
  get(prefix: string, kind = 'ID'): string | undefined {
    if (prefix === '' || !/^[0-9a-f]+$/.test(prefix)) return undefined;
    if (this.ids.has(prefix)) return prefix;
    let found: string | undefined;
    for (const id of this.ids) {
      if (id.startsWith(prefix)) {
        if (found !== undefined) throw invalid(`multiple ${kind}s found with provided prefix: ${prefix}`);
        found = id;
      }
    }
    return found;
  }
}

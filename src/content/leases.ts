/**
 * Leases: in-flight work (a pull, a load, an import) holds the digests and chain IDs it is
 * writing, so garbage collection and the clean-up of another failed transfer never remove
 * them. A lease is counted per key; a key stays protected while any lease holds it.
 */

/** One holder's claim on a set of keys (blob digests, layer chain IDs). */
export interface Lease {
  /** Adds keys to the lease (e.g. a chain ID known only once its layer is unpacked). */
  add(keys: string | string[]): void;
  /** Releases every key; idempotent. */
  release(): void;
}

export class Leases {
  private readonly counts = new Map<string, number>();

  /** Takes a lease on `keys` (more may be added later). */
  create(keys: string[] = []): Lease {
    const held: string[] = [];
    let released = false;
    const add = (k: string | string[]): void => {
      if (released) return;
      for (const key of Array.isArray(k) ? k : [k]) {
        held.push(key);
        this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      }
    };
    add(keys);
    return {
      add,
      release: () => {
        if (released) return;
        released = true;
        for (const key of held) {
          const n = (this.counts.get(key) ?? 1) - 1;
          if (n <= 0) this.counts.delete(key);
          else this.counts.set(key, n);
        }
      },
    };
  }

  /** Shorthand for pull's use: a lease on `keys`, returned as its release function. */
  acquire(keys: string[]): () => void {
    const lease = this.create(keys);
    return () => lease.release();
  }

  /** Whether any lease holds `key`. */
  has(key: string): boolean {
    return this.counts.has(key);
  }

  /** Whether anyone besides the caller (who holds one count) holds `key`. */
  sharedBeyondOne(key: string): boolean {
    return (this.counts.get(key) ?? 0) > 1;
  }

  /** Number of keys currently leased. */
  get size(): number {
    return this.counts.size;
  }
}

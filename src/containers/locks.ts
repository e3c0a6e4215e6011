/** Per-container locks: every transition of one container runs alone, in arrival order. */
export class KeyedLock {
  private readonly locks = new Map<string, Promise<unknown>>();

  /** Runs `fn` once every earlier holder of `id`'s lock is done (whatever their outcome). */
  async run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chain = prev.then(() => mine);
    this.locks.set(id, chain);
    await prev.catch(() => undefined);
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(id) === chain) this.locks.delete(id);
    }
  }
}

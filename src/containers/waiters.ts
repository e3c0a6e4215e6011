/** `POST /containers/{id}/wait`: callers waiting for a container to stop, exit next, or go. */
import type { Container } from './types.js';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface WaitResult {
  StatusCode: number;
  Error?: { Message: string };
}

interface Waiter {
  condition: WaitCondition;
  resolve: (r: WaitResult) => void;
}

export class Waiters {
  private readonly waiters = new Map<string, Waiter[]>();

  /** Resolves at the next notify of `id` with `condition`; the signal takes the waiter back. */
  add(id: string, condition: WaitCondition, signal?: AbortSignal): Promise<WaitResult> {
    return new Promise((resolve) => {
      const w: Waiter = { condition, resolve };
      const list = this.waiters.get(id) ?? [];
      list.push(w);
      this.waiters.set(id, list);
      signal?.addEventListener('abort', () => {
        const l = this.waiters.get(id);
        if (l)
          this.waiters.set(
            id,
            l.filter((x) => x !== w),
          );
      });
    });
  }

  /** Resolves the container's waiters for any of `conditions` with its exit code. */
  notify(c: Container, conditions: WaitCondition[]): void {
    const list = this.waiters.get(c.ID);
    if (!list) return;
    const keep: Waiter[] = [];
    for (const w of list) {
      if (conditions.includes(w.condition)) {
        w.resolve({ StatusCode: c.State.ExitCode });
      } else keep.push(w);
    }
    if (keep.length > 0) this.waiters.set(c.ID, keep);
    else this.waiters.delete(c.ID);
  }
}

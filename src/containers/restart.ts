/**
 * Restart policies with dockerd's back-off: the first restart waits 100 ms, each following one
 * doubles the wait up to one minute; a container that ran for 10 s or more starts over at 100 ms.
 */
import type { Container } from './types.js';

const INITIAL_MS = 100;
const MAX_MS = 60_000;
const RESET_AFTER_MS = 10_000;

export interface RestartDecision {
  restart: boolean;
  delayMs: number;
}

export class RestartManager {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly delays = new Map<string, number>();

  constructor(private readonly restartFn: (id: string) => Promise<void>) {}

  decide(c: Container, opts: { ranForMs: number }): RestartDecision {
    const p = c.HostConfig.RestartPolicy;
    let restart = false;
    if (!c.HasBeenManuallyStopped) {
      switch (p.Name) {
        case 'always':
        case 'unless-stopped':
          restart = true;
          break;
        case 'on-failure':
          restart = c.State.ExitCode !== 0 && (!p.MaximumRetryCount || c.RestartCount < p.MaximumRetryCount);
          break;
        default:
          restart = false;
      }
    }
    if (!restart) {
      this.delays.delete(c.ID);
      return { restart: false, delayMs: 0 };
    }
    let delay = this.delays.get(c.ID);
    delay = delay === undefined || opts.ranForMs >= RESET_AFTER_MS ? INITIAL_MS : Math.min(delay * 2, MAX_MS);
    this.delays.set(c.ID, delay);
    return { restart: true, delayMs: delay };
  }

  schedule(id: string, delayMs: number): void {
    this.cancel(id, { keepDelay: true });
    const t = setTimeout(() => {
      this.timers.delete(id);
      void this.restartFn(id);
    }, delayMs);
    this.timers.set(id, t);
  }

  cancel(id: string, opts: { keepDelay?: boolean } = {}): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
    if (!opts.keepDelay) this.delays.delete(id);
  }

  cancelAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

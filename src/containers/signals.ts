/** Signal names and numbers as the Engine API takes them (`SIGTERM`, `TERM`, `15`). */
import { constants as osConstants } from 'node:os';
import { invalid } from '../lib/errors.js';

const SIGNALS = osConstants.signals as Record<string, number>;

export function parseSignal(sig: string | undefined, fallback = 'SIGKILL'): number {
  const s = (sig ?? '').trim() || fallback;
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n <= 0 || n > 64) throw invalid(`Invalid signal: ${s}`);
    return n;
  }
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  const n = SIGNALS[name];
  if (n === undefined) throw invalid(`Invalid signal: ${s}`);
  return n;
}

/** Whether `p` settles within `ms`. */
export function raceTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

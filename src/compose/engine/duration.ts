/** Go's time.ParseDuration text ("1m30s", "500ms", "2h") as nanoseconds, as compose durations are written. */
import { invalid } from '../../lib/errors.js';

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

export function durationNs(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const s = text.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1e9; // bare seconds, as compose 1.x accepted
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
    at = re.lastIndex;
  }
  if (at !== s.length || at === 0) throw invalid(`invalid duration "${text}"`);
  return Math.round(total);
}

export function durationSeconds(text: string | undefined): number | undefined {
  const ns = durationNs(text);
  return ns === undefined ? undefined : Math.floor(ns / 1e9);
}

/** Docker's timestamp grammar (GetTimestamp) on the daemon side: Unix seconds, RFC 3339 dates, or Go durations before now. */
import { invalid } from './errors.js';

/** Milliseconds since the epoch for `value`; throws InvalidParameter with dockerd's text. */
export function parseTimestampMs(value: string, opts: { now?: number; what?: string } = {}): number {
  const now = opts.now ?? Date.now();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.floor(Number(value) * 1000);
  if (/^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(value)) {
    let ms = 0;
    for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
      ms += Number(m[1]) * ({ ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2] as string] ?? 0);
    }
    return now - ms;
  }
  let parsed = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(parsed) && /^\d{4}-\d{2}-\d{2}$/.test(value)) parsed = Date.parse(`${value}T00:00:00`);
  if (Number.isNaN(parsed)) throw invalid(`failed to parse value as time or duration: "${value}"`);
  return parsed;
}

/**
 * Docker's timestamps, parsed in one place: GetTimestamp's grammar (Unix seconds, RFC 3339 dates,
 * or Go durations before now) on the daemon side (`parseTimestampMs`) and the CLI side
 * (`toUnixTimestamp`, what the docker CLI sends), the API's since/until values (`parseApiTimeNs`,
 * `parseUnixSecondsNs`) and RFC 3339 with nanoseconds (`parseTimeNs`).
 */
import { invalid } from './errors.js';

const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Milliseconds of a relative time ("10m", "1h30m"), undefined when `value` is not one. */
function relativeMs(value: string): number | undefined {
  if (!DURATION.test(value)) return undefined;
  let ms = 0;
  for (const m of value.matchAll(DURATION_PART)) ms += Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
  return ms;
}

/** Milliseconds since the epoch for `value`; throws InvalidParameter with dockerd's text. */
export function parseTimestampMs(value: string, opts: { now?: number; what?: string } = {}): number {
  const now = opts.now ?? Date.now();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.floor(Number(value) * 1000);
  const rel = relativeMs(value);
  if (rel !== undefined) return now - rel;
  let parsed = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(parsed) && /^\d{4}-\d{2}-\d{2}$/.test(value)) parsed = Date.parse(`${value}T00:00:00`);
  if (Number.isNaN(parsed)) throw invalid(`failed to parse value as time or duration: "${value}"`);
  return parsed;
}

/**
 * The docker CLI's GetTimestamp: `value` as the "seconds[.nanoseconds]" string it sends for
 * `--since`/`--until` (whole seconds for relative times; RFC 3339 fractions kept to 9 digits).
 */
export function toUnixTimestamp(value: string, now: number = Date.now()): string {
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  const rel = relativeMs(value);
  // docker sends whole seconds for relative times
  if (rel !== undefined) return String(Math.floor((now - rel) / 1000));
  // Keep nanoseconds (Date.parse stops at milliseconds): `logs -t` prints 9 digits.
  const frac = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{1,9})(Z|[+-]\d\d:\d\d)$/.exec(value);
  if (frac) {
    const secs = Date.parse(`${frac[1]}${frac[3]}`) / 1000;
    if (!Number.isNaN(secs)) return `${secs}.${(frac[2] as string).padEnd(9, '0')}`;
  }
  let parsed = Date.parse(value);
  if (Number.isNaN(parsed) && /^\d{4}-\d{2}-\d{2}$/.test(value)) parsed = Date.parse(`${value}T00:00:00`);
  if (Number.isNaN(parsed)) throw new Error(`invalid value for "since": failed to parse value as time or duration: "${value}"`);
  return `${Math.floor(parsed / 1000)}.${String((parsed % 1000) * 1e6).padStart(9, '0')}`;
}

/** Parses an RFC 3339 time with up to 9 fraction digits and an offset into epoch ns (0n when it is not one). */
export function parseTimeNs(s: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return 0n;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  const frac = BigInt((m[2] ?? '').padEnd(9, '0'));
  return BigInt(ms) * 1_000_000n + frac;
}

/** The logs API's since/until: seconds with an optional fraction, or RFC 3339; undefined for none ('' or '0'). */
export function parseApiTimeNs(v: string | null): bigint | undefined {
  if (v === null || v === '' || v === '0') return undefined;
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (m) return BigInt(m[1] as string) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
  const ns = parseTimeNs(v);
  if (ns === 0n) {
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw invalid(`invalid time value: ${v}`);
    return BigInt(ms) * 1_000_000n;
  }
  return ns;
}

/** The events API's since/until: Unix seconds (with a fraction) as epoch ns; undefined when absent. */
export function parseUnixSecondsNs(v: string | null): number | undefined {
  return v ? Math.floor(Number(v) * 1e9) : undefined;
}

/**
 * Docker's filters, on both sides of the API: the `filters=` query parameter the daemon decodes
 * (`parseFilters`), the `--filter key=value` flags the CLI collects (`parseFilterFlags`), and the
 * `label=` matching every list and prune endpoint applies (`matchLabels`).
 */
import { invalid } from './errors.js';

/** Docker's `filters` query parameter: `{"key": ["v1","v2"]}` or the legacy `{"key": {"v": true}}`. */
export function parseFilters(raw: string | null): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!raw) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid(`invalid filter: ${raw}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid(`invalid filter: ${raw}`);
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(v)) out.set(k, v.map(String));
    else if (typeof v === 'object' && v !== null)
      out.set(
        k,
        Object.keys(v).filter((x) => (v as Record<string, unknown>)[x]),
      );
    else throw invalid(`invalid filter: ${raw}`);
  }
  return out;
}

/** The CLI's `--filter name=value` flags → `{name: [values]}` (names lower-cased, as the docker CLI does). */
export function parseFilterFlags(list: readonly string[]): Record<string, string[]> {
  const f: Record<string, string[]> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i < 0) throw new Error(`bad format of filter (expected name=value)`);
    const k = item.slice(0, i).trim().toLowerCase();
    (f[k] ??= []).push(item.slice(i + 1));
  }
  return f;
}

/** Docker's `label=` filter: every wanted `key` is present, every wanted `key=value` matches. */
export function matchLabels(labels: Record<string, string>, wanted: readonly string[]): boolean {
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return Object.prototype.hasOwnProperty.call(labels, w);
    return labels[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

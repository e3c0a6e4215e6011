/**
 * A solve's cache import and export (buildx's `--cache-from` / `--cache-to`) on Berth's builder.
 *
 * Berth's cache is the image itself: each step image's history entry and layer are what a later
 * build matches (build/cache.ts), so an image in berthd's store (built here, loaded or pulled)
 * serves the steps whose history it shares. That is `type=inline`: the exported image carries
 * its cache, nothing is added to it (so inline export keeps reproducible image IDs). Imports of
 * `type=registry` name such an image (`ref`), as a plain `--cache-from <image>` does; buildx
 * sends them in the control Solve's `Cache.Imports` and, for the frontend, as the
 * `cache-imports` JSON (or the older comma-separated `cache-from`) frontend option.
 *
 * The other cache backends move BuildKit's cache manifests and blobs (`type=local` through the
 * session's content store, `registry` exports, gha, s3, azblob): Berth answers them with a
 * NotImplemented error naming the type, before any work, rather than ignoring them.
 */
import { invalid, notImplemented } from '../lib/errors.js';

export interface CacheEntry {
  Type: string;
  Attrs: Record<string, string>;
}

const entries = (v: unknown): CacheEntry[] =>
  (Array.isArray(v) ? v : []).map((e: { Type?: unknown; Attrs?: unknown }) => ({
    Type: String(e?.Type ?? ''),
    Attrs: (e?.Attrs ?? {}) as Record<string, string>,
  }));

const unsupported = (dir: 'export' | 'import', type: string): Error =>
  notImplemented(`cache ${dir} type=${type} is not supported: Berth's build cache travels in the image (use --cache-to type=inline and --cache-from <image>)`);

/** Checks a control Solve's `Cache` (CacheOptions): inline exports and registry imports only. */
export function checkSolveCache(cache: unknown): void {
  const c = (cache ?? {}) as { Exports?: unknown; Imports?: unknown };
  for (const e of entries(c.Exports)) if (e.Type !== 'inline') throw unsupported('export', e.Type);
  for (const e of entries(c.Imports)) if (e.Type !== 'registry') throw unsupported('import', e.Type);
}

/** The images a frontend's options name as cache sources (`cache-imports`, `cache-from`). */
export function cacheSources(attrs: Record<string, string>): string[] {
  const out: string[] = [];
  const json = attrs['cache-imports'];
  if (json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw invalid(`invalid cache-imports: ${json}`);
    }
    for (const e of entries(parsed)) {
      if (e.Type !== 'registry') throw unsupported('import', e.Type);
      if (e.Attrs['ref']) out.push(e.Attrs['ref']);
    }
  }
  for (const ref of (attrs['cache-from'] ?? '').split(',')) if (ref.trim()) out.push(ref.trim());
  return [...new Set(out)];
}

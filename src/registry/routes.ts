/**
 * URL routing for the /v2/ API: turns a path into a route, validates the repository name, and
 * states the access a request needs (for the Authorizer).
 */
import { regErr } from './errors.js';
import { checkName } from './storage.js';
import type { Access } from './tokens.js';

export type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; ref: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'referrers'; name: string; digest: string };

const PATTERNS: [RegExp, (m: RegExpExecArray) => Route][] = [
  [/^(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'uploads', name: m[1]! })],
  [/^(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'upload', name: m[1]!, id: m[2]! })],
  [/^(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1]!, digest: m[2]! })],
  [/^(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1]!, ref: m[2]! })],
  [/^(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1]! })],
  [/^(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: 'referrers', name: m[1]!, digest: m[2]! })],
];

/** The route of a /v2/ path (undefined: not an API path), with the name validated. */
export function route(pathname: string): Route | undefined {
  if (pathname === '/v2' || pathname === '/v2/') return { kind: 'base' };
  if (!pathname.startsWith('/v2/')) return undefined;
  const rest = pathname.slice(4);
  if (rest === '_catalog') return { kind: 'catalog' };
  for (const [re, make] of PATTERNS) {
    const m = re.exec(rest);
    if (m) {
      const r = make(m);
      if ('name' in r) {
        try {
          r.name = decodeURIComponent(r.name);
        } catch {
          throw regErr('NAME_INVALID');
        }
        checkName(r.name);
      }
      return r;
    }
  }
  return undefined;
}

/** A short label for metrics and logs. */
export const routeLabel = (r: Route | undefined): string => r?.kind ?? 'other';

/** The access a request needs. */
export function requiredAccess(r: Route, method: string): Access[] {
  const repo = (actions: string[]): Access[] => [{ type: 'repository', name: (r as { name: string }).name, actions }];
  switch (r.kind) {
    case 'base':
      return [];
    case 'catalog':
      return [{ type: 'registry', name: 'catalog', actions: ['*'] }];
    case 'tags':
    case 'referrers':
      return repo(['pull']);
    case 'manifest':
    case 'blob':
      if (method === 'GET' || method === 'HEAD') return repo(['pull']);
      if (method === 'DELETE') return repo(['delete']);
      return repo(['pull', 'push']);
    case 'uploads':
    case 'upload':
      return repo(['pull', 'push']);
  }
}

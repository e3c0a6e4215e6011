// Merging canonical trees (13-merge.md), for several -f files and for `extends`: mappings merged key
// by key, sequences appended without duplicates, command/entrypoint/healthcheck.test replaced,
// ports/volumes/secrets/configs deduplicated by their unique key (a later entry replaces an earlier one), env_file by path; `!reset` removes a
// value and `!override` replaces it whole.
import { isMap, type Tree } from './canonical.js';

/** a value tagged `!reset` in an override file */
export class Reset {}
/** a value tagged `!override`: replaces instead of merging */
export class Override {
  constructor(readonly value: unknown) {}
}

/** put the markers of a file's tags into its (canonical) tree; a tag whose path no longer exists is dropped */
export function applyTags(tree: Tree, tags: ReadonlyArray<{ path: ReadonlyArray<string | number>; tag: string }>): void {
  // deepest first, so an !override around a tagged child keeps the child's marker inside it
  for (const { path, tag } of [...tags].sort((a, b) => b.path.length - a.path.length)) {
    let node: unknown = tree;
    for (const seg of path.slice(0, -1)) node = isMap(node) || Array.isArray(node) ? (node as Record<string, unknown>)[seg] : undefined;
    const last = path[path.length - 1];
    if (last === undefined || !isMap(node) || typeof last !== 'string' || !(last in node)) continue;
    node[last] = tag === '!reset' ? new Reset() : new Override(node[last]);
  }
}

/** the tree without markers: reset keys removed, overrides unwrapped */
export function stripMarkers(v: unknown): unknown {
  if (v instanceof Override) return stripMarkers(v.value);
  if (Array.isArray(v)) return v.filter((x) => !(x instanceof Reset)).map(stripMarkers);
  if (isMap(v)) {
    const out: Tree = {};
    for (const [k, x] of Object.entries(v)) if (!(x instanceof Reset)) out[k] = stripMarkers(x);
    return out;
  }
  return v;
}

const REPLACED = new Set(['command', 'entrypoint']);

function portKey(p: unknown): string {
  const o = isMap(p) ? p : {};
  return `${String(o.host_ip ?? '')}|${String(o.target ?? '')}|${String(o.published ?? '')}|${String(o.protocol ?? 'tcp')}`;
}

const KEYED: Record<string, (v: unknown) => string> = {
  ports: portKey,
  volumes: (v) => (isMap(v) ? String(v.target) : String(v)),
  secrets: (v) => (isMap(v) ? String(v.target ?? v.source) : String(v)),
  configs: (v) => (isMap(v) ? String(v.target ?? v.source) : String(v)),
  env_file: (v) => (isMap(v) ? String(v.path) : String(v)),
};

/** merge two whole files' canonical trees; `over` wins */
export function mergeFiles(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (k === 'services' && isMap(base.services) && isMap(v)) {
      const services: Tree = { ...base.services };
      for (const [name, svc] of Object.entries(v)) {
        if (svc instanceof Reset) delete services[name];
        else if (svc instanceof Override) services[name] = stripMarkers(svc);
        else services[name] = isMap(services[name]) && isMap(svc) ? mergeService(services[name], svc) : stripMarkers(svc);
      }
      out.services = services;
    } else {
      set(out, k, mergeValue(base[k], v));
    }
  }
  return out;
}

/** merge a service over another (files and `extends`) */
export function mergeService(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const keyOf = KEYED[k];
    if (v instanceof Reset) delete out[k];
    else if (v instanceof Override || REPLACED.has(k)) out[k] = stripMarkers(v);
    else if (keyOf !== undefined && Array.isArray(base[k]) && Array.isArray(v)) out[k] = mergeKeyed(base[k] as unknown[], v, keyOf);
    else if (k === 'healthcheck' && isMap(base[k]) && isMap(v)) {
      const { test, ...rest } = v;
      const hc = mergeValue(base[k], rest) as Tree;
      if (test !== undefined) set(hc, 'test', test instanceof Reset ? undefined : stripMarkers(test));
      out[k] = hc;
    } else set(out, k, mergeValue(base[k], v));
  }
  return out;
}

function set(o: Tree, k: string, v: unknown): void {
  if (v === undefined) delete o[k];
  else o[k] = v;
}

function mergeKeyed(base: unknown[], over: unknown[], keyOf: (v: unknown) => string): unknown[] {
  const out = [...base];
  for (const item of over) {
    if (item instanceof Reset) continue;
    const key = keyOf(item);
    const i = out.findIndex((x) => keyOf(x) === key);
    if (i < 0) out.push(stripMarkers(item));
    else out[i] = stripMarkers(item); // the later entry replaces the earlier one whole, as compose v2 and 1.29 do
  }
  return out;
}

/** the generic rule: maps merged, sequences appended (duplicates dropped), scalars replaced */
export function mergeValue(base: unknown, over: unknown): unknown {
  if (over instanceof Reset) return undefined;
  if (over instanceof Override) return stripMarkers(over.value);
  if (over === undefined) return base;
  if (isMap(base) && isMap(over)) {
    const out: Tree = { ...base };
    for (const [k, v] of Object.entries(over)) set(out, k, mergeValue(base[k], v));
    return out;
  }
  if (Array.isArray(base) && Array.isArray(over)) {
    const out: unknown[] = [...(base as unknown[])];
    const seen = new Set(out.map((x) => JSON.stringify(x)));
    for (const item of over) {
      if (item instanceof Reset) continue;
      const x = stripMarkers(item);
      const key = JSON.stringify(x);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(x);
      }
    }
    return out;
  }
  return stripMarkers(over);
}

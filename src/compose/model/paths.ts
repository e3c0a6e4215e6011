// Relative paths of a canonical tree made absolute against a directory: build contexts (not URLs),
// env_file and label_file entries, bind sources (`.`/`~` too), file-based configs and secrets.
// Idempotent: absolute paths are left alone, so a tree may pass through more than once.
import path from 'node:path';
import { isMap, type Tree } from './canonical.js';

/** a build context that is a remote source, not a directory */
export function isRemoteContext(ctx: string): boolean {
  return /^(https?|git|ssh):\/\//.test(ctx) || ctx.startsWith('git@') || ctx.startsWith('github.com/') || /^[a-z-]+:\/\//.test(ctx);
}

export function absPath(p: string, dir: string, home: string | undefined): string {
  if (p === '~' || p.startsWith('~/')) return path.join(home ?? '/', p.slice(1));
  return path.resolve(dir, p);
}

/** one service's paths */
export function resolveServicePaths(svc: Tree, dir: string, home: string | undefined): Tree {
  const s: Tree = { ...svc };
  if (isMap(s.build) && typeof s.build.context === 'string' && !isRemoteContext(s.build.context)) {
    s.build = { ...s.build, context: absPath(s.build.context, dir, home) };
  } else if (isMap(s.build) && s.build.context === undefined) {
    s.build = { ...s.build, context: dir };
  }
  if (isMap(s.build) && isMap(s.build.additional_contexts)) {
    const ctxs: Tree = {};
    for (const [k, v] of Object.entries(s.build.additional_contexts)) {
      ctxs[k] = typeof v === 'string' && !isRemoteContext(v) && !/^(docker-image|service|oci-layout|target):/.test(v) ? absPath(v, dir, home) : v;
    }
    s.build = { ...s.build, additional_contexts: ctxs };
  }
  if (Array.isArray(s.env_file))
    s.env_file = (s.env_file as unknown[]).map((e) => (isMap(e) && typeof e.path === 'string' ? { ...e, path: absPath(e.path, dir, home) } : e));
  if (Array.isArray(s.label_file)) s.label_file = s.label_file.map((f) => absPath(String(f), dir, home));
  if (Array.isArray(s.volumes)) {
    s.volumes = (s.volumes as unknown[]).map((v) =>
      isMap(v) && v.type === 'bind' && typeof v.source === 'string' ? { ...v, source: absPath(v.source, dir, home) } : v,
    );
  }
  if (isMap(s.extends) && typeof s.extends.file === 'string') s.extends = { ...s.extends, file: absPath(s.extends.file, dir, home) };
  return s;
}

/** the whole tree's paths */
export function resolveTreePaths(tree: Tree, dir: string, home: string | undefined): Tree {
  const out: Tree = { ...tree };
  if (isMap(tree.services)) {
    const services: Tree = {};
    for (const [k, v] of Object.entries(tree.services)) services[k] = isMap(v) ? resolveServicePaths(v, dir, home) : v;
    out.services = services;
  }
  for (const kind of ['secrets', 'configs']) {
    const section = tree[kind];
    if (!isMap(section)) continue;
    const objs: Tree = {};
    for (const [k, v] of Object.entries(section)) objs[k] = isMap(v) && typeof v.file === 'string' ? { ...v, file: absPath(v.file, dir, home) } : v;
    out[kind] = objs;
  }
  return out;
}

// `extends` (05-services.md): a service built on another one, from the same model or another file,
// recursively; the base's relative paths resolve against its own file's directory; cycles and
// missing services or files are refused with the file, line and field of the `extends`.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isMap, type Tree } from './canonical.js';
import { ComposeFileError } from './errors.js';
import { mergeService, stripMarkers } from './merge.js';
import { resolveServicePaths } from './paths.js';
import type { SourceFile } from './source.js';

export interface ExtendsContext {
  /** read (once) a file named by `extends.file` */
  load(file: string): SourceFile;
  /** where `services.<name>.extends` of the main model was written */
  locate(at: Array<string | number>): { file: string; line: number };
  home: string | undefined;
}

interface Scope {
  services: Tree;
  /** the file the scope's services come from (for errors and `file:` resolution); main: undefined */
  file?: SourceFile;
  done: Map<string, Tree>;
}

/** the main model's services with every `extends` applied */
export function applyExtends(services: Tree, ctx: ExtendsContext): Tree {
  const main: Scope = { services, done: new Map() };
  const out: Tree = {};
  for (const name of Object.keys(services)) out[name] = resolve(name, main, [], ctx);
  return out;
}

function where(scope: Scope, name: string, ctx: ExtendsContext): { file: string; line: number; dir: string } {
  const at = ['services', name, 'extends'];
  if (scope.file !== undefined) return { file: scope.file.parsed.file, line: scope.file.parsed.lineOf(at), dir: scope.file.dir };
  const loc = ctx.locate(at);
  return { ...loc, dir: path.dirname(loc.file) };
}

function resolve(name: string, scope: Scope, stack: string[], ctx: ExtendsContext): Tree {
  const cached = scope.done.get(name);
  if (cached !== undefined) return cached;
  const svc = scope.services[name];
  if (!isMap(svc)) return {};
  const ext = svc.extends;
  if (!isMap(ext)) return svc;
  const loc = where(scope, name, ctx);
  const fail = (what: string): never => {
    throw new ComposeFileError(loc.file, loc.line, `services.${name}.extends`, what);
  };
  const id = `${loc.file}#${name}`;
  if (stack.includes(id)) {
    // compose v2's wording: "Circular reference:", then "  <service> in <file>", then "  extends <service> in <file>" per step
    const steps = [...stack, id].map((s) => {
      const at = s.lastIndexOf('#');
      return `${s.slice(at + 1)} in ${s.slice(0, at)}`;
    });
    fail(['Circular reference:', `  ${steps[0] ?? ''}`, ...steps.slice(1).map((s) => `  extends ${s}`)].join('\n'));
  }
  const baseName = String(ext.service);
  let base: Tree;
  if (typeof ext.file === 'string') {
    const target = path.resolve(loc.dir, ext.file);
    if (!existsSync(target)) fail(`cannot extend service ${JSON.stringify(name)}: file ${target} not found`);
    const src = ctx.load(target);
    const other: Scope = { services: isMap(src.tree.services) ? (stripMarkers(src.tree.services) as Tree) : {}, file: src, done: new Map() };
    if (!isMap(other.services[baseName])) fail(`cannot extend service ${JSON.stringify(name)} in ${target}: service ${JSON.stringify(baseName)} not found`);
    base = resolveServicePaths(resolve(baseName, other, [...stack, id], ctx), src.dir, ctx.home);
  } else {
    if (!isMap(scope.services[baseName])) fail(`cannot extend service ${JSON.stringify(name)}: service ${JSON.stringify(baseName)} not found`);
    base = resolve(baseName, scope, [...stack, id], ctx);
  }
  const { extends: _drop, ...own } = svc;
  void _drop;
  const merged = mergeService(base, own);
  scope.done.set(name, merged);
  return merged;
}

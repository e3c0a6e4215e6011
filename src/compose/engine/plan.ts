/**
 * The dependency graph of a project's services (depends_on, links, network_mode/volumes_from
 * `service:` references): levels of services that can be created in parallel, in start order,
 * and the closure of a selection (the services asked for plus what they depend on).
 */
import { invalid } from '../../lib/errors.js';
import type { Project, Service } from '../model/types.js';

/** The services `s` depends on (by name), only those in the project. */
export function dependencies(s: Service, services: Record<string, Service>): string[] {
  const out = new Set<string>(Object.keys(s.depends_on ?? {}));
  for (const l of s.links ?? []) out.add(l.split(':')[0] ?? l);
  const nm = s.network_mode;
  if (nm?.startsWith('service:')) out.add(nm.slice('service:'.length));
  for (const mode of [s.ipc, s.pid]) if (mode?.startsWith('service:')) out.add(mode.slice('service:'.length));
  return [...out].filter((d) => d in services && d !== s.name);
}

/**
 * Start order as levels: every service of a level depends only on services of earlier levels.
 * A cycle is an InvalidParameter error naming it, as v2's "dependency cycle detected".
 */
export function levels(services: Record<string, Service>, only?: Iterable<string>): string[][] {
  const wanted = new Set(only ?? Object.keys(services));
  const done = new Set<string>();
  const out: string[][] = [];
  while (done.size < wanted.size) {
    const level = [...wanted].filter((n) => !done.has(n) && dependencies(services[n] as Service, services).every((d) => done.has(d) || !wanted.has(d)));
    if (level.length === 0) {
      const rest = [...wanted].filter((n) => !done.has(n)).sort();
      throw invalid(`dependency cycle detected: ${cyclePath(services, rest)}`);
    }
    level.sort();
    for (const n of level) done.add(n);
    out.push(level);
  }
  return out;
}

function cyclePath(services: Record<string, Service>, rest: string[]): string {
  const start = rest[0] as string;
  const path = [start];
  let cur = start;
  for (;;) {
    const next = dependencies(services[cur] as Service, services).find((d) => rest.includes(d));
    if (next === undefined) return rest.join(', ');
    const at = path.indexOf(next);
    if (at >= 0) return [...path.slice(at), next].join(' -> ');
    path.push(next);
    cur = next;
  }
}

/** The selected services plus everything they depend on, transitively (all when none selected). */
export function withDependencies(project: Project, selected: string[]): string[] {
  if (selected.length === 0) return Object.keys(project.services);
  const out = new Set<string>();
  const visit = (n: string): void => {
    if (out.has(n)) return;
    const s = project.services[n];
    if (!s) throw invalid(`no such service: ${n}`);
    out.add(n);
    for (const d of dependencies(s, project.services)) visit(d);
  };
  for (const n of selected) visit(n);
  return [...out];
}

/** The services that depend on `name` (directly or not), for stop order and restarts. */
export function dependents(project: Project, name: string): string[] {
  const out = new Set<string>();
  const visit = (n: string): void => {
    for (const s of Object.values(project.services)) {
      if (!out.has(s.name) && dependencies(s, project.services).includes(n)) {
        out.add(s.name);
        visit(s.name);
      }
    }
  };
  visit(name);
  return [...out];
}

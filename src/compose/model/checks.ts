// Profiles (15-profiles.md) and the consistency checks docker compose v2 makes after loading, with
// its wording: depends_on on unknown, disabled or cyclic services; services referring to networks,
// volumes, secrets or configs the model does not declare; `network_mode: service:x` on an unknown x.
import { notFound } from '../../lib/errors.js';
import type { Service } from './types.js';

/** the active profiles: the given ones plus those of services named on the command line */
/** what profile selection needs of a service */
export interface Profiled {
  profiles?: string[];
}

export function activeProfiles(profiles: string[], all: Record<string, Profiled>, named: string[]): Set<string> {
  const active = new Set(profiles.filter((p) => p !== ''));
  for (const n of named) {
    const s = all[n];
    if (s === undefined) throw notFound(`no such service: ${n}`);
    for (const p of s.profiles ?? []) active.add(p);
  }
  return active;
}

export function isEnabled(s: Profiled, active: Set<string>): boolean {
  const profiles = s.profiles ?? [];
  return profiles.length === 0 || active.has('*') || profiles.some((p) => active.has(p));
}

/** a problem found, with the field of the merged model it concerns */
export interface Problem {
  at: Array<string | number>;
  what: string;
}

export interface Declared {
  networks: Record<string, unknown>;
  volumes: Record<string, unknown>;
  secrets: Record<string, unknown>;
  configs: Record<string, unknown>;
}

/** the first problem of the enabled services (optional dependencies on missing services are dropped in place) */
export function checkServices(services: Record<string, Service>, disabled: Record<string, Service>, declared: Declared): Problem | undefined {
  for (const s of Object.values(services)) {
    if (s.image === undefined && s.build === undefined) {
      return {
        at: ['services', s.name],
        what: `service ${JSON.stringify(s.name)} has neither an image nor a build context specified: invalid compose project`,
      };
    }
    if (s.network_mode !== undefined && Object.keys(s.networks).length > 0) {
      return {
        at: ['services', s.name, 'network_mode'],
        what: `service ${s.name} declares mutually exclusive \`network_mode\` and \`networks\`: invalid compose project`,
      };
    }
    if (s.container_name !== undefined && s.replicas > 1) {
      return {
        at: ['services', s.name, 'container_name'],
        what: `services.${s.name}: can't set container_name and ${s.name} as container name must be unique: invalid compose project`,
      };
    }
    for (const [dep, d] of Object.entries(s.depends_on)) {
      if (dep in services) continue;
      if (!d.required) {
        delete s.depends_on[dep];
        continue;
      }
      const ds = disabled[dep];
      const what =
        ds !== undefined
          ? `service ${dep} is required by ${s.name} but is disabled. Can be enabled by profiles [${(ds.profiles ?? []).join(' ')}]`
          : `service ${JSON.stringify(s.name)} depends on undefined service ${JSON.stringify(dep)}: invalid compose project`;
      return { at: ['services', s.name, 'depends_on', dep], what };
    }
    const mode = s.network_mode ?? '';
    if (mode.startsWith('service:')) {
      const target = mode.slice('service:'.length);
      if (!(target in services)) {
        const what =
          target in disabled
            ? `service ${target} is required by ${s.name} but is disabled. Can be enabled by profiles [${(disabled[target]?.profiles ?? []).join(' ')}]`
            : `service ${JSON.stringify(s.name)} refers to undefined service ${JSON.stringify(target)} in network_mode: invalid compose project`;
        return { at: ['services', s.name, 'network_mode'], what };
      }
    }
    for (const n of Object.keys(s.networks)) {
      if (n !== 'default' && !(n in declared.networks)) return undefinedRef(s, 'networks', n, 'network');
    }
    for (const [i, v] of s.volumes.entries()) {
      if (v.type === 'volume' && v.source !== undefined && !(v.source in declared.volumes)) return undefinedRef(s, 'volumes', i, 'volume', v.source);
    }
    for (const [i, r] of s.secrets.entries()) if (!(r.source in declared.secrets)) return undefinedRef(s, 'secrets', i, 'secret', r.source);
    for (const [i, r] of s.configs.entries()) if (!(r.source in declared.configs)) return undefinedRef(s, 'configs', i, 'config', r.source);
  }
  return dependencyCycle(services);
}

/** an external network or volume that also says how to create it */
export function checkExternal(kind: 'networks' | 'volumes', section: Record<string, unknown>): Problem | undefined {
  const noun = kind === 'networks' ? 'network' : 'volume';
  const creation = kind === 'networks' ? ['driver', 'driver_opts', 'ipam'] : ['driver', 'driver_opts'];
  for (const [key, v] of Object.entries(section)) {
    const o = v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
    if (o.external !== true && o.external !== 'true') continue;
    const clash = creation.find((k) => o[k] !== undefined);
    if (clash !== undefined) return { at: [kind, key, clash], what: `conflicting parameters "external" and "${clash}" specified for ${noun} "${key}"` };
  }
  return undefined;
}

function undefinedRef(s: Service, field: string, key: string | number, noun: string, name: string = String(key)): Problem {
  return { at: ['services', s.name, field, key], what: `service ${JSON.stringify(s.name)} refers to undefined ${noun} ${name}: invalid compose project` };
}

function dependencyCycle(services: Record<string, Service>): Problem | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of Object.keys(services[name]?.depends_on ?? {}).sort()) {
      const cycle = visit(dep);
      if (cycle !== undefined) return cycle;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of Object.keys(services).sort()) {
    const cycle = visit(name);
    if (cycle !== undefined) return { at: ['services', cycle[0] as string, 'depends_on'], what: `dependency cycle detected: ${cycle.join(' -> ')}` };
  }
  return undefined;
}

/** services in dependency order (dependencies first; ties by name) — for `config --services` and the engine */
export function dependencyOrder(services: Record<string, Service>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name) || services[name] === undefined) return;
    seen.add(name);
    for (const dep of Object.keys(services[name]?.depends_on ?? {}).sort()) visit(dep);
    out.push(name);
  };
  for (const name of Object.keys(services).sort()) visit(name);
  return out;
}

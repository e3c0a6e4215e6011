/**
 * Legacy links (`--link name[:alias]`) on the default bridge: the /etc/hosts lines dockerd writes
 * for each linked container, `<ip>\t<alias> <hostname> [<name>]` (the name only when it differs
 * from the alias), with the linked container's address on the default bridge. A link to a
 * container that is not running or not on the default bridge gives no line.
 * `linkEnv` gives dockerd's link environment: `<ALIAS>_NAME=/<parent>/<alias>`, for each port the
 * child exposes `<ALIAS>_PORT_<n>_<PROTO>[_ADDR|_PORT|_PROTO]`, `<ALIAS>_PORT` for the lowest one,
 * and `<ALIAS>_ENV_<K>=<v>` for the child's environment (not HOME or PATH); ALIAS upper-cased, `-` → `_`.
 */
import type { Container } from '../containers/types.js';
import { invalid, system } from '../lib/errors.js';

export interface LinkLookup {
  byName: (name: string) => Container | undefined;
  defaultIp: (child: Container) => string | undefined;
}

/** Parses `name[:alias]` / `/name:/parent/alias`. */
function parseLink(link: string): { name: string; alias: string } {
  const i = link.indexOf(':');
  const name = (i < 0 ? link : link.slice(0, i)).replace(/^\//, '');
  return { name, alias: (i < 0 ? name : link.slice(i + 1)).split('/').pop() ?? name };
}

/**
 * The names links give containers (dockerd's `/<parent>/<alias>`, listed in `ps` Names after
 * the container's own): child ID → names.
 */
export function linkNames(all: Container[], byName: LinkLookup['byName']): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const parent of all) {
    for (const link of parent.HostConfig.Links ?? []) {
      const { name, alias } = parseLink(link);
      const child = byName(name);
      if (child) out.set(child.ID, [...(out.get(child.ID) ?? []), `${parent.Name}/${alias}`]);
    }
  }
  return out;
}

/** The Links entry of `parent` that gives `alias`, if any (for `DELETE …?link=true`). */
export function linkEntry(parent: Container, alias: string): string | undefined {
  return (parent.HostConfig.Links ?? []).find((l) => parseLink(l).alias === alias);
}

/**
 * dockerd's checks: at create every linked container must exist (400 "could not get container
 * for …"); at start it must also run (500 "Cannot link to a non running container: …").
 */
export function checkLinks(c: Container, o: Pick<LinkLookup, 'byName'> & { atStart: boolean }): void {
  for (const link of c.HostConfig.Links ?? []) {
    const { name, alias } = parseLink(link);
    const child = o.byName(name);
    if (!child) throw invalid(`could not get container for ${name}: No such container: ${name}`);
    if (o.atStart && !child.State.Running) throw system(`Cannot link to a non running container: ${child.Name} AS ${c.Name}/${alias}`);
  }
}

/** The running linked containers with their alias and default-bridge address. */
function linked(c: Container, o: LinkLookup): Array<{ child: Container; alias: string; ip: string }> {
  const out: Array<{ child: Container; alias: string; ip: string }> = [];
  for (const link of c.HostConfig.Links ?? []) {
    const { name, alias } = parseLink(link);
    const child = o.byName(name);
    if (!child?.State.Running) continue;
    const ip = o.defaultIp(child);
    if (ip) out.push({ child, alias, ip });
  }
  return out;
}

export function linkHostLines(c: Container, o: LinkLookup): string[] {
  return linked(c, o).map(({ child, alias, ip }) => {
    const childName = child.Name.slice(1);
    return `${ip}\t${alias} ${child.Config.Hostname}${alias !== childName ? ` ${childName}` : ''}`;
  });
}

export function linkEnv(c: Container, o: LinkLookup): string[] {
  const env: string[] = [];
  for (const { child, alias, ip } of linked(c, o)) {
    const A = alias.toUpperCase().replace(/-/g, '_');
    const ports = Object.keys(child.Config.ExposedPorts ?? {})
      .map((k) => {
        const [port = '', proto = 'tcp'] = k.split('/');
        return { port: Number(port), proto };
      })
      .sort((a, b) => a.port - b.port || a.proto.localeCompare(b.proto));
    const first = ports[0];
    if (first) env.push(`${A}_PORT=${first.proto}://${ip}:${first.port}`);
    for (const p of ports) {
      const P = `${A}_PORT_${p.port}_${p.proto.toUpperCase()}`;
      env.push(`${P}=${p.proto}://${ip}:${p.port}`, `${P}_ADDR=${ip}`, `${P}_PORT=${p.port}`, `${P}_PROTO=${p.proto}`);
    }
    env.push(`${A}_NAME=${c.Name}/${alias}`);
    for (const kv of child.Config.Env ?? []) {
      const i = kv.indexOf('=');
      if (i < 0 || ['HOME', 'PATH'].includes(kv.slice(0, i))) continue;
      env.push(`${A}_ENV_${kv.slice(0, i)}=${kv.slice(i + 1)}`);
    }
  }
  return env;
}

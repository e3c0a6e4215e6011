/**
 * Legacy links (`--link name[:alias]`) on the default bridge: the /etc/hosts lines dockerd writes
 * for each linked container, `<ip>\t<alias> <hostname> [<name>]` (the name only when it differs
 * from the alias), with the linked container's address on the default bridge. A link to a
 * container that is not running or not on the default bridge gives no line.
 * Not done (gap): the `<ALIAS>_PORT_…` / `<ALIAS>_NAME` environment variables of legacy links.
 */
import type { Container } from '../containers/types.js';

export function linkHostLines(c: Container, o: { byName: (name: string) => Container | undefined; defaultIp: (child: Container) => string | undefined }): string[] {
  const out: string[] = [];
  for (const link of c.HostConfig.Links ?? []) {
    // "name:alias" from the CLIs, or dockerd's stored form "/name:/parent/alias".
    const i = link.indexOf(':');
    const name = (i < 0 ? link : link.slice(0, i)).replace(/^\//, '');
    const alias = (i < 0 ? name : link.slice(i + 1)).split('/').pop() ?? name;
    const child = o.byName(name);
    if (!child?.State.Running) continue;
    const ip = o.defaultIp(child);
    if (!ip) continue;
    const childName = child.Name.slice(1);
    out.push(`${ip}\t${alias} ${child.Config.Hostname}${alias !== childName ? ` ${childName}` : ''}`);
  }
  return out;
}

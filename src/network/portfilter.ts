/**
 * `ps --filter publish=` / `expose=` as dockerd evaluates them: each value is `<port>[/<proto>]`
 * or `<start>-<end>[/<proto>]` (proto defaults to tcp); a container matches when one of its
 * listed ports has its public port (publish) or private port (expose) in the set. Only running
 * containers list ports, so stopped ones never match.
 */
// dockerd returns these as plain errors (500), whatever the version: so do we.
import { system as invalid } from '../lib/errors.js';

export interface ListedPort {
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** `80`, `80/udp`, `8000-8080/tcp` → the set of `port/proto` keys (throws dockerd's errors). */
export function portFilterSet(key: 'publish' | 'expose', values: string[]): Set<string> {
  const out = new Set<string>();
  for (const value of values) {
    if (value.includes(':')) throw invalid(`filter for '${key}' should not contain ':': ${value}`);
    const slash = value.indexOf('/');
    const port = slash < 0 ? value : value.slice(0, slash);
    const proto = slash < 0 ? 'tcp' : value.slice(slash + 1).toLowerCase() || 'tcp';
    const [startText = '', endText] = port.split('-', 2);
    const start = parseUint16(startText, key, value);
    const end = endText === undefined ? start : parseUint16(endText, key, value);
    if (end < start) throw invalid(`error while looking up for ${key} ${value}: Invalid range specified for the Port: ${port}`);
    for (let p = start; p <= end; p++) out.add(`${p}/${proto}`);
  }
  return out;
}

function parseUint16(s: string, key: string, value: string): number {
  if (!/^\d+$/.test(s) || Number(s) > 65535)
    throw invalid(
      `error while looking up for ${key} ${value}: strconv.ParseUint: parsing ${JSON.stringify(s)}: ${/^\d+$/.test(s) ? 'value out of range' : 'invalid syntax'}`,
    );
  return Number(s);
}

/** Whether a container with `ports` passes the publish/expose sets (either one matching is enough, as dockerd). */
export function matchPortFilters(ports: ListedPort[], f: { publish?: Set<string>; expose?: Set<string> }): boolean {
  if (!f.publish && !f.expose) return true;
  return ports.some((p) => f.publish?.has(`${p.PublicPort ?? 0}/${p.Type}`) || f.expose?.has(`${p.PrivatePort}/${p.Type}`));
}

/** berth network create/ls/inspect/rm/prune/connect/disconnect, and `port`. */
import type { Cli, CommandDef } from './common.js';
import { confirm, forEachTarget, StatusError } from './common.js';
import { encodeFilters } from '../client/client.js';
import { FlagError, type ParsedFlags } from './flags.js';
import { renderRows, truncateId } from './format.js';
import { runInspect } from './inspect.js';
import { parseFilterFlags as parseFilters } from '../lib/filters.js';

interface NetworkSummary {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
  Internal: boolean;
  EnableIPv6: boolean;
  Created: string;
  Labels: Record<string, string> | null;
}

const LS_DEFAULT = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';

async function create(cli: Cli, flags: ParsedFlags): Promise<void> {
  const [name = ''] = flags.args;
  const subnets = flags.list('subnet');
  const gateways = flags.list('gateway');
  const ranges = flags.list('ip-range');
  if (gateways.length > subnets.length || ranges.length > subnets.length) throw new FlagError('every ip-range or gateway must have a corresponding subnet');
  const config = subnets.map((s, i) => ({
    Subnet: s,
    ...(s.includes(':') ? {} : gateways[i] ? { Gateway: gateways[i] } : {}),
    ...(ranges[i] ? { IPRange: ranges[i] } : {}),
  }));
  const v6gw = gateways.filter((g) => g.includes(':'));
  for (const c of config) if (c.Subnet.includes(':') && v6gw[0]) Object.assign(c, { Gateway: v6gw[0] });
  const kv = (list: string[]): Record<string, string> =>
    Object.fromEntries(list.map((o) => (o.includes('=') ? [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)] : [o, ''])));
  const res = await cli.client.json<{ Id: string }>({
    method: 'POST',
    path: '/networks/create',
    json: {
      Name: name,
      Driver: flags.string('driver') ?? 'bridge',
      Internal: flags.bool('internal'),
      Attachable: flags.bool('attachable'),
      EnableIPv6: flags.bool('ipv6'),
      IPAM: { Driver: 'default', Config: config, Options: {} },
      Options: kv(flags.list('opt')),
      Labels: kv(flags.list('label')),
    },
  });
  cli.println(res.Id);
}

async function ls(cli: Cli, flags: ParsedFlags): Promise<void> {
  const filters = encodeFilters(parseFilters(flags.list('filter')));
  const list = await cli.client.json<NetworkSummary[]>({ path: '/networks', query: { filters } });
  list.sort((a, b) => a.Name.localeCompare(b.Name));
  if (flags.bool('quiet')) {
    for (const n of list) cli.println(flags.bool('no-trunc') ? n.Id : truncateId(n.Id));
    return;
  }
  const format = flags.string('format') || LS_DEFAULT;
  cli.print(
    renderRows(list, format === 'table' ? LS_DEFAULT : format, {
      toContext: (n) => ({
        ID: flags.bool('no-trunc') ? n.Id : truncateId(n.Id),
        Name: n.Name,
        Driver: n.Driver,
        Scope: n.Scope,
        IPv6: String(n.EnableIPv6),
        Internal: String(n.Internal),
        CreatedAt: n.Created,
        Labels: Object.entries(n.Labels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
        Label: (k: unknown) => (n.Labels ?? {})[String(k)] ?? '',
      }),
      headers: {
        ID: 'NETWORK ID',
        Name: 'NAME',
        Driver: 'DRIVER',
        Scope: 'SCOPE',
        IPv6: 'IPV6',
        Internal: 'INTERNAL',
        CreatedAt: 'CREATED AT',
        Labels: 'LABELS',
      },
    }),
  );
}

async function inspect(cli: Cli, flags: ParsedFlags): Promise<void> {
  await runInspect(
    cli,
    flags.args,
    async (name) => {
      const res = await cli.client.request({ path: `/networks/${encodeURIComponent(name)}` });
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    { format: flags.string('format') },
  );
}

async function rm(cli: Cli, flags: ParsedFlags): Promise<void> {
  await forEachTarget(cli, flags.args, async (n) => {
    await cli.client.call({ method: 'DELETE', path: `/networks/${encodeURIComponent(n)}` });
  });
}

async function prune(cli: Cli, flags: ParsedFlags): Promise<void> {
  if (!flags.bool('force') && !(await confirm(cli, 'WARNING! This will remove all custom networks not used by at least one container.'))) return;
  const filters = encodeFilters(parseFilters(flags.list('filter')));
  const res = await cli.client.json<{ NetworksDeleted: string[] | null }>({ method: 'POST', path: '/networks/prune', query: { filters } });
  const deleted = res.NetworksDeleted ?? [];
  if (deleted.length > 0) cli.println(`Deleted Networks:\n${deleted.join('\n')}\n`);
}

async function connect(cli: Cli, flags: ParsedFlags): Promise<void> {
  const [network = '', container = ''] = flags.args;
  const aliases = flags.list('alias');
  const ip = flags.string('ip');
  const ip6 = flags.string('ip6');
  await cli.client.call({
    method: 'POST',
    path: `/networks/${encodeURIComponent(network)}/connect`,
    json: {
      Container: container,
      EndpointConfig: {
        ...(aliases.length ? { Aliases: aliases } : {}),
        ...(ip || ip6 ? { IPAMConfig: { ...(ip ? { IPv4Address: ip } : {}), ...(ip6 ? { IPv6Address: ip6 } : {}) } } : {}),
      },
    },
  });
}

async function disconnect(cli: Cli, flags: ParsedFlags): Promise<void> {
  const [network = '', container = ''] = flags.args;
  await cli.client.call({
    method: 'POST',
    path: `/networks/${encodeURIComponent(network)}/disconnect`,
    json: { Container: container, Force: flags.bool('force') },
  });
}

async function port(cli: Cli, flags: ParsedFlags): Promise<void> {
  const [id = '', want] = flags.args;
  const c = await cli.client.json<{ NetworkSettings?: { Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> } }>({
    path: `/containers/${encodeURIComponent(id)}/json`,
  });
  const ports = c.NetworkSettings?.Ports ?? {};
  const out: string[] = [];
  if (want !== undefined) {
    // The docker CLI's rules: `80/` is 80/tcp, the protocol is compared as given, a bad port is an error.
    const slash = want.indexOf('/');
    const num = slash < 0 ? want : want.slice(0, slash);
    const proto = slash < 0 || slash === want.length - 1 ? 'tcp' : want.slice(slash + 1);
    const m = /^(\d+)(?:-(\d+))?$/.exec(num);
    if (!m)
      throw new StatusError(
        1,
        `Error: invalid port (${num}): strconv.ParseUint: parsing ${JSON.stringify(num.split('-')[/^\d+$/.test(num.split('-')[0] ?? '') ? 1 : 0] ?? num)}: invalid syntax`,
      );
    if (Number(m[1]) > 65535 || Number(m[2] ?? m[1]) > 65535)
      throw new StatusError(
        1,
        `Error: invalid port (${num}): strconv.ParseUint: parsing ${JSON.stringify(Number(m[1]) > 65535 ? m[1] : m[2])}: value out of range`,
      );
    const key = `${num}/${proto}`;
    const list = ports[key];
    if (!list) throw new StatusError(1, `Error: No public port '${want}' published for ${id}`); // as typed, as the docker CLI
    for (const b of list) out.push(joinHostPort(b.HostIp, b.HostPort));
  } else {
    for (const [k, list] of Object.entries(ports)) for (const b of list ?? []) out.push(`${k} -> ${joinHostPort(b.HostIp, b.HostPort)}`);
  }
  out.sort((a, b) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0));
  for (const line of out) cli.println(line);
}

/** Go's net.JoinHostPort: IPv6 hosts in brackets. */
function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The docker CLI's sort order (fvbommel/sortorder.NaturalLess): digit runs compare as numbers. */
export function naturalLess(a: string, b: string): boolean {
  const chunks = (s: string): string[] => s.match(/\d+|\D+/g) ?? [];
  const x = chunks(a);
  const y = chunks(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i] as string;
    const q = y[i] as string;
    if (p === q) continue;
    const pd = /^\d/.test(p);
    const qd = /^\d/.test(q);
    if (pd && qd) {
      const pn = BigInt(p);
      const qn = BigInt(q);
      if (pn !== qn) return pn < qn;
      return p.length > q.length; // same value: fewer leading zeros first, as sortorder
    }
    return p < q;
  }
  return x.length < y.length;
}

export const commands: Record<string, CommandDef> = {
  create: {
    name: 'create',
    usage: '[OPTIONS] NETWORK',
    description: 'Create a network',
    args: { min: 1, max: 1 },
    flags: [
      { long: 'attachable', type: 'bool', description: 'Enable manual container attachment' },
      { long: 'driver', short: 'd', type: 'string', description: 'Driver to manage the Network', defaultValue: 'bridge' },
      { long: 'gateway', type: 'list', description: 'IPv4 or IPv6 Gateway for the master subnet' },
      { long: 'internal', type: 'bool', description: 'Restrict external access to the network' },
      { long: 'ip-range', type: 'list', description: 'Allocate container ip from a sub-range' },
      { long: 'ipv6', type: 'bool', description: 'Enable or disable IPv6 networking' },
      { long: 'label', type: 'list', description: 'Set metadata on a network' },
      { long: 'opt', short: 'o', type: 'list', description: 'Set driver specific options' },
      { long: 'subnet', type: 'list', description: 'Subnet in CIDR format that represents a network segment' },
    ],
    run: create,
  },
  ls: {
    name: 'ls',
    usage: '[OPTIONS]',
    description: 'List networks',
    aliases: ['network ls', 'network list'],
    args: { max: 0 },
    flags: [
      { long: 'filter', short: 'f', type: 'list', description: 'Provide filter values (e.g. "driver=bridge")' },
      { long: 'format', type: 'string', description: 'Format output using a custom template' },
      { long: 'no-trunc', type: 'bool', description: 'Do not truncate the output' },
      { long: 'quiet', short: 'q', type: 'bool', description: 'Only display network IDs' },
    ],
    run: ls,
  },
  inspect: {
    name: 'inspect',
    usage: '[OPTIONS] NETWORK [NETWORK...]',
    description: 'Display detailed information on one or more networks',
    args: { min: 1 },
    flags: [
      { long: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' },
      { long: 'verbose', short: 'v', type: 'bool', description: 'Verbose output for diagnostics' },
    ],
    run: inspect,
  },
  rm: {
    name: 'rm',
    usage: 'NETWORK [NETWORK...]',
    description: 'Remove one or more networks',
    args: { min: 1 },
    flags: [{ long: 'force', short: 'f', type: 'bool', description: 'Do not error if the network does not exist' }],
    run: rm,
  },
  prune: {
    name: 'prune',
    usage: '[OPTIONS]',
    description: 'Remove all unused networks',
    args: { max: 0 },
    flags: [
      { long: 'filter', type: 'list', description: 'Provide filter values (e.g. "until=<timestamp>")' },
      { long: 'force', short: 'f', type: 'bool', description: 'Do not prompt for confirmation' },
    ],
    run: prune,
  },
  connect: {
    name: 'connect',
    usage: '[OPTIONS] NETWORK CONTAINER',
    description: 'Connect a container to a network',
    args: { min: 2, max: 2 },
    flags: [
      { long: 'alias', type: 'list', description: 'Add network-scoped alias for the container' },
      { long: 'ip', type: 'string', description: 'IPv4 address (e.g., "172.30.100.104")' },
      { long: 'ip6', type: 'string', description: 'IPv6 address (e.g., "2001:db8::33")' },
    ],
    run: connect,
  },
  disconnect: {
    name: 'disconnect',
    usage: '[OPTIONS] NETWORK CONTAINER',
    description: 'Disconnect a container from a network',
    args: { min: 2, max: 2 },
    flags: [{ long: 'force', short: 'f', type: 'bool', description: 'Force the container to disconnect from a network' }],
    run: disconnect,
  },
  port: {
    name: 'port',
    usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
    description: 'List port mappings or a specific mapping for the container',
    args: { min: 1, max: 2 },
    flags: [],
    run: port,
  },
};

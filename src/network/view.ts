/**
 * Docker's documents for networks and a container's networking, projected from the service's
 * records: NetworkResource (inspect/list), a container's NetworkSettings, its published
 * `Ports` (inspect and `ps`), and the `GET /networks` filters. Pure: no I/O, no state.
 */
import { invalid } from '../lib/errors.js';
import { matchLabels } from '../lib/filters.js';
import type { Container } from '../containers/types.js';
import type { Endpoint, EndpointRequest, NetworkRecord, PortMapping } from './types.js';
import type { EndpointSettings, NetworkContainer, NetworkResource, NetworkSettings, Port, PortMap } from '../engine-api/types.js';

/** Names of the networks every daemon has. */
export const PREDEFINED = new Set(['bridge', 'host', 'none']);

/** Docker's NetworkResource; `attached` (running containers and their endpoints) fills `Containers`. */
export function networkView(n: NetworkRecord, attached: Array<{ c: Container; ep: Endpoint }> | undefined): NetworkResource {
  const { bridge: _b, isDefault: _d, ...rest } = n;
  void _b;
  void _d;
  const containers: Record<string, NetworkContainer> = {};
  for (const { c, ep } of attached ?? []) {
    containers[c.ID] = {
      Name: c.Name.slice(1),
      EndpointID: ep.EndpointID,
      MacAddress: ep.MacAddress,
      IPv4Address: `${ep.IPAddress}/${ep.IPPrefixLen}`,
      IPv6Address: ep.GlobalIPv6Address ? `${ep.GlobalIPv6Address}/${ep.GlobalIPv6PrefixLen}` : '',
    };
  }
  return { ...rest, IPAM: { ...n.IPAM, Config: n.IPAM.Config.map((p) => ({ ...p })) }, Containers: containers };
}

/** What {@link settingsView} needs besides the container. */
export interface SettingsSource {
  /** ID of the `host` or `none` network when that is the container's mode ('' when absent). */
  modeNetworkId: string;
  /** The networks the container belongs to, with its endpoint on each while it runs. */
  members: Array<{ n: NetworkRecord; req: EndpointRequest; ep: Endpoint | undefined }>;
  /** Its published ports (while it runs). */
  ports: PortMapping[];
}

/** Docker's NetworkSettings of a container. */
export function settingsView(c: Container, s: SettingsSource): NetworkSettings {
  const mode = c.HostConfig.NetworkMode || 'default';
  const networks: Record<string, EndpointSettings> = {};
  let top: Endpoint | undefined;
  if (mode === 'host' || mode === 'none') networks[mode] = endpointView(s.modeNetworkId, undefined, {}, []);
  for (const { n, req, ep } of s.members) {
    if (n.isDefault) top = ep;
    const dnsNames = n.isDefault ? null : [c.Name.slice(1), c.ID.slice(0, 12), ...(req.Aliases ?? [])];
    networks[n.Name] = endpointView(n.Id, ep, req, dnsNames);
  }
  return {
    Bridge: '',
    SandboxID: c.State.Running ? c.ID : '',
    SandboxKey: c.State.Running ? `/proc/${c.State.Pid}/ns/net` : '',
    Ports: portsView(c, s.ports),
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: top?.EndpointID ?? '',
    Gateway: top?.Gateway ?? '',
    GlobalIPv6Address: top?.GlobalIPv6Address ?? '',
    GlobalIPv6PrefixLen: top?.GlobalIPv6PrefixLen ?? 0,
    IPAddress: top?.IPAddress ?? '',
    IPPrefixLen: top?.IPPrefixLen ?? 0,
    IPv6Gateway: top?.IPv6Gateway ?? '',
    MacAddress: top?.MacAddress ?? '',
    Networks: networks,
  };
}

/** NetworkSettings.Ports: exposed ports (null) and their host bindings, while running. */
export function portsView(c: Container, ports: PortMapping[]): PortMap {
  const out: PortMap = {};
  if (!c.State.Running) return out;
  for (const key of Object.keys(c.Config.ExposedPorts ?? {})) out[key.includes('/') ? key : `${key}/tcp`] = null;
  for (const p of ports) {
    const key = `${p.ContainerPort}/${p.Proto}`;
    (out[key] ??= []).push({ HostIp: p.HostIp, HostPort: String(p.HostPort) });
  }
  return out;
}

/** The `Ports` of a `ps` entry: published ports, then exposed ones not published. */
export function listPortsView(c: Container, ports: PortMapping[]): Port[] {
  const out: Port[] = [];
  if (!c.State.Running) return out;
  const seen = new Set<string>();
  for (const p of ports) {
    out.push({ IP: p.HostIp, PrivatePort: p.ContainerPort, PublicPort: p.HostPort, Type: p.Proto });
    seen.add(`${p.ContainerPort}/${p.Proto}`);
  }
  for (const key of Object.keys(c.Config.ExposedPorts ?? {})) {
    const [port = '', proto = 'tcp'] = key.split('/');
    if (!seen.has(`${port}/${proto}`)) out.push({ PrivatePort: Number(port), Type: proto });
  }
  return out;
}

export function endpointView(networkId: string, ep: Endpoint | undefined, req: EndpointRequest, dnsNames: string[] | null): EndpointSettings {
  return {
    IPAMConfig: req.IPAMConfig ?? null,
    Links: req.Links && req.Links.length > 0 ? req.Links : null,
    Aliases: req.Aliases && req.Aliases.length > 0 ? req.Aliases : null,
    MacAddress: ep?.MacAddress ?? req.MacAddress ?? '',
    DriverOpts: req.DriverOpts ?? null,
    GwPriority: 0,
    NetworkID: networkId,
    EndpointID: ep?.EndpointID ?? '',
    Gateway: ep?.Gateway ?? '',
    IPAddress: ep?.IPAddress ?? '',
    IPPrefixLen: ep?.IPPrefixLen ?? 0,
    IPv6Gateway: ep?.IPv6Gateway ?? '',
    GlobalIPv6Address: ep?.GlobalIPv6Address ?? '',
    GlobalIPv6PrefixLen: ep?.GlobalIPv6PrefixLen ?? 0,
    DNSNames: dnsNames,
  };
}

const LIST_FILTERS = new Set(['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type']);

/**
 * The `GET /networks` filters as a predicate, validated first (dockerd's messages).
 * `inUse(n)`: whether a running container is attached (for `dangling`).
 */
export function networkFilter(f: Map<string, string[]>, inUse: (n: NetworkRecord) => boolean): (n: NetworkRecord) => boolean {
  for (const k of f.keys()) if (!LIST_FILTERS.has(k)) throw invalid(`invalid filter '${k}'`);
  for (const t of f.get('type') ?? []) if (t !== 'custom' && t !== 'builtin') throw invalid(`invalid filter: 'type'='${t}'`);
  return (n) => {
    const names = f.get('name');
    if (names && !names.some((x) => n.Name.includes(x))) return false;
    const ids = f.get('id');
    if (ids && !ids.some((x) => n.Id.startsWith(x))) return false;
    const drivers = f.get('driver');
    if (drivers && !drivers.includes(n.Driver)) return false;
    const labels = f.get('label');
    if (labels && !matchLabels(n.Labels, labels)) return false;
    const types = f.get('type');
    if (types && !types.includes(PREDEFINED.has(n.Name) ? 'builtin' : 'custom')) return false;
    const dangling = f.get('dangling')?.[0];
    if (dangling !== undefined) {
      const unused = !PREDEFINED.has(n.Name) && !inUse(n);
      if ((dangling === 'true' || dangling === '1') !== unused) return false;
    }
    return true;
  };
}

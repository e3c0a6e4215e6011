/** Network records and per-container network state, as stored under <data-root>/network/. */

export interface IpamPool {
  Subnet: string;
  Gateway: string;
  IPRange?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** A network, in the shape of Docker's `NetworkResource` (minus live containers). */
export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: 'bridge' | 'host' | 'null';
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: Record<string, string> | null; Config: IpamPool[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** The Linux bridge (bridge driver only). */
  bridge?: string;
  /** The default `bridge` network (no embedded DNS, as Docker). */
  isDefault?: boolean;
}

/** What a container asked of one network (create's EndpointsConfig, or connect). */
export interface EndpointRequest {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  /** Per-network links (`name:alias`): the alias resolves for this container only (dockerd's embedded DNS). */
  Links?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
}

/** A live attachment of a running container to a network. */
export interface Endpoint {
  NetworkID: string;
  EndpointID: string;
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  MacAddress: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  IPv6Gateway: string;
  /** Interface name inside the container (eth0, eth1, …) and its host-side veth. */
  ifName: string;
  hostVeth: string;
}

/** One published port: host side → container side. */
export interface PortMapping {
  HostIp: string;
  HostPort: number;
  ContainerPort: number;
  Proto: 'tcp' | 'udp' | 'sctp';
  ContainerIp: string;
  Bridge: string;
}

/** Per-container network state: <data-root>/network/containers/<id>.json. */
export interface ContainerNetState {
  /** network ID → what the container asked (membership, kept while stopped). */
  networks: Record<string, EndpointRequest>;
  /** network ID → live endpoint (only while running). */
  endpoints: Record<string, Endpoint>;
  /** Published ports (only while running). */
  ports: PortMapping[];
  /** network ID → the IPv4 address the last run had, asked for again at the next start. */
  previous?: Record<string, string>;
}

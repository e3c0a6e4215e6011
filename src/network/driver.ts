/**
 * What the network engine needs from a network driver (libnetwork's driverapi, narrowed to what
 * Berth uses): a network's kernel side up and down, isolation between networks, an endpoint's
 * link identity, joining a container's namespace and leaving it, and publishing ports.
 * The bridge driver (bridgedriver.ts: bridge.ts, firewall.ts, proxy6.ts) is the one
 * implementation. The predefined `host` and `null` networks are records without a driver here:
 * libnetwork's host and null drivers do nothing for a network or an endpoint, and their
 * containers get no endpoint (the namespace choice is the runtime spec's, runtime/spec.ts).
 */
import type { Endpoint, NetworkRecord, PortMapping } from './types.js';

/** One endpoint to plumb into a container's namespace. */
export interface JoinRequest {
  n: NetworkRecord;
  ep: Endpoint;
  /** The default route goes through this endpoint's gateway. */
  gateway: boolean;
  /** The embedded DNS (127.0.0.11) is redirected to this address in the namespace. */
  dns?: string;
}

export interface NetworkDriver {
  /** Creates the network's kernel side (link, addresses, its rules) if missing. Idempotent. */
  up(n: NetworkRecord): Promise<void>;
  /** Removes the network's kernel side and the isolation rules that name it. */
  down(n: NetworkRecord): Promise<void>;
  /** Pairwise isolation of the given networks (adds only missing pairs). */
  isolate(networks: NetworkRecord[]): Promise<void>;
  /** The host-side interface name of a new endpoint. */
  hostInterface(): string;
  /** The MAC address of an endpoint with IPv4 address `ip` when none is asked for. */
  macFor(ip: string): string;
  /** Plumbs endpoints into the network namespace of `pid` (`again`: into a running container). */
  join(pid: number, eps: JoinRequest[], o?: { again?: boolean }): Promise<void>;
  /** Deletes endpoints' host interfaces (their namespace ends are gone with them). */
  leave(hostInterfaces: string[]): Promise<void>;
  /** Programs a container's published ports. */
  publish(id: string, ports: PortMapping[]): Promise<void>;
  /** Removes a container's published ports (best effort). */
  unpublish(id: string, ports: PortMapping[]): Promise<void>;
  /** Removes a container's published ports on one network (disconnect). */
  unpublishOn(n: NetworkRecord, id: string): Promise<void>;
  /** After a daemon restart: the userland parts of a running container's published ports. */
  republish(id: string, ports: PortMapping[]): Promise<void>;
  /**
   * After a daemon restart: removes per-container rules of the given networks whose owner is not
   * among `running` (short IDs), and host interfaces on them that no endpoint in `wanted` records.
   */
  sweep(networks: NetworkRecord[], o: { running: Set<string>; wanted: Set<string> }): Promise<void>;
  /** Daemon shutdown: closes what the driver serves in berthd itself. */
  close(): void;
}

/**
 * The network service: the one object the daemon wires, composed of the parts that own the work
 * — networks.ts (create/inspect/list/remove/prune), endpoints.ts (membership, prepare/attach/
 * release around a start, connect/disconnect, reconcile, container views), addresses.ts (the
 * allocation interface over ipam.ts/ipam6.ts), names.ts (embedded DNS answers, /etc contents,
 * links), and the bridge driver behind `NetworkDriver` (bridgedriver.ts). It implements the
 * container side's `ContainerNetworking` and what api/networks.ts and api/containers.ts call.
 */
import * as path from 'node:path';
import type { Container } from '../containers/types.js';
import type { ContainerNetworking } from '../containers/networking.js';
import { Addresses } from './addresses.js';
import { BridgeDriver } from './bridgedriver.js';
import { EmbeddedDns } from './dns.js';
import { Endpoints } from './endpoints.js';
import { Names, type EtcInfo } from './names.js';
import { Networks, type CreateNetworkRequest } from './networks.js';
import { NetworkStore } from './store.js';
import type { Endpoint, EndpointRequest, NetworkRecord } from './types.js';
import type { NetworkResource, NetworkSettings, Port } from '../engine-api/types.js';

export type { CreateNetworkRequest } from './networks.js';
export type { EtcInfo } from './names.js';
export { DEFAULT_BIP } from './networks.js';
export { hostResolvers } from './names.js';

export interface NetworkServiceOptions {
  /** <data-root>/network */
  root: string;
  /** The default bridge's Linux bridge name, or `none` for no default bridge network. */
  bridge: string;
  /** The default bridge's gateway address with prefix (dockerd's --bip). */
  bip: string;
  /** The daemon's containers (late-bound: the container service is built after this one). */
  containers: () => Container[];
  emit?: (action: string, network: NetworkRecord, attrs: Record<string, string>) => void;
}

export class NetworkService implements ContainerNetworking {
  readonly store: NetworkStore;
  private readonly networks: Networks;
  private readonly endpoints: Endpoints;
  private readonly names: Names;
  private readonly driver: BridgeDriver;
  private readonly dns: EmbeddedDns;

  constructor(o: NetworkServiceOptions) {
    const store = (this.store = new NetworkStore(o.root));
    const addresses = new Addresses(store);
    this.driver = new BridgeDriver(() => this.networks.list());
    this.dns = new EmbeddedDns({ lookup: (q) => this.names.lookup(q), upstreams: (from) => this.names.upstreams(from), reverse: (q) => this.names.reverse(q) });
    this.networks = new Networks({
      store,
      addresses,
      driver: this.driver,
      dns: this.dns,
      bridge: o.bridge,
      bip: o.bip,
      attached: (n) => this.endpoints.attached(n),
      emit: o.emit,
    });
    this.endpoints = new Endpoints({ store, networks: this.networks, addresses, driver: this.driver, containers: o.containers, emit: o.emit });
    this.names = new Names({ store, networks: this.networks, endpoints: this.endpoints, containers: o.containers });
  }

  async init(): Promise<void> {
    await this.store.init();
    await this.networks.init();
  }

  /** After the container service's recovery (endpoints.ts). */
  reconcile(): Promise<void> {
    return this.endpoints.reconcile();
  }

  close(): void {
    this.dns.closeAll();
    this.driver.close();
  }

  /* networks */
  find(ref: string): NetworkRecord {
    return this.networks.find(ref);
  }
  list(filters?: Map<string, string[]>): NetworkRecord[] {
    return this.networks.list(filters);
  }
  view(n: NetworkRecord, o: { containers: boolean }): NetworkResource {
    return this.networks.view(n, o);
  }
  create(req: CreateNetworkRequest): Promise<NetworkRecord> {
    return this.networks.create(req);
  }
  remove(ref: string): Promise<void> {
    return this.networks.remove(ref);
  }
  prune(filters: Map<string, string[]>): Promise<string[]> {
    return this.networks.prune(filters);
  }
  /** Running containers attached to `n`. */
  endpointsOn(n: NetworkRecord): Array<{ c: Container; ep: Endpoint }> {
    return this.endpoints.attached(n);
  }

  /* membership and the container life cycle (ContainerNetworking) */
  connect(ref: string, c: Container, req: EndpointRequest): Promise<void> {
    return this.endpoints.connect(ref, c, req);
  }
  disconnect(ref: string, c: Container, o: { force: boolean }): Promise<void> {
    return this.endpoints.disconnect(ref, c, o);
  }
  validateCreate(
    mode: string,
    endpoints: Record<string, EndpointRequest | null> | undefined,
    ports?: { bindings: Record<string, unknown> | null | undefined; exposed: Record<string, unknown> | undefined },
  ): void {
    this.endpoints.validateCreate(mode, endpoints, ports);
  }
  created(c: Container, endpoints: Record<string, EndpointRequest | null> | undefined): Promise<void> {
    return this.endpoints.created(c, endpoints);
  }
  async prepare(c: Container): Promise<void> {
    if ((c.HostConfig.Links ?? []).length > 0) this.names.checkLinks(c, { atStart: true });
    await this.endpoints.prepare(c);
  }
  attach(c: Container, pid: number): Promise<void> {
    return this.endpoints.attach(c, pid);
  }
  release(c: Container): Promise<void> {
    return this.endpoints.release(c);
  }
  removed(c: Container): Promise<void> {
    return this.endpoints.removed(c);
  }
  etcInfo(c: Container): EtcInfo {
    return this.names.etcInfo(c);
  }
  /** create: every `--link` target exists (dockerd's 400 otherwise). */
  validateLinks(c: Container): void {
    this.names.checkLinks(c, { atStart: false });
  }
  linkEnv(c: Container): string[] {
    return this.names.linkEnv(c);
  }

  /* container views */
  settings(c: Container): NetworkSettings {
    return this.endpoints.settings(c);
  }
  listPorts(c: Container): Port[] {
    return this.endpoints.listPorts(c);
  }
  networkRefsOf(c: Container): string[] {
    return this.endpoints.networkRefsOf(c);
  }
}

export const networkRoot = (dataRoot: string): string => path.join(dataRoot, 'network');

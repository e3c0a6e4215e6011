/**
 * Networks: the predefined ones at start-up, create (pools validated by pools.ts), inspect,
 * list, remove and prune, each network's driver side and embedded-DNS listener brought up and
 * torn down. Changes are serialised (one network change at a time, connect/disconnect included).
 */
import { conflict, forbidden, invalid, notFound } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { matchLabels } from '../lib/filters.js';
import type { Container } from '../containers/types.js';
import type { AddressAllocator } from './addresses.js';
import { MTU_OPT } from './bridgedriver.js';
import type { EmbeddedDns } from './dns.js';
import type { NetworkDriver } from './driver.js';
import { cidrText, numToIp, parseCidr } from './ipam.js';
import { checkNoOverlap, requestedPools } from './pools.js';
import type { NetworkStore } from './store.js';
import { networkFilter, networkView, PREDEFINED } from './view.js';
import type { Endpoint, NetworkRecord } from './types.js';
import type { NetworkResource } from '../engine-api/types.js';

export interface CreateNetworkRequest {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: {
    Driver?: string;
    Config?: Array<{ Subnet?: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> | null }> | null;
    Options?: Record<string, string> | null;
  } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  CheckDuplicate?: boolean;
}

export const DEFAULT_BIP = '172.18.0.1/16';
const BRIDGE_NAME_OPT = 'com.docker.network.bridge.name';

export interface NetworksOptions {
  store: NetworkStore;
  addresses: AddressAllocator;
  /** The driver of `bridge` networks. */
  driver: NetworkDriver;
  dns: Pick<EmbeddedDns, 'listen' | 'close'>;
  /** The default bridge's Linux bridge name, or `none` for no default bridge network. */
  bridge: string;
  /** The default bridge's gateway address with prefix (dockerd's --bip). */
  bip: string;
  /** Running containers attached to a network (endpoints.ts). */
  attached: (n: NetworkRecord) => Array<{ c: Container; ep: Endpoint }>;
  emit?: ((action: string, network: NetworkRecord, attrs: Record<string, string>) => void) | undefined;
}

export class Networks {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: NetworksOptions) {}

  /** Serialises network-level changes (create/remove/connect/disconnect). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /* ------------------------------------------------------------------ start-up */

  async init(): Promise<void> {
    await this.ensurePredefined();
    for (const n of this.o.store.networks.values()) {
      if (n.Driver !== 'bridge') continue;
      await this.o.addresses.open(n);
      await this.bringUp(n).catch((err: unknown) => process.emitWarning(`network ${n.Name}: ${(err as Error).message}`));
    }
    await this.isolate().catch((err: unknown) => process.emitWarning(`network isolation: ${(err as Error).message}`));
  }

  private async ensurePredefined(): Promise<void> {
    const store = this.o.store;
    const byName = (name: string): NetworkRecord | undefined => [...store.networks.values()].find((n) => n.Name === name);
    for (const [name, driver] of [
      ['host', 'host'],
      ['none', 'null'],
    ] as const) {
      if (!byName(name)) await store.saveNetwork(newRecord({ name, driver, options: {}, labels: {}, pools: [] }));
    }
    const existing = byName('bridge');
    if (this.o.bridge === 'none') {
      if (existing) {
        await store.removeNetwork(existing.Id);
        await this.o.addresses.destroy(existing.Id);
      }
      return;
    }
    const gw = parseCidr(this.o.bip, 'bip');
    const pool = { Subnet: cidrText(gw), Gateway: numToIp(gw.ip) };
    if (existing && existing.bridge === this.o.bridge && existing.IPAM.Config[0]?.Subnet === pool.Subnet && existing.IPAM.Config[0]?.Gateway === pool.Gateway)
      return;
    checkNoOverlap(this.list(), gw, existing?.Id);
    const n = newRecord({
      name: 'bridge',
      driver: 'bridge',
      pools: [pool],
      labels: {},
      options: {
        'com.docker.network.bridge.default_bridge': 'true',
        'com.docker.network.bridge.enable_icc': 'true',
        'com.docker.network.bridge.enable_ip_masquerade': 'true',
        'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
        [BRIDGE_NAME_OPT]: this.o.bridge,
        [MTU_OPT]: '1500',
      },
    });
    if (existing) n.Id = existing.Id;
    n.bridge = this.o.bridge;
    n.isDefault = true;
    await store.saveNetwork(n);
  }

  /** The driver's side, then the DNS listener of a user network. Idempotent. */
  private async bringUp(n: NetworkRecord): Promise<void> {
    const pool = n.IPAM.Config[0];
    if (!n.bridge || !pool) return;
    await this.o.driver.up(n);
    if (!n.isDefault) await this.o.dns.listen(pool.Gateway);
  }

  /** Pairwise isolation of this daemon's bridge networks. */
  private isolate(): Promise<void> {
    return this.o.driver.isolate(this.list());
  }

  /* ------------------------------------------------------------------ lookup */

  /** By full ID, exact name, then unique ID prefix (dockerd's order). */
  find(ref: string): NetworkRecord {
    const all = [...this.o.store.networks.values()];
    const byId = all.find((n) => n.Id === ref);
    if (byId) return byId;
    const byName = all.filter((n) => n.Name === ref);
    if (byName.length === 1) return byName[0] as NetworkRecord;
    const byPrefix = ref === '' ? [] : all.filter((n) => n.Id.startsWith(ref));
    if (byPrefix.length === 1) return byPrefix[0] as NetworkRecord;
    if (byPrefix.length > 1) throw invalid(`network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    throw notFound(`network ${ref} not found`);
  }

  tryFind(ref: string): NetworkRecord | undefined {
    try {
      return this.find(ref);
    } catch {
      return undefined;
    }
  }

  /** The networks, those `filters` (`GET /networks`'s, validated) select when given. */
  list(filters?: Map<string, string[]>): NetworkRecord[] {
    const all = [...this.o.store.networks.values()];
    return filters ? all.filter(networkFilter(filters, (n) => this.o.attached(n).length > 0)) : all;
  }

  /** Docker's NetworkResource for inspect/list. */
  view(n: NetworkRecord, o: { containers: boolean }): NetworkResource {
    return networkView(n, o.containers ? this.o.attached(n) : undefined);
  }

  /* ------------------------------------------------------------------ create / remove */

  create(req: CreateNetworkRequest): Promise<NetworkRecord> {
    return this.serial(async () => {
      const name = req.Name ?? '';
      if (name === '') throw invalid('network name must not be empty');
      // dockerd 20.10 takes any non-empty name ("test 01", "a/b" …); records and bridges are keyed by ID.
      if (PREDEFINED.has(name)) throw forbidden(`operation is not permitted on predefined ${name} network `);
      if (this.list().some((n) => n.Name === name)) throw conflict(`network with name ${name} already exists`);
      const driver = req.Driver || 'bridge';
      if (driver !== 'bridge') throw notFound(`could not find plugin ${driver} in v1 plugin registry: plugin not found`);
      const options = { ...(req.Options ?? {}) };
      const { pools, userSubnet } = requestedPools(this.list(), req);
      const n = newRecord({ name, driver: 'bridge', pools, options, labels: req.Labels ?? {} });
      n.Internal = req.Internal ?? false;
      n.Attachable = req.Attachable ?? false;
      n.EnableIPv6 = req.EnableIPv6 ?? false;
      n.IPAM.Options = req.IPAM?.Options ?? null;
      (n as NetworkRecord & { userSubnet?: boolean }).userSubnet = userSubnet;
      const bridge = options[BRIDGE_NAME_OPT] || `br-${n.Id.slice(0, 12)}`;
      if (bridge.length > 15) throw invalid(`bridge name ${bridge} is too long (max 15 characters)`);
      if (this.list().some((x) => x.bridge === bridge)) throw forbidden(`bridge name ${bridge} is already in use`);
      n.bridge = bridge;
      await this.o.store.saveNetwork(n);
      try {
        await this.o.addresses.open(n);
        await this.bringUp(n);
        await this.isolate();
      } catch (err) {
        await this.teardown(n);
        throw err;
      }
      this.o.emit?.('create', n, { type: n.Driver });
      return n;
    });
  }

  remove(ref: string): Promise<void> {
    return this.serial(async () => {
      const n = this.find(ref);
      if (PREDEFINED.has(n.Name)) throw forbidden(`${n.Name} is a pre-defined network and cannot be removed`);
      if (this.o.attached(n).length > 0) throw forbidden(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
      await this.teardown(n);
      this.o.emit?.('destroy', n, { type: n.Driver });
    });
  }

  private async teardown(n: NetworkRecord): Promise<void> {
    const pool = n.IPAM.Config[0];
    if (pool && !n.isDefault) this.o.dns.close(pool.Gateway);
    await this.o.driver.down(n);
    await this.o.addresses.destroy(n.Id);
    await this.o.store.removeNetwork(n.Id);
  }

  async prune(filters: Map<string, string[]>): Promise<string[]> {
    const deleted: string[] = [];
    for (const n of this.list()) {
      if (PREDEFINED.has(n.Name) || this.o.attached(n).length > 0) continue;
      if (!matchLabels(n.Labels, filters.get('label') ?? [])) continue;
      await this.remove(n.Id).catch(() => undefined);
      if (!this.o.store.networks.has(n.Id)) deleted.push(n.Name);
    }
    return deleted;
  }
}

function newRecord(o: {
  name: string;
  driver: NetworkRecord['Driver'];
  pools: NetworkRecord['IPAM']['Config'];
  options: Record<string, string>;
  labels: Record<string, string>;
}): NetworkRecord {
  return {
    Name: o.name,
    Id: newId(),
    Created: new Date().toISOString(),
    Scope: 'local',
    Driver: o.driver,
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: o.pools },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Options: o.options,
    Labels: o.labels,
  };
}

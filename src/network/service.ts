/**
 * The network service: networks (create/inspect/list/remove/prune), container membership
 * (create's NetworkingConfig, connect, disconnect), and the container side of start/stop:
 * addresses allocated before start, interfaces plumbed into the container's namespace between
 * `runc create` and release, published ports, embedded DNS, and reconcile after a restart.
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { conflict, forbidden, invalid, notFound, system } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { matchLabels } from '../lib/labels.js';
import { span } from '../lib/trace.js';
import type { Container } from '../containers/types.js';
import { deleteLink, ensureBridge, linkExists, macFor, plumb, unplumb, vethName, type VethSpec } from './bridge.js';
import { Proxy6 } from './proxy6.js';
import { addRules, deleteTagged, dnsRules, EMBEDDED_DNS, removeRules, hasIsolation, isolationRules, mentions, networkRules, ownersOn, portRules, savedRules, tagOf, type Rule } from './firewall.js';
import { EmbeddedDns } from './dns.js';
import { cidrText, contains, ipToNum, isIPv4, Ipam, numToIp, overlaps, parseCidr, type Cidr } from './ipam.js';
import { canonical6, cidr6Text, contains6, Ipam6, ip6ToBig, overlaps6, parseCidr6, bigToIp6 } from './ipam6.js';
import { checkLinks, linkEnv, linkHostLines, type LinkLookup } from './links.js';
import { allocatePorts, portKey, portRequests } from './portmap.js';
import { NetworkStore } from './store.js';
import { listPortsView, networkFilter, networkView, PREDEFINED, settingsView, type SettingsSource } from './view.js';
import type { ContainerNetState, Endpoint, EndpointRequest, NetworkRecord, PortMapping } from './types.js';

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

export interface CreateNetworkRequest {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: Array<{ Subnet?: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> | null }> | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  CheckDuplicate?: boolean;
}

export interface EtcInfo {
  /** Lines appended to /etc/hosts (the container's own address). */
  hostsLines: string[];
  /** What `host-gateway` in --add-host stands for. */
  hostGateway?: string;
  /** Nameservers replacing the host's (embedded DNS), with Docker's options for it. */
  nameservers?: string[];
  options?: string[];
}

export const DEFAULT_BIP = '172.18.0.1/16';
const BRIDGE_NAME_OPT = 'com.docker.network.bridge.name';
const MTU_OPT = 'com.docker.network.driver.mtu';

export class NetworkService {
  readonly store: NetworkStore;
  private readonly ipams = new Map<string, Ipam>();
  /** IPv6 pools of `--ipv6` networks (in memory; seeded from the containers' state files). */
  private readonly ipams6 = new Map<string, Ipam6>();
  private readonly dns: EmbeddedDns;
  private readonly proxy6 = new Proxy6();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: NetworkServiceOptions) {
    this.store = new NetworkStore(o.root);
    this.dns = new EmbeddedDns({
      lookup: (q) => this.dnsLookup(q.local, q.name, q.from),
      upstreams: (from) => this.upstreamsFor(from),
      reverse: (q) => this.dnsReverse(q.local, q.ip),
    });
  }

  /** Serialises network-level changes (create/remove/connect/disconnect). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /* ------------------------------------------------------------------ start-up */

  async init(): Promise<void> {
    await this.store.init();
    await this.ensurePredefined();
    for (const n of this.store.networks.values()) {
      if (n.Driver !== 'bridge') continue;
      await this.ipamOf(n);
      await this.bringUp(n).catch((err: unknown) => process.emitWarning(`network ${n.Name}: ${(err as Error).message}`));
    }
    await this.isolate().catch((err: unknown) => process.emitWarning(`network isolation: ${(err as Error).message}`));
  }

  private async ensurePredefined(): Promise<void> {
    const byName = (name: string): NetworkRecord | undefined => [...this.store.networks.values()].find((n) => n.Name === name);
    for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
      if (!byName(name)) await this.store.saveNetwork(record({ name, driver, options: {}, labels: {}, pools: [] }));
    }
    const existing = byName('bridge');
    if (this.o.bridge === 'none') {
      if (existing) {
        await this.store.removeNetwork(existing.Id);
        await this.ipamDestroy(existing.Id);
      }
      return;
    }
    const gw = parseCidr(this.o.bip, 'bip');
    const pool = { Subnet: cidrText(gw), Gateway: numToIp(gw.ip) };
    if (existing && existing.bridge === this.o.bridge && existing.IPAM.Config[0]?.Subnet === pool.Subnet && existing.IPAM.Config[0]?.Gateway === pool.Gateway) return;
    this.checkNoOverlap(gw, existing?.Id);
    const n = record({
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
    await this.store.saveNetwork(n);
  }

  /** Bridge, addresses, network rules, DNS listener. Idempotent. */
  private async bringUp(n: NetworkRecord): Promise<void> {
    if (!n.bridge) return;
    const pool = n.IPAM.Config[0];
    if (!pool) return;
    const v6 = n.IPAM.Config.find((p) => p.Subnet.includes(':'));
    const prefix = pool.Subnet.split('/')[1];
    await ensureBridge({
      name: n.bridge,
      gatewayCidr: `${pool.Gateway}/${prefix}`,
      ...(v6 ? { ipv6GatewayCidr: `${v6.Gateway}/${v6.Subnet.split('/')[1]}` } : {}),
      ...(n.Options[MTU_OPT] ? { mtu: Number(n.Options[MTU_OPT]) } : {}),
    });
    const saved = await savedRules();
    if (!ownersOn(n.bridge, saved).has('net')) {
      await addRules(tagOf(n.bridge, 'net'), networkRules({ bridge: n.bridge, subnet: pool.Subnet, internal: n.Internal }));
    }
    if (!n.isDefault) {
      if (!ownersOn(n.bridge, saved).has('dns')) await addRules(tagOf(n.bridge, 'dns'), dnsRules({ bridge: n.bridge, gateway: pool.Gateway }));
      await this.dns.listen(pool.Gateway);
    }
  }

  /** Pairwise isolation of this daemon's bridge networks (idempotent: adds only missing pairs). */
  private async isolate(): Promise<void> {
    const bridges = this.list().filter((n) => n.bridge && linkExists(n.bridge)).map((n) => n.bridge as string);
    if (bridges.length < 2) return;
    const saved = await savedRules();
    for (const [i, a] of bridges.entries()) {
      for (const b of bridges.slice(i + 1)) {
        if (hasIsolation(saved, a, b) && hasIsolation(saved, b, a)) continue;
        await addRules(tagOf(a, 'iso'), isolationRules(a, b));
      }
    }
  }

  /**
   * After the container service's recovery: containers that are not running lose their
   * endpoints, addresses, veths and port rules; running ones keep them (live restore).
   */
  async reconcile(): Promise<void> {
    const running = new Set(this.o.containers().filter((c) => c.State.Running).map((c) => c.ID));
    const known = new Set(this.o.containers().map((c) => c.ID));
    for (const [id, st] of [...this.store.containers]) {
      if (!known.has(id)) {
        await this.releaseState(id, st);
        await this.store.removeState(id);
      } else if (!running.has(id) && (Object.keys(st.endpoints).length > 0 || st.ports.length > 0)) {
        await this.releaseState(id, st);
        await this.store.saveState(id);
      }
    }
    // Addresses whose holder is not a running container (a crash between allocation and record).
    for (const [netId, ipam] of this.ipams) {
      for (const [, holder] of ipam.holders()) {
        const ep = this.store.containers.get(holder)?.endpoints[netId];
        if (!running.has(holder) || !ep) await this.freeAddresses(netId, holder);
      }
    }
    for (const [netId, ipam] of this.ipams6) {
      for (const [, holder] of ipam.holders()) {
        if (!running.has(holder) || !this.store.containers.get(holder)?.endpoints[netId]) ipam.release(holder);
      }
    }
    // Running containers' [::] listeners lived in the previous daemon: open them again.
    for (const id of running) {
      const st = this.store.containers.get(id);
      if (st) await this.openProxies6(id, st.ports).catch((err: unknown) => process.emitWarning(`[::] ports of ${id.slice(0, 12)}: ${(err as Error).message}`));
    }
    // Rules and veths of containers that are gone.
    const bridges = new Set([...this.store.networks.values()].map((n) => n.bridge).filter((b): b is string => !!b));
    const runningShort = new Set([...running].map((id) => id.slice(0, 12)));
    await deleteTagged((tag) => {
      const [, br = '', owner = ''] = tag.split(':');
      return bridges.has(br) && owner !== 'net' && owner !== 'iso' && owner !== 'dns' && !runningShort.has(owner);
    });
    const wanted = new Set<string>();
    for (const st of this.store.containers.values()) for (const ep of Object.values(st.endpoints)) wanted.add(ep.hostVeth);
    const stray: string[] = [];
    for (const br of bridges) {
      try {
        const { readdirSync } = await import('node:fs');
        for (const port of readdirSync(`/sys/class/net/${br}/brif`)) if (!wanted.has(port)) stray.push(port);
      } catch {
        /* bridge missing */
      }
    }
    await unplumb(stray);
  }

  close(): void {
    this.dns.closeAll();
    this.proxy6.closeAll();
  }

  /* ------------------------------------------------------------------ lookup */

  /** By full ID, exact name, then unique ID prefix (dockerd's order). */
  find(ref: string): NetworkRecord {
    const all = [...this.store.networks.values()];
    const byId = all.find((n) => n.Id === ref);
    if (byId) return byId;
    const byName = all.filter((n) => n.Name === ref);
    if (byName.length === 1) return byName[0] as NetworkRecord;
    const byPrefix = ref === '' ? [] : all.filter((n) => n.Id.startsWith(ref));
    if (byPrefix.length === 1) return byPrefix[0] as NetworkRecord;
    if (byPrefix.length > 1) throw invalid(`network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    throw notFound(`network ${ref} not found`);
  }

  private tryFind(ref: string): NetworkRecord | undefined {
    try {
      return this.find(ref);
    } catch {
      return undefined;
    }
  }

  /** The networks, those `filters` (`GET /networks`'s, validated) select when given. */
  list(filters?: Map<string, string[]>): NetworkRecord[] {
    const all = [...this.store.networks.values()];
    return filters ? all.filter(networkFilter(filters, (n) => this.endpointsOn(n).length > 0)) : all;
  }

  /** Running containers attached to `n`: container ID → endpoint. */
  endpointsOn(n: NetworkRecord): Array<{ c: Container; ep: Endpoint }> {
    const out: Array<{ c: Container; ep: Endpoint }> = [];
    for (const c of this.o.containers()) {
      const ep = this.store.containers.get(c.ID)?.endpoints[n.Id];
      if (ep && c.State.Running) out.push({ c, ep });
    }
    return out;
  }

  /** Docker's NetworkResource for inspect/list. */
  view(n: NetworkRecord, o: { containers: boolean }): Record<string, unknown> {
    return networkView(n, o.containers ? this.endpointsOn(n) : undefined);
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
      const pools: NetworkRecord['IPAM']['Config'] = [];
      const userPools = (req.IPAM?.Config ?? []).filter((p) => p.Subnet || p.Gateway || p.IPRange);
      let v4: (Cidr & { ip: number }) | undefined;
      for (const p of userPools) {
        if (!p.Subnet) throw invalid('ipam: subnet is required with gateway or ip-range');
        if (p.Subnet.includes(':')) {
          if (!req.EnableIPv6) throw forbidden('non-overlapping IPv4 address pool(s) provided while IPv6 is disabled');
          const sub6 = parseCidr6(p.Subnet, 'subnet');
          if (sub6.ip !== sub6.base) throw invalid(`invalid subnet ${p.Subnet}: it should be ${cidr6Text(sub6)}`);
          if (sub6.bits > 126) throw invalid(`invalid subnet ${p.Subnet}: too small for an IPv6 pool`);
          if (p.Gateway && (!p.Gateway.includes(':') || !contains6(sub6, ip6ToBig(p.Gateway)))) throw invalid(`no matching subnet for gateway ${p.Gateway}`);
          if (pools.some((x) => x.Subnet.includes(':'))) throw invalid('multiple IPv6 subnets are not supported');
          this.checkNoOverlap6(sub6);
          pools.push({ Subnet: cidr6Text(sub6), Gateway: p.Gateway ? canonical6(p.Gateway) : bigToIp6(sub6.base + 1n) });
          continue;
        }
        const sub = parseCidr(p.Subnet, 'subnet');
        if (sub.ip !== sub.base) throw invalid(`invalid subnet ${p.Subnet}: it should be ${cidrText(sub)}`);
        const gw = p.Gateway ? ipToNum(p.Gateway) : sub.base + 1;
        if (p.Gateway && (!isIPv4(p.Gateway) || !contains(sub, gw))) throw invalid(`no matching subnet for gateway ${p.Gateway}`);
        if (p.IPRange) {
          const r = parseCidr(p.IPRange, 'ip-range');
          if (!contains(sub, r.base) || r.bits < sub.bits) throw invalid(`no matching subnet for range ${p.IPRange}`);
        }
        if (v4) throw invalid('multiple IPv4 subnets are not supported');
        this.checkNoOverlap(sub);
        v4 = sub;
        const aux = Object.entries(p.AuxiliaryAddresses ?? {});
        for (const [, a] of aux) if (!isIPv4(a) || !contains(sub, ipToNum(a))) throw invalid(`no matching subnet for aux-address ${a}`);
        pools.unshift({ Subnet: cidrText(sub), Gateway: numToIp(gw), ...(p.IPRange ? { IPRange: p.IPRange } : {}), ...(aux.length > 0 ? { AuxiliaryAddresses: Object.fromEntries(aux) } : {}) });
      }
      if (!v4) {
        const auto = this.autoSubnet();
        pools.unshift({ Subnet: cidrText(auto), Gateway: numToIp(auto.base + 1) });
      }
      if (req.EnableIPv6 && !pools.some((p) => p.Subnet.includes(':'))) throw invalid('IPv6 is enabled but no IPv6 subnet was given (--subnet)');
      const n = record({ name, driver: 'bridge', pools, options, labels: req.Labels ?? {} });
      n.Internal = req.Internal ?? false;
      n.Attachable = req.Attachable ?? false;
      n.EnableIPv6 = req.EnableIPv6 ?? false;
      n.IPAM.Options = req.IPAM?.Options ?? null;
      (n as NetworkRecord & { userSubnet?: boolean }).userSubnet = userPools.length > 0;
      const bridge = options[BRIDGE_NAME_OPT] || `br-${n.Id.slice(0, 12)}`;
      if (bridge.length > 15) throw invalid(`bridge name ${bridge} is too long (max 15 characters)`);
      if (this.list().some((x) => x.bridge === bridge)) throw forbidden(`bridge name ${bridge} is already in use`);
      n.bridge = bridge;
      await this.store.saveNetwork(n);
      try {
        await this.ipamOf(n);
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

  private checkNoOverlap(c: Cidr, except?: string): void {
    for (const n of this.list()) {
      if (n.Id === except) continue;
      for (const p of n.IPAM.Config) {
        if (p.Subnet.includes(':')) continue;
        if (overlaps(parseCidr(p.Subnet), c)) throw forbidden('Pool overlaps with other one on this address space');
      }
    }
  }

  private checkNoOverlap6(c: ReturnType<typeof parseCidr6>): void {
    for (const n of this.list()) {
      for (const p of n.IPAM.Config) {
        if (p.Subnet.includes(':') && overlaps6(parseCidr6(p.Subnet), c)) throw forbidden('Pool overlaps with other one on this address space');
      }
    }
  }

  /** A free /16 from 172.19–31, then /20s of 192.168/16, as dockerd's default pools. */
  private autoSubnet(): Cidr {
    const used: Cidr[] = [];
    for (const n of this.list()) for (const p of n.IPAM.Config) if (!p.Subnet.includes(':')) used.push(parseCidr(p.Subnet));
    for (const addrs of Object.values(os.networkInterfaces())) {
      for (const a of addrs ?? []) if (a.family === 'IPv4' && a.cidr) used.push(parseCidr(a.cidr.replace(/^([\d.]+)\/(\d+)$/, (_m, ip: string, b: string) => `${numToIp((ipToNum(ip) & (Number(b) === 0 ? 0 : (0xffffffff << (32 - Number(b))) >>> 0)) >>> 0)}/${b}`)));
    }
    const candidates: Cidr[] = [];
    for (let i = 19; i <= 31; i++) candidates.push({ base: ipToNum(`172.${i}.0.0`), bits: 16 });
    for (let i = 0; i < 256; i += 16) candidates.push({ base: ipToNum(`192.168.${i}.0`), bits: 20 });
    const free = candidates.find((c) => !used.some((u) => overlaps(u, c)));
    if (!free) throw forbidden('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
    return free;
  }

  remove(ref: string): Promise<void> {
    return this.serial(async () => {
      const n = this.find(ref);
      if (PREDEFINED.has(n.Name)) throw forbidden(`${n.Name} is a pre-defined network and cannot be removed`);
      if (this.endpointsOn(n).length > 0) throw forbidden(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
      await this.teardown(n);
      this.o.emit?.('destroy', n, { type: n.Driver });
    });
  }

  private async teardown(n: NetworkRecord): Promise<void> {
    const pool = n.IPAM.Config[0];
    if (pool && !n.isDefault) this.dns.close(pool.Gateway);
    if (n.bridge) {
      const br = n.bridge;
      // Its own rules, and isolation pairs other networks tagged that name it.
      await deleteTagged((tag, line) => tag.startsWith(`berth:${br}:`) || (tag.endsWith(':iso') && mentions(line, br)));
      await deleteLink(br);
    }
    await this.ipamDestroy(n.Id);
    await this.store.removeNetwork(n.Id);
  }

  async prune(filters: Map<string, string[]>): Promise<string[]> {
    const deleted: string[] = [];
    for (const n of this.list()) {
      if (PREDEFINED.has(n.Name) || this.endpointsOn(n).length > 0) continue;
      if (!matchLabels(n.Labels, filters.get('label') ?? [])) continue;
      await this.remove(n.Id).catch(() => undefined);
      if (!this.store.networks.has(n.Id)) deleted.push(n.Name);
    }
    return deleted;
  }

  /* ------------------------------------------------------------------ IPAM */

  private async ipamOf(n: NetworkRecord): Promise<Ipam> {
    let ipam = this.ipams.get(n.Id);
    if (!ipam) {
      const pool = n.IPAM.Config.find((p) => !p.Subnet.includes(':'));
      if (!pool) throw system(`network ${n.Name} has no IPv4 pool`);
      ipam = await Ipam.open(this.store.ipamFile(n.Id), { subnet: pool.Subnet, gateway: pool.Gateway, ...(pool.IPRange ? { ipRange: pool.IPRange } : {}), reserved: Object.values(pool.AuxiliaryAddresses ?? {}) });
      for (const [cid, st] of this.store.containers) {
        const ep = st.endpoints[n.Id];
        if (ep) ipam.seed(cid, ep.IPAddress);
      }
      this.ipams.set(n.Id, ipam);
      const v6 = n.EnableIPv6 ? n.IPAM.Config.find((p) => p.Subnet.includes(':')) : undefined;
      if (v6) {
        const ipam6 = new Ipam6({ subnet: v6.Subnet, gateway: v6.Gateway });
        for (const [cid, st] of this.store.containers) {
          const ep = st.endpoints[n.Id];
          if (ep?.GlobalIPv6Address) ipam6.seed(cid, ep.GlobalIPv6Address);
        }
        this.ipams6.set(n.Id, ipam6);
      }
    }
    return ipam;
  }

  /** Frees what `holder` holds in a network's pools (IPv4 and IPv6). */
  private async freeAddresses(netId: string, holder: string): Promise<void> {
    await this.ipams.get(netId)?.release(holder);
    this.ipams6.get(netId)?.release(holder);
  }

  private async ipamDestroy(id: string): Promise<void> {
    const ipam = this.ipams.get(id);
    this.ipams.delete(id);
    this.ipams6.delete(id);
    if (ipam) await ipam.destroy();
    else await (await Ipam.open(this.store.ipamFile(id), { subnet: '0.0.0.0/0', gateway: '0.0.0.0' })).destroy();
  }

  /* ------------------------------------------------------------------ container membership */

  /** The networks a container joins from its NetworkMode and create-time EndpointsConfig. */
  private membership(mode: string, endpoints: Record<string, EndpointRequest | null> | undefined): Array<[NetworkRecord, EndpointRequest]> {
    const m = mode || 'default';
    if (m === 'none' || m === 'host' || m.startsWith('container:')) return [];
    const out: Array<[NetworkRecord, EndpointRequest]> = [];
    // A missing network is dockerd's start-time error (the docker CLI would take a 404 from
    // create for a missing image and try to pull it): see prepare().
    const primary = m === 'default' ? this.tryFind('bridge') : this.tryFind(m);
    if (!primary) return [];
    const cfg = endpoints ?? {};
    const primaryReq = cfg[m] ?? cfg[primary.Name] ?? cfg[primary.Id] ?? {};
    out.push([primary, primaryReq]);
    for (const [ref, req] of Object.entries(cfg)) {
      if (ref === m || ref === primary.Name || ref === primary.Id) continue;
      out.push([this.find(ref), req ?? {}]);
    }
    for (const [n, req] of out) this.validateEndpoint(n, req);
    return out;
  }

  private validateEndpoint(n: NetworkRecord, req: EndpointRequest): void {
    if (n.Driver !== 'bridge') throw invalid(`container cannot be disconnected from host network or connected to host network`);
    if (n.isDefault && (req.Aliases ?? []).length > 0) throw invalid('network-scoped alias is supported only for containers in user defined networks');
    const ip = req.IPAMConfig?.IPv4Address;
    if (ip) {
      if (n.isDefault) throw invalid('user specified IP address is supported on user defined networks only');
      if (!(n as NetworkRecord & { userSubnet?: boolean }).userSubnet) throw invalid('user specified IP address is supported only when connecting to networks with user configured subnets');
      if (!isIPv4(ip)) throw invalid(`invalid IPv4 address: ${ip}`);
      const sub = parseCidr(n.IPAM.Config[0]?.Subnet ?? '0.0.0.0/32');
      if (!contains(sub, ipToNum(ip))) throw invalid(`no configured subnet or ip-range contain the IP address ${ip}`);
    }
    const ip6 = req.IPAMConfig?.IPv6Address;
    if (ip6) {
      if (n.isDefault) throw invalid('user specified IP address is supported on user defined networks only');
      const v6 = n.EnableIPv6 ? n.IPAM.Config.find((p) => p.Subnet.includes(':')) : undefined;
      if (!v6 || !contains6(parseCidr6(v6.Subnet), ip6ToBig(ip6))) throw invalid(`no configured subnet or ip-range contain the IP address ${ip6}`);
    }
  }

  /** create: validates NetworkMode/EndpointsConfig (throws Docker's errors; nothing is created). */
  validateCreate(mode: string, endpoints: Record<string, EndpointRequest | null> | undefined, ports?: { bindings: Record<string, unknown> | null | undefined; exposed: Record<string, unknown> | undefined }): void {
    this.membership(mode, endpoints);
    if (ports) portRequests({ ...ports, publishAll: false }); // throws Docker's errors for bad specs
  }

  /** create: records what the container joins. */
  async created(c: Container, endpoints: Record<string, EndpointRequest | null> | undefined): Promise<void> {
    // The default bridge without options needs no record: membershipOf() derives it.
    const list = this.membership(c.HostConfig.NetworkMode, endpoints);
    if (list.length === 0 || (list.length === 1 && list[0]?.[0].isDefault && Object.keys(cleanRequest(list[0][1])).length === 0)) return;
    const st = this.store.state(c.ID);
    st.networks = {};
    for (const [n, req] of list) st.networks[n.Id] = cleanRequest(req);
    await this.store.saveState(c.ID);
  }

  /** The container's state, created from its NetworkMode when it has no record yet. */
  private stateOf(c: Container): ContainerNetState {
    if (!this.store.has(c.ID)) this.store.state(c.ID).networks = this.derivedMembership(c.HostConfig.NetworkMode);
    return this.store.state(c.ID);
  }

  /** What a container joins: its record, or for one without a record, what its NetworkMode says. */
  private membershipOf(c: Container): Record<string, EndpointRequest> {
    return this.store.containers.get(c.ID)?.networks ?? this.derivedMembership(c.HostConfig.NetworkMode);
  }

  private derivedMembership(networkMode: string): Record<string, EndpointRequest> {
    const out: Record<string, EndpointRequest> = {};
    const mode = networkMode || 'default';
    if (mode === 'none' || mode === 'host' || mode.startsWith('container:')) return out;
    const n = this.tryFind(mode === 'default' ? 'bridge' : mode);
    if (n) out[n.Id] = {};
    return out;
  }

  async removed(c: Container): Promise<void> {
    const st = this.store.containers.get(c.ID);
    if (!st) return;
    await this.releaseState(c.ID, st);
    await this.store.removeState(c.ID);
  }

  /* ------------------------------------------------------------------ start / stop */

  /** Before start: addresses and host ports, recorded before anything uses them. */
  async prepare(c: Container): Promise<void> {
    if ((c.HostConfig.Links ?? []).length > 0) checkLinks(c, { byName: this.linkLookup(this.tryFind('bridge')).byName, atStart: true });
    const fresh = !this.store.has(c.ID);
    const st = this.stateOf(c);
    if (Object.keys(st.endpoints).length > 0 || st.ports.length > 0) await this.releaseState(c.ID, st);
    const mode = c.HostConfig.NetworkMode || 'default';
    if (fresh) {
      const derived = st.networks;
      if (Object.keys(derived).length === 0 && mode !== 'default' && !['none', 'host'].includes(mode) && !mode.startsWith('container:')) {
        this.store.containers.delete(c.ID);
        throw notFound(`network ${mode} not found`); // created before its network existed: dockerd's start-time error
      }
    }
    const ids = Object.keys(st.networks);
    if (ids.length === 0 && fresh) this.store.containers.delete(c.ID);
    if (ids.length === 0) return;
    const t = span('net-prepare');
    try {
      let i = 0;
      for (const id of ids) {
        const n = this.store.networks.get(id);
        if (!n) throw notFound(`network ${id} not found`);
        st.endpoints[id] = await this.newEndpoint(c, n, st.networks[id] ?? {}, `eth${i++}`);
      }
      const first = this.store.networks.get(ids[0] as string) as NetworkRecord;
      const ep = st.endpoints[first.Id] as Endpoint;
      const reqs = portRequests({ bindings: c.HostConfig.PortBindings, exposed: c.Config.ExposedPorts, publishAll: c.HostConfig.PublishAllPorts });
      if (reqs.length > 0) {
        st.ports = await allocatePorts({
          reqs,
          inUse: this.portsInUse(c.ID),
          containerIp: ep.IPAddress,
          bridge: first.bridge ?? '',
          endpointName: c.Name.slice(1),
          endpointId: ep.EndpointID,
        });
      }
      await this.store.saveState(c.ID);
      t.end();
    } catch (err) {
      await this.releaseState(c.ID, st);
      await this.store.saveState(c.ID).catch(() => undefined);
      throw err;
    }
  }

  private async newEndpoint(c: Container, n: NetworkRecord, req: EndpointRequest, ifName: string): Promise<Endpoint> {
    const ipam = await this.ipamOf(n);
    const pool = n.IPAM.Config[0] as NetworkRecord['IPAM']['Config'][number];
    const ip = await ipam.allocate(c.ID, req.IPAMConfig?.IPv4Address || undefined, this.store.containers.get(c.ID)?.previous?.[n.Id]);
    const v6 = n.EnableIPv6 ? n.IPAM.Config.find((p) => p.Subnet.includes(':')) : undefined;
    const ep: Endpoint = {
      NetworkID: n.Id,
      EndpointID: newId(),
      IPAddress: ip,
      IPPrefixLen: Number(pool.Subnet.split('/')[1]),
      Gateway: pool.Gateway,
      MacAddress: req.MacAddress || macFor(ip),
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPv6Gateway: '',
      ifName,
      hostVeth: vethName(),
    };
    const ipam6 = this.ipams6.get(n.Id);
    if (v6 && ipam6) {
      try {
        ep.GlobalIPv6Address = ipam6.allocate(c.ID, req.IPAMConfig?.IPv6Address || undefined);
      } catch (err) {
        await ipam.release(c.ID);
        throw err;
      }
      ep.GlobalIPv6PrefixLen = Number(v6.Subnet.split('/')[1]);
      ep.IPv6Gateway = v6.Gateway;
    }
    return ep;
  }

  private portsInUse(except: string): Set<string> {
    const set = new Set<string>();
    for (const [id, st] of this.store.containers) if (id !== except) for (const p of st.ports) set.add(portKey(p));
    return set;
  }

  /** Between `runc create` and release: interfaces into the namespace of `pid`, then port rules. */
  async attach(c: Container, pid: number): Promise<void> {
    const st = this.store.state(c.ID);
    const eps = Object.values(st.endpoints);
    if (eps.length === 0) return;
    const t = span('net-attach');
    const specs: VethSpec[] = [];
    let haveGateway = false;
    const dnsNet = this.dnsNetwork(c);
    for (const ep of eps) {
      const n = this.store.networks.get(ep.NetworkID);
      if (!n?.bridge) continue;
      const gw = !haveGateway && !n.Internal;
      if (gw) haveGateway = true;
      const spec = this.vethSpec(n, ep, gw);
      if (n === dnsNet) spec.dns = ep.Gateway;
      specs.push(spec);
    }
    await plumb(pid, specs);
    t.mark('plumb');
    await this.addPortRules(c.ID, st.ports);
    t.mark('ports');
    t.end();
  }

  private vethSpec(n: NetworkRecord, ep: Endpoint, gateway: boolean): VethSpec {
    return {
      bridge: n.bridge as string,
      hostVeth: ep.hostVeth,
      ifName: ep.ifName,
      mac: ep.MacAddress,
      addressCidr: `${ep.IPAddress}/${ep.IPPrefixLen}`,
      ...(ep.GlobalIPv6Address ? { ipv6Cidr: `${ep.GlobalIPv6Address}/${ep.GlobalIPv6PrefixLen}` } : {}),
      ...(gateway ? { gateway: ep.Gateway } : {}),
      ...(gateway && ep.IPv6Gateway ? { ipv6Gateway: ep.IPv6Gateway } : {}),
      ...(n.Options[MTU_OPT] ? { mtu: Number(n.Options[MTU_OPT]) } : {}),
    };
  }

  private async addPortRules(id: string, ports: PortMapping[]): Promise<void> {
    if (ports.length === 0) return;
    await this.openProxies6(id, ports);
    const byBridge = new Map<string, PortMapping[]>();
    for (const p of ports) byBridge.set(p.Bridge, [...(byBridge.get(p.Bridge) ?? []), p]);
    for (const [bridge, list] of byBridge) await addRules(tagOf(bridge, id.slice(0, 12)), this.portRulesOf(bridge, list));
  }

  private portRulesOf(bridge: string, list: PortMapping[]): Rule[] {
    const n = this.list().find((x) => x.bridge === bridge);
    const subnet = n?.IPAM.Config[0]?.Subnet ?? `${list[0]?.ContainerIp}/32`;
    return list.filter((p) => !p.HostIp.includes(':')).flatMap((p) => portRules({ hostIp: p.HostIp, hostPort: p.HostPort, proto: p.Proto, containerIp: p.ContainerIp, containerPort: p.ContainerPort, bridge, subnet }));
  }

  /** After the container stopped (or its start failed): release everything it held. */
  async release(c: Container): Promise<void> {
    const st = this.store.containers.get(c.ID);
    if (!st || (Object.keys(st.endpoints).length === 0 && st.ports.length === 0)) return;
    // The veths go with the container's namespace (the kernel removes them), and the file is not
    // rewritten: after a crash, reconcile releases what non-running containers recorded.
    await this.releaseState(c.ID, st, { veths: false });
  }

  /** The [::] side of a container's published ports (proxy6.ts). */
  private async openProxies6(id: string, ports: PortMapping[]): Promise<void> {
    const v6 = ports.filter((p) => p.HostIp.includes(':'));
    if (v6.length === 0) return;
    await this.proxy6.open(id, v6.map((p) => ({ hostIp: p.HostIp, hostPort: p.HostPort, proto: p.Proto, containerIp: p.ContainerIp, containerPort: p.ContainerPort })));
  }

  private async releaseState(id: string, st: ContainerNetState, o: { veths: boolean } = { veths: true }): Promise<void> {
    this.proxy6.close(id);
    if (st.ports.length > 0) {
      const byBridge = new Map<string, PortMapping[]>();
      for (const p of st.ports) byBridge.set(p.Bridge, [...(byBridge.get(p.Bridge) ?? []), p]);
      for (const [bridge, list] of byBridge) {
        await removeRules(tagOf(bridge, id.slice(0, 12)), this.portRulesOf(bridge, list)).catch(() => undefined);
      }
    }
    if (o.veths) await unplumb(Object.values(st.endpoints).map((e) => e.hostVeth));
    for (const [netId, ep] of Object.entries(st.endpoints)) {
      // Asked for again at the next start (docker-compose restart keeps nginx's upstreams valid).
      st.previous = { ...(st.previous ?? {}), [netId]: ep.IPAddress };
      await this.freeAddresses(netId, id);
    }
    st.endpoints = {};
    st.ports = [];
  }

  /* ------------------------------------------------------------------ connect / disconnect */

  connect(ref: string, c: Container, req: EndpointRequest): Promise<void> {
    return this.serial(async () => {
      const n = this.find(ref);
      const mode = c.HostConfig.NetworkMode || 'default';
      if (n.Driver === 'host' || mode === 'host') throw forbidden('container cannot be disconnected from host network or connected to host network');
      if (n.Driver === 'null' || mode === 'none') throw forbidden('container cannot be disconnected from none network or connected to none network');
      if (mode.startsWith('container:')) throw forbidden(`conflicting options: container type network can't be used with links. This would result in undefined behavior`);
      this.validateEndpoint(n, req);
      const st = this.stateOf(c);
      if (st.networks[n.Id]) throw forbidden(`endpoint with name ${c.Name.slice(1)} already exists in network ${n.Name}`);
      st.networks[n.Id] = cleanRequest(req);
      if (c.State.Running && c.State.Pid) {
        const used = new Set(Object.values(st.endpoints).map((e) => e.ifName));
        let i = 0;
        while (used.has(`eth${i}`)) i++;
        const ep = await this.newEndpoint(c, n, req, `eth${i}`);
        st.endpoints[n.Id] = ep;
        await this.store.saveState(c.ID);
        try {
          const hasGw = Object.values(st.endpoints).some((e) => e !== ep && !this.store.networks.get(e.NetworkID)?.Internal);
          const spec = this.vethSpec(n, ep, !hasGw && !n.Internal);
          if (this.dnsNetwork(c) === n) spec.dns = ep.Gateway;
          await plumb(c.State.Pid, [spec], { again: true });
        } catch (err) {
          delete st.endpoints[n.Id];
          delete st.networks[n.Id];
          await this.freeAddresses(n.Id, c.ID);
          await this.store.saveState(c.ID);
          throw err;
        }
      } else {
        await this.store.saveState(c.ID);
      }
      this.o.emit?.('connect', n, { container: c.ID, type: n.Driver });
    });
  }

  disconnect(ref: string, c: Container, o: { force: boolean }): Promise<void> {
    return this.serial(async () => {
      const n = this.find(ref);
      if (n.Driver === 'host') throw forbidden('container cannot be disconnected from host network or connected to host network');
      const st = this.stateOf(c);
      // dockerd 20.10: 500 even with force; "the network" for a container that is not running.
      if (!st.networks[n.Id]) throw system(`container ${c.ID} is not connected to ${c.State.Running ? '' : 'the '}network ${n.Name}`);
      void o.force;
      const ep = st.endpoints[n.Id];
      delete st.networks[n.Id];
      if (st.previous) delete st.previous[n.Id];
      if (ep) {
        if (st.ports.some((p) => p.ContainerIp === ep.IPAddress)) {
          await deleteTagged((tag) => tag === tagOf(n.bridge ?? '', c.ID.slice(0, 12))).catch(() => undefined);
          st.ports = st.ports.filter((p) => p.ContainerIp !== ep.IPAddress);
        }
        await unplumb([ep.hostVeth]);
        delete st.endpoints[n.Id];
        await this.freeAddresses(n.Id, c.ID);
      }
      await this.store.saveState(c.ID);
      this.o.emit?.('disconnect', n, { container: c.ID, type: n.Driver });
    });
  }

  /* ------------------------------------------------------------------ /etc files, DNS */

  etcInfo(c: Container): EtcInfo {
    const st = this.store.containers.get(c.ID);
    const eps = Object.values(st?.endpoints ?? {});
    const info: EtcInfo = { hostsLines: [] };
    const def = this.tryFind('bridge');
    const defGw = def?.IPAM.Config[0]?.Gateway;
    const first = eps[0];
    if (first) info.hostsLines.push(`${first.IPAddress}\t${c.Config.Hostname}`);
    if (def) info.hostsLines.push(...linkHostLines(c, this.linkLookup(def)));
    const hg = defGw ?? first?.Gateway;
    if (hg) info.hostGateway = hg;
    if (this.dnsNetwork(c)) {
      info.nameservers = [EMBEDDED_DNS];
      info.options = ['ndots:0'];
    }
    return info;
  }

  /** The user network whose embedded DNS answers at 127.0.0.11 in the container (its first). */
  private dnsNetwork(c: Container): NetworkRecord | undefined {
    return Object.keys(this.membershipOf(c)).map((id) => this.store.networks.get(id)).find((n) => n && !n.isDefault && n.Driver === 'bridge');
  }

  private dnsLookup(local: string, rawName: string, from?: string): { ips: string[]; ip6s: string[] } | undefined {
    const n = this.list().find((x) => !x.isDefault && x.IPAM.Config[0]?.Gateway === local);
    if (!n) return undefined;
    let name = rawName.toLowerCase();
    if (name.endsWith(`.${n.Name.toLowerCase()}`)) name = name.slice(0, -(n.Name.length + 1));
    if (from) {
      // The asker's own links on this network (`name:alias`): the alias names the target.
      const asker = this.endpointsOn(n).find(({ ep }) => ep.IPAddress === from);
      const link = asker && (this.store.containers.get(asker.c.ID)?.networks[n.Id]?.Links ?? []).find((l) => l.slice(l.indexOf(':') + 1).toLowerCase() === name);
      if (link) return this.dnsLookup(local, link.slice(0, link.indexOf(':')));
    }
    const ips: string[] = [];
    const ip6s: string[] = [];
    for (const { c, ep } of this.endpointsOn(n)) {
      const aliases = (this.store.containers.get(c.ID)?.networks[n.Id]?.Aliases ?? []).map((a) => a.toLowerCase());
      if (c.Name.slice(1).toLowerCase() === name || c.ID.slice(0, 12) === name || c.ID === name || aliases.includes(name)) {
        ips.push(ep.IPAddress);
        if (ep.GlobalIPv6Address) ip6s.push(ep.GlobalIPv6Address);
      }
    }
    return ips.length > 0 ? { ips, ip6s } : undefined;
  }

  private linkLookup(def: NetworkRecord | undefined): LinkLookup {
    return {
      byName: (name) => this.o.containers().find((x) => x.Name === `/${name}` || x.ID === name || (name.length >= 12 && x.ID.startsWith(name))),
      defaultIp: (child) => (def ? this.store.containers.get(child.ID)?.endpoints[def.Id]?.IPAddress : undefined),
    };
  }

  /** create: every `--link` target exists (dockerd's 400 otherwise). */
  validateLinks(c: Container): void {
    checkLinks(c, { byName: this.linkLookup(this.tryFind('bridge')).byName, atStart: false });
  }

  /** Legacy links' environment (`--link` on the default bridge), before the container's own Env. */
  linkEnv(c: Container): string[] {
    const def = this.tryFind('bridge');
    return def && (c.HostConfig.Links ?? []).length > 0 ? linkEnv(c, this.linkLookup(def)) : [];
  }

  /** PTR: `<container name>.<network>` for a running container's address on the asking network (libnetwork's answer). */
  private dnsReverse(local: string, ip: string): string | undefined {
    const n = this.list().find((x) => !x.isDefault && x.IPAM.Config[0]?.Gateway === local);
    if (!n) return undefined;
    const v6 = ip.includes(':') ? canonical6(ip) : undefined;
    for (const { c, ep } of this.endpointsOn(n)) {
      const mine = v6 ? ep.GlobalIPv6Address !== '' && canonical6(ep.GlobalIPv6Address) === v6 : ep.IPAddress === ip;
      if (mine) return `${c.Name.slice(1)}.${n.Name}`;
    }
    return undefined;
  }

  private upstreamsFor(from: string): string[] {
    for (const c of this.o.containers()) {
      const st = this.store.containers.get(c.ID);
      if (!st || !Object.values(st.endpoints).some((e) => e.IPAddress === from)) continue;
      if (c.HostConfig.Dns.length > 0) return c.HostConfig.Dns;
      break;
    }
    return hostResolvers();
  }

  /* ------------------------------------------------------------------ container views */

  /** Docker's NetworkSettings of a container. */
  settings(c: Container): Record<string, unknown> {
    const mode = c.HostConfig.NetworkMode || 'default';
    const st = this.store.containers.get(c.ID);
    const members: SettingsSource['members'] = [];
    for (const [id, req] of Object.entries(this.membershipOf(c))) {
      const n = this.store.networks.get(id);
      if (n) members.push({ n, req, ep: c.State.Running ? st?.endpoints[id] : undefined });
    }
    const modeNetworkId = mode === 'host' || mode === 'none' ? (this.tryFind(mode)?.Id ?? '') : '';
    return settingsView(c, { modeNetworkId, members, ports: st?.ports ?? [] });
  }

  /** The `Ports` of a `ps` entry. */
  listPorts(c: Container): Array<Record<string, unknown>> {
    return listPortsView(c, this.store.containers.get(c.ID)?.ports ?? []);
  }

  /** Names and IDs of the networks a container belongs to (ps --filter network=). */
  networkRefsOf(c: Container): string[] {
    const mode = c.HostConfig.NetworkMode;
    const out: string[] = mode === 'host' || mode === 'none' ? [mode] : [];
    for (const id of Object.keys(this.membershipOf(c))) {
      const n = this.store.networks.get(id);
      if (n) out.push(n.Name, n.Id);
    }
    return out;
  }
}

function cleanRequest(req: EndpointRequest): EndpointRequest {
  const out: EndpointRequest = {};
  if (req.Aliases && req.Aliases.length > 0) out.Aliases = [...req.Aliases];
  const ll = (req.IPAMConfig?.LinkLocalIPs ?? []).filter((x) => typeof x === 'string' && x !== '');
  if (req.IPAMConfig && (req.IPAMConfig.IPv4Address || req.IPAMConfig.IPv6Address || ll.length > 0)) {
    out.IPAMConfig = {
      ...(req.IPAMConfig.IPv4Address ? { IPv4Address: req.IPAMConfig.IPv4Address } : {}),
      ...(req.IPAMConfig.IPv6Address ? { IPv6Address: req.IPAMConfig.IPv6Address } : {}),
      ...(ll.length > 0 ? { LinkLocalIPs: ll } : {}),
    };
  }
  if (req.Links && req.Links.length > 0) out.Links = req.Links.map((l) => (l.includes(':') ? l : `${l}:${l}`));
  if (req.MacAddress) out.MacAddress = req.MacAddress;
  if (req.DriverOpts) out.DriverOpts = req.DriverOpts;
  return out;
}

function record(o: { name: string; driver: NetworkRecord['Driver']; pools: NetworkRecord['IPAM']['Config']; options: Record<string, string>; labels: Record<string, string> }): NetworkRecord {
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

/** The host's nameservers (loopback ones too: the embedded DNS forwards from the host). */
export function hostResolvers(): string[] {
  try {
    const list = readFileSync('/etc/resolv.conf', 'utf8')
      .split('\n')
      .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
      .filter((x): x is string => !!x);
    if (list.length > 0) return list;
  } catch {
    /* none */
  }
  return ['8.8.8.8', '8.8.4.4'];
}

export const networkRoot = (dataRoot: string): string => path.join(dataRoot, 'network');

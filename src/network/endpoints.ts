/**
 * Container membership and endpoints: what a container joins (create's EndpointsConfig, its
 * NetworkMode, connect, disconnect), addresses and host ports before a start (`prepare`), the
 * driver's plumbing between `runc create` and release (`attach`), everything given back after
 * exit (`release`) or removal, reconcile after a daemon restart, and the container-side views
 * (NetworkSettings, `ps` Ports, the `network` filter's names).
 */
import { forbidden, invalid, notFound, system } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { span } from '../lib/trace.js';
import type { Container } from '../containers/types.js';
import type { AddressAllocator } from './addresses.js';
import type { JoinRequest, NetworkDriver } from './driver.js';
import { contains, ipToNum, isIPv4, parseCidr } from './ipam.js';
import { contains6, ip6ToBig, parseCidr6 } from './ipam6.js';
import type { Networks } from './networks.js';
import { allocatePorts, portKey, portRequests } from './portmap.js';
import type { NetworkStore } from './store.js';
import { listPortsView, settingsView, type SettingsSource } from './view.js';
import type { ContainerNetState, Endpoint, EndpointRequest, NetworkRecord } from './types.js';
import type { NetworkSettings, Port } from '../engine-api/types.js';

export interface EndpointsOptions {
  store: NetworkStore;
  networks: Pick<Networks, 'find' | 'tryFind' | 'serial'>;
  addresses: AddressAllocator;
  driver: NetworkDriver;
  /** The daemon's containers (late-bound: the container service is built after this one). */
  containers: () => Container[];
  emit?: ((action: string, network: NetworkRecord, attrs: Record<string, string>) => void) | undefined;
}

export class Endpoints {
  private readonly store: NetworkStore;

  constructor(private readonly o: EndpointsOptions) {
    this.store = o.store;
  }

  /** Running containers attached to `n`: container → endpoint. */
  attached(n: NetworkRecord): Array<{ c: Container; ep: Endpoint }> {
    const out: Array<{ c: Container; ep: Endpoint }> = [];
    for (const c of this.o.containers()) {
      const ep = this.store.containers.get(c.ID)?.endpoints[n.Id];
      if (ep && c.State.Running) out.push({ c, ep });
    }
    return out;
  }

  /** The user network whose embedded DNS answers at 127.0.0.11 in the container (its first). */
  dnsNetwork(c: Container): NetworkRecord | undefined {
    return Object.keys(this.membershipOf(c))
      .map((id) => this.store.networks.get(id))
      .find((n) => n && !n.isDefault && n.Driver === 'bridge');
  }

  /* ------------------------------------------------------------------ membership */

  /** The networks a container joins from its NetworkMode and create-time EndpointsConfig. */
  private membership(mode: string, endpoints: Record<string, EndpointRequest | null> | undefined): Array<[NetworkRecord, EndpointRequest]> {
    const m = mode || 'default';
    if (m === 'none' || m === 'host' || m.startsWith('container:')) return [];
    const out: Array<[NetworkRecord, EndpointRequest]> = [];
    // A missing network is dockerd's start-time error (the docker CLI would take a 404 from
    // create for a missing image and try to pull it): see prepare().
    const primary = m === 'default' ? this.o.networks.tryFind('bridge') : this.o.networks.tryFind(m);
    if (!primary) return [];
    const cfg = endpoints ?? {};
    const primaryReq = cfg[m] ?? cfg[primary.Name] ?? cfg[primary.Id] ?? {};
    out.push([primary, primaryReq]);
    for (const [ref, req] of Object.entries(cfg)) {
      if (ref === m || ref === primary.Name || ref === primary.Id) continue;
      out.push([this.o.networks.find(ref), req ?? {}]);
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
      if (!(n as NetworkRecord & { userSubnet?: boolean }).userSubnet)
        throw invalid('user specified IP address is supported only when connecting to networks with user configured subnets');
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
  validateCreate(
    mode: string,
    endpoints: Record<string, EndpointRequest | null> | undefined,
    ports?: { bindings: Record<string, unknown> | null | undefined; exposed: Record<string, unknown> | undefined },
  ): void {
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
  membershipOf(c: Container): Record<string, EndpointRequest> {
    return this.store.containers.get(c.ID)?.networks ?? this.derivedMembership(c.HostConfig.NetworkMode);
  }

  private derivedMembership(networkMode: string): Record<string, EndpointRequest> {
    const out: Record<string, EndpointRequest> = {};
    const mode = networkMode || 'default';
    if (mode === 'none' || mode === 'host' || mode.startsWith('container:')) return out;
    const n = this.o.networks.tryFind(mode === 'default' ? 'bridge' : mode);
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
    const pool = n.IPAM.Config[0] as NetworkRecord['IPAM']['Config'][number];
    const got = await this.o.addresses.allocate(n, c.ID, {
      ip4: req.IPAMConfig?.IPv4Address || undefined,
      ip6: req.IPAMConfig?.IPv6Address || undefined,
      previous: this.store.containers.get(c.ID)?.previous?.[n.Id],
    });
    const v6 = n.EnableIPv6 ? n.IPAM.Config.find((p) => p.Subnet.includes(':')) : undefined;
    const ep: Endpoint = {
      NetworkID: n.Id,
      EndpointID: newId(),
      IPAddress: got.ip4,
      IPPrefixLen: Number(pool.Subnet.split('/')[1]),
      Gateway: pool.Gateway,
      MacAddress: req.MacAddress || this.o.driver.macFor(got.ip4),
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPv6Gateway: '',
      ifName,
      hostVeth: this.o.driver.hostInterface(),
    };
    if (v6 && got.ip6 !== undefined) {
      ep.GlobalIPv6Address = got.ip6;
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
    const joins: JoinRequest[] = [];
    let haveGateway = false;
    const dnsNet = this.dnsNetwork(c);
    for (const ep of eps) {
      const n = this.store.networks.get(ep.NetworkID);
      if (!n?.bridge) continue;
      const gw = !haveGateway && !n.Internal;
      if (gw) haveGateway = true;
      joins.push({ n, ep, gateway: gw, ...(n === dnsNet ? { dns: ep.Gateway } : {}) });
    }
    await this.o.driver.join(pid, joins);
    t.mark('plumb');
    await this.o.driver.publish(c.ID, st.ports);
    t.mark('ports');
    t.end();
  }

  /** After the container stopped (or its start failed): release everything it held. */
  async release(c: Container): Promise<void> {
    const st = this.store.containers.get(c.ID);
    if (!st || (Object.keys(st.endpoints).length === 0 && st.ports.length === 0)) return;
    // The veths go with the container's namespace (the kernel removes them), and the file is not
    // rewritten: after a crash, reconcile releases what non-running containers recorded.
    await this.releaseState(c.ID, st, { veths: false });
  }

  private async releaseState(id: string, st: ContainerNetState, o: { veths: boolean } = { veths: true }): Promise<void> {
    await this.o.driver.unpublish(id, st.ports);
    if (o.veths) await this.o.driver.leave(Object.values(st.endpoints).map((e) => e.hostVeth));
    for (const [netId, ep] of Object.entries(st.endpoints)) {
      // Asked for again at the next start (docker-compose restart keeps nginx's upstreams valid).
      st.previous = { ...(st.previous ?? {}), [netId]: ep.IPAddress };
      await this.o.addresses.release(netId, id);
    }
    st.endpoints = {};
    st.ports = [];
  }

  /**
   * After the container service's recovery: containers that are not running lose their
   * endpoints, addresses, veths and port rules; running ones keep them (live restore).
   */
  async reconcile(): Promise<void> {
    const running = new Set(
      this.o
        .containers()
        .filter((c) => c.State.Running)
        .map((c) => c.ID),
    );
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
    await this.o.addresses.releaseUnless((netId, holder) => running.has(holder) && !!this.store.containers.get(holder)?.endpoints[netId]);
    // Running containers' [::] listeners lived in the previous daemon: open them again.
    for (const id of running) {
      const st = this.store.containers.get(id);
      if (st)
        await this.o.driver.republish(id, st.ports).catch((err: unknown) => process.emitWarning(`[::] ports of ${id.slice(0, 12)}: ${(err as Error).message}`));
    }
    // Rules and veths of containers that are gone.
    const wanted = new Set<string>();
    for (const st of this.store.containers.values()) for (const ep of Object.values(st.endpoints)) wanted.add(ep.hostVeth);
    await this.o.driver.sweep([...this.store.networks.values()], { running: new Set([...running].map((id) => id.slice(0, 12))), wanted });
  }

  /* ------------------------------------------------------------------ connect / disconnect */

  connect(ref: string, c: Container, req: EndpointRequest): Promise<void> {
    return this.o.networks.serial(async () => {
      const n = this.o.networks.find(ref);
      const mode = c.HostConfig.NetworkMode || 'default';
      if (n.Driver === 'host' || mode === 'host') throw forbidden('container cannot be disconnected from host network or connected to host network');
      if (n.Driver === 'null' || mode === 'none') throw forbidden('container cannot be disconnected from none network or connected to none network');
      if (mode.startsWith('container:'))
        throw forbidden(`conflicting options: container type network can't be used with links. This would result in undefined behavior`);
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
          await this.o.driver.join(c.State.Pid, [{ n, ep, gateway: !hasGw && !n.Internal, ...(this.dnsNetwork(c) === n ? { dns: ep.Gateway } : {}) }], {
            again: true,
          });
        } catch (err) {
          delete st.endpoints[n.Id];
          delete st.networks[n.Id];
          await this.o.addresses.release(n.Id, c.ID);
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
    return this.o.networks.serial(async () => {
      const n = this.o.networks.find(ref);
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
          await this.o.driver.unpublishOn(n, c.ID);
          st.ports = st.ports.filter((p) => p.ContainerIp !== ep.IPAddress);
        }
        await this.o.driver.leave([ep.hostVeth]);
        delete st.endpoints[n.Id];
        await this.o.addresses.release(n.Id, c.ID);
      }
      await this.store.saveState(c.ID);
      this.o.emit?.('disconnect', n, { container: c.ID, type: n.Driver });
    });
  }

  /* ------------------------------------------------------------------ container views */

  /** Docker's NetworkSettings of a container. */
  settings(c: Container): NetworkSettings {
    const mode = c.HostConfig.NetworkMode || 'default';
    const st = this.store.containers.get(c.ID);
    const members: SettingsSource['members'] = [];
    for (const [id, req] of Object.entries(this.membershipOf(c))) {
      const n = this.store.networks.get(id);
      if (n) members.push({ n, req, ep: c.State.Running ? st?.endpoints[id] : undefined });
    }
    const modeNetworkId = mode === 'host' || mode === 'none' ? (this.o.networks.tryFind(mode)?.Id ?? '') : '';
    return settingsView(c, { modeNetworkId, members, ports: st?.ports ?? [] });
  }

  /** The `Ports` of a `ps` entry. */
  listPorts(c: Container): Port[] {
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

/**
 * Address allocation for endpoints: one interface over each network's IPv4 pool (ipam.ts, its
 * position kept under <data-root>/network/ipam/) and, for `--ipv6` networks, its IPv6 pool
 * (ipam6.ts, in memory). Pools are seeded from the containers' recorded endpoints when opened.
 */
import { system } from '../lib/errors.js';
import { Ipam } from './ipam.js';
import { Ipam6 } from './ipam6.js';
import type { NetworkStore } from './store.js';
import type { NetworkRecord } from './types.js';

export interface AddressAllocator {
  /** Opens the network's pools (idempotent). */
  open(n: NetworkRecord): Promise<void>;
  /**
   * IPv4 (and on an `--ipv6` network IPv6) addresses for `holder`: `ip4`/`ip6` if asked
   * (static), else `previous` when free, else the pool's next.
   */
  allocate(
    n: NetworkRecord,
    holder: string,
    o: { ip4?: string | undefined; ip6?: string | undefined; previous?: string | undefined },
  ): Promise<{ ip4: string; ip6?: string }>;
  /** Frees what `holder` holds in a network's pools (IPv4 and IPv6). */
  release(netId: string, holder: string): Promise<void>;
  /** Frees every address whose holder `keep` does not name (reconcile). */
  releaseUnless(keep: (netId: string, holder: string) => boolean): Promise<void>;
  /** Drops a network's pools and their file. */
  destroy(netId: string): Promise<void>;
}

export class Addresses implements AddressAllocator {
  private readonly ipams = new Map<string, Ipam>();
  /** IPv6 pools of `--ipv6` networks (in memory; seeded from the containers' state files). */
  private readonly ipams6 = new Map<string, Ipam6>();

  constructor(private readonly store: NetworkStore) {}

  async open(n: NetworkRecord): Promise<void> {
    await this.ipamOf(n);
  }

  private async ipamOf(n: NetworkRecord): Promise<Ipam> {
    let ipam = this.ipams.get(n.Id);
    if (!ipam) {
      const pool = n.IPAM.Config.find((p) => !p.Subnet.includes(':'));
      if (!pool) throw system(`network ${n.Name} has no IPv4 pool`);
      ipam = await Ipam.open(this.store.ipamFile(n.Id), {
        subnet: pool.Subnet,
        gateway: pool.Gateway,
        ...(pool.IPRange ? { ipRange: pool.IPRange } : {}),
        reserved: Object.values(pool.AuxiliaryAddresses ?? {}),
      });
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

  async allocate(
    n: NetworkRecord,
    holder: string,
    o: { ip4?: string | undefined; ip6?: string | undefined; previous?: string | undefined },
  ): Promise<{ ip4: string; ip6?: string }> {
    const ipam = await this.ipamOf(n);
    const ip4 = await ipam.allocate(holder, o.ip4, o.previous);
    const ipam6 = this.ipams6.get(n.Id);
    if (!n.EnableIPv6 || !ipam6 || !n.IPAM.Config.some((p) => p.Subnet.includes(':'))) return { ip4 };
    try {
      return { ip4, ip6: ipam6.allocate(holder, o.ip6) };
    } catch (err) {
      await ipam.release(holder);
      throw err;
    }
  }

  async release(netId: string, holder: string): Promise<void> {
    await this.ipams.get(netId)?.release(holder);
    this.ipams6.get(netId)?.release(holder);
  }

  async releaseUnless(keep: (netId: string, holder: string) => boolean): Promise<void> {
    for (const [netId, ipam] of this.ipams) {
      for (const [, holder] of ipam.holders()) if (!keep(netId, holder)) await this.release(netId, holder);
    }
    for (const [netId, ipam] of this.ipams6) {
      for (const [, holder] of ipam.holders()) if (!keep(netId, holder)) ipam.release(holder);
    }
  }

  async destroy(id: string): Promise<void> {
    const ipam = this.ipams.get(id);
    this.ipams.delete(id);
    this.ipams6.delete(id);
    if (ipam) await ipam.destroy();
    else await (await Ipam.open(this.store.ipamFile(id), { subnet: '0.0.0.0/0', gateway: '0.0.0.0' })).destroy();
  }
}

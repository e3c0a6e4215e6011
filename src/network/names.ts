/**
 * What names mean to a container: the embedded DNS's answers (names and aliases on a user
 * network, per-network links, PTR, the upstreams it forwards to), the content networking adds to
 * /etc/hosts and resolv.conf (`EtcInfo`), and legacy `--link`s on the default bridge.
 */
import { readFileSync } from 'node:fs';
import type { Container } from '../containers/types.js';
import type { DnsResolver } from './dns.js';
import type { Endpoints } from './endpoints.js';
import { EMBEDDED_DNS } from './firewall.js';
import { canonical6 } from './ipam6.js';
import { checkLinks, linkEnv, linkHostLines, type LinkLookup } from './links.js';
import type { Networks } from './networks.js';
import type { NetworkStore } from './store.js';
import type { NetworkRecord } from './types.js';

export interface EtcInfo {
  /** Lines appended to /etc/hosts (the container's own address). */
  hostsLines: string[];
  /** What `host-gateway` in --add-host stands for. */
  hostGateway?: string;
  /** Nameservers replacing the host's (embedded DNS), with Docker's options for it. */
  nameservers?: string[];
  options?: string[];
}

export interface NamesOptions {
  store: NetworkStore;
  networks: Pick<Networks, 'list' | 'tryFind'>;
  endpoints: Pick<Endpoints, 'attached' | 'dnsNetwork'>;
  containers: () => Container[];
}

export class Names implements DnsResolver {
  constructor(private readonly o: NamesOptions) {}

  /** DnsResolver (dns.ts): a name known on the network whose gateway is `local`, asked by `from`. */
  lookup(q: { local: string; from: string; name: string }): { ips: string[]; ip6s: string[] } | undefined {
    return this.lookupName(q.local, q.name, q.from);
  }

  /** DnsResolver: the PTR answer. */
  reverse(q: { local: string; ip: string }): string | undefined {
    return this.reverseOf(q.local, q.ip);
  }

  /** DnsResolver: upstream servers for a query from `from`. */
  upstreams(from: string): string[] {
    return this.upstreamsFor(from);
  }

  etcInfo(c: Container): EtcInfo {
    const st = this.o.store.containers.get(c.ID);
    const eps = Object.values(st?.endpoints ?? {});
    const info: EtcInfo = { hostsLines: [] };
    const def = this.o.networks.tryFind('bridge');
    const defGw = def?.IPAM.Config[0]?.Gateway;
    const first = eps[0];
    if (first) info.hostsLines.push(`${first.IPAddress}\t${c.Config.Hostname}`);
    if (def) info.hostsLines.push(...linkHostLines(c, this.linkLookup(def)));
    const hg = defGw ?? first?.Gateway;
    if (hg) info.hostGateway = hg;
    if (this.o.endpoints.dnsNetwork(c)) {
      info.nameservers = [EMBEDDED_DNS];
      info.options = ['ndots:0'];
    }
    return info;
  }

  private lookupName(local: string, rawName: string, from?: string): { ips: string[]; ip6s: string[] } | undefined {
    const n = this.o.networks.list().find((x) => !x.isDefault && x.IPAM.Config[0]?.Gateway === local);
    if (!n) return undefined;
    let name = rawName.toLowerCase();
    if (name.endsWith(`.${n.Name.toLowerCase()}`)) name = name.slice(0, -(n.Name.length + 1));
    if (from) {
      // The asker's own links on this network (`name:alias`): the alias names the target.
      const asker = this.o.endpoints.attached(n).find(({ ep }) => ep.IPAddress === from);
      const link =
        asker && (this.o.store.containers.get(asker.c.ID)?.networks[n.Id]?.Links ?? []).find((l) => l.slice(l.indexOf(':') + 1).toLowerCase() === name);
      if (link) return this.lookupName(local, link.slice(0, link.indexOf(':')));
    }
    const ips: string[] = [];
    const ip6s: string[] = [];
    for (const { c, ep } of this.o.endpoints.attached(n)) {
      const aliases = (this.o.store.containers.get(c.ID)?.networks[n.Id]?.Aliases ?? []).map((a) => a.toLowerCase());
      if (c.Name.slice(1).toLowerCase() === name || c.ID.slice(0, 12) === name || c.ID === name || aliases.includes(name)) {
        ips.push(ep.IPAddress);
        if (ep.GlobalIPv6Address) ip6s.push(ep.GlobalIPv6Address);
      }
    }
    return ips.length > 0 ? { ips, ip6s } : undefined;
  }

  /** PTR: `<container name>.<network>` for a running container's address on the asking network (libnetwork's answer). */
  private reverseOf(local: string, ip: string): string | undefined {
    const n = this.o.networks.list().find((x) => !x.isDefault && x.IPAM.Config[0]?.Gateway === local);
    if (!n) return undefined;
    const v6 = ip.includes(':') ? canonical6(ip) : undefined;
    for (const { c, ep } of this.o.endpoints.attached(n)) {
      const mine = v6 ? ep.GlobalIPv6Address !== '' && canonical6(ep.GlobalIPv6Address) === v6 : ep.IPAddress === ip;
      if (mine) return `${c.Name.slice(1)}.${n.Name}`;
    }
    return undefined;
  }

  private upstreamsFor(from: string): string[] {
    for (const c of this.o.containers()) {
      const st = this.o.store.containers.get(c.ID);
      if (!st || !Object.values(st.endpoints).some((e) => e.IPAddress === from)) continue;
      if (c.HostConfig.Dns.length > 0) return c.HostConfig.Dns;
      break;
    }
    return hostResolvers();
  }

  /* ------------------------------------------------------------------ legacy links */

  private linkLookup(def: NetworkRecord | undefined): LinkLookup {
    return {
      byName: (name) => this.o.containers().find((x) => x.Name === `/${name}` || x.ID === name || (name.length >= 12 && x.ID.startsWith(name))),
      defaultIp: (child) => (def ? this.o.store.containers.get(child.ID)?.endpoints[def.Id]?.IPAddress : undefined),
    };
  }

  /** Every `--link` target exists (dockerd's 400 at create; its start-time error with `atStart`). */
  checkLinks(c: Container, o: { atStart: boolean }): void {
    checkLinks(c, { byName: this.linkLookup(this.o.networks.tryFind('bridge')).byName, atStart: o.atStart });
  }

  /** Legacy links' environment (`--link` on the default bridge), before the container's own Env. */
  linkEnv(c: Container): string[] {
    const def = this.o.networks.tryFind('bridge');
    return def && (c.HostConfig.Links ?? []).length > 0 ? linkEnv(c, this.linkLookup(def)) : [];
  }
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

/**
 * The bridge driver: a Linux bridge per network (bridge.ts), its iptables rules (firewall.ts),
 * veth pairs into containers' namespaces, published ports as kernel DNAT rules and their `[::]`
 * side relayed in berthd (proxy6.ts, docker-proxy's job).
 */
import { readdirSync } from 'node:fs';
import { deleteLink, ensureBridge, linkExists, macFor, plumb, unplumb, vethName, type VethSpec } from './bridge.js';
import {
  addRules,
  deleteTagged,
  dnsRules,
  hasIsolation,
  isolationRules,
  mentions,
  networkRules,
  ownersOn,
  portRules,
  removeRules,
  savedRules,
  tagOf,
  type Rule,
} from './firewall.js';
import type { JoinRequest, NetworkDriver } from './driver.js';
import { Proxy6 } from './proxy6.js';
import type { NetworkRecord, PortMapping } from './types.js';

export const MTU_OPT = 'com.docker.network.driver.mtu';

export class BridgeDriver implements NetworkDriver {
  private readonly proxy6 = new Proxy6();

  /** `networks`: the daemon's networks (a port rule's subnet is its bridge's). */
  constructor(private readonly networks: () => NetworkRecord[]) {}

  async up(n: NetworkRecord): Promise<void> {
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
    if (!n.isDefault && !ownersOn(n.bridge, saved).has('dns')) await addRules(tagOf(n.bridge, 'dns'), dnsRules({ bridge: n.bridge, gateway: pool.Gateway }));
  }

  async down(n: NetworkRecord): Promise<void> {
    if (!n.bridge) return;
    const br = n.bridge;
    // Its own rules, and isolation pairs other networks tagged that name it.
    await deleteTagged((tag, line) => tag.startsWith(`berth:${br}:`) || (tag.endsWith(':iso') && mentions(line, br)));
    await deleteLink(br);
  }

  async isolate(networks: NetworkRecord[]): Promise<void> {
    const bridges = networks.filter((n) => n.bridge && linkExists(n.bridge)).map((n) => n.bridge as string);
    if (bridges.length < 2) return;
    const saved = await savedRules();
    for (const [i, a] of bridges.entries()) {
      for (const b of bridges.slice(i + 1)) {
        if (hasIsolation(saved, a, b) && hasIsolation(saved, b, a)) continue;
        await addRules(tagOf(a, 'iso'), isolationRules(a, b));
      }
    }
  }

  hostInterface(): string {
    return vethName();
  }

  macFor(ip: string): string {
    return macFor(ip);
  }

  async join(pid: number, eps: JoinRequest[], o: { again?: boolean } = {}): Promise<void> {
    const specs: VethSpec[] = [];
    for (const { n, ep, gateway, dns } of eps) {
      if (!n.bridge) continue;
      specs.push({
        bridge: n.bridge,
        hostVeth: ep.hostVeth,
        ifName: ep.ifName,
        mac: ep.MacAddress,
        addressCidr: `${ep.IPAddress}/${ep.IPPrefixLen}`,
        ...(ep.GlobalIPv6Address ? { ipv6Cidr: `${ep.GlobalIPv6Address}/${ep.GlobalIPv6PrefixLen}` } : {}),
        ...(gateway ? { gateway: ep.Gateway } : {}),
        ...(gateway && ep.IPv6Gateway ? { ipv6Gateway: ep.IPv6Gateway } : {}),
        ...(n.Options[MTU_OPT] ? { mtu: Number(n.Options[MTU_OPT]) } : {}),
        ...(dns ? { dns } : {}),
      });
    }
    await plumb(pid, specs, o);
  }

  leave(hostInterfaces: string[]): Promise<void> {
    return unplumb(hostInterfaces);
  }

  async publish(id: string, ports: PortMapping[]): Promise<void> {
    if (ports.length === 0) return;
    await this.republish(id, ports);
    for (const [bridge, list] of byBridge(ports)) await addRules(tagOf(bridge, id.slice(0, 12)), this.portRulesOf(bridge, list));
  }

  async unpublish(id: string, ports: PortMapping[]): Promise<void> {
    this.proxy6.close(id);
    for (const [bridge, list] of byBridge(ports)) {
      await removeRules(tagOf(bridge, id.slice(0, 12)), this.portRulesOf(bridge, list)).catch(() => undefined);
    }
  }

  async unpublishOn(n: NetworkRecord, id: string): Promise<void> {
    await deleteTagged((tag) => tag === tagOf(n.bridge ?? '', id.slice(0, 12))).catch(() => undefined);
  }

  /** The [::] side of a container's published ports (proxy6.ts). */
  async republish(id: string, ports: PortMapping[]): Promise<void> {
    const v6 = ports.filter((p) => p.HostIp.includes(':'));
    if (v6.length === 0) return;
    await this.proxy6.open(
      id,
      v6.map((p) => ({ hostIp: p.HostIp, hostPort: p.HostPort, proto: p.Proto, containerIp: p.ContainerIp, containerPort: p.ContainerPort })),
    );
  }

  async sweep(networks: NetworkRecord[], o: { running: Set<string>; wanted: Set<string> }): Promise<void> {
    const bridges = new Set(networks.map((n) => n.bridge).filter((b): b is string => !!b));
    await deleteTagged((tag) => {
      const [, br = '', owner = ''] = tag.split(':');
      return bridges.has(br) && owner !== 'net' && owner !== 'iso' && owner !== 'dns' && !o.running.has(owner);
    });
    const stray: string[] = [];
    for (const br of bridges) {
      try {
        for (const port of readdirSync(`/sys/class/net/${br}/brif`)) if (!o.wanted.has(port)) stray.push(port);
      } catch {
        /* bridge missing */
      }
    }
    await unplumb(stray);
  }

  close(): void {
    this.proxy6.closeAll();
  }

  private portRulesOf(bridge: string, list: PortMapping[]): Rule[] {
    const n = this.networks().find((x) => x.bridge === bridge);
    const subnet = n?.IPAM.Config[0]?.Subnet ?? `${list[0]?.ContainerIp}/32`;
    return list
      .filter((p) => !p.HostIp.includes(':'))
      .flatMap((p) =>
        portRules({ hostIp: p.HostIp, hostPort: p.HostPort, proto: p.Proto, containerIp: p.ContainerIp, containerPort: p.ContainerPort, bridge, subnet }),
      );
  }
}

function byBridge(ports: PortMapping[]): Map<string, PortMapping[]> {
  const out = new Map<string, PortMapping[]>();
  for (const p of ports) out.set(p.Bridge, [...(out.get(p.Bridge) ?? []), p]);
  return out;
}

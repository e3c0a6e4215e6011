/**
 * Linux bridges and veth pairs, driven by `ip -batch` (one process per side per change): a bridge
 * per network with the gateway address, and per endpoint a veth pair whose container end is
 * created directly inside the container's network namespace.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ipBatch, runTool } from './cmd.js';

export const linkExists = (name: string): boolean => existsSync(`/sys/class/net/${name}`);

/**
 * A fresh host-side veth name (`veth` + 7 hex, as dockerd's). Random, so a restart never meets
 * the previous run's veth, which the kernel removes with the old namespace asynchronously;
 * reconcile finds strays as ports of our bridges that no endpoint records.
 */
export function vethName(): string {
  return `veth${randomBytes(4).toString('hex').slice(0, 7)}`;
}

/** Docker's MAC for an IPv4 address: 02:42 + the address bytes. */
export function macFor(ip: string): string {
  return ['02', '42', ...ip.split('.').map((x) => Number(x).toString(16).padStart(2, '0'))].join(':');
}

function setSysctl(file: string, value: string): void {
  try {
    if (readFileSync(file, 'utf8').trim() !== value) writeFileSync(file, value);
  } catch {
    /* not available (e.g. IPv6 disabled): best effort */
  }
}

export interface BridgeSpec {
  name: string;
  /** Gateway with prefix, e.g. 10.231.4.1/24. */
  gatewayCidr: string;
  ipv6GatewayCidr?: string;
  mtu?: number;
}

/** Creates the bridge with its addresses if missing (idempotent), and the sysctls it needs. */
export async function ensureBridge(b: BridgeSpec): Promise<void> {
  const lines: string[] = [];
  if (!linkExists(b.name)) lines.push(`link add name ${b.name}${b.mtu ? ` mtu ${b.mtu}` : ''} type bridge`);
  const have = linkExists(b.name) ? await runTool('ip', ['-o', 'addr', 'show', 'dev', b.name]) : '';
  if (!have.includes(` ${b.gatewayCidr} `)) lines.push(`addr add ${b.gatewayCidr} dev ${b.name}`);
  if (b.ipv6GatewayCidr && !have.includes(` ${b.ipv6GatewayCidr} `)) lines.push(`addr add ${b.ipv6GatewayCidr} dev ${b.name} nodad`);
  lines.push(`link set ${b.name} up`);
  await ipBatch(lines);
  setSysctl('/proc/sys/net/ipv4/ip_forward', '1');
  // Published ports are DNATed in OUTPUT for 127.0.0.1: the bridge must route loopback sources.
  setSysctl(`/proc/sys/net/ipv4/conf/${b.name}/route_localnet`, '1');
  if (b.ipv6GatewayCidr) {
    setSysctl(`/proc/sys/net/ipv6/conf/${b.name}/disable_ipv6`, '0');
    setSysctl('/proc/sys/net/ipv6/conf/all/forwarding', '1');
  }
}

export async function deleteLink(name: string): Promise<void> {
  if (!linkExists(name)) return;
  await ipBatch([`link del ${name}`]).catch(() => undefined);
}

export interface VethSpec {
  bridge: string;
  hostVeth: string;
  ifName: string;
  mac: string;
  /** IPv4 with prefix, e.g. 10.231.4.2/24 */
  addressCidr: string;
  ipv6Cidr?: string;
  /** Set the default route through this gateway. */
  gateway?: string;
  ipv6Gateway?: string;
  mtu?: number;
  /**
   * The gateway whose embedded DNS answers at 127.0.0.11 through this interface: 127.0.0.11 is
   * routed there (a /32 in the local table beats its 127.0.0.0/8), the interface accepts the
   * answers' loopback source (route_localnet), and a rule ahead of the local table drops
   * anything else arriving on it for 127.0.0.0/8, so the container's loopback services stay
   * out of reach of its neighbours.
   */
  dns?: string;
}

/** Plumbs endpoints into the namespace of `pid`: two `ip -batch` runs in all. */
export async function plumb(pid: number, eps: VethSpec[], o: { again?: boolean } = {}): Promise<void> {
  if (eps.length === 0) return;
  const host: string[] = [];
  const inside: string[] = [];
  for (const e of eps) {
    const mtu = e.mtu ? ` mtu ${e.mtu}` : '';
    host.push(`link add name ${e.hostVeth}${mtu} type veth peer name ${e.ifName} address ${e.mac}${mtu} netns ${pid}`);
    host.push(`link set ${e.hostVeth} master ${e.bridge} up`);
    inside.push(`addr add ${e.addressCidr} dev ${e.ifName}`);
    if (e.ipv6Cidr) inside.push(`addr add ${e.ipv6Cidr} dev ${e.ifName} nodad`);
    inside.push(`link set ${e.ifName} up`);
    if (e.gateway) inside.push(`route replace default via ${e.gateway} dev ${e.ifName}`);
    if (e.ipv6Gateway) inside.push(`route replace ::/0 via ${e.ipv6Gateway} dev ${e.ifName}`);
  }
  const dns = eps.find((e) => e.dns);
  let sysctl: string | undefined;
  if (dns?.dns) {
    const src = dns.addressCidr.split('/')[0] as string;
    const route = `route replace 127.0.0.11/32 via ${dns.dns} dev ${dns.ifName} src ${src} table local`;
    const rules = [`rule add pref 1 iif ${dns.ifName} to 127.0.0.0/8 blackhole`, 'rule add pref 2 lookup local', 'rule del pref 0'];
    sysctl = `/proc/sys/net/ipv4/conf/${dns.ifName}/route_localnet`;
    if (o.again) {
      // A live connect (the namespace may have the rules already): the rules on their own, errors ignored.
      await ipBatch(host);
      await ipBatch([...inside, route], { netnsPid: pid, sysctl });
      await ipBatch(rules, { netnsPid: pid, force: true }).catch(() => undefined);
      return;
    }
    inside.push(...rules, route);
  }
  await ipBatch(host);
  await ipBatch(inside, { netnsPid: pid, ...(sysctl ? { sysctl } : {}) });
}

/** Removes host-side veths (their peers go with them); missing ones are skipped. */
export async function unplumb(hostVeths: string[]): Promise<void> {
  const present = hostVeths.filter(linkExists);
  if (present.length > 0)
    await ipBatch(
      present.map((v) => `link del ${v}`),
      { force: true },
    ).catch(() => undefined);
}

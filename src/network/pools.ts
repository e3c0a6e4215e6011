/**
 * A new network's address pools: the IPAM config a create asks for checked as dockerd checks it
 * (one IPv4 and one IPv6 subnet, gateway/range/aux addresses inside it, no overlap with another
 * network), or a free default pool (dockerd's 172.19–31/16, then 192.168/20s).
 */
import * as os from 'node:os';
import { forbidden, invalid } from '../lib/errors.js';
import { cidrText, contains, ipToNum, isIPv4, numToIp, overlaps, parseCidr, type Cidr } from './ipam.js';
import { canonical6, cidr6Text, contains6, ip6ToBig, overlaps6, parseCidr6, bigToIp6 } from './ipam6.js';
import type { CreateNetworkRequest } from './networks.js';
import type { NetworkRecord } from './types.js';

/** The pools of a network created with `req` (throws dockerd's errors); `userSubnet` when the request gave one. */
export function requestedPools(existing: NetworkRecord[], req: CreateNetworkRequest): { pools: NetworkRecord['IPAM']['Config']; userSubnet: boolean } {
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
      checkNoOverlap6(existing, sub6);
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
    checkNoOverlap(existing, sub);
    v4 = sub;
    const aux = Object.entries(p.AuxiliaryAddresses ?? {});
    for (const [, a] of aux) if (!isIPv4(a) || !contains(sub, ipToNum(a))) throw invalid(`no matching subnet for aux-address ${a}`);
    pools.unshift({
      Subnet: cidrText(sub),
      Gateway: numToIp(gw),
      ...(p.IPRange ? { IPRange: p.IPRange } : {}),
      ...(aux.length > 0 ? { AuxiliaryAddresses: Object.fromEntries(aux) } : {}),
    });
  }
  if (!v4) {
    const auto = autoSubnet(existing);
    pools.unshift({ Subnet: cidrText(auto), Gateway: numToIp(auto.base + 1) });
  }
  if (req.EnableIPv6 && !pools.some((p) => p.Subnet.includes(':'))) throw invalid('IPv6 is enabled but no IPv6 subnet was given (--subnet)');
  return { pools, userSubnet: userPools.length > 0 };
}

/** dockerd's refusal of an IPv4 pool overlapping another network's (`except`: the network being replaced). */
export function checkNoOverlap(existing: NetworkRecord[], c: Cidr, except?: string): void {
  for (const n of existing) {
    if (n.Id === except) continue;
    for (const p of n.IPAM.Config) {
      if (p.Subnet.includes(':')) continue;
      if (overlaps(parseCidr(p.Subnet), c)) throw forbidden('Pool overlaps with other one on this address space');
    }
  }
}

function checkNoOverlap6(existing: NetworkRecord[], c: ReturnType<typeof parseCidr6>): void {
  for (const n of existing) {
    for (const p of n.IPAM.Config) {
      if (p.Subnet.includes(':') && overlaps6(parseCidr6(p.Subnet), c)) throw forbidden('Pool overlaps with other one on this address space');
    }
  }
}

/** A free /16 from 172.19–31, then /20s of 192.168/16, as dockerd's default pools. */
function autoSubnet(existing: NetworkRecord[]): Cidr {
  const used: Cidr[] = [];
  for (const n of existing) for (const p of n.IPAM.Config) if (!p.Subnet.includes(':')) used.push(parseCidr(p.Subnet));
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? [])
      if (a.family === 'IPv4' && a.cidr)
        used.push(
          parseCidr(
            a.cidr.replace(
              /^([\d.]+)\/(\d+)$/,
              (_m, ip: string, b: string) => `${numToIp((ipToNum(ip) & (Number(b) === 0 ? 0 : (0xffffffff << (32 - Number(b))) >>> 0)) >>> 0)}/${b}`,
            ),
          ),
        );
  }
  const candidates: Cidr[] = [];
  for (let i = 19; i <= 31; i++) candidates.push({ base: ipToNum(`172.${i}.0.0`), bits: 16 });
  for (let i = 0; i < 256; i += 16) candidates.push({ base: ipToNum(`192.168.${i}.0`), bits: 20 });
  const free = candidates.find((c) => !used.some((u) => overlaps(u, c)));
  if (!free) throw forbidden('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  return free;
}

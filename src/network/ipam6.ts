/**
 * IPv6 address management for one network's IPv6 pool (`--ipv6 --subnet fd00:…/64`). As for
 * IPv4 (ipam.ts), addresses are handed out in order after the last one given (libnetwork's
 * serial allocation: gateway ::1, then ::2, ::3, …), a static `--ip6` must lie in the subnet and
 * be free, and the record of who holds what is each container's network state file: the pool is
 * seeded from those files at start, so an address is never held twice. The round-robin position
 * lives in memory only (after a restart allocation continues after the highest seeded address).
 */
import { conflict, invalid, system } from '../lib/errors.js';

const ALL = (1n << 128n) - 1n;

/** `fd00::1` → 128-bit number; throws InvalidParameter for anything else (IPv4-mapped forms too). */
export function ip6ToBig(ip: string): bigint {
  const bad = (): never => {
    throw invalid(`invalid IPv6 address: ${ip}`);
  };
  if (!/^[0-9a-fA-F:]+$/.test(ip) || ip.split('::').length > 2) bad();
  const [head = '', tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  if (tail === undefined ? h.length !== 8 : h.length + t.length > 7) bad();
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) bad();
    n = (n << 16n) | BigInt(Number.parseInt(g, 16));
  }
  return n;
}

/** 128-bit number → RFC 5952 text (lower case, the longest run of zero groups as `::`). */
export function bigToIp6(n: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export interface Cidr6 {
  base: bigint;
  bits: number;
  /** The address as written (before masking). */
  ip: bigint;
}

export function parseCidr6(s: string, what = 'subnet'): Cidr6 {
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(s);
  if (!m || Number(m[2]) > 128) throw invalid(`invalid ${what}: ${s}`);
  const bits = Number(m[2]);
  const ip = ip6ToBig(m[1] as string);
  return { base: ip & mask6(bits), bits, ip };
}

export const mask6 = (bits: number): bigint => (bits === 0 ? 0n : (ALL << BigInt(128 - bits)) & ALL);
export const contains6 = (c: { base: bigint; bits: number }, ip: bigint): boolean => (ip & mask6(c.bits)) === c.base;
export const overlaps6 = (a: Cidr6, b: Cidr6): boolean => contains6(a, b.base) || contains6(b, a.base);
export const cidr6Text = (c: { base: bigint; bits: number }): string => `${bigToIp6(c.base)}/${c.bits}`;
/** Canonical text of an IPv6 address (for comparisons and records). */
export const canonical6 = (ip: string): string => bigToIp6(ip6ToBig(ip));

export class Ipam6 {
  private last = 0n;
  /** canonical address → holder (container ID). */
  private readonly allocated = new Map<string, string>();
  private readonly subnet: Cidr6;
  private readonly gateway: bigint;

  constructor(pool: { subnet: string; gateway: string }) {
    this.subnet = parseCidr6(pool.subnet);
    this.gateway = ip6ToBig(pool.gateway);
  }

  /** Marks `ip` as held by `holder` (from a container's state file at start-up). */
  seed(holder: string, ip: string): void {
    const n = ip6ToBig(ip);
    this.allocated.set(bigToIp6(n), holder);
    if (n > this.last) this.last = n;
  }

  holders(): Map<string, string> {
    return new Map(this.allocated);
  }

  /** `want` (if given) or the next free address after the last one given. Idempotent per holder. */
  allocate(holder: string, want?: string): string {
    const existing = [...this.allocated].find(([, h]) => h === holder)?.[0];
    if (want) {
      const n = ip6ToBig(want);
      const text = bigToIp6(n);
      if (!contains6(this.subnet, n)) throw invalid(`no configured subnet or ip-range contain the IP address ${want}`);
      if (existing === text) return text;
      if (n === this.gateway || this.allocated.has(text)) throw conflict('Address already in use');
      if (existing) this.allocated.delete(existing);
      this.allocated.set(text, holder);
      return text;
    }
    if (existing) return existing;
    const size = 1n << BigInt(128 - this.subnet.bits);
    const first = this.subnet.base + 1n;
    const lastUsable = this.subnet.base + size - 1n;
    // At most every allocated address (and the gateway) is skipped before a free one turns up.
    let n = this.last >= first && this.last < lastUsable ? this.last + 1n : first;
    for (let i = 0; i <= this.allocated.size + 2 && BigInt(i) < size; i++) {
      if (n > lastUsable) n = first;
      const text = bigToIp6(n);
      if (n !== this.gateway && !this.allocated.has(text)) {
        this.allocated.set(text, holder);
        this.last = n;
        return text;
      }
      n++;
    }
    throw system(`no available IPv6 addresses on this network's address pools`);
  }

  release(holder: string): void {
    for (const [ip, h] of [...this.allocated]) if (h === holder) this.allocated.delete(ip);
  }
}

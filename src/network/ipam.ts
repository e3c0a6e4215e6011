/**
 * IP address management for one network: a pool (subnet, optional ip-range), the gateway, and
 * the addresses handed out. A container starting again asks for its previous address and gets it
 * if it is free; otherwise the lowest free address is handed out (dockerd 20.10's libnetwork
 * default IPAM, measured: a released address is reused at once, by whoever starts next). The record of who
 * holds what is each container's network state file (written, fsynced, before an address is
 * used); at start the pool is seeded from those files, so an address is never held twice, across
 * restarts too. The pool's own file (a round-robin position kept by older versions) is only
 * removed with the network.
 */
import { promises as fs } from 'node:fs';
import { conflict, invalid, system } from '../lib/errors.js';

export interface Cidr {
  /** Network address as a 32-bit number. */
  base: number;
  bits: number;
}

export function ipToNum(ip: string): number {
  const p = ip.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) throw invalid(`invalid IP address: ${ip}`);
  return p.reduce((a, x) => a * 256 + Number(x), 0);
}

export function numToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIPv4(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s) && s.split('.').every((x) => Number(x) <= 255);
}

export function parseCidr(s: string, what = 'subnet'): Cidr & { ip: number } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIPv4(m[1] as string) || Number(m[2]) > 32) throw invalid(`invalid ${what}: ${s}`);
  const bits = Number(m[2]);
  const ip = ipToNum(m[1] as string);
  return { base: bits === 0 ? 0 : (ip & maskOf(bits)) >>> 0, bits, ip };
}

export const maskOf = (bits: number): number => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
export const cidrText = (c: Cidr): string => `${numToIp(c.base)}/${c.bits}`;
export const contains = (c: Cidr, ip: number): boolean => (ip & maskOf(c.bits)) >>> 0 === c.base;
export const overlaps = (a: Cidr, b: Cidr): boolean => contains(a, b.base) || contains(b, a.base);

export interface PoolConfig {
  subnet: string;
  gateway: string;
  ipRange?: string;
  /** Addresses never handed out (`--aux-address`). */
  reserved?: string[];
}

interface PoolState {
  /** address → holder (container ID, or `gateway`). */
  allocated: Record<string, string>;
}

export class Ipam {
  private state: PoolState = { allocated: {} };
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly pool: PoolConfig,
  ) {}

  static async open(file: string, pool: PoolConfig): Promise<Ipam> {
    return new Ipam(file, pool);
  }

  /** Marks `ip` as held by `holder` (from a container's state file at start-up). */
  seed(holder: string, ip: string): void {
    this.state.allocated[ip] = holder;
  }

  /** Holders of addresses (for reconcile: release those that are gone). */
  holders(): Map<string, string> {
    return new Map(Object.entries(this.state.allocated));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * Allocates `want` (if given), else `prefer` if it is free (the holder's previous address), else
   * the lowest free address, for `holder`. Idempotent per holder.
   */
  allocate(holder: string, want?: string, prefer?: string): Promise<string> {
    return this.serial(async () => {
      const subnet = parseCidr(this.pool.subnet);
      const range = this.pool.ipRange ? parseCidr(this.pool.ipRange, 'ip-range') : subnet;
      const gw = ipToNum(this.pool.gateway);
      const reserved = new Set(this.pool.reserved ?? []);
      const taken = (n: number): boolean => this.state.allocated[numToIp(n)] !== undefined || reserved.has(numToIp(n));
      const existing = Object.entries(this.state.allocated).find(([, h]) => h === holder);
      if (want) {
        const n = ipToNum(want);
        if (!contains(subnet, n)) throw invalid(`no configured subnet or ip-range contain the IP address ${want}`);
        if (existing && existing[0] === want) return want;
        if (n === gw || taken(n)) throw conflict(`Address already in use`);
        if (existing) delete this.state.allocated[existing[0]];
        this.state.allocated[want] = holder;
        return want;
      }
      if (existing) return existing[0];
      const first = range.base + 1;
      const size = 2 ** (32 - range.bits);
      const lastUsable = range.base + size - 2; // not the broadcast address
      const subnetBroadcast = subnet.base + 2 ** (32 - subnet.bits) - 1;
      if (prefer && isIPv4(prefer)) {
        const n = ipToNum(prefer);
        if (contains(range, n) && n >= first && n <= lastUsable && n !== gw && n !== subnet.base && n !== subnetBroadcast && !taken(n)) {
          this.state.allocated[prefer] = holder;
          return prefer;
        }
      }
      for (let n = first; n <= lastUsable; n++) {
        if (n === gw || n === subnetBroadcast || n === subnet.base || taken(n)) continue;
        this.state.allocated[numToIp(n)] = holder;
        return numToIp(n);
      }
      throw system(`no available IPv4 addresses on this network's address pools`);
    });
  }

  /** Releases what `holder` holds. */
  release(holder: string): Promise<void> {
    return this.serial(async () => {
      for (const [ip, h] of Object.entries(this.state.allocated)) {
        if (h === holder) delete this.state.allocated[ip];
      }
    });
  }

  async destroy(): Promise<void> {
    await fs.rm(this.file, { force: true });
  }
}

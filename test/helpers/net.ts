/**
 * Network test helpers: unique bridge names and subnets per test file, what a daemon left on the
 * host (bridges, veths on them, iptables rules tagged for them), and their removal.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as dgram from 'node:dgram';

/** A bridge name `<prefix><6 random>` (15 characters at most; each test file has its prefix). */
export function uniqueBridge(prefix = 'bn'): string {
  return `${prefix}${Math.random().toString(36).slice(2, 8)}`;
}

/** A random third octet for `<net>.X.0/24` (default 10.231) not yet used by an interface on this host. */
export function uniqueOctet(avoid: number[] = [], net = '10.231'): number {
  const used = spawnSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' }).stdout;
  for (;;) {
    const x = 1 + Math.floor(Math.random() * 250);
    if (!avoid.includes(x) && !used.includes(` ${net}.${x}.`)) return x;
  }
}

/**
 * For a file's `after` hook: waits (briefly) for the kernel to drop container veths, then
 * removes whatever is left on the test's bridges and returns it (the test asserts it is empty).
 */
export async function drainNetLeftovers(
  bridges: string[],
  waitFor: (fn: () => boolean, o: { timeout: number; what: string }) => Promise<unknown>,
): Promise<string[]> {
  await waitFor(() => bridges.every((b) => bridgePorts(b).length === 0), { timeout: 10_000, what: 'veths to go' }).catch(() => undefined);
  return removeNetLeftovers(bridges);
}

export const linkExists = (name: string): boolean => fs.existsSync(`/sys/class/net/${name}`);

/** Interfaces enslaved to a bridge (the host ends of container veths). */
export function bridgePorts(bridge: string): string[] {
  try {
    return fs.readdirSync(`/sys/class/net/${bridge}/brif`);
  } catch {
    return [];
  }
}

/** iptables rules (iptables-save lines) tagged for `bridge`, optionally for one owner. */
export function taggedRules(bridge: string, owner?: string): string[] {
  const out: string[] = [];
  for (const table of ['nat', 'filter']) {
    const text = spawnSync('iptables-save', ['-t', table], { encoding: 'utf8' }).stdout ?? '';
    for (const l of text.split('\n')) {
      const m = /--comment "?berth:([^:\s"]+):([^\s"]+)"?/.exec(l);
      if (m && m[1] === bridge && (owner === undefined || m[2] === owner)) out.push(`${table}: ${l}`);
    }
  }
  return out;
}

/** Removes bridges and every rule tagged for them; returns what was there. */
export function removeNetLeftovers(bridges: string[]): string[] {
  const found: string[] = [];
  for (const br of bridges) {
    for (const port of bridgePorts(br)) {
      found.push(`veth ${port} on ${br}`);
      spawnSync('ip', ['link', 'del', port]);
    }
    for (const table of ['nat', 'filter']) {
      const text = spawnSync('iptables-save', ['-t', table], { encoding: 'utf8' }).stdout ?? '';
      const del = text
        .split('\n')
        .filter((l) => l.startsWith('-A ') && new RegExp(`--comment "?berth:${br}:`).test(l))
        .map((l) => `-D${l.slice(2)}`);
      if (del.length > 0) spawnSync('iptables-restore', ['--noflush', '-w'], { input: `*${table}\n${del.join('\n')}\nCOMMIT\n` });
    }
    if (linkExists(br)) spawnSync('ip', ['link', 'del', br]);
  }
  return found;
}

/**
 * A tiny upstream DNS server on a loopback address: A records from `records`, NXDOMAIN for the
 * rest. Stands in for the host's resolvers so forwarding tests stay on loopback.
 */
export async function fakeUpstream(ip: string, records: Record<string, string>): Promise<{ close(): void; queries: string[] }> {
  const s = dgram.createSocket('udp4');
  const queries: string[] = [];
  s.on('message', (msg, r) => {
    let off = 12;
    const labels: string[] = [];
    while (msg[off]) {
      const len = msg[off] as number;
      labels.push(msg.subarray(off + 1, off + 1 + len).toString());
      off += len + 1;
    }
    off++;
    const qtype = msg.readUInt16BE(off);
    const name = labels.join('.').toLowerCase();
    queries.push(name);
    const head = Buffer.from(msg.subarray(0, off + 4));
    const ipv4 = records[name];
    head.writeUInt16BE(0x8180 | (ipv4 ? 0 : 3), 2);
    head.writeUInt16BE(ipv4 && qtype === 1 ? 1 : 0, 6);
    head.writeUInt16BE(0, 8);
    head.writeUInt16BE(0, 10);
    const parts = [head];
    if (ipv4 && qtype === 1) {
      const a = Buffer.alloc(16);
      a.writeUInt16BE(0xc00c, 0);
      a.writeUInt16BE(1, 2);
      a.writeUInt16BE(1, 4);
      a.writeUInt32BE(60, 6);
      a.writeUInt16BE(4, 10);
      ipv4.split('.').forEach((x, i) => a.writeUInt8(Number(x), 12 + i));
      parts.push(a);
    }
    s.send(Buffer.concat(parts), r.port, r.address);
  });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(53, ip, () => resolve());
  });
  return { close: () => s.close(), queries };
}

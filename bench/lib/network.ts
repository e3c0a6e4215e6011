/**
 * The benches' networking: their own bridges (berthd `bnbench0` 10.231.253.1/24; dockerd `bndref`
 * 10.232.0.1/24, created here because dockerd's --bip would name its bridge docker0) and their
 * removal with every iptables rule berthd tagged for its bridge. The published-port throughput
 * figure that runs over them is bench/groups/ports.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const BERTH_BRIDGE = 'bnbench0';
export const BERTH_BIP = '10.231.253.1/24';
export const DOCKERD_BRIDGE = 'bndref';
const DOCKERD_BRIDGE_CIDR = '10.232.0.1/24';

export const berthdNetArgs = (): string[] => ['--bridge', BERTH_BRIDGE, '--bip', BERTH_BIP];
/** dockerd keeps --iptables=false: published ports go through its userland docker-proxy. */
export const dockerdNetArgs = (): string[] => ['--bridge', DOCKERD_BRIDGE];

export function prepareDockerdBridge(): void {
  if (existsSync(`/sys/class/net/${DOCKERD_BRIDGE}`)) return;
  const r = spawnSync('ip', ['-batch', '-'], {
    input: `link add name ${DOCKERD_BRIDGE} type bridge\naddr add ${DOCKERD_BRIDGE_CIDR} dev ${DOCKERD_BRIDGE}\nlink set ${DOCKERD_BRIDGE} up\n`,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`creating ${DOCKERD_BRIDGE}: ${r.stderr}`);
}

/** Removes the bench bridges and berthd's rules for its bridge; returns what it removed. */
export function removeBenchNetworks(): string[] {
  const removed: string[] = [];
  for (const table of ['nat', 'filter']) {
    const text = spawnSync('iptables-save', ['-t', table], { encoding: 'utf8' }).stdout ?? '';
    const del = text
      .split('\n')
      .filter((l) => l.startsWith('-A ') && l.includes(`berth:${BERTH_BRIDGE}:`))
      .map((l) => `-D${l.slice(2)}`);
    if (del.length > 0) {
      spawnSync('iptables-restore', ['--noflush', '-w'], { input: `*${table}\n${del.join('\n')}\nCOMMIT\n` });
      removed.push(`${del.length} ${table} rule(s)`);
    }
  }
  for (const br of [BERTH_BRIDGE, DOCKERD_BRIDGE]) {
    if (!existsSync(`/sys/class/net/${br}`)) continue;
    spawnSync('ip', ['link', 'del', br]);
    removed.push(`bridge ${br}`);
  }
  return removed;
}

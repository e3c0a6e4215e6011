/**
 * iptables rules of berthd, one `iptables-restore --noflush` per change. Every rule carries a
 * comment `berth:<bridge>:<owner>` (owner `net` for a network's own rules, a container's short
 * ID for its published ports), so rules of daemons on other bridges are never touched, and a
 * rule set is removed exactly by its tag, whatever state it was left in.
 */
import { runTool } from './cmd.js';

export type Table = 'nat' | 'filter';

export interface Rule {
  table: Table;
  /** `-A CHAIN …` or `-I CHAIN …` without the comment. */
  spec: string;
}

export const tagOf = (bridge: string, owner: string): string => `berth:${bridge}:${owner}`;

function restoreText(groups: Map<Table, string[]>): string {
  let text = '';
  for (const [table, lines] of groups) {
    if (lines.length === 0) continue;
    text += `*${table}\n${lines.join('\n')}\nCOMMIT\n`;
  }
  return text;
}

/** Adds rules, all tagged `tag`. */
export async function addRules(tag: string, rules: Rule[]): Promise<void> {
  if (rules.length === 0) return;
  const groups = new Map<Table, string[]>();
  for (const r of rules) {
    const list = groups.get(r.table) ?? [];
    list.push(`${r.spec} -m comment --comment ${tag}`);
    groups.set(r.table, list);
  }
  await runTool('iptables-restore', ['--noflush', '-w'], restoreText(groups));
}

/**
 * Removes rules added with `addRules(tag, rules)`: one restore with their `-D` forms; if any is
 * missing (the restore is all or nothing), falls back to deleting whatever carries the tag.
 */
export async function removeRules(tag: string, rules: Rule[]): Promise<void> {
  if (rules.length === 0) return;
  const groups = new Map<Table, string[]>();
  for (const r of rules) {
    const list = groups.get(r.table) ?? [];
    list.push(`${r.spec.replace(/^-[AI] /, '-D ')} -m comment --comment ${tag}`);
    groups.set(r.table, list);
  }
  try {
    await runTool('iptables-restore', ['--noflush', '-w'], restoreText(groups));
  } catch {
    await deleteTagged((t) => t === tag);
  }
}

/** The rules present now, per table: `-A …` lines as iptables-save prints them. */
export async function savedRules(): Promise<Map<Table, string[]>> {
  const out = new Map<Table, string[]>();
  for (const table of ['nat', 'filter'] as const) {
    const text = await runTool('iptables-save', ['-t', table]).catch(() => '');
    out.set(
      table,
      text.split('\n').filter((l) => l.startsWith('-A ')),
    );
  }
  return out;
}

const commentOf = (line: string): string | undefined => /--comment "?(berth:[^\s"]+)"?/.exec(line)?.[1];

/** Deletes every rule whose tag satisfies `match` (exactly what is there, from iptables-save). */
export async function deleteTagged(match: (tag: string, line: string) => boolean, saved?: Map<Table, string[]>): Promise<number> {
  const current = saved ?? (await savedRules());
  const groups = new Map<Table, string[]>();
  let n = 0;
  for (const [table, lines] of current) {
    const del = lines.filter((l) => {
      const t = commentOf(l);
      return t !== undefined && match(t, l);
    });
    if (del.length === 0) continue;
    groups.set(
      table,
      del.map((l) => `-D${l.slice(2)}`),
    );
    n += del.length;
  }
  if (n > 0) await runTool('iptables-restore', ['--noflush', '-w'], restoreText(groups));
  return n;
}

/** Tags of present rules on a bridge: owner → count. */
export function ownersOn(bridge: string, saved: Map<Table, string[]>): Set<string> {
  const owners = new Set<string>();
  const prefix = `berth:${bridge}:`;
  for (const lines of saved.values()) {
    for (const l of lines) {
      const t = commentOf(l);
      if (t?.startsWith(prefix)) owners.add(t.slice(prefix.length));
    }
  }
  return owners;
}

/** A bridge network's own rules: outbound NAT, forwarding, or isolation when internal. */
export function networkRules(o: { bridge: string; subnet: string; internal: boolean }): Rule[] {
  const { bridge, subnet } = o;
  if (o.internal) {
    return [
      { table: 'filter', spec: `-I FORWARD -i ${bridge} ! -o ${bridge} -j DROP` },
      { table: 'filter', spec: `-I FORWARD -o ${bridge} ! -i ${bridge} -j DROP` },
    ];
  }
  return [
    { table: 'nat', spec: `-A POSTROUTING -s ${subnet} ! -o ${bridge} -j MASQUERADE` },
    { table: 'filter', spec: `-I FORWARD -i ${bridge} -j ACCEPT` },
    { table: 'filter', spec: `-I FORWARD -o ${bridge} -j ACCEPT` },
  ];
}

/** Docker's resolver address inside containers on user networks. */
export const EMBEDDED_DNS = '127.0.0.11';

/**
 * A user network's embedded DNS at 127.0.0.11: containers route 127.0.0.11 to the gateway
 * (bridge.ts `dns`), and these rules hand those packets to the listener on the gateway address
 * (conntrack restores 127.0.0.11 as the source of the answers). Tagged `berth:<bridge>:dns`.
 */
export function dnsRules(o: { bridge: string; gateway: string }): Rule[] {
  return (['udp', 'tcp'] as const).map((proto) => ({
    table: 'nat' as const,
    spec: `-A PREROUTING -d ${EMBEDDED_DNS}/32 -i ${o.bridge} -p ${proto} -m ${proto} --dport 53 -j DNAT --to-destination ${o.gateway}:53`,
  }));
}

/** DNAT (from outside and from the host itself, 127.0.0.1 included) and the masquerades it needs. */
export function portRules(p: {
  hostIp: string;
  hostPort: number;
  proto: string;
  containerIp: string;
  containerPort: number;
  bridge: string;
  subnet: string;
}): Rule[] {
  const dst = p.hostIp && p.hostIp !== '0.0.0.0' ? `-d ${p.hostIp} ` : '';
  const match = `${dst}-p ${p.proto} -m ${p.proto} --dport ${p.hostPort}`;
  const to = `-j DNAT --to-destination ${p.containerIp}:${p.containerPort}`;
  const back = `-d ${p.containerIp}/32 -o ${p.bridge} -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} -j MASQUERADE`;
  return [
    { table: 'nat', spec: `-A PREROUTING -m addrtype --dst-type LOCAL ${match} ${to}` },
    { table: 'nat', spec: `-A OUTPUT -m addrtype --dst-type LOCAL ${match} ${to}` },
    { table: 'nat', spec: `-A POSTROUTING -s 127.0.0.0/8 ${back}` },
    { table: 'nat', spec: `-A POSTROUTING -s ${p.subnet} ${back}` },
  ];
}

/**
 * Isolation between two bridge networks of this daemon (dockerd's DOCKER-ISOLATION chains, as
 * pairs): nothing is forwarded from one bridge to the other, either way. Inserted on top of
 * FORWARD, above the networks' ACCEPT rules.
 */
export function isolationRules(a: string, b: string): Rule[] {
  return [
    { table: 'filter', spec: `-I FORWARD -i ${a} -o ${b} -j DROP` },
    { table: 'filter', spec: `-I FORWARD -i ${b} -o ${a} -j DROP` },
  ];
}

/** Whether iptables-save shows a drop from bridge `a` to bridge `b` tagged by us. */
export function hasIsolation(saved: Map<Table, string[]>, a: string, b: string): boolean {
  return (saved.get('filter') ?? []).some((l) => l.includes(`-i ${a} -o ${b} `) && /--comment "?berth:[^:]+:iso/.test(l) && l.includes('-j DROP'));
}

/** Whether an iptables-save line names `bridge` as its input or output interface. */
export const mentions = (line: string, bridge: string): boolean => line.includes(`-i ${bridge} `) || line.includes(`-o ${bridge} `);

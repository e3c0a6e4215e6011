/**
 * A container's /etc files: hostname, hosts (localhost, --add-host with host-gateway, the
 * network's own lines: the container's addresses, links, aliases) and resolv.conf as dockerd
 * writes them. Derived from the record and networking, rewritten at every start: no fsync.
 */
import { promises as fs, readFileSync } from 'node:fs';
import type { ContainerNetworking } from './networking.js';
import type { Container, HostConfig } from './types.js';

/** What the /etc files need from networking: the lines and resolvers it contributes. */
export type EtcNetworking = Pick<ContainerNetworking, 'etcInfo'>;

const isContainerMode = (c: Container): boolean => c.HostConfig.NetworkMode.startsWith('container:');

/** Writes hostname, hosts and resolv.conf (none for `container:` networking: the donor's are used). */
export async function writeEtcFiles(c: Container, network: EtcNetworking): Promise<void> {
  if (isContainerMode(c)) return;
  // Derived files, rewritten at every start: no fsync needed.
  await fs.writeFile(c.HostnamePath, `${c.Config.Hostname}\n`, { mode: 0o644 });
  const net = network.etcInfo(c);
  // --network host without --add-host: a copy of the host's /etc/hosts (dockerd's).
  const hostCopy =
    c.HostConfig.NetworkMode === 'host' && (c.HostConfig.ExtraHosts ?? []).length === 0
      ? await fs.readFile('/etc/hosts', 'utf8').catch(() => undefined)
      : undefined;
  if (hostCopy !== undefined) {
    await fs.writeFile(c.HostsPath, hostCopy, { mode: 0o644 });
    await fs.writeFile(c.ResolvConfPath, resolvConf(c.HostConfig, net), { mode: 0o644 });
    return;
  }
  const hosts = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...(c.HostConfig.ExtraHosts ?? []).map((h) => {
      const i = h.indexOf(':');
      const ip = h.slice(i + 1);
      return `${ip === 'host-gateway' && net?.hostGateway ? net.hostGateway : ip}\t${h.slice(0, i)}`;
    }),
    ...(net?.hostsLines ?? []),
  ];
  await fs.writeFile(c.HostsPath, `${hosts.join('\n')}\n`, { mode: 0o644 });
  await fs.writeFile(c.ResolvConfPath, resolvConf(c.HostConfig, net), { mode: 0o644 });
}

/**
 * resolv.conf as dockerd writes it: the host's file without loopback nameservers when nothing
 * is overridden; else (or with the embedded DNS) `search`, `nameserver` and `options` lines
 * built from the overrides or the host's values, the embedded DNS's 127.0.0.11 replacing the
 * nameservers (it forwards to them) and adding `ndots:0` unless an ndots option is given.
 */
export function resolvConf(h: HostConfig, net?: { nameservers?: string[]; options?: string[] }): string {
  let host = '';
  try {
    host = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    host = '';
  }
  const lines = host.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1\s*$)/.test(l));
  const hasNs = (ls: string[]): boolean => ls.some((l) => /^\s*nameserver\s/.test(l));
  const fallback = ['nameserver 8.8.8.8', 'nameserver 8.8.4.4'];
  if (!net?.nameservers && h.Dns.length === 0 && h.DnsSearch.length === 0 && h.DnsOptions.length === 0) {
    const out = lines.filter((l, i, a) => !(l === '' && i === a.length - 1));
    return `${(hasNs(out) ? out : [...out, ...fallback]).join('\n')}\n`;
  }
  const values = (key: string): string[] => {
    const found = lines.filter((l) => new RegExp(`^\\s*${key}\\s`).test(l));
    return found.length === 0 ? [] : (found[found.length - 1] as string).trim().split(/\s+/).slice(1);
  };
  const search = h.DnsSearch.length > 0 ? h.DnsSearch : values('search');
  const hostNs = lines.filter((l) => /^\s*nameserver\s/.test(l)).map((l) => l.trim().split(/\s+/)[1] as string);
  const servers = net?.nameservers ?? (h.Dns.length > 0 ? h.Dns : hostNs.length > 0 ? hostNs : ['8.8.8.8', '8.8.4.4']);
  const options = [...(h.DnsOptions.length > 0 ? h.DnsOptions : values('options'))];
  for (const o of net?.options ?? []) if (!options.some((x) => x.split(':')[0] === o.split(':')[0])) options.push(o);
  const out = [
    ...(search.length > 0 && !(search.length === 1 && search[0] === '.') ? [`search ${search.join(' ')}`] : []),
    ...servers.map((d) => `nameserver ${d}`),
    ...(options.length > 0 ? [`options ${options.join(' ')}`] : []),
  ];
  return `${out.join('\n')}\n`;
}

/**
 * Published ports: the container's PortBindings and -P's exposed ports → concrete mappings, with
 * host ports allocated (random ones from dockerd's range) and collisions refused with dockerd's
 * message. A port is taken if this daemon maps it already or if something on the host listens on it.
 */
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { invalid, system } from '../lib/errors.js';
import type { PortMapping } from './types.js';
import { hostHasIPv6 } from './proxy6.js';

export interface PortRequest {
  HostIp: string;
  HostPort: string;
  ContainerPort: number;
  Proto: 'tcp' | 'udp' | 'sctp';
}

const RANDOM_FIRST = 49153;
const RANDOM_LAST = 60999;

/** Expands Docker's PortBindings (+ exposed ports with PublishAllPorts) into per-port requests. */
export function portRequests(o: {
  bindings: Record<string, unknown> | null | undefined;
  exposed: Record<string, unknown> | undefined;
  publishAll: boolean;
}): PortRequest[] {
  const out: PortRequest[] = [];
  const seen = new Set<string>();
  for (const [key, list] of Object.entries(o.bindings ?? {})) {
    const { ports, proto } = parsePortKey(key);
    const arr = Array.isArray(list) && list.length > 0 ? (list as Array<{ HostIp?: string; HostPort?: string }>) : [{}];
    for (const b of arr) {
      const hostPort = b.HostPort ?? '';
      const hp = /^(\d+)-(\d+)$/.exec(hostPort);
      ports.forEach((cp, i) => {
        let h = hostPort;
        if (hp) h = ports.length > 1 ? String(Number(hp[1]) + i) : hostPort;
        out.push({ HostIp: b.HostIp ?? '', HostPort: h, ContainerPort: cp, Proto: proto });
        seen.add(`${cp}/${proto}`);
      });
    }
  }
  if (o.publishAll) {
    for (const key of Object.keys(o.exposed ?? {})) {
      const { ports, proto } = parsePortKey(key);
      for (const cp of ports) {
        if (!seen.has(`${cp}/${proto}`)) out.push({ HostIp: '', HostPort: '', ContainerPort: cp, Proto: proto });
      }
    }
  }
  return out;
}

export function parsePortKey(key: string): { ports: number[]; proto: 'tcp' | 'udp' | 'sctp' } {
  const [p = '', protoRaw = 'tcp'] = key.split('/');
  const proto = (protoRaw || 'tcp').toLowerCase();
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw invalid(`invalid proto: ${protoRaw}`);
  const m = /^(\d+)(?:-(\d+))?$/.exec(p);
  if (!m) throw invalid(`invalid port specification: "${p}"`);
  const a = Number(m[1]);
  const b = m[2] ? Number(m[2]) : a;
  if (a < 1 || b > 65535 || b < a) throw invalid(`invalid port specification: "${p}"`);
  return { ports: Array.from({ length: b - a + 1 }, (_, i) => a + i), proto };
}

/** Whether nothing on the host listens on ip:port/proto. */
function bindable(ip: string, port: number, proto: string): Promise<boolean> {
  return new Promise((resolve) => {
    const host = ip || '0.0.0.0';
    const v6 = host.includes(':');
    if (proto === 'udp') {
      const s = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ...(v6 ? { ipv6Only: true } : {}) });
      s.once('error', () => resolve(false));
      s.bind(port, host, () => s.close(() => resolve(true)));
      return;
    }
    if (proto === 'sctp') return resolve(true);
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host, exclusive: true, ...(v6 ? { ipv6Only: true } : {}) }, () => s.close(() => resolve(true)));
  });
}

/** Allocates host ports for `reqs`; `inUse` holds `ip:port/proto` keys this daemon maps. */
export async function allocatePorts(o: {
  reqs: PortRequest[];
  inUse: Set<string>;
  containerIp: string;
  bridge: string;
  endpointName: string;
  endpointId: string;
  /** Also publish unaddressed ports on [::] (dockerd's default when the host has IPv6). */
  ipv6?: boolean;
}): Promise<PortMapping[]> {
  const out: PortMapping[] = [];
  const dual = o.ipv6 ?? hostHasIPv6();
  const mine = new Set<string>();
  const clash = (ip: string, port: number, proto: string): boolean => {
    for (const set of [o.inUse, mine]) {
      for (const k of set) {
        const [kip = '', rest = ''] = k.split('|');
        if (rest !== `${port}/${proto}`) continue;
        if (kip.includes(':') !== ip.includes(':')) continue; // IPv4 and IPv6 bindings never clash
        if (kip === ip || kip === '0.0.0.0' || ip === '0.0.0.0' || kip === '::' || ip === '::') return true;
      }
    }
    return false;
  };
  for (const r of o.reqs) {
    const ip = r.HostIp || '0.0.0.0';
    const v6 = ip.includes(':');
    // -p 8080:80 binds [::]:8080 too (proxy6.ts); sctp has no proxy.
    const also6 = !v6 && r.HostIp === '' && dual && r.Proto !== 'sctp';
    const free = async (p: number): Promise<boolean> =>
      !clash(ip, p, r.Proto) && (await bindable(r.HostIp, p, r.Proto)) && (!also6 || (!clash('::', p, r.Proto) && (await bindable('::', p, r.Proto))));
    let port = 0;
    if (r.HostPort === '' || r.HostPort === '0' || /^\d+-\d+$/.test(r.HostPort)) {
      const m = /^(\d+)-(\d+)$/.exec(r.HostPort);
      const first = m ? Number(m[1]) : RANDOM_FIRST;
      const last = m ? Number(m[2]) : RANDOM_LAST;
      const span = last - first + 1;
      const startAt = m ? 0 : Math.floor(Math.random() * span);
      for (let i = 0; i < span; i++) {
        const p = first + ((startAt + i) % span);
        if (await free(p)) {
          port = p;
          break;
        }
      }
      if (port === 0) {
        throw system(
          `driver failed programming external connectivity on endpoint ${o.endpointName} (${o.endpointId}): Bind for ${ip}:${r.HostPort || 0} failed: port is already allocated`,
        );
      }
    } else {
      port = Number(r.HostPort);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`invalid hostPort: ${r.HostPort}`);
      if (clash(ip, port, r.Proto)) {
        throw system(
          `driver failed programming external connectivity on endpoint ${o.endpointName} (${o.endpointId}): Bind for ${ip}:${port} failed: port is already allocated`,
        );
      }
      for (const [bip, fam] of [[ip, v6 ? '6' : '4'], ...(also6 ? [['::', '6']] : [])] as Array<[string, string]>) {
        if (bip === '::' && also6 && clash('::', port, r.Proto)) {
          throw system(
            `driver failed programming external connectivity on endpoint ${o.endpointName} (${o.endpointId}): Bind for [::]:${port} failed: port is already allocated`,
          );
        }
        if (!(await bindable(bip === '0.0.0.0' ? r.HostIp : bip, port, r.Proto))) {
          // Another program holds the port: dockerd's docker-proxy fails to listen (its text).
          const shown = bip.includes(':') ? `[${bip}]` : bip;
          throw system(
            `driver failed programming external connectivity on endpoint ${o.endpointName} (${o.endpointId}): Error starting userland proxy: listen ${r.Proto}${fam} ${shown}:${port}: bind: address already in use`,
          );
        }
      }
    }
    mine.add(`${ip}|${port}/${r.Proto}`);
    out.push({ HostIp: ip, HostPort: port, ContainerPort: r.ContainerPort, Proto: r.Proto, ContainerIp: o.containerIp, Bridge: o.bridge });
    if (also6) {
      mine.add(`::|${port}/${r.Proto}`);
      out.push({ HostIp: '::', HostPort: port, ContainerPort: r.ContainerPort, Proto: r.Proto, ContainerIp: o.containerIp, Bridge: o.bridge });
    }
  }
  return out;
}

export const portKey = (p: PortMapping): string => `${p.HostIp}|${p.HostPort}/${p.Proto}`;

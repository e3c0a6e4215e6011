/**
 * The IPv6 side of published ports. dockerd publishes `-p 8080:80` on 0.0.0.0 and on [::] (its
 * docker-proxy listens on both); Berth's IPv4 side is kernel DNAT (firewall.ts), which cannot
 * cross address families, so the [::] side is a proxy inside berthd: a TCP listener (or a UDP
 * socket) on [::]:<port>, IPv6 only, relaying to the container's IPv4 address, as docker-proxy
 * does. Listeners live as long as the container runs and this daemon: after a daemon restart
 * `NetworkService.reconcile` (endpoints.ts) opens them again for running containers.
 */
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';

export interface Proxy6Target {
  hostIp: string;
  hostPort: number;
  proto: string;
  containerIp: string;
  containerPort: number;
}

/** Whether the host has IPv6 (an address on some interface, so [::] can be bound). */
export function hostHasIPv6(): boolean {
  try {
    return existsSync('/proc/net/if_inet6') && readFileSync('/proc/net/if_inet6', 'utf8').trim() !== '';
  } catch {
    return false;
  }
}

const UDP_IDLE_MS = 90_000;

interface Running {
  close(): void;
}

export class Proxy6 {
  private readonly live = new Map<string, Running>();

  private static key(owner: string, t: Proxy6Target): string {
    return `${owner}|${t.hostIp}|${t.hostPort}/${t.proto}`;
  }

  /** Opens the listeners of `owner` (idempotent); resolves when they listen, or throws the bind error. */
  async open(owner: string, targets: Proxy6Target[]): Promise<void> {
    const opened: string[] = [];
    try {
      for (const t of targets) {
        const k = Proxy6.key(owner, t);
        if (this.live.has(k)) continue;
        const r = t.proto === 'udp' ? await udpProxy(t) : t.proto === 'tcp' ? await tcpProxy(t) : undefined;
        if (!r) continue;
        this.live.set(k, r);
        opened.push(k);
      }
    } catch (err) {
      for (const k of opened) this.closeKey(k);
      throw err;
    }
  }

  /** Closes every listener of `owner`. */
  close(owner: string): void {
    for (const k of [...this.live.keys()]) if (k.startsWith(`${owner}|`)) this.closeKey(k);
  }

  closeAll(): void {
    for (const k of [...this.live.keys()]) this.closeKey(k);
  }

  private closeKey(k: string): void {
    this.live.get(k)?.close();
    this.live.delete(k);
  }
}

function tcpProxy(t: Proxy6Target): Promise<Running> {
  const conns = new Set<net.Socket>();
  const server = net.createServer({ pauseOnConnect: false }, (client) => {
    const upstream = net.connect({ host: t.containerIp, port: t.containerPort });
    conns.add(client);
    conns.add(upstream);
    const done = (): void => {
      client.destroy();
      upstream.destroy();
      conns.delete(client);
      conns.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: t.hostIp, port: t.hostPort, ipv6Only: true, exclusive: true }, () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      resolve({
        close: () => {
          server.close();
          for (const s of conns) s.destroy();
        },
      });
    });
  });
}

function udpProxy(t: Proxy6Target): Promise<Running> {
  const sock = dgram.createSocket({ type: 'udp6', ipv6Only: true });
  // One upstream socket per client address, closed after a quiet spell (docker-proxy's model).
  const flows = new Map<string, { up: dgram.Socket; timer: NodeJS.Timeout }>();
  const flowOf = (addr: string, port: number): dgram.Socket => {
    const k = `[${addr}]:${port}`;
    let f = flows.get(k);
    if (!f) {
      const up = dgram.createSocket('udp4');
      up.on('message', (m) => sock.send(m, port, addr));
      up.on('error', () => undefined);
      f = { up, timer: setTimeout(() => undefined, 0) };
      flows.set(k, f);
    }
    clearTimeout(f.timer);
    const flow = f;
    f.timer = setTimeout(() => {
      flow.up.close();
      flows.delete(k);
    }, UDP_IDLE_MS);
    f.timer.unref();
    return f.up;
  };
  sock.on('message', (m, rinfo) => flowOf(rinfo.address, rinfo.port).send(m, t.containerPort, t.containerIp));
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: t.hostIp, port: t.hostPort, exclusive: true }, () => {
      sock.off('error', reject);
      sock.on('error', () => undefined);
      resolve({
        close: () => {
          for (const f of flows.values()) {
            clearTimeout(f.timer);
            f.up.close();
          }
          flows.clear();
          sock.close();
        },
      });
    });
  });
}

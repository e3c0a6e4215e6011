/**
 * The embedded DNS server of user-defined networks. It answers A queries for the names, aliases
 * and short IDs of containers on the querying container's network, and forwards everything else
 * to upstream resolvers (the container's --dns servers, else the host's). It listens on each
 * user network's gateway address (UDP and TCP port 53), which is what containers get as their
 * nameserver; see docs/networking.md for why not 127.0.0.11.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';

export interface DnsAnswer {
  /** IPv4 addresses for A queries; an empty list answers NOERROR with no records. */
  ips: string[];
  /** IPv6 addresses for AAAA queries. */
  ip6s: string[];
}

export interface DnsResolver {
  /** A name known on the network whose gateway is `local`, asked by `from`; undefined → forward. */
  lookup(o: { local: string; from: string; name: string }): DnsAnswer | undefined;
  /** The name (`<container>.<network>`) of address `ip` on the network whose gateway is `local`; undefined → forward. */
  reverse?(o: { local: string; ip: string }): string | undefined;
  /** Upstream servers for a query from `from`. */
  upstreams(from: string): string[];
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_PTR = 12;

/** `4.3.2.1.in-addr.arpa` → 1.2.3.4; 32 nibbles `….ip6.arpa` → the IPv6 address (uncompressed). */
export function reverseName(name: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  let m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(n);
  if (m) {
    const parts = [m[4], m[3], m[2], m[1]].map(Number);
    return parts.every((x) => x <= 255) ? parts.join('.') : undefined;
  }
  m = /^((?:[0-9a-f]\.){32})ip6\.arpa$/.exec(n);
  if (!m) return undefined;
  const nibbles = (m[1] as string).split('.').filter(Boolean).reverse().join('');
  return (nibbles.match(/.{4}/g) ?? []).join(':');
}

function encodeName(name: string): Buffer {
  const parts = name
    .replace(/\.$/, '')
    .split('.')
    .filter(Boolean)
    .map((l) => {
      const b = Buffer.from(l.slice(0, 63), 'latin1');
      return Buffer.concat([Buffer.from([b.length]), b]);
    });
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function ptrReply(query: Buffer, q: Question, target: string): Buffer {
  const head = Buffer.from(query.subarray(0, q.end));
  head.writeUInt16BE(0x8000 | (q.flags & 0x7900) | 0x0080, 2); // not authoritative (nslookup says so with dockerd too)
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(1, 6);
  head.writeUInt16BE(0, 8);
  head.writeUInt16BE(0, 10);
  const data = encodeName(target);
  const a = Buffer.alloc(12);
  a.writeUInt16BE(0xc00c, 0);
  a.writeUInt16BE(TYPE_PTR, 2);
  a.writeUInt16BE(1, 4);
  a.writeUInt32BE(600, 6);
  a.writeUInt16BE(data.length, 10);
  return Buffer.concat([head, a, data]);
}

interface Question {
  id: number;
  flags: number;
  name: string;
  type: number;
  /** Offset just past the question. */
  end: number;
}

function parseQuestion(msg: Buffer): Question | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let off = 12;
  for (;;) {
    const len = msg[off];
    if (len === undefined || len > 63) return undefined;
    off++;
    if (len === 0) break;
    labels.push(msg.subarray(off, off + len).toString('latin1'));
    off += len;
  }
  if (off + 4 > msg.length) return undefined;
  return { id: msg.readUInt16BE(0), flags: msg.readUInt16BE(2), name: labels.join('.'), type: msg.readUInt16BE(off), end: off + 4 };
}

function reply(query: Buffer, q: Question, rcode: number, ips: string[], type = TYPE_A): Buffer {
  const head = Buffer.from(query.subarray(0, q.end));
  // QR, opcode and RD from the query, RA set.
  head.writeUInt16BE(0x8000 | (q.flags & 0x7900) | 0x0080 | rcode, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(ips.length, 6);
  head.writeUInt16BE(0, 8);
  head.writeUInt16BE(0, 10);
  const answers = ips.map((ip) => {
    const data = type === TYPE_A ? Buffer.from(ip.split('.').map(Number)) : ipv6Bytes(ip);
    const a = Buffer.alloc(12 + data.length);
    a.writeUInt16BE(0xc00c, 0);
    a.writeUInt16BE(type, 2);
    a.writeUInt16BE(1, 4);
    a.writeUInt32BE(600, 6);
    a.writeUInt16BE(data.length, 10);
    data.copy(a, 12);
    return a;
  });
  return Buffer.concat([head, ...answers]);
}

function ipv6Bytes(ip: string): Buffer {
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(Number.parseInt(g, 16) || 0, i * 2));
  return b;
}

function forwardUdp(query: Buffer, upstream: string, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(net.isIPv6(upstream) ? 'udp6' : 'udp4');
    const t = setTimeout(() => {
      s.close();
      reject(new Error('timeout'));
    }, timeoutMs);
    s.on('error', (e) => {
      clearTimeout(t);
      s.close();
      reject(e);
    });
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(query, 53, upstream);
  });
}

export class EmbeddedDns {
  private readonly udp = new Map<string, dgram.Socket>();
  private readonly tcp = new Map<string, net.Server>();

  constructor(private readonly resolver: DnsResolver) {}

  /** Answers one query (a DNS message) from `from` arriving on `local`. */
  async answer(query: Buffer, local: string, from: string): Promise<Buffer | undefined> {
    const q = parseQuestion(query);
    if (!q) return undefined;
    if (q.type === TYPE_PTR && this.resolver.reverse) {
      const ip = reverseName(q.name);
      const target = ip ? this.resolver.reverse({ local, ip }) : undefined;
      if (target) return ptrReply(query, q, target);
    }
    const known = this.resolver.lookup({ local, from, name: q.name.replace(/\.$/, '') });
    if (known) {
      if (q.type === TYPE_AAAA) return reply(query, q, 0, known.ip6s, TYPE_AAAA);
      return reply(query, q, 0, q.type === TYPE_A ? known.ips : []);
    }
    for (const up of this.resolver.upstreams(from)) {
      try {
        return await forwardUdp(query, up, 2000);
      } catch {
        /* next */
      }
    }
    return reply(query, q, 2, []); // SERVFAIL
  }

  /** Serves on `ip`:53 (UDP and TCP). Idempotent. */
  async listen(ip: string): Promise<void> {
    if (this.udp.has(ip)) return;
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    s.on('message', (msg, rinfo) => {
      void this.answer(msg, ip, rinfo.address).then((r) => {
        if (r) s.send(r, rinfo.port, rinfo.address);
      });
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(53, ip, () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.on('error', () => undefined);
    this.udp.set(ip, s);
    const t = net.createServer((c) => this.serveTcp(c, ip));
    t.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      t.once('error', () => resolve());
      t.listen(53, ip, () => resolve());
    });
    this.tcp.set(ip, t);
  }

  private serveTcp(c: net.Socket, ip: string): void {
    let buf = Buffer.alloc(0);
    c.on('error', () => undefined);
    c.setTimeout(10_000, () => c.destroy());
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        void this.answer(msg, ip, c.remoteAddress?.replace(/^::ffff:/, '') ?? '').then((r) => {
          if (!r || c.destroyed) return;
          const l = Buffer.alloc(2);
          l.writeUInt16BE(r.length);
          c.write(Buffer.concat([l, r]));
        });
      }
    });
  }

  close(ip: string): void {
    this.udp.get(ip)?.close();
    this.udp.delete(ip);
    this.tcp.get(ip)?.close();
    this.tcp.delete(ip);
  }

  closeAll(): void {
    for (const ip of [...this.udp.keys()]) this.close(ip);
  }
}

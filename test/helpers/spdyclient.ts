/**
 * A minimal client of the CRI streaming server for tests that cannot use crictl: the HTTP
 * upgrade to SPDY/3.1 as client-go does it, then remotecommand or port-forward streams on a
 * SpdySession. crictl (a real client-go client) is what the integration tests count on; this
 * drives the edges crictl cannot reach (bad tokens, protocols, timing of streams).
 */
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { SpdySession, type SpdyStream } from '../../src/cri/streaming/session.js';

export interface Upgraded {
  session: SpdySession;
  protocol: string | undefined;
}

/** POSTs `url` asking for SPDY/3.1 with `protocols`; rejects with the status and body when refused. */
export function upgrade(url: string, protocols: string[]): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { Connection: 'Upgrade', Upgrade: 'SPDY/3.1' };
    if (protocols.length > 0) headers['X-Stream-Protocol-Version'] = protocols;
    const req = http.request(url, { method: 'POST', headers });
    req.on('upgrade', (res, socket: Duplex, head: Buffer) => {
      if (head.length > 0) socket.unshift(head);
      const p = res.headers['x-stream-protocol-version'];
      resolve({ session: new SpdySession(socket, { server: false }), protocol: Array.isArray(p) ? p[0] : p });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, headers: res.headers, body })));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a stream with client-go's headers (`streamType` and any others). */
export function openStream(session: SpdySession, type: string, extra: Record<string, string> = {}): SpdyStream {
  const h = new Map<string, string[]>([['streamtype', [type]]]);
  for (const [k, v] of Object.entries(extra)) h.set(k.toLowerCase(), [v]);
  return session.open(h);
}

/** Everything a readable stream delivers until it ends. */
export function readAll(s: SpdyStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (b: Buffer) => parts.push(b));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('close', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** The error stream's text (v4: the Status JSON). */
  error: string;
}

/** Runs a remotecommand session the way client-go's v4 client does. */
export async function runRemoteCommand(
  url: string,
  o: { stdin?: string; stdout?: boolean; stderr?: boolean; tty?: boolean; protocols?: string[]; resize?: { Width: number; Height: number } },
): Promise<ExecResult & { protocol: string | undefined }> {
  const { session, protocol } = await upgrade(url, o.protocols ?? ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io']);
  const error = openStream(session, 'error');
  const errText = readAll(error);
  if (o.tty && o.resize) {
    const r = openStream(session, 'resize');
    r.write(JSON.stringify(o.resize) + '\n');
  }
  const stdout = o.stdout !== false ? readAll(openStream(session, 'stdout')) : Promise.resolve(Buffer.alloc(0));
  const stderr = o.stderr && !o.tty ? readAll(openStream(session, 'stderr')) : Promise.resolve(Buffer.alloc(0));
  if (o.stdin !== undefined) {
    const s = openStream(session, 'stdin');
    await s.replied;
    s.end(o.stdin);
  }
  const [out, err, e] = await Promise.all([stdout, stderr, errText]);
  session.destroy();
  return { stdout: out.toString(), stderr: err.toString(), error: e.toString(), protocol };
}

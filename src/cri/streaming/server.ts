/**
 * The CRI streaming server: the URL that `Exec`, `Attach` and `PortForward` return, and the HTTP
 * server behind it. As the kubelet's (k8s.io/kubelet/pkg/cri/streaming): each RPC stores its
 * request under a random one-time token and answers `http://<address>/<exec|attach|portforward>/<token>`;
 * the client then POSTs (or GETs) that URL asking for `Upgrade: SPDY/3.1` with the stream
 * protocols it speaks in `X-Stream-Protocol-Version` headers. A token is good for one use and a
 * minute. The upgrade answers 101 with the protocol chosen (the client's first the server speaks);
 * no protocol in common is a 403 listing the server's in `X-Accepted-Stream-Protocol-Versions`.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { invalid } from '../../lib/errors.js';
import { PORTFORWARD_PROTOCOLS, servePortForward } from './portforward.js';
import { REMOTECOMMAND_PROTOCOLS, commandStatus, errorStreamText, serveRemoteCommand, type CommandIO } from './remotecommand.js';
import { WEBSOCKET_PROTOCOLS, acceptWebSocket, isWebSocketRequest, offeredSubprotocols, wsChannels, type WsConn } from './websocket.js';
import { SpdySession } from './session.js';

/** What the streaming server runs commands and forwards ports with (the CRI side implements it). */
export interface StreamingRuntime {
  /** Runs `cmd` in the container with `io`; resolves with its exit code. Throws BerthErrors. */
  exec(containerId: string, cmd: string[], io: CommandIO): Promise<{ exitCode: number }>;
  /** Attaches `io` to the container's main process until it exits or the client leaves. */
  attach(containerId: string, io: CommandIO): Promise<void>;
  /** Connects `conn` to `port` on the pod's loopback; resolves when that connection has ended. */
  portForward(podSandboxId: string, port: number, conn: Duplex): Promise<void>;
}

/** The CRI requests (field names as the CRI's proto-loader objects carry them). */
export interface ExecRequest {
  container_id: string;
  cmd: string[];
  tty?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
}
export interface AttachRequest {
  container_id: string;
  tty?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
}
export interface PortForwardRequest {
  pod_sandbox_id: string;
  port?: number[];
}

export interface StreamingServerOptions {
  /** Address to listen on (default 127.0.0.1, as the kubelet's own streaming server for CRI runtimes). */
  address?: string;
  /** Port (default 0: an ephemeral one). */
  port?: number;
  /** How long a token is good (default 1 minute). */
  tokenTtlMs?: number;
  /** How long a client has to open its streams after the upgrade (default 30 s, the kubelet's). */
  streamCreationTimeoutMs?: number;
  /** Most tokens outstanding (default 1000, the kubelet's cache size); the oldest go first. */
  maxTokens?: number;
  /** A session with no traffic this long is closed (default 4 h, the kubelet's streaming idle timeout). */
  idleTimeoutMs?: number;
}

type Pending =
  | { kind: 'exec'; req: ExecRequest; expires: number }
  | { kind: 'attach'; req: AttachRequest; expires: number }
  | { kind: 'portforward'; req: PortForwardRequest; expires: number };

export class StreamingServer {
  private server: http.Server | undefined;
  private readonly tokens = new Map<string, Pending>();
  private readonly sessions = new Set<SpdySession>();
  private readonly websockets = new Set<WsConn>();
  private readonly o: Required<StreamingServerOptions>;

  constructor(
    private readonly runtime: StreamingRuntime,
    opts: StreamingServerOptions = {},
  ) {
    this.o = {
      address: opts.address ?? '127.0.0.1',
      port: opts.port ?? 0,
      tokenTtlMs: opts.tokenTtlMs ?? 60_000,
      streamCreationTimeoutMs: opts.streamCreationTimeoutMs ?? 30_000,
      maxTokens: opts.maxTokens ?? 1000,
      idleTimeoutMs: opts.idleTimeoutMs ?? 4 * 3600_000,
    };
  }

  /** Starts listening. */
  async start(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => this.onRequest(req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    server.on('clientError', (_err, socket: Duplex) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  /** Stops listening and ends every session. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sess of this.sessions) sess.destroy();
    this.sessions.clear();
    for (const ws of this.websockets) ws.destroy();
    this.websockets.clear();
    this.tokens.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** The base URL (`http://host:port`); throws when not started. */
  get baseUrl(): string {
    if (!this.server) throw new Error('streaming server not started');
    const a = this.server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  /** `Exec`'s answer; throws InvalidParameter for a request the kubelet would refuse. */
  exec(req: ExecRequest): { url: string } {
    if (!req.container_id) throw invalid('missing required container_id');
    if (!Array.isArray(req.cmd) || req.cmd.length === 0) throw invalid('missing required cmd');
    checkStreams(req);
    return { url: this.issue({ kind: 'exec', req, expires: 0 }) };
  }

  /** `Attach`'s answer. */
  attach(req: AttachRequest): { url: string } {
    if (!req.container_id) throw invalid('missing required container_id');
    checkStreams(req);
    return { url: this.issue({ kind: 'attach', req, expires: 0 }) };
  }

  /** `PortForward`'s answer. */
  portForward(req: PortForwardRequest): { url: string } {
    if (!req.pod_sandbox_id) throw invalid('missing required pod_sandbox_id');
    for (const p of req.port ?? []) if (!(Number.isInteger(p) && p > 0 && p < 65536)) throw invalid(`invalid port ${p}`);
    return { url: this.issue({ kind: 'portforward', req, expires: 0 }) };
  }

  private issue(p: Pending): string {
    const now = Date.now();
    for (const [t, e] of this.tokens) if (e.expires <= now) this.tokens.delete(t);
    while (this.tokens.size >= this.o.maxTokens) this.tokens.delete(this.tokens.keys().next().value as string);
    const token = randomBytes(12).toString('base64url');
    this.tokens.set(token, { ...p, expires: now + this.o.tokenTtlMs });
    return `${this.baseUrl}/${p.kind}/${token}`;
  }

  /** The request behind a URL path, consumed (one use). */
  private take(url: string | undefined): Pending | undefined {
    const m = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)(?:\?.*)?$/.exec(url ?? '');
    if (!m) return undefined;
    const p = this.tokens.get(m[2] as string);
    if (!p || p.kind !== m[1]) return undefined;
    this.tokens.delete(m[2] as string);
    return p.expires > Date.now() ? p : undefined;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    // Not an upgrade: the kubelet's answer for the SPDY handlers.
    const p = this.take(req.url);
    const status = p ? 400 : 404;
    const body = p ? 'unable to upgrade: missing upgrade headers in request\n' : '404 page not found\n';
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(body);
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    if (req.method !== 'GET' && req.method !== 'POST') return reject(socket, 405, 'Method Not Allowed', 'method not allowed\n');
    const p = this.take(req.url);
    if (!p) return reject(socket, 404, 'Not Found', '404 page not found\n');
    if (isWebSocketRequest(req)) return this.onWebSocket(req, socket, head, p);
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    const connection = String(req.headers.connection ?? '').toLowerCase();
    const supported = p.kind === 'portforward' ? PORTFORWARD_PROTOCOLS : REMOTECOMMAND_PROTOCOLS;
    const offered = headerList(req.headersDistinct['x-stream-protocol-version']);
    // A client offering none is a legacy one (channel.k8s.io, or port forwarding's only protocol).
    const protocol = offered.length === 0 ? (supported.at(-1) as string) : offered.find((x) => supported.includes(x));
    if (protocol === undefined) {
      const msg = `unable to upgrade: unable to negotiate protocol: client supports ${goList(offered)}, server accepts ${goList(supported)}\n`;
      return reject(socket, 403, 'Forbidden', msg, { 'X-Accepted-Stream-Protocol-Versions': supported.join(', ') });
    }
    if (!connection.split(/\s*,\s*/).includes('upgrade') || upgrade !== 'spdy/3.1') {
      return reject(socket, 400, 'Bad Request', 'unable to upgrade: missing upgrade headers in request\n');
    }
    const lines = ['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1'];
    if (offered.length > 0) lines.push(`X-Stream-Protocol-Version: ${protocol}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) socket.unshift(head);
    const session = new SpdySession(socket, { server: true });
    const tcp = socket as Partial<Socket>;
    tcp.setTimeout?.(this.o.idleTimeoutMs, () => session.destroy());
    this.sessions.add(session);
    session.on('close', () => this.sessions.delete(session));
    void this.serve(session, protocol, p).catch(() => session.destroy());
  }

  private async serve(session: SpdySession, protocol: string, p: Pending): Promise<void> {
    const timeout = this.o.streamCreationTimeoutMs;
    if (p.kind === 'portforward') {
      const pod = p.req.pod_sandbox_id;
      await servePortForward(session, {
        podSandboxId: pod,
        streamCreationTimeoutMs: timeout,
        forward: (port, conn) => this.runtime.portForward(pod, port, conn),
      });
      return;
    }
    const c = this.command(p);
    await serveRemoteCommand(session, protocol, { ...c, streamCreationTimeoutMs: timeout });
  }

  /** exec or attach as the protocols run it: the streams asked for, the runtime call. */
  private command(p: Pending & { kind: 'exec' | 'attach' }): {
    stdin: boolean;
    stdout: boolean;
    stderr: boolean;
    tty: boolean;
    describe?: string;
    run: (io: CommandIO) => Promise<{ exitCode: number }>;
  } {
    const r = p.req;
    const flags = { stdin: !!r.stdin, stdout: !!r.stdout, stderr: !!r.stderr, tty: !!r.tty };
    if (p.kind === 'exec') {
      const cmd = p.req.cmd;
      return { ...flags, describe: `[${cmd.join(' ')}]`, run: (io) => this.runtime.exec(r.container_id, cmd, io) };
    }
    return {
      ...flags,
      run: async (io) => {
        await this.runtime.attach(r.container_id, io);
        return { exitCode: 0 };
      },
    };
  }

  /** exec and attach over a WebSocket (websocket.ts); port forwarding there is not offered. */
  private onWebSocket(req: http.IncomingMessage, socket: Duplex, head: Buffer, p: Pending): void {
    if (p.kind === 'portforward') return reject(socket, 400, 'Bad Request', 'port forwarding over WebSocket is not supported: use SPDY\n');
    const offered = offeredSubprotocols(req);
    const protocol = offered.find((x) => WEBSOCKET_PROTOCOLS.includes(x));
    if (protocol === undefined) {
      return reject(
        socket,
        400,
        'Bad Request',
        `unable to upgrade: no supported subprotocol in ${goList(offered)}, server accepts ${goList(WEBSOCKET_PROTOCOLS)}\n`,
      );
    }
    const ws = acceptWebSocket(req, socket, head, protocol);
    if (!ws) return reject(socket, 400, 'Bad Request', 'missing Sec-WebSocket-Key\n');
    (socket as Partial<Socket>).setTimeout?.(this.o.idleTimeoutMs, () => ws.destroy());
    this.websockets.add(ws);
    ws.on('close', () => this.websockets.delete(ws));
    const c = this.command(p);
    const ch = wsChannels(ws, protocol, c);
    void (async () => {
      const text = errorStreamText(await commandStatus(c, ch.io), ch.version);
      if (text) ch.writeError(text);
      ch.close();
    })();
  }
}

function checkStreams(r: { tty?: boolean; stdin?: boolean; stdout?: boolean; stderr?: boolean }): void {
  if (r.tty && r.stderr) throw invalid('tty and stderr cannot both be true');
  if (!r.stdin && !r.stdout && !r.stderr) throw invalid('one of stdin, stdout, or stderr must be set');
}

/** Header values, each possibly a comma-separated list. */
function headerList(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

function goList(xs: string[]): string {
  return `[${xs.join(' ')}]`;
}

function reject(socket: Duplex, status: number, reason: string, body: string, headers: Record<string, string> = {}): void {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  try {
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `${extra.join('')}Connection: close\r\n\r\n${body}`,
    );
  } catch {
    socket.destroy();
  }
}

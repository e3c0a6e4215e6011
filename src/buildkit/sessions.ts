/**
 * BuildKit sessions: a client (buildx) opens `POST /session`, the Engine API hijacks the
 * connection, and over it berthd is the HTTP/2 client of the gRPC services the CLI serves
 * (filesync for the context, secrets, auth, ssh…). A solve names its session by ID and finds it
 * here; it may arrive before the session's connection does, so `get` waits for it.
 */
import * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { unavailable } from '../lib/errors.js';
import { GrpcClient } from './grpc.js';

/** What the `X-Docker-Expose-Session-*` headers of `POST /session` say. */
export interface SessionHeaders {
  id: string;
  name: string;
  sharedKey: string;
  /** The gRPC methods the client serves (`/moby.filesync.v1.FileSync/DiffCopy`, …). */
  methods: string[];
}

export class Session {
  readonly client: GrpcClient;
  readonly closed: Promise<void>;
  private readonly methods: Set<string>;

  constructor(
    readonly info: SessionHeaders,
    private readonly h2: http2.ClientHttp2Session,
  ) {
    this.client = new GrpcClient(h2);
    this.methods = new Set(info.methods);
    this.closed = new Promise((resolve) => h2.once('close', () => resolve()));
  }

  /** Whether the client serves `method` (a full gRPC path). */
  supports(method: string): boolean {
    return this.methods.has(method);
  }

  close(): void {
    this.h2.destroy();
  }
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly waiters = new Map<string, Array<(s: Session) => void>>();

  /** Takes over a hijacked `/session` connection: berthd speaks HTTP/2 as the client on it. */
  attach(socket: Duplex, head: Buffer, info: SessionHeaders): Session {
    if (head.length > 0) socket.unshift(head);
    const h2 = http2.connect('http://session', {
      createConnection: () => socket,
      settings: { initialWindowSize: 4 << 20 },
    });
    h2.on('error', () => undefined);
    h2.on('connect', () => {
      try {
        h2.setLocalWindowSize(16 << 20);
      } catch {
        // the window is a throughput hint only
      }
    });
    const s = new Session(info, h2);
    this.sessions.get(info.id)?.close();
    this.sessions.set(info.id, s);
    void s.closed.then(() => {
      if (this.sessions.get(info.id) === s) this.sessions.delete(info.id);
    });
    for (const w of this.waiters.get(info.id) ?? []) w(s);
    this.waiters.delete(info.id);
    return s;
  }

  /** The session `id`, waiting up to `timeoutMs` for its connection to arrive. */
  async get(id: string, timeoutMs = 10_000): Promise<Session> {
    const s = this.sessions.get(id);
    if (s) return s;
    return new Promise<Session>((resolve, reject) => {
      const list = this.waiters.get(id) ?? [];
      const timer = setTimeout(() => {
        const l = this.waiters.get(id);
        if (l)
          this.waiters.set(
            id,
            l.filter((w) => w !== done),
          );
        reject(unavailable(`no active session for ${id}: context deadline exceeded`));
      }, timeoutMs);
      const done = (sess: Session): void => {
        clearTimeout(timer);
        resolve(sess);
      };
      list.push(done);
      this.waiters.set(id, list);
    });
  }

  closeAll(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }
}

/**
 * `POST /session`: a BuildKit session. The connection is hijacked (`101`, `Upgrade: h2c`); the
 * `X-Docker-Expose-Session-*` headers name it and list the gRPC methods the client serves, and
 * berthd becomes the HTTP/2 client on it (`buildkit/sessions.ts`) until the client closes it.
 */
import type { Duplex } from 'node:stream';
import type { SessionHeaders } from '../buildkit/sessions.js';
import { invalid } from '../lib/errors.js';
import { switchToH2c } from './grpc.js';
import { splitChunkedBody, type Router } from './router.js';

const headerList = (v: string | string[] | undefined): string[] =>
  (v === undefined ? [] : Array.isArray(v) ? v : [v])
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean);

/** Where a hijacked session connection goes (buildkit/sessions.ts's SessionManager). */
export interface SessionAttach {
  /** Takes over the connection (and the bytes read past the request's head) as an HTTP/2 client. */
  attach(socket: Duplex, head: Buffer, info: SessionHeaders): unknown;
}

export function registerSessionRoutes(r: Router, sessions: SessionAttach): void {
  r.add('POST', '/session', async (ctx) => {
    const h = ctx.req.headers;
    const id = String(h['x-docker-expose-session-uuid'] ?? '');
    if (id === '') throw invalid('no session uuid');
    if (!ctx.upgrade || String(h['upgrade'] ?? '').toLowerCase() !== 'h2c') throw invalid('session requires an h2c upgrade');
    switchToH2c(ctx.socket);
    const { rest } = await splitChunkedBody(ctx.req, ctx.socket, ctx.head);
    sessions.attach(ctx.socket, rest, {
      id,
      name: String(h['x-docker-expose-session-name'] ?? ''),
      sharedKey: String(h['x-docker-expose-session-sharedkey'] ?? ''),
      methods: headerList(h['x-docker-expose-session-grpc-method']),
    });
  });
}

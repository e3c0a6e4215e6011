/**
 * `POST /grpc`: BuildKit's API for buildx's docker driver. The connection is hijacked (`101`,
 * `Upgrade: h2c`) and then carries HTTP/2 with prior knowledge, on which berthd serves gRPC: the
 * control and gateway services of `src/buildkit/`. Statuses come from api/errors.ts.
 */
import type { ServerMethod } from '../buildkit/grpc.js';
import { serveGrpc } from '../buildkit/grpc.js';
import { grpcStatusOf } from './errors.js';
import type { Router } from './router.js';
import { invalid } from '../lib/errors.js';

export interface GrpcApiDeps {
  /** Every gRPC method served on `/grpc`, by full path. */
  methods: ReadonlyMap<string, ServerMethod>;
  /** The daemon's debug log, when enabled. */
  log?: (msg: string) => void;
}

/** The 101 dockerd answers a hijacking `Upgrade: h2c` request with. */
export function switchToH2c(socket: NodeJS.WritableStream): void {
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
}

export function registerGrpcRoutes(r: Router, d: GrpcApiDeps): void {
  r.add('POST', '/grpc', async (ctx) => {
    if (!ctx.upgrade || String(ctx.req.headers['upgrade'] ?? '').toLowerCase() !== 'h2c') throw invalid('/grpc requires an h2c upgrade');
    switchToH2c(ctx.socket);
    serveGrpc(ctx.socket, ctx.head, { methods: d.methods, statusOf: grpcStatusOf, ...(d.log ? { log: d.log } : {}) });
  });
}

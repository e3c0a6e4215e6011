/**
 * `--secret` for BuildKit builds: the client keeps its secrets (files, env vars) and serves them
 * on the session as `moby.buildkit.secrets.v1.Secrets/GetSecret`. Before a build runs, berthd
 * asks the session for each secret the Dockerfile's `RUN --mount=type=secret` names and hands
 * the bytes to the builder in memory (BuildOptions.secrets); they reach a RUN only as a
 * read-only bind of a scratch file and are in no layer. A secret the client does not have is
 * left out: the builder skips it, or fails a `required` mount as BuildKit does.
 */
import * as path from 'node:path';
import { GrpcCode, GrpcError } from './grpc.js';
import { codec } from './proto.js';
import type { Session } from './sessions.js';

const GET_SECRET = '/moby.buildkit.secrets.v1.Secrets/GetSecret';
const reqCodec = codec('moby.buildkit.secrets.v1.GetSecretRequest');
const resCodec = codec('moby.buildkit.secrets.v1.GetSecretResponse');

/** The secret IDs a Dockerfile's `--mount=type=secret,…` flags name (`id=`, else the target's base name). */
export function secretIds(dockerfileText: string): string[] {
  const ids = new Set<string>();
  for (const m of dockerfileText.matchAll(/--mount=("[^"]*"|'[^']*'|\S+)/g)) {
    const spec = (m[1] as string).replace(/^["']|["']$/g, '');
    const kv = new Map<string, string>();
    for (const part of spec.split(',')) {
      const i = part.indexOf('=');
      kv.set(i < 0 ? part : part.slice(0, i), i < 0 ? 'true' : part.slice(i + 1));
    }
    if (kv.get('type') !== 'secret') continue;
    const target = kv.get('target') ?? kv.get('dst') ?? kv.get('destination');
    const id = kv.get('id') ?? path.posix.basename(target ?? '');
    if (id) ids.add(id);
  }
  return [...ids];
}

/** Asks the session for each secret; the ones it does not have (NotFound) are left out. */
export async function fetchSecrets(session: Session, ids: string[]): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  if (ids.length === 0 || !session.supports(GET_SECRET)) return out;
  for (const id of ids) {
    try {
      const res = await session.client.unary(GET_SECRET, reqCodec.encode({ ID: id }));
      out[id] = Buffer.from(resCodec.decode(res)['data'] as Uint8Array);
    } catch (err) {
      if (err instanceof GrpcError && err.code === GrpcCode.NOT_FOUND) continue;
      throw err;
    }
  }
  return out;
}

/**
 * Registry credentials from the client's session (`moby.filesync.v1.Auth/Credentials`): the
 * client answers for a registry host with what its `docker login` stored. BuildKit asks without
 * checking the session's method list (dockerode's session lists none), and a client that does
 * not serve Auth (Unimplemented) or knows no credentials for the host means an anonymous pull.
 */
import type { AuthConfig } from '../distribution/types.js';
import { GrpcCode, GrpcError } from './grpc.js';
import { codec } from './proto.js';
import type { Session } from './sessions.js';

const CREDENTIALS = '/moby.filesync.v1.Auth/Credentials';
const req = codec('moby.filesync.v1.CredentialsRequest');
const res = codec('moby.filesync.v1.CredentialsResponse');

/** The host BuildKit names Docker Hub by (the client maps it to its index address). */
const hostOf = (domain: string): string => (domain === 'docker.io' ? 'registry-1.docker.io' : domain);

/** Credentials for a registry domain as the session's client gives them; undefined for none. */
export function sessionCredentials(session: Session): (domain: string) => Promise<AuthConfig | undefined> {
  return async (domain) => {
    let r: Record<string, unknown>;
    try {
      r = res.decode(await session.client.unary(CREDENTIALS, req.encode({ Host: hostOf(domain) })));
    } catch (err) {
      if (err instanceof GrpcError && (err.code === GrpcCode.UNIMPLEMENTED || err.code === GrpcCode.NOT_FOUND)) return undefined;
      throw err;
    }
    const username = String(r['Username'] ?? '');
    const secret = String(r['Secret'] ?? '');
    if (secret === '') return undefined;
    // no user name: the secret is an identity (refresh) token
    return username === '' ? { identitytoken: secret, serveraddress: domain } : { username, password: secret, serveraddress: domain };
  };
}

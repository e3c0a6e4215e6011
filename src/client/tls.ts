/**
 * Client-side TLS for the remote API, decided as the docker CLI decides it:
 *
 * - `--tlsverify` (or DOCKER_TLS_VERIFY set to anything non-empty) verifies the daemon's
 *   certificate against the CA and turns TLS on; saying `--tlsverify=false` also turns TLS on;
 * - `--tls` (or DOCKER_TLS non-empty) uses TLS without verifying the daemon;
 * - the files default to ca.pem, cert.pem and key.pem in $DOCKER_CERT_PATH, else $DOCKER_CONFIG,
 *   else ~/.docker (BERTH_CERT_PATH and BERTH_TLS/BERTH_TLS_VERIFY are read first);
 *   the CA is always read, the client pair only when given or present.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TlsFlags {
  tls?: boolean | undefined;
  tlsVerify?: boolean | undefined;
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

/** What a client needs for a TLS connection. */
export interface ClientTls {
  /** Verify the daemon's certificate (and its name) against `ca`. */
  verify: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** The docker CLI's default certificate directory. */
export function clientCertDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['BERTH_CERT_PATH'] || env['DOCKER_CERT_PATH'] || env['DOCKER_CONFIG'] || path.join(env['HOME'] || os.homedir(), '.docker');
}

const envSet = (env: NodeJS.ProcessEnv, name: string): boolean => (env[`BERTH_${name}`] ?? env[`DOCKER_${name}`] ?? '') !== '';

/** Whether TLS is on for these flags and environment. */
export function tlsEnabled(flags: TlsFlags = {}, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flags.tlsVerify !== undefined) return true;
  return envSet(env, 'TLS_VERIFY') || (flags.tls ?? envSet(env, 'TLS'));
}

function readPem(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`unable to resolve docker endpoint: open ${file}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
}

/** Loads the client's TLS material, or undefined when TLS is off. Throws with the docker CLI's text. */
export function resolveClientTls(flags: TlsFlags = {}, env: NodeJS.ProcessEnv = process.env): ClientTls | undefined {
  if (!tlsEnabled(flags, env)) return undefined;
  const dir = clientCertDir(env);
  const verify = flags.tlsVerify ?? envSet(env, 'TLS_VERIFY');
  const out: ClientTls = { verify, ca: readPem(flags.caFile ?? path.join(dir, 'ca.pem')) };
  const certFile = flags.certFile ?? (existsSync(path.join(dir, 'cert.pem')) ? path.join(dir, 'cert.pem') : undefined);
  const keyFile = flags.keyFile ?? (existsSync(path.join(dir, 'key.pem')) ? path.join(dir, 'key.pem') : undefined);
  if (certFile !== undefined && keyFile !== undefined) {
    out.cert = readPem(certFile);
    out.key = readPem(keyFile);
  } else if (certFile !== undefined || keyFile !== undefined) {
    throw new Error(
      `unable to resolve docker endpoint: ${certFile === undefined ? '--tlscert' : '--tlskey'} is missing: a client certificate needs both its certificate and its key`,
    );
  }
  return out;
}

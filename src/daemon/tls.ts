/**
 * The remote API's transport security, as dockerd decides it: which TCP hosts get TLS, whether
 * clients must show a certificate signed by the CA, which listeners are refused, and the
 * warnings dockerd prints (and reports in `docker info`) for the ones that are not safe.
 */
import { readFileSync } from 'node:fs';
import type * as tls from 'node:tls';
import type { DaemonConfig } from './config.js';

export class TlsConfigError extends Error {}

export interface ServerTls {
  /** Options for tls/https servers: our key pair, the CA that signs client certificates. */
  options: tls.TlsOptions;
  /** Clients must present a certificate signed by the CA (--tlsverify). */
  verifyClients: boolean;
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsConfigError(
      `invalid TLS configuration: could not read ${what} "${file}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
    );
  }
}

/** The TLS server options for the TCP hosts, or undefined when TLS is off. Throws TlsConfigError. */
export function serverTls(cfg: DaemonConfig): ServerTls | undefined {
  if (cfg.tls !== true) return undefined;
  const verifyClients = cfg.tlsVerify !== false;
  const options: tls.TlsOptions = {
    cert: read(cfg.tlsCert ?? '', 'TLS certificate'),
    key: read(cfg.tlsKey ?? '', 'TLS key'),
    // dockerd's tlsconfig.Server: TLS 1.2 at least; the CA pool is exclusive (no system roots).
    minVersion: 'TLSv1.2',
  };
  if (verifyClients) {
    options.ca = read(cfg.tlsCaCert ?? '', 'CA certificate');
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  return { options, verifyClients };
}

/** dockerd's startup warnings for a TCP host served without client verification. */
export function insecureHostWarnings(host: string): string[] {
  return [
    `Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network. host="${host}"`,
    `Binding to an IP address, even on localhost, can also give access to scripts run in a browser. Be safe out there! host="${host}"`,
  ];
}

/**
 * Decides a TCP host: mutual TLS is fine; server-only TLS (--tlsverify=false) and plain HTTP
 * said explicitly (--tls=false) start with dockerd's warnings; plain HTTP not asked for is
 * refused (dockerd 27+'s documented end state: "Exposing the daemon API over HTTP without TLS is
 * not permitted, and such a configuration causes the daemon to fail early on startup").
 */
export function checkTcpHost(cfg: DaemonConfig, host: string): { warnings: string[] } {
  if (cfg.tls === true && cfg.tlsVerify !== false) return { warnings: [] };
  if (cfg.tls !== true && cfg.tls !== false) {
    throw new TlsConfigError(
      `refusing to listen on ${host} without TLS: binding to an IP address without --tlsverify is insecure and gives root access on this machine to everyone who can reach it (even on localhost: other local users and scripts run in a browser). ` +
        `Use --tlsverify with --tlscacert, --tlscert and --tlskey (berth tls init makes them), or say --tls=false explicitly to accept the risk`,
    );
  }
  return { warnings: insecureHostWarnings(host) };
}

/** `docker info` Warnings for the TCP hosts, as dockerd's fillAPIInfo words them. */
export function infoWarnings(cfg: DaemonConfig): string[] {
  const out: string[] = [];
  const detail = `
         Access to the remote API is equivalent to root access on the host. Refer
         to the 'Docker daemon attack surface' section in the documentation for
         more information: https://docs.docker.com/go/attack-surface/`;
  for (const h of cfg.hosts) {
    if (!h.startsWith('tcp://')) continue;
    const addr = h.slice('tcp://'.length);
    if (cfg.tls !== true) out.push(`WARNING: API is accessible on http://${addr} without encryption.${detail}`);
    else if (cfg.tlsVerify === false) out.push(`WARNING: API is accessible on https://${addr} without TLS client verification.${detail}`);
  }
  return out;
}

/**
 * A plain HTTP request on a TLS port gets Go's answer (what dockerd sends, and what the docker
 * CLI then prints as "Client sent an HTTP request to an HTTPS server."): OpenSSL has recognised
 * the request line, so the reply is written on the raw TCP socket under the TLS one.
 */
export function answerPlainHttp(err: Error & { code?: string }, tlsSocket: unknown): boolean {
  if (err.code !== 'ERR_SSL_HTTP_REQUEST') return false;
  const raw = (tlsSocket as { _parent?: { destroyed?: boolean; end(s: string): void } })._parent;
  if (!raw || raw.destroyed) return false;
  raw.end('HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
  return true;
}

/**
 * A small certificate authority for the remote API: a CA, a server certificate and a client
 * certificate, named as Docker expects them (ca.pem, server-cert.pem, server-key.pem, cert.pem,
 * key.pem). Node cannot sign X.509 certificates, so this drives the openssl binary
 * (scripts/install-deps.sh installs it); keys are ECDSA P-256.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { isIP } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from './atomic.js';

export interface PkiOptions {
  /** Where the files go (created with mode 0700 if absent). */
  dir: string;
  /** Extra names for the server certificate (DNS names or IP addresses). */
  hostnames?: string[];
  /** Validity in days (default 365). */
  days?: number;
  /** Replace files that already exist (default: refuse). */
  force?: boolean;
  /** The openssl binary (default "openssl"). */
  openssl?: string;
  /** Common name of the client certificate (default "client"). */
  clientName?: string;
}

export interface PkiResult {
  dir: string;
  files: Record<'caCert' | 'caKey' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string>;
  /** The server certificate's subjectAltName entries, e.g. ["DNS:localhost", "IP:127.0.0.1"]. */
  serverNames: string[];
}

export const PKI_FILES = {
  caCert: 'ca.pem',
  caKey: 'ca-key.pem',
  serverCert: 'server-cert.pem',
  serverKey: 'server-key.pem',
  clientCert: 'cert.pem',
  clientKey: 'key.pem',
} as const;

function run(bin: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return reject(new Error(`${bin} not found: install openssl (scripts/install-deps.sh)`));
      reject(new Error(`${bin} ${args[0]} failed: ${String(stderr).trim() || err.message}`));
    });
  });
}

/** The server certificate's SANs: localhost, 127.0.0.1, ::1, this host's name, and the given names. */
export function serverNames(extra: string[] = [], hostname = os.hostname()): string[] {
  const out: string[] = [];
  const add = (n: string): void => {
    const name = n.trim().replace(/^\[(.*)\]$/, '$1');
    if (name === '') return;
    const entry = isIP(name) ? `IP:${name}` : `DNS:${name}`;
    if (!out.includes(entry)) out.push(entry);
  };
  for (const n of ['localhost', '127.0.0.1', '::1', hostname, ...extra]) add(n);
  return out;
}

/**
 * Makes the CA, server and client certificates in `dir`. Keys are written with mode 0600,
 * certificates 0644; nothing else (CSRs, serial files, the openssl config) is left behind.
 */
export async function makePki(opts: PkiOptions): Promise<PkiResult> {
  const dir = path.resolve(opts.dir);
  const bin = opts.openssl ?? 'openssl';
  const days = String(opts.days ?? 365);
  const files = Object.fromEntries(Object.entries(PKI_FILES).map(([k, f]) => [k, path.join(dir, f)])) as PkiResult['files'];
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  if (!opts.force) {
    for (const f of Object.values(files)) {
      const exists = await fs.stat(f).then(
        () => true,
        () => false,
      );
      if (exists) throw new Error(`${f} already exists (use --force to replace the certificates)`);
    }
  }
  const names = serverNames(opts.hostnames ?? []);
  const work = await fs.mkdtemp(path.join(dir, '.tls-init-'));
  try {
    await fs.chmod(work, 0o700);
    const cnf = [
      '[ req ]',
      'distinguished_name = dn',
      'prompt = no',
      '[ dn ]',
      'CN = unused',
      '[ ca_ext ]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '[ server_ext ]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = ${names.join(', ')}`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '[ client_ext ]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = clientAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n');
    const cnfFile = path.join(work, 'openssl.cnf');
    await fs.writeFile(cnfFile, cnf, { mode: 0o600 });
    const key = (out: string): Promise<void> => run(bin, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out], work);
    const serial = (): string =>
      `0x${randomBytes(16)
        .toString('hex')
        .replace(/^[89a-f]/, '1')}`;

    const caKey = path.join(work, 'ca-key.pem');
    const caCert = path.join(work, 'ca.pem');
    await key(caKey);
    await run(
      bin,
      [
        'req',
        '-new',
        '-x509',
        '-config',
        cnfFile,
        '-extensions',
        'ca_ext',
        '-key',
        caKey,
        '-sha256',
        '-days',
        days,
        '-subj',
        '/O=Berth/CN=Berth CA',
        '-set_serial',
        serial(),
        '-out',
        caCert,
      ],
      work,
    );

    const issue = async (name: string, subject: string, ext: string): Promise<{ key: string; cert: string }> => {
      const k = path.join(work, `${name}-key.pem`);
      const csr = path.join(work, `${name}.csr`);
      const cert = path.join(work, `${name}-cert.pem`);
      await key(k);
      await run(bin, ['req', '-new', '-config', cnfFile, '-key', k, '-subj', subject, '-out', csr], work);
      await run(
        bin,
        [
          'x509',
          '-req',
          '-in',
          csr,
          '-CA',
          caCert,
          '-CAkey',
          caKey,
          '-set_serial',
          serial(),
          '-days',
          days,
          '-sha256',
          '-extfile',
          cnfFile,
          '-extensions',
          ext,
          '-out',
          cert,
        ],
        work,
      );
      return { key: k, cert };
    };
    const host = os.hostname();
    const server = await issue('server', `/O=Berth/CN=${host.replace(/[/=+]/g, '_') || 'localhost'}`, 'server_ext');
    const client = await issue('client', `/O=Berth/CN=${(opts.clientName ?? 'client').replace(/[/=+]/g, '_')}`, 'client_ext');

    const place = async (from: string, to: string, mode: number): Promise<void> => {
      await writeFileAtomic(to, await fs.readFile(from), mode);
      await fs.chmod(to, mode); // whatever the umask
    };
    await place(caKey, files.caKey, 0o600);
    await place(caCert, files.caCert, 0o644);
    await place(server.key, files.serverKey, 0o600);
    await place(server.cert, files.serverCert, 0o644);
    await place(client.key, files.clientKey, 0o600);
    await place(client.cert, files.clientCert, 0o644);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  return { dir, files, serverNames: names };
}

/**
 * `berth tls init`: the certificates for a remote API behind mutual TLS (lib/pki.ts), and how
 * to use them with berthd, berth and the docker CLI.
 */
import { clientCertDir } from '../client/tls.js';
import { makePki } from '../lib/pki.js';
import { StatusError, type Cli, type CommandDef } from './common.js';
import type { ParsedFlags } from './flags.js';

async function initCommand(cli: Cli, flags: ParsedFlags): Promise<void> {
  const dir = flags.string('dir') ?? clientCertDir();
  const days = flags.int('days') ?? 365;
  if (!Number.isInteger(days) || days <= 0) throw new StatusError(125, `invalid --days: ${days} (a positive number of days)`);
  let result;
  try {
    result = await makePki({ dir, hostnames: flags.list('hostname').flatMap((h) => h.split(',')), days, force: flags.bool('force') });
  } catch (err) {
    throw new StatusError(1, (err as Error).message);
  }
  const f = result.files;
  cli.println(`CA:                 ${f.caCert} (key ${f.caKey})`);
  cli.println(`server certificate: ${f.serverCert} (key ${f.serverKey})`);
  cli.println(`  names:            ${result.serverNames.map((n) => n.replace(/^(DNS|IP):/, '')).join(', ')}`);
  cli.println(`client certificate: ${f.clientCert} (key ${f.clientKey})`);
  cli.println('');
  cli.println('Daemon:');
  cli.println(`  berthd -H tcp://0.0.0.0:2376 --tlsverify --tlscacert ${f.caCert} --tlscert ${f.serverCert} --tlskey ${f.serverKey}`);
  cli.println('Clients (berth or docker):');
  cli.println(`  export DOCKER_HOST=tcp://<host>:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${result.dir}`);
  cli.println('Keep ca-key.pem and the *-key.pem files private: whoever holds a client key has root on the daemon host.');
}

export const commands: Record<string, CommandDef> = {
  init: {
    name: 'init',
    usage: '[OPTIONS]',
    description: 'Make a CA, a server certificate and a client certificate for --tlsverify',
    flags: [
      { long: 'dir', type: 'string', description: 'Directory for the files (default $DOCKER_CERT_PATH, $DOCKER_CONFIG or ~/.docker)' },
      { long: 'hostname', type: 'list', description: 'Another name or IP address of the daemon for its certificate (repeatable)' },
      { long: 'days', type: 'int', description: 'Validity of the certificates in days', defaultValue: 365 },
      { long: 'force', type: 'bool', description: 'Replace certificates that already exist' },
    ],
    args: { max: 0 },
    run: (cli, f) => initCommand(cli, f),
  },
};

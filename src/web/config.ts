/**
 * berth-web's command line: where it listens, which daemon it talks to, TLS, where the token goes.
 *
 *   berth-web [--listen HOST:PORT] [-H HOST] [--token-file FILE] [--tls-cert FILE --tls-key FILE]
 *
 * It refuses to listen beyond loopback without TLS: the token (and the session cookie after it)
 * would cross the network in clear text.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { resolveHost } from '../client/host.js';
import { invalid } from '../lib/errors.js';

export const DEFAULT_LISTEN = '127.0.0.1:8420';

export interface WebConfig {
  listen: { host: string; port: number };
  /** The daemon, as the berth CLI resolves it (-H, BERTH_HOST, DOCKER_HOST, the default socket). */
  daemonHost: string;
  tokenFile: string | undefined;
  tls: { cert: string; key: string } | undefined;
}

export const USAGE = `Usage: berth-web [options]

The Berth dashboard: a web page over the daemon's API, behind a token.

Options:
  --listen HOST:PORT        address to serve on (default ${DEFAULT_LISTEN}); beyond loopback only with TLS
  -H, --host HOST           the daemon (default: BERTH_HOST, DOCKER_HOST, then unix:///run/berth.sock)
  --token-file FILE         also write the access token to FILE (mode 0600)
  --tls-cert FILE --tls-key FILE
                            serve HTTPS with this certificate and key
  -h, --help                this text
`;

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw invalid(`invalid --listen address ${JSON.stringify(s)}: want HOST:PORT`);
  const host = m[1] ?? m[2] ?? '';
  if (host === '') throw invalid(`invalid --listen address ${JSON.stringify(s)}: name the host (e.g. 127.0.0.1:${port})`);
  return { host, port };
}

/** Whether an address only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) return h === '::1' || /^::ffff:127\./.test(h) || h === '0:0:0:0:0:0:0:1';
  return false;
}

/** argv (without node and the script) → the configuration; throws InvalidParameter on bad flags. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): WebConfig & { help: boolean } {
  const values = new Map<string, string>();
  let help = false;
  const names: Record<string, string> = {
    '--listen': 'listen',
    '-H': 'host',
    '--host': 'host',
    '--token-file': 'token-file',
    '--tls-cert': 'tls-cert',
    '--tls-key': 'tls-key',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      help = true;
      continue;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const name = names[flag];
    if (!name) throw invalid(`unknown flag: ${a}\n\n${USAGE}`);
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined || v === '') throw invalid(`flag ${flag} needs a value`);
    values.set(name, v);
  }
  const listen = parseListen(values.get('listen') ?? DEFAULT_LISTEN);
  const cert = values.get('tls-cert');
  const key = values.get('tls-key');
  if ((cert === undefined) !== (key === undefined)) throw invalid('--tls-cert and --tls-key go together');
  const tls = cert !== undefined && key !== undefined ? { cert, key } : undefined;
  if (!tls && !isLoopback(listen.host)) {
    throw invalid(
      `refusing to listen on ${values.get('listen')} without TLS: the access token would cross the network in clear text; ` +
        'give --tls-cert and --tls-key, or listen on a loopback address (127.0.0.1, ::1)',
    );
  }
  return { listen, daemonHost: resolveHost({ flag: values.get('host'), env }), tokenFile: values.get('token-file'), tls, help };
}

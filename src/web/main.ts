/**
 * berth-web entry point (bin/berth-web): the dashboard, a client of berthd's API.
 *   berth-web [--listen HOST:PORT] [-H HOST] [--token-file FILE] [--tls-cert FILE --tls-key FILE]
 * Prints the access token and the URL that carries it; stops on SIGTERM/SIGINT.
 */
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { messageOf } from '../lib/errors.js';
import { parseArgs, USAGE } from './config.js';
import { startWebServer } from './server.js';

async function main(argv: string[]): Promise<number> {
  const config = parseArgs(argv);
  if (config.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const web = await startWebServer(config);
  if (config.tokenFile) writeTokenFile(config.tokenFile, web.token);
  process.stdout.write(`berth-web: token ${web.token}\nberth-web: open ${web.url}/?token=${web.token}\n`);
  process.stderr.write(`berth-web listening on ${web.url} (daemon ${config.daemonHost})\n`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      process.stderr.write(`berth-web: ${sig}, shutting down\n`);
      void web.close().then(resolve);
      setTimeout(resolve, 3000).unref();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

/** The token to a file only its owner reads: mode 0600 before a byte is written, even over an older file. */
function writeTokenFile(file: string, token: string): void {
  const fd = openSync(file, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`berth-web: ${messageOf(err)}\n`);
    process.exit(1);
  },
);

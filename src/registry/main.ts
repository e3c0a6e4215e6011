/**
 * berth-registry entry point:
 *   berth-registry [serve] --listen HOST:PORT --root DIR [--config FILE] [options]
 *   berth-registry gc --root DIR [--dry-run]
 */
import { messageOf } from '../lib/errors.js';
import { loadConfig, USAGE } from './config.js';
import { collectGarbage } from './gc.js';
import { startRegistry } from './server.js';

async function main(argv: string[]): Promise<number> {
  let cmd = 'serve';
  if (argv[0] === 'serve' || argv[0] === 'gc') cmd = argv.shift()!;
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = loadConfig(argv);
  if (cmd === 'gc') {
    const r = await collectGarbage(config.root, { dryRun: config.dryRun, log: (l) => process.stdout.write(l + '\n') });
    process.stdout.write(
      `${r.marked} blobs marked, ${r.removed.length} blobs ${config.dryRun ? 'eligible for deletion' : 'deleted'}, ${r.bytesFreed} bytes ${config.dryRun ? 'reclaimable' : 'freed'}\n`,
    );
    return 0;
  }
  const reg = await startRegistry(config);
  process.stderr.write(
    `berth-registry listening on ${config.tls ? 'https' : 'http'}://${reg.address.host}:${reg.address.port} (root ${config.root}, auth ${config.auth.type}${config.proxy ? `, proxy of ${config.proxy.remoteUrl}` : ''})\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      process.stderr.write(`berth-registry: ${sig}, shutting down\n`);
      void reg.close().then(resolve);
      setTimeout(() => resolve(), 5000).unref();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`berth-registry: ${messageOf(err)}\n`);
    process.exit(1);
  },
);

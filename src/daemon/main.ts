/** berthd: parse flags, take the pidfile, start the daemon, stop cleanly on SIGTERM/SIGINT. */
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs, UsageError } from './config.js';
import { startDaemon } from './daemon.js';
import { BERTH_VERSION } from '../system/version.js';

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} berthd: ${msg}\n`);
}

async function takePidfile(file: string): Promise<void> {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmd.includes('berthd') || cmd.includes('daemon/main')) {
          throw new UsageError(`pid file found, ensure berthd is not running or delete ${file}`);
        }
      } catch (err) {
        if (err instanceof UsageError) throw err;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `${process.pid}`);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(err instanceof UsageError ? 125 : 1);
  }
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`Berth version ${BERTH_VERSION}\n`);
    return;
  }
  const cfg = parsed.config;
  if (process.getuid?.() !== 0) {
    process.stderr.write('berthd needs to be started with root privileges\n');
    process.exit(1);
  }
  try {
    await takePidfile(cfg.pidfile);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  process.on('unhandledRejection', (err) => log(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}`));
  process.on('uncaughtException', (err) => log(`uncaught exception: ${err.stack ?? String(err)}`));
  let daemon;
  try {
    daemon = await startDaemon(cfg, log);
  } catch (err) {
    log(`failed to start daemon: ${(err as Error).message}`);
    await fs.rm(cfg.pidfile, { force: true });
    process.exit(1);
  }
  let stopping = false;
  const stop = async (sig: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`received ${sig}, shutting down (containers keep running)`);
    // Never hang on the way out: containers live on without berthd.
    setTimeout(() => process.exit(1), 5000).unref();
    await daemon.close();
    await fs.rm(cfg.pidfile, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

void main();

/**
 * Debian's dockerd (the reference) on private roots and socket, no networking, for side-by-side
 * checks. Stopped with its mounts and roots removed, even after a failed test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DOCKER, HAVE_DOCKER, mountsUnder, run, waitFor, type RunOptions, type RunResult } from './daemon.js';

export const DOCKERD_BIN = '/usr/sbin/dockerd';
export const HAVE_DOCKERD = fs.existsSync(DOCKERD_BIN) && HAVE_DOCKER;
export const NO_DOCKERD_MSG = `dockerd (${DOCKERD_BIN}) or the docker CLI not installed: dockerd interop cases skipped`;

export class RefDockerd {
  proc?: ChildProcess;
  log = '';
  private constructor(readonly root: string) {}

  get host(): string {
    return `unix://${this.root}/d.sock`;
  }

  static async start(prefix = 'berth-ref-dockerd-'): Promise<RefDockerd> {
    const d = new RefDockerd(fs.mkdtempSync(`/tmp/${prefix}`));
    fs.writeFileSync(path.join(d.root, 'daemon.json'), '{}\n');
    const proc = spawn(
      DOCKERD_BIN,
      [
        '-H',
        d.host,
        '--data-root',
        path.join(d.root, 'data'),
        '--exec-root',
        path.join(d.root, 'exec'),
        '--pidfile',
        path.join(d.root, 'dockerd.pid'),
        '--config-file',
        path.join(d.root, 'daemon.json'),
        '--bridge',
        'none',
        '--iptables=false',
        '--ip-masq=false',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    d.proc = proc;
    proc.stdout?.on('data', (b: Buffer) => (d.log += b.toString()));
    proc.stderr?.on('data', (b: Buffer) => (d.log += b.toString()));
    try {
      await waitFor(async () => (await d.docker(['version', '--format', '{{.Server.Version}}'])).code === 0, {
        timeout: 60_000,
        interval: 300,
        what: 'dockerd',
      });
    } catch (err) {
      await d.stop();
      throw new Error(`${(err as Error).message}\n${d.log.slice(-3000)}`);
    }
    return d;
  }

  docker(args: string[], o: RunOptions = {}): Promise<RunResult> {
    return run(DOCKER, args, {
      timeout: 120_000,
      ...o,
      env: { DOCKER_HOST: this.host, DOCKER_CONFIG: path.join(this.root, 'cfg'), DOCKER_BUILDKIT: '0', DOCKER_CLI_HINTS: 'false', ...o.env },
    });
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
        p.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        p.kill('SIGTERM');
      });
    }
    for (let i = 0; i < 3; i++) for (const m of mountsUnder(this.root)) spawnSync('umount', ['-l', m]);
    fs.rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
  }
}

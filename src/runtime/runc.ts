/** The OCI runtime (runc) driven through its command line, with its own state root. */
import { execFile } from 'node:child_process';
import { system, BerthError } from '../lib/errors.js';

export interface RuncOptions {
  binary: string;
  /** runc's --root: where it keeps container state (under berthd's exec-root). */
  root: string;
}

export interface RuncResult {
  stdout: string;
  stderr: string;
}

export class Runc {
  constructor(readonly opts: RuncOptions) {}

  /** The arguments that go before every runc subcommand. */
  globalArgs(): string[] {
    return ['--root', this.opts.root];
  }

  run(args: string[], input?: string): Promise<RuncResult> {
    return new Promise((resolve, reject) => {
      const child = execFile(this.opts.binary, [...this.globalArgs(), ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err) {
          const msg = (stderr || err.message).trim().replace(/^time=".*?" level=\w+ msg="(.*)"$/m, '$1');
          reject(system(`runc ${args[0] ?? ''}: ${msg}`, err));
        } else resolve({ stdout, stderr });
      });
      if (input !== undefined) child.stdin?.end(input);
    });
  }

  async start(id: string): Promise<void> {
    await this.run(['start', id]);
  }

  async kill(id: string, signal: string | number, all = false): Promise<void> {
    await this.run(['kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }

  /** Deletes runtime state (and the cgroup) of a stopped container; missing is fine. */
  async delete(id: string, force = false): Promise<void> {
    try {
      await this.run(['delete', ...(force ? ['--force'] : []), id]);
    } catch (err) {
      if (err instanceof BerthError && /does not exist|not exist/.test(err.message)) return;
      throw err;
    }
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id]);
  }

  async update(id: string, resources: object): Promise<void> {
    await this.run(['update', '--resources', '-', id], JSON.stringify(resources));
  }

  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    try {
      const { stdout } = await this.run(['state', id]);
      const s = JSON.parse(stdout) as { status: string; pid: number };
      return s;
    } catch {
      return undefined;
    }
  }

  async ps(id: string): Promise<number[]> {
    const { stdout } = await this.run(['ps', '--format', 'json', id]);
    return (JSON.parse(stdout) as number[] | null) ?? [];
  }
}

/** The OCI runtime (runc) driven through its command line, with its own state root. */
import { execFile } from 'node:child_process';
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { system, BerthError } from '../lib/errors.js';
import { cgroupDirs } from './cgroups.js';

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

  stateDir(id: string): string {
    return path.join(this.opts.root, id);
  }

  async hasState(id: string): Promise<boolean> {
    try {
      await fs.access(this.stateDir(id));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Starts a created container. `runc start` only opens the container's exec FIFO and reads it,
   * which releases the waiting init process into the user's program; doing that here spares a
   * runc process (~10 ms) on every start. Falls back to `runc start` if the FIFO is not there.
   */
  async start(id: string): Promise<void> {
    const fifo = path.join(this.stateDir(id), 'exec.fifo');
    // Non-blocking: a blocking open of a FIFO with no writer would pin a libuv thread forever.
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    } catch {
      await this.run(['start', id]);
      return;
    }
    let released = false;
    try {
      const buf = Buffer.alloc(16);
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        try {
          const { bytesRead } = await fh.read(buf, 0, buf.length, null);
          if (bytesRead > 0) {
            // Data: the process is released.
            released = true;
            break;
          }
          // 0 bytes: no writer yet. runc init's blocked open of the FIFO completes only after
          // our open wakes it, so under load a read can come first; giving up then closed the
          // FIFO under init, whose write then killed it ("cannot start a container that has
          // stopped"). Keep reading while init lives.
          if (!(await this.initAlive(id))) break;
          await new Promise((r) => setTimeout(r, 1));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
          await new Promise((r) => setTimeout(r, 1));
        }
      }
    } finally {
      await fh.close();
    }
    if (!released) {
      // Let runc report what is wrong.
      await this.run(['start', id]);
      return;
    }
    await fs.rm(fifo, { force: true });
  }

  /** Whether the container's init process (runc's state.json `init_process_pid`) is alive. */
  private async initAlive(id: string): Promise<boolean> {
    try {
      const st = JSON.parse(await fs.readFile(path.join(this.stateDir(id), 'state.json'), 'utf8')) as { init_process_pid?: number };
      if (!st.init_process_pid) return false;
      process.kill(st.init_process_pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Cleans up after a container whose processes have all exited: what `runc delete` does for a
   * stopped container (remove its cgroups and state directory), without a runc process.
   * Falls back to `runc delete --force` when a cgroup is still busy.
   */
  async cleanupStopped(id: string, cgroupsPath: string): Promise<void> {
    let busy = false;
    for (const dir of cgroupDirs(cgroupsPath)) {
      try {
        await fs.rmdir(dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') busy = true;
      }
    }
    if (busy) {
      await this.delete(id, true);
      return;
    }
    await fs.rm(this.stateDir(id), { recursive: true, force: true });
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

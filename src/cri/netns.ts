/**
 * A pod's network namespace kept as a file: the infra process's `/proc/<pid>/ns/net`
 * bind-mounted at `<exec-root>/cri/netns/<sandbox id>`, so CNI can configure and tear it down by
 * path whether or not the process still runs.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { system } from '../lib/errors.js';

export function sandboxNetnsPath(execRoot: string, id: string): string {
  return path.join(execRoot, 'cri', 'netns', id);
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, (err, _out, stderr) => (err ? reject(system(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve())),
  );
}

export async function pinNetns(file: string, pid: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fs.writeFile(file, '', { mode: 0o600 });
  await run('mount', ['--bind', `/proc/${pid}/ns/net`, file]);
}

/** Unmounts and removes the file (nothing when it is gone already). */
export async function releaseNetns(file: string): Promise<void> {
  const mounted = (await fs.readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((l) => l.split(' ')[4] === file);
  if (mounted) await run('umount', [file]);
  await fs.rm(file, { force: true });
}

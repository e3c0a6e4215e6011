/**
 * What a failed start tells the client: runc's log line cut down to its message and worded as
 * dockerd's shim error, the exit code dockerd guesses from it (127 not found, 126 not
 * executable, 128 otherwise), and a full data root named as the cause when overlayfs hid it.
 */
import { promises as fs } from 'node:fs';
import { invalid, messageOf, system, type BerthError } from '../lib/errors.js';

/** runc's error (`time="…" level=error msg="…"`) as dockerd words a failed task creation. */
export function startError(err: unknown): BerthError {
  const msg = messageOf(err);
  // runc logs as `time="…" level=error msg="…"`; keep only the message.
  let clean = msg.replace(/^runc start: /, '');
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(clean);
  if (m) {
    try {
      clean = JSON.parse(`"${m[1]}"`) as string;
    } catch {
      clean = m[1] as string;
    }
  }
  if (/executable file not found|no such file or directory|permission denied|not a directory/.test(clean)) {
    return invalid(`failed to create shim task: OCI runtime create failed: ${clean}: unknown`);
  }
  return system(`failed to create shim task: OCI runtime create failed: ${clean}: unknown`, err);
}

/** The exit code dockerd records for a start that failed with this message. */
export function startFailureExitCode(message: string): number {
  return /executable file not found|no such file or directory/.test(message) ? 127 : /permission denied/.test(message) ? 126 : 128;
}

/**
 * A start that fails on a full data root says so: overlayfs mounts the rootfs read-only when it
 * cannot make its work dir, and runc then reports a read-only file system. `dir` is a directory
 * on the data root (the container's).
 */
export async function diskFullError(err: unknown, dir: string): Promise<unknown> {
  const msg = messageOf(err);
  if (/no space left on device/.test(msg)) return err;
  const st = await fs.statfs(dir).catch(() => undefined);
  if (!st || st.bavail * st.bsize >= 1 << 20) return err;
  return system(`${msg.replace(/: unknown$/, '')}: no space left on device`, err);
}

/** Crash-safe state files: write to a temp file, fsync, rename, fsync the directory. */
import { promises as fs, constants } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { system } from './errors.js';

/**
 * A file-system error in dockerd's words (`write <file>: no space left on device`): the errno's
 * text after the operation and path, as Go's *PathError prints it. Anything else passes through.
 */
export function fsError(op: string, file: string, err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string' || typeof e.message !== 'string') return err;
  const m = /^[A-Z0-9]+: ([^,]+)/.exec(e.message);
  // The errno's code stays readable for callers that test it (ENOENT, EEXIST).
  return Object.assign(system(`${op} ${file}: ${m ? m[1] : e.message}`, err), { code: e.code });
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let fh;
  try {
    fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (err) {
    throw fsError('open', tmp, err);
  }
  // A failed write (a full disk) leaves the old file as it was and no temp file behind.
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw fsError('write', tmp, err);
  }
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw fsError('rename', tmp, err);
  }
  await syncDir(dir);
}

export async function syncDir(dir: string): Promise<void> {
  const dh = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

export async function writeJSONAtomic(file: string, value: unknown, mode = 0o600): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value), mode);
}

/** Reads a JSON file; undefined when it does not exist. Throws on corrupt content. */
export async function readJSON<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

/** Removes stray temp files a crash may have left in a directory. */
export async function removeStrayTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => n.startsWith('.') && n.endsWith('.tmp')).map((n) => fs.rm(path.join(dir, n), { force: true })));
}

/**
 * `mkdir -p` that reports the real error: Node's recursive mkdir turns a full disk (ENOSPC) into
 * ENOENT. Errors in dockerd's words (`mkdir <dir>: no space left on device`).
 */
export async function mkdirAll(dir: string, mode = 0o755): Promise<void> {
  try {
    await fs.mkdir(dir, { mode });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw fsError('mkdir', dir, err);
    await mkdirAll(path.dirname(dir), mode);
    try {
      await fs.mkdir(dir, { mode });
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError('mkdir', dir, err2);
    }
  }
}

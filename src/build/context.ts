/**
 * Build contexts: a tar stream (plain or compressed, as the docker CLI sends it to /build) or a
 * remote (`remote=`: a git repository, a tarball URL, or a plain Dockerfile URL) unpacked into a
 * scratch directory, with `.dockerignore` (or `<Dockerfile>.dockerignore`) applied.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { invalid, messageOf } from '../lib/errors.js';
import { extractTar } from '../lib/safetar.js';
import { RootDir, hostPathInRoot, readFileInRoot } from '../lib/rootfs.js';
import { decompress } from '../lib/decompress.js';
import { cleanRel, isIgnored, parseIgnore } from './ignore.js';

export interface BuildContext {
  dir: string;
  /** The Dockerfile's path inside `dir`. */
  dockerfile: string;
  /**
   * The Dockerfile's text when `.dockerignore` excluded it: dockerd reads the Dockerfile, then
   * removes it (and `.dockerignore`) from the context when the ignore file lists them, so
   * `COPY .` never copies them (the docker CLI and docker-py list an out-of-context Dockerfile's
   * `.dockerfile.<random>` there).
   */
  dockerfileText?: string;
  dispose(): Promise<void>;
}

async function newDir(workDir: string): Promise<string> {
  const dir = path.join(workDir, `ctx-${randomBytes(8).toString('hex')}`);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function isGitRemote(remote: string): boolean {
  return /^(git@|git:\/\/|github\.com\/)/.test(remote) || /\.git(#.*)?$/.test(remote) || remote.startsWith('git+');
}

async function gitClone(remote: string, dir: string): Promise<void> {
  const [url, fragment = ''] = remote.replace(/^git\+/, '').split('#', 2) as [string, string?];
  const [ref, sub] = fragment.split(':', 2);
  const args = [
    'clone',
    '--depth',
    '1',
    '--recurse-submodules',
    ...(ref ? ['--branch', ref] : []),
    url.startsWith('github.com/') ? `https://${url}` : url,
    dir,
  ];
  await new Promise<void>((resolve, reject) => {
    const p = spawn('git', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', (e) => reject(invalid(`unable to prepare context: ${e.message}`)));
    p.on('close', (code) =>
      code === 0 ? resolve() : reject(invalid(`unable to prepare context: unable to 'git clone' to temporary context directory: ${err.trim()}`)),
    );
  });
  await fs.rm(path.join(dir, '.git'), { recursive: true, force: true });
  if (sub) {
    const inner = hostPathInRoot(dir, sub);
    const tmp = `${dir}.sub`;
    await fs.rename(inner, tmp);
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(tmp, dir);
  }
}

/** Unpacks the context and applies the ignore file; the caller disposes of it. */
export async function prepareContext(o: { body: Readable; remote?: string; dockerfile?: string; workDir: string }): Promise<BuildContext> {
  const dir = await newDir(o.workDir);
  const dispose = (): Promise<void> => fs.rm(dir, { recursive: true, force: true });
  let dockerfile = o.dockerfile || 'Dockerfile';
  try {
    if (o.remote && isGitRemote(o.remote)) {
      o.body.resume();
      await fs.rmdir(dir);
      await gitClone(o.remote, dir);
    } else if (o.remote) {
      o.body.resume();
      const resp = await fetch(o.remote).catch((err: unknown) => {
        throw invalid(`unable to prepare context: ${messageOf(err)}`);
      });
      if (!resp.ok || !resp.body) throw invalid(`unable to prepare context: ${o.remote}: ${resp.status} ${resp.statusText}`);
      const bytes = Buffer.from(await resp.arrayBuffer());
      if (await looksLikeTar(bytes)) {
        await extractTar(await decompress(Readable.from([bytes])), dir, { whiteouts: 'none', sameOwner: false, chown: { uid: 0, gid: 0 } });
      } else {
        dockerfile = 'Dockerfile';
        await fs.writeFile(path.join(dir, dockerfile), bytes);
      }
    } else {
      const tar = (await decompress(o.body)).pipe(padTar());
      await extractTar(tar, dir, { whiteouts: 'none', sameOwner: false, chown: { uid: 0, gid: 0 } });
    }
    const dockerfileText = await applyIgnore(dir, dockerfile);
    return { dir, dockerfile, dispose, ...(dockerfileText !== undefined ? { dockerfileText } : {}) };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/**
 * The docker CLI sends a context whose Dockerfile lives outside it as a tar that stops right
 * after the last file's data (no padding, no end blocks); Go's reader accepts that. Zeros up to
 * the next block and two end blocks complete such a tar and are harmless after a whole one.
 */
function padTar(): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      cb(null, Buffer.alloc(((512 - (total % 512)) % 512) + 1024));
    },
  });
}

async function looksLikeTar(b: Buffer): Promise<boolean> {
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return true;
  return b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
}

/**
 * Removes what `.dockerignore` excludes. The Dockerfile and the ignore file are read first and
 * removed last, as dockerd's classic builder does (removeDockerfile): when listed, they are
 * gone from the context, so never COPY sources; the Dockerfile's text is returned then.
 */
async function applyIgnore(dir: string, dockerfile: string): Promise<string | undefined> {
  let text: string | undefined;
  for (const name of [`${dockerfile}.dockerignore`, '.dockerignore']) {
    try {
      text = readFileInRoot(dir, name).toString('utf8');
      break;
    } catch {
      /* next */
    }
  }
  if (text === undefined) return undefined;
  const rules = parseIgnore(text);
  const keep = new Set([cleanRel(dockerfile), '.dockerignore']);
  const walk = async (rel: string): Promise<void> => {
    const host = rel === '' ? dir : path.join(dir, rel);
    for (const n of await fs.readdir(host)) {
      const r = rel === '' ? n : `${rel}/${n}`;
      const st = await fs.lstat(path.join(dir, r));
      if (isIgnored(rules, r) && !keep.has(r)) {
        // A directory may still hold an exception (`!dir/keep`): descend instead of removing it.
        if (st.isDirectory() && rules.some((x) => x.exclusion && x.pattern.startsWith(`${r}/`))) {
          await walk(r);
          continue;
        }
        await fs.rm(path.join(dir, r), { recursive: true, force: true });
        continue;
      }
      if (st.isDirectory()) await walk(r);
    }
  };
  await walk('');
  let dockerfileText: string | undefined;
  const df = cleanRel(dockerfile);
  if (isIgnored(rules, df)) {
    try {
      const p = hostPathInRoot(dir, df);
      dockerfileText = await fs.readFile(p, 'utf8');
      await fs.rm(p, { force: true });
    } catch {
      /* no such Dockerfile: the builder reports it */
    }
  }
  if (isIgnored(rules, '.dockerignore')) await RootDir.with(dir, (r) => r.removeAll('.dockerignore')).catch(() => undefined);
  return dockerfileText;
}

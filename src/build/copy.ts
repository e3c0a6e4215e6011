/**
 * COPY and ADD: sources (the context, another stage or image, heredocs, ADD's URLs and
 * archives) copied onto an active snapshot the Snapshotter prepares over the stage's layers,
 * every path resolved inside the root; the snapshot's upper dir becomes the step's layer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { decompress } from '../lib/decompress.js';
import { invalid, messageOf } from '../lib/errors.js';
import { extractInRoot } from '../lib/rootextract.js';
import { RootDir } from '../lib/rootfs.js';
import { resolveUser } from '../runtime/user.js';
import type { ActiveSnapshot, Snapshotter } from '../snapshots/snapshotter.js';
import { parseError, type Instruction, type Stage } from './dockerfile.js';
import { checksumSources, copySources, matchSources, mkdirInRoot, type Source } from './fscopy.js';
import { expandWord, expandWords } from './shell.js';
import { stageVars, type Cleanups, type StageRoots, type StageState, type StepRecorder } from './stage.js';

export interface CopyStepDeps {
  snapshots: Pick<Snapshotter, 'prepare' | 'acquire' | 'release' | 'dirs'>;
  steps: StepRecorder;
  roots: StageRoots;
  /** The Dockerfile's escape character. */
  escape: string;
  /** The build context directory. */
  contextDir: string;
  /** Scratch on the data root's file system: the snapshot's upper dir becomes the layer by rename. */
  diskWorkDir: string;
  /** Ends ADD's downloads when the build is cancelled. */
  signal?: AbortSignal | undefined;
}

export async function copyStep(d: CopyStepDeps, st: StageState, ins: Instruction, s: Stage): Promise<void> {
  const vars = stageVars(st);
  const esc = d.escape;
  const flags = new Map<string, string>();
  for (const [k, v] of ins.flags) {
    if (!['from', 'chown', 'chmod', 'link', 'checksum', 'keep-git-dir', 'parents'].includes(k)) throw parseError(ins.line, `Unknown flag: ${k}`);
    if (k === 'from' && ins.cmd === 'ADD') throw parseError(ins.line, 'ADD --from is not supported');
    flags.set(k, expandWord(v, vars, esc));
  }
  const cleanups: Cleanups = [];
  const tmp = path.join(d.diskWorkDir, `copy-${randomBytes(8).toString('hex')}`);
  cleanups.push(() => fs.rm(tmp, { recursive: true, force: true }));
  try {
    let words: string[];
    if (ins.heredocs.length > 0) words = expandWords(ins.args, vars, esc);
    else words = ins.json ?? expandWords(ins.args, vars, esc);
    const destWord = words[words.length - 1] as string;
    const srcWords = words.slice(0, -1);
    const wd = st.config.config?.WorkingDir || '/';
    const dest = path.posix.isAbsolute(destWord) ? destWord : `${path.posix.join(wd, destWord)}${destWord.endsWith('/') || destWord === '.' ? '/' : ''}`;
    let sources: Source[] = [];
    const heredocFiles: Source[] = [];
    const urls: string[] = [];
    await fs.mkdir(tmp, { recursive: true });
    const root = flags.has('from') ? await d.roots.readRoot(flags.get('from') as string, s, cleanups) : d.contextDir;
    for (const w of srcWords) {
      const doc = ins.heredocs.find((h) => w === `<<${h.name}` || w === `<<-${h.name}` || w.replace(/^<<-?["']?|["']$/g, '') === h.name);
      if (doc) {
        const file = path.join(tmp, `heredoc-${heredocFiles.length}`, doc.name);
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(file, doc.quoted ? doc.content : expandWord(`"${doc.content.replace(/"/g, '\\"')}"`, vars, esc), { mode: 0o644 });
        heredocFiles.push({ host: file, rel: doc.name });
      } else if (ins.cmd === 'ADD' && /^https?:\/\//.test(w)) urls.push(w);
      else sources.push(...(await matchSources(root, w, ins.cmd)));
    }
    const downloaded: Source[] = [];
    for (const u of urls) downloaded.push(await download(u, tmp, flags.get('checksum'), dest, d.signal));
    sources = [...sources, ...heredocFiles];
    const checksum = await checksumSources([...sources, ...downloaded]);
    const key = d.steps.key(st, [
      ins.cmd,
      [...flags.entries()].filter(([k]) => k !== 'from'),
      flags.has('from') ? '' : 'context',
      dest,
      checksum,
      srcWords.length,
    ]);
    const createdBy = `/bin/sh -c #(nop) ${ins.cmd} ${flags.has('from') ? `--from=${flags.get('from')} ` : ''}file:${checksum.slice(7)} in ${dest} `;
    if (await d.steps.useCache(st, key, { createdBy })) return;
    const layout: ActiveSnapshot = { parents: st.image?.chainIds ?? [], dir: tmp, target: path.join(tmp, 'rootfs') };
    await d.snapshots.prepare(layout);
    const mkey = `build-${path.basename(tmp)}`;
    const rootfs = await d.snapshots.acquire(mkey, layout);
    try {
      let uid = 0;
      let gid = 0;
      if (flags.get('chown')) {
        ({ uid, gid } = resolveUser({ rootfs, user: flags.get('chown') }));
      }
      const chmod = flags.get('chmod');
      if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod)) throw invalid(`invalid chmod parameter: ${chmod}`);
      const opts = { uid, gid, ...(chmod ? { mode: parseInt(chmod, 8) } : {}) };
      const archives: Source[] = [];
      const plain: Source[] = [];
      for (const src of sources) {
        if (ins.cmd === 'ADD' && !heredocFiles.includes(src) && (await isArchive(src.host))) archives.push(src);
        else plain.push(src);
      }
      const multi = srcWords.length > 1;
      if (multi && !dest.endsWith('/'))
        throw invalid(`When using ${ins.cmd} with more than one source file, the destination must be a directory and end with a /`);
      if (plain.length > 0 || downloaded.length > 0)
        await copySources(
          rootfs,
          [...plain, ...downloaded],
          multi || plain.length + downloaded.length > 1 ? `${dest.replace(/\/?$/, '/')}` : dest,
          opts,
          ins.cmd,
        );
      for (const a of archives) {
        await mkdirInRoot(rootfs, dest);
        const tar = await decompress(createReadStream(a.host));
        await RootDir.with(rootfs, (root) => extractInRoot(tar, root, dest, flags.has('chown') ? { chown: { uid, gid } } : {}));
      }
    } finally {
      await d.snapshots.release(mkey, layout.target);
    }
    const layer = await d.steps.commitLayer(d.snapshots.dirs(layout).upper, st, new Set(), true);
    await d.steps.commit(st, createdBy, key, layer);
  } finally {
    for (const f of cleanups.reverse()) await f().catch(() => undefined);
  }
}

/** ADD's URL source: fetched into the scratch dir, named for the URL's path (or the destination). */
async function download(url: string, tmp: string, checksum: string | undefined, dest: string, signal: AbortSignal | undefined): Promise<Source> {
  const resp = await fetch(url, { signal: signal ?? null }).catch((err: unknown) => {
    throw invalid(`failed to fetch ${url}: ${messageOf(err)}`);
  });
  if (!resp.ok) throw invalid(`failed to GET ${url} with status ${resp.status} ${resp.statusText}`);
  const body = Buffer.from(await resp.arrayBuffer());
  if (checksum) {
    const got = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (got !== checksum) throw invalid(`digest mismatch ${got}: ${checksum}`);
  }
  const name = dest.endsWith('/') ? path.posix.basename(new URL(url).pathname) || 'download' : path.posix.basename(dest);
  const dir = path.join(tmp, `url-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await fs.writeFile(file, body, { mode: 0o600 });
  const lm = resp.headers.get('last-modified');
  if (lm && !Number.isNaN(Date.parse(lm))) await fs.utimes(file, new Date(lm), new Date(lm));
  return { host: file, rel: name };
}

/** A regular file whose first bytes are a tar or a compressed stream (ADD unpacks it; directories never). */
async function isArchive(file: string): Promise<boolean> {
  const st = await fs.lstat(file);
  if (!st.isFile()) return false;
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    if (bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return true;
    if (bytesRead >= 3 && buf.subarray(0, 3).toString('latin1') === 'BZh') return true;
    if (bytesRead >= 6 && buf.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
    if (bytesRead >= 4 && buf.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return true;
    return bytesRead >= 262 && buf.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await fh.close();
  }
}

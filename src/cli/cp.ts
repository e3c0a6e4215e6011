/**
 * `cp` between a container and the local filesystem through the archive API
 * (HEAD/GET/PUT /containers/{id}/archive), with docker's rules for where things land:
 * into an existing directory under the source's name, or renamed to a destination that
 * does not exist yet. `-` means a tar stream on stdin/stdout.
 */
import { createReadStream, createWriteStream, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';

type TarHeader = Parameters<tar.Pack['entry']>[0];
import { ApiError } from '../client/errors.js';
import { copyStream } from '../client/stream.js';
import type { PathStat } from '../client/types.js';
import type { Cli } from './common.js';
import { humanSize } from './format.js';

/** Go's os.ModeDir and os.ModeSymlink bits, as the stat header carries them. */
const GO_MODE_DIR = 0x80000000;
const GO_MODE_SYMLINK = 0x08000000;

export interface CopyOptions {
  archive: boolean;
  followLink: boolean;
  quiet: boolean;
}

interface CpArg {
  container: string | undefined;
  path: string;
}

/** docker's splitCpArg. */
export function splitCpArg(arg: string): CpArg {
  if (path.isAbsolute(arg)) return { container: undefined, path: arg };
  const i = arg.indexOf(':');
  if (i < 0 || arg.startsWith('.')) return { container: undefined, path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

export function isDirMode(mode: number): boolean {
  return (mode & GO_MODE_DIR) !== 0 || mode >>> 0 >= GO_MODE_DIR;
}

export async function copyCommand(cli: Cli, src: string, dst: string, options: CopyOptions): Promise<void> {
  const s = splitCpArg(src);
  const d = splitCpArg(dst);
  if (s.container === undefined && d.container === undefined) throw new Error('must specify at least one container source');
  if (s.container !== undefined && d.container !== undefined) throw new Error('copying between containers is not supported');
  if (s.container !== undefined) {
    if (s.container === '') throw new Error('Error: container name cannot be empty');
    await copyFromContainer(cli, s.container, s.path, d.path, options);
  } else {
    if (d.container === '') throw new Error('Error: container name cannot be empty');
    await copyToContainer(cli, s.path, d.container as string, d.path, options);
  }
}

async function lstatOrUndefined(p: string, follow: boolean): Promise<Stats | undefined> {
  try {
    return follow ? await fsp.stat(p) : await fsp.lstat(p);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw e;
  }
}

function hasTrailingSep(p: string): boolean {
  return p.endsWith('/') || p.endsWith('/.');
}

// ---------- container → local ----------

async function copyFromContainer(cli: Cli, id: string, srcPath: string, dstPath: string, options: CopyOptions): Promise<void> {
  let source = srcPath;
  if (options.followLink) {
    const st = await cli.client.containerStatPath(id, srcPath);
    if ((st.mode & GO_MODE_SYMLINK) !== 0 && st.linkTarget) source = st.linkTarget;
  }
  const { stream, stat } = await cli.client.containerGetArchive(id, source);
  if (dstPath === '-') {
    await copyStream(stream, cli.out);
    return;
  }
  const srcIsDir = isDirMode(stat.mode);
  const dstStat = await lstatOrUndefined(dstPath, true);
  let extractDir: string;
  let rename: { from: string; to: string } | undefined;
  const srcBase = stat.name;
  if (dstStat?.isDirectory()) {
    extractDir = dstPath;
  } else if (!dstStat) {
    if (hasTrailingSep(dstPath) && !srcIsDir) {
      stream.destroy();
      throw new Error('no such directory');
    }
    const parent = path.dirname(path.resolve(dstPath));
    const pst = await lstatOrUndefined(parent, true);
    if (!pst?.isDirectory()) {
      stream.destroy();
      throw new Error(`destination directory "${path.dirname(dstPath)}" must exist`);
    }
    extractDir = parent;
    rename = { from: srcBase, to: path.basename(path.resolve(dstPath)) };
  } else {
    if (srcIsDir) {
      stream.destroy();
      throw new Error(`cannot copy a directory to a file: "${dstPath}"`);
    }
    extractDir = path.dirname(path.resolve(dstPath));
    rename = { from: srcBase, to: path.basename(path.resolve(dstPath)) };
  }
  const bytes = await extractTar(stream, path.resolve(extractDir), { rename, chown: options.archive });
  if (!options.quiet && process.stderr.isTTY) cli.eprintln(`Successfully copied ${humanSize(bytes)} to ${dstPath}`);
}

function rebase(name: string, rename: { from: string; to: string } | undefined): string {
  let n = name;
  // dockerd names the content of `dir/.` `./…`: that prefix is the source's base, renamed too.
  if (rename?.from === '.' && (n === '.' || n === './' || n.startsWith('./'))) n = rename.to + n.slice(1);
  n = n.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
  if (n === '.') n = '';
  if (rename && rename.from !== rename.to && rename.from !== '.') {
    if (n === rename.from || n === `${rename.from}/`) n = rename.to;
    else if (n.startsWith(`${rename.from}/`)) n = rename.to + n.slice(rename.from.length);
  }
  return n.replace(/\/+$/, '');
}

function within(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Extracts a tar stream under `root`, refusing entries that escape it. Returns the bytes of file content. */
export async function extractTar(
  source: Readable,
  root: string,
  options: { rename?: { from: string; to: string } | undefined; chown?: boolean } = {},
): Promise<number> {
  const extract = tar.extract();
  let bytes = 0;
  const dirTimes: Array<{ p: string; mtime: Date }> = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, entryStream, next) => {
      const handle = async (): Promise<void> => {
        const name = rebase(header.name, options.rename);
        const target = path.join(root, name);
        if (!within(root, target)) throw new Error(`invalid tar entry: ${header.name} escapes the destination`);
        const mode = (header.mode ?? 0o644) & 0o7777;
        switch (header.type) {
          case 'directory':
            await fsp.mkdir(target, { recursive: true });
            await fsp.chmod(target, mode);
            if (header.mtime) dirTimes.push({ p: target, mtime: header.mtime });
            entryStream.resume();
            break;
          case 'file':
          case 'contiguous-file': {
            await fsp.mkdir(path.dirname(target), { recursive: true });
            await fsp.rm(target, { force: true });
            await pipeline(entryStream, createWriteStream(target, { mode }));
            await fsp.chmod(target, mode);
            bytes += header.size ?? 0;
            if (header.mtime) await fsp.utimes(target, header.mtime, header.mtime);
            break;
          }
          case 'symlink':
            await fsp.mkdir(path.dirname(target), { recursive: true });
            await fsp.rm(target, { force: true });
            await fsp.symlink(header.linkname ?? '', target);
            entryStream.resume();
            break;
          case 'link': {
            const linkTarget = path.join(root, rebase(header.linkname ?? '', options.rename));
            if (!within(root, linkTarget)) throw new Error(`invalid hardlink: ${header.linkname ?? ''} escapes the destination`);
            await fsp.rm(target, { force: true });
            await fsp.link(linkTarget, target);
            entryStream.resume();
            break;
          }
          default:
            // devices, fifos and the like are not recreated on the host
            entryStream.resume();
        }
        if (options.chown && header.type !== 'symlink') {
          await fsp.chown(target, header.uid ?? 0, header.gid ?? 0).catch(() => undefined);
        } else if (options.chown) {
          await fsp.lchown(target, header.uid ?? 0, header.gid ?? 0).catch(() => undefined);
        }
      };
      handle().then(
        () => next(),
        (err: unknown) => {
          entryStream.resume();
          extract.destroy(err as Error);
          reject(err);
        },
      );
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  source.on('error', (e) => extract.destroy(e));
  source.pipe(extract);
  await done;
  for (const d of dirTimes.reverse()) await fsp.utimes(d.p, d.mtime, d.mtime).catch(() => undefined);
  return bytes;
}

// ---------- local → container ----------

async function statInContainer(cli: Cli, id: string, p: string): Promise<PathStat | undefined> {
  try {
    return await cli.client.containerStatPath(id, p);
  } catch (e) {
    if (e instanceof ApiError && e.statusCode === 404) {
      // distinguish a missing container from a missing path
      await cli.client.containerInspect(id);
      return undefined;
    }
    throw e;
  }
}

async function copyToContainer(cli: Cli, srcPath: string, id: string, dstPath: string, options: CopyOptions): Promise<void> {
  const dstStat = await statInContainer(cli, id, dstPath);
  if (srcPath === '-') {
    if (!dstStat || !isDirMode(dstStat.mode)) throw new Error(`destination "${id}:${dstPath}" must be a directory`);
    await cli.client.containerPutArchive(id, dstPath, process.stdin, { noOverwriteDirNonDir: true, copyUIDGID: options.archive });
    return;
  }
  const srcStat = await lstatOrUndefined(srcPath, options.followLink);
  if (!srcStat) throw new Error(`lstat ${path.resolve(srcPath)}: no such file or directory`);
  const contentsOnly = srcPath.endsWith('/.') && srcStat.isDirectory();
  let putDir: string;
  let topName: string;
  if (dstStat && isDirMode(dstStat.mode)) {
    putDir = dstPath;
    topName = path.basename(path.resolve(srcPath));
  } else if (!dstStat) {
    if (hasTrailingSep(dstPath)) throw new Error('no such directory');
    putDir = path.posix.dirname(dstPath);
    topName = path.posix.basename(dstPath);
  } else {
    if (srcStat.isDirectory()) throw new Error(`cannot copy a directory to a file: "${id}:${dstPath}"`);
    putDir = path.posix.dirname(dstPath);
    topName = path.posix.basename(dstPath);
  }
  const counter = { bytes: 0 };
  const pack = packPath(path.resolve(srcPath), contentsOnly && dstStat ? '' : topName, {
    followLink: options.followLink,
    counter,
    contentsOnly: contentsOnly && !!dstStat,
  });
  await cli.client.containerPutArchive(id, putDir, pack as unknown as Readable, { noOverwriteDirNonDir: true, copyUIDGID: options.archive });
  if (!options.quiet && process.stderr.isTTY) cli.eprintln(`Successfully copied ${humanSize(counter.bytes)} to ${id}:${dstPath}`);
}

/** A tar stream of `src` (recursively), its top entry named `topName`. */
export function packPath(src: string, topName: string, options: { followLink?: boolean; counter?: { bytes: number }; contentsOnly?: boolean } = {}): tar.Pack {
  const pack = tar.pack();
  const inodes = new Map<string, string>();
  const add = async (abs: string, name: string, top: boolean): Promise<void> => {
    const st = top && options.followLink ? await fsp.stat(abs) : await fsp.lstat(abs);
    const base = { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (st.isDirectory()) {
      if (name !== '') await entry(pack, { ...base, name: `${name}/`, type: 'directory' });
      const children = (await fsp.readdir(abs)).sort();
      for (const c of children) await add(path.join(abs, c), name === '' ? c : `${name}/${c}`, false);
    } else if (st.isSymbolicLink()) {
      await entry(pack, { ...base, type: 'symlink', linkname: await fsp.readlink(abs) });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const prior = st.nlink > 1 ? inodes.get(key) : undefined;
      if (prior !== undefined) {
        await entry(pack, { ...base, type: 'link', linkname: prior });
        return;
      }
      if (st.nlink > 1) inodes.set(key, name);
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry({ ...base, type: 'file', size: st.size }, (err) => (err ? reject(err) : resolve()));
        createReadStream(abs).on('error', reject).pipe(sink);
      });
      if (options.counter) options.counter.bytes += st.size;
    }
  };
  add(src, options.contentsOnly ? '' : topName, true).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err as Error),
  );
  return pack;
}

function entry(pack: tar.Pack, header: TarHeader): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
}

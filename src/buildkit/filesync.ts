/**
 * The receiving side of a session's `moby.filesync.v1.FileSync/DiffCopy` (fsutil's packet
 * stream): the client walks one of its directories (`dir-name`, filtered by the include and
 * exclude patterns given as call metadata — the client applies them, as BuildKit has it) and
 * sends a STAT per entry, then an empty STAT; berthd asks for each regular file's bytes by its
 * index (REQ), the client answers DATA packets (an empty one ends a file), and when everything
 * arrived berthd sends FIN, which the client answers with FIN and the end of the stream.
 *
 * Entries are written into an empty scratch directory. Paths come from the client: each must
 * be relative and clean, and its parent must be a directory this transfer created, so no
 * entry can be written through a symlink or outside the directory.
 */
import { promises as fs, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { invalid } from '../lib/errors.js';
import { GO_SETGID, GO_SETUID, GO_STICKY, GO_SYMLINK, PACKET, packetCodec } from './fsutil.js';
import type { Session } from './sessions.js';

const DIFFCOPY = '/moby.filesync.v1.FileSync/DiffCopy';

/** Go's os.FileMode bits (fsutil's Stat.mode). */
const MODE_DIR = 1 << 31;
const MODE_TYPE = (1 << 31) | (1 << 27) | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19);

interface Stat {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  modTime: number;
  linkname: string;
}

interface Packet {
  type: number;
  stat: Stat | null;
  ID: number;
  data: Buffer;
}

export interface SyncOptions {
  /** The client's directory name (`context`, `dockerfile`). */
  dirName: string;
  includePatterns?: string[];
  excludePatterns?: string[];
  followPaths?: string[];
}

export interface SyncResult {
  files: number;
  bytes: number;
}

/** Unix permission bits from Go's os.FileMode. */
function unixMode(m: number): number {
  let out = m & 0o777;
  if (m & GO_SETUID) out |= 0o4000;
  if (m & GO_SETGID) out |= 0o2000;
  if (m & GO_STICKY) out |= 0o1000;
  return out;
}

/** A client's entry path, checked: relative, clean, no `..`. */
function cleanRel(p: string): string {
  const rel = p.replace(/\\/g, '/');
  if (rel === '' || rel.startsWith('/') || rel.includes('\0')) throw invalid(`invalid path in file transfer: ${JSON.stringify(p)}`);
  const parts = rel.split('/');
  if (parts.some((s) => s === '' || s === '.' || s === '..')) throw invalid(`invalid path in file transfer: ${JSON.stringify(p)}`);
  return parts.join('/');
}

/**
 * Copies the session's directory `o.dirName` into `dest` (an existing empty directory) and
 * returns what came. A client that does not serve FileSync gets a clear error.
 */
export async function receiveDir(session: Session, dest: string, o: SyncOptions): Promise<SyncResult> {
  if (!session.supports(DIFFCOPY)) throw invalid('the client does not serve the build context (no filesync in its session)');
  const md: Record<string, string | string[]> = { 'dir-name': o.dirName };
  if (o.includePatterns?.length) md['include-patterns'] = o.includePatterns;
  if (o.excludePatterns?.length) md['exclude-patterns'] = o.excludePatterns;
  if (o.followPaths?.length) md['followpaths'] = o.followPaths;
  const call = session.client.call(DIFFCOPY, md);
  const dirs = new Set<string>(['']);
  /** Directories and their stats, for their times and modes once their content is in. */
  const dirStats: Array<{ abs: string; st: Stat }> = [];
  const wanted = new Map<number, { abs: string; st: Stat }>();
  const open = new Map<number, { fh: Promise<fs.FileHandle>; chain: Promise<unknown> }>();
  let index = 0;
  let statsDone = false;
  let pending = 0;
  let finSent = false;
  let bytes = 0;
  let files = 0;
  const writes: Array<Promise<unknown>> = [];
  const failures: unknown[] = [];

  const parentOk = (rel: string): void => {
    const parent = path.posix.dirname(rel);
    if (!dirs.has(parent === '.' ? '' : parent)) throw invalid(`invalid file transfer: ${rel} outside a transferred directory`);
  };
  const finishMeta = async (abs: string, st: Stat, isLink: boolean): Promise<void> => {
    await fs.lchown(abs, st.uid, st.gid).catch(() => undefined);
    if (!isLink) await fs.chmod(abs, unixMode(st.mode));
    const t = st.modTime / 1e9;
    if (!isLink) await fs.utimes(abs, t, t);
    else await fs.lutimes(abs, t, t).catch(() => undefined);
  };
  const maybeFin = (): void => {
    if (statsDone && pending === 0 && !finSent) {
      finSent = true;
      call.send(packetCodec.encode({ type: PACKET.FIN }));
      call.end();
    }
  };

  const onStat = async (st: Stat): Promise<void> => {
    const id = index++;
    const rel = cleanRel(st.path);
    parentOk(rel);
    const abs = path.join(dest, rel);
    const type = st.mode & MODE_TYPE;
    if (type === MODE_DIR) {
      await fs.mkdir(abs, { mode: 0o700 });
      dirs.add(rel);
      dirStats.push({ abs, st });
    } else if (type === GO_SYMLINK) {
      await fs.symlink(st.linkname, abs);
      await finishMeta(abs, st, true);
    } else if (type === 0) {
      if (st.linkname !== '') {
        // a hard link to an entry sent earlier
        const target = cleanRel(st.linkname);
        await fs.link(path.join(dest, target), abs);
        return;
      }
      files++;
      wanted.set(id, { abs, st });
      pending++;
      call.send(packetCodec.encode({ type: PACKET.REQ, ID: id }));
    }
    // devices, pipes and sockets are not part of a build context: skipped
  };

  const onData = (p: Packet): void => {
    const w = wanted.get(p.ID);
    if (!w) throw invalid(`invalid file request ${p.ID}`);
    let f = open.get(p.ID);
    if (!f) {
      const fh = fs.open(w.abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
      f = { fh, chain: fh };
      open.set(p.ID, f);
    }
    const entry = f;
    if (p.data.length > 0) {
      bytes += p.data.length;
      const data = p.data;
      entry.chain = entry.chain.then(async () => (await entry.fh).write(data));
      return;
    }
    // the end of this file
    open.delete(p.ID);
    wanted.delete(p.ID);
    const done = entry.chain
      .then(async () => (await entry.fh).close())
      .then(() => finishMeta(w.abs, w.st, false))
      .catch((err: unknown) => failures.push(err));
    writes.push(done);
    pending--;
    maybeFin();
  };

  try {
    for await (const raw of call.messages) {
      const p = packetCodec.decode(raw) as unknown as Packet;
      switch (p.type) {
        case PACKET.STAT:
          if (p.stat === null) {
            statsDone = true;
            maybeFin();
          } else await onStat(p.stat);
          break;
        case PACKET.DATA:
          onData(p);
          break;
        case PACKET.ERR:
          throw invalid(`error from sender: ${p.data.toString('utf8')}`);
        case PACKET.FIN:
          // the sender's answer to our FIN; the stream ends next
          break;
        default:
          break;
      }
      if (failures.length > 0) throw failures[0];
    }
  } catch (err) {
    call.cancel();
    for (const f of open.values()) await (await f.fh.catch(() => undefined))?.close().catch(() => undefined);
    throw err;
  }
  await Promise.all(writes);
  if (failures.length > 0) throw failures[0];
  if (!finSent) throw invalid(`file transfer of ${o.dirName} ended early`);
  for (const { abs, st } of dirStats.reverse()) await finishMeta(abs, st, false);
  return { files, bytes };
}

/**
 * The sending side of a session's `moby.filesync.v1.FileSend/DiffCopy`: what the local and tar
 * exporters write on the client. Two shapes on the one method, as BuildKit has them:
 *
 * - a directory (`--output type=local`): berthd is fsutil's sender. It sends a STAT per entry in
 *   walk order (each directory's names sorted, a directory's contents right after it), then an
 *   empty STAT; the client asks for each regular file by its index in that order (REQ), berthd
 *   answers DATA packets and an empty DATA at the file's end; the client sends FIN when it has
 *   everything, berthd answers FIN and ends the stream.
 * - a byte stream (`--output type=tar`, `-o -`): BytesMessages the client appends to its file or
 *   stdout, ended by the end of the stream.
 *
 * The tree sent is a read-only view of an image's layers; nothing is followed through a symlink
 * (lstat, O_NOFOLLOW). Devices, pipes and sockets are left out; a file's further hard links go as
 * links to its first path, as fsutil sends them.
 */
import { promises as fs, constants as fsc, type BigIntStats } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { invalid } from '../lib/errors.js';
import { codec } from './proto.js';
import { GO_SETGID, GO_SETUID, GO_STICKY, GO_SYMLINK, PACKET, packetCodec } from './fsutil.js';
import type { Session } from './sessions.js';

export const FILESEND = '/moby.filesync.v1.FileSend/DiffCopy';
const bytesCodec = codec('moby.filesync.v1.BytesMessage');

/** fsutil reads and sends files in 32 KiB pieces. */
const CHUNK = 32 * 1024;

/** Go's os.FileMode bits. */
const GO_DIR = 2 ** 31;

interface Entry {
  rel: string;
  abs: string;
  stat: { path: string; mode: number; uid: number; gid: number; size: string; modTime: string; linkname: string };
  regular: boolean;
}

export interface SendResult {
  files: number;
  bytes: number;
}

/** A Node stat's type and permissions as Go's os.FileMode; undefined for what is not sent. */
function goMode(st: BigIntStats): number | undefined {
  const m = Number(st.mode);
  let out = m & 0o777;
  if (m & 0o4000) out |= GO_SETUID;
  if (m & 0o2000) out |= GO_SETGID;
  if (m & 0o1000) out |= GO_STICKY;
  if (st.isDirectory()) return out + GO_DIR;
  if (st.isSymbolicLink()) return out | GO_SYMLINK;
  if (st.isFile()) return out;
  return undefined;
}

/** Go's filepath.Walk order below `root`: names sorted by bytes, each directory followed by its contents. */
async function walk(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  /** Files with more than one link: the first path seen, by device and inode. */
  const linked = new Map<string, string>();
  const visit = async (relDir: string): Promise<void> => {
    const names = (await fs.readdir(path.join(root, relDir))).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const abs = path.join(root, rel);
      const st = await fs.lstat(abs, { bigint: true });
      const mode = goMode(st);
      if (mode === undefined) continue;
      let linkname = st.isSymbolicLink() ? await fs.readlink(abs) : '';
      let regular = st.isFile();
      if (regular && st.nlink > 1n) {
        // a hard link to a file sent earlier goes as its path (fsutil's receiver links it)
        const key = `${st.dev}:${st.ino}`;
        const first = linked.get(key);
        if (first === undefined) linked.set(key, rel);
        else {
          linkname = first;
          regular = false;
        }
      }
      out.push({
        rel,
        abs,
        regular,
        stat: {
          path: rel,
          mode,
          uid: Number(st.uid),
          gid: Number(st.gid),
          size: st.isFile() ? String(st.size) : '0',
          modTime: String(st.mtimeNs),
          linkname,
        },
      });
      if (st.isDirectory()) await visit(rel);
    }
  };
  await visit('');
  return out;
}

/** Whether the client can receive an export (it serves FileSend: `--output` was given). */
export function canReceive(session: Session): boolean {
  return session.supports(FILESEND);
}

function requireFileSend(session: Session): void {
  if (!canReceive(session)) throw invalid(`method ${FILESEND.toLowerCase()} not supported by the client`);
}

/** Sends the tree at `root` to the client's output directory. */
export async function sendDir(session: Session, root: string): Promise<SendResult> {
  requireFileSend(session);
  const entries = await walk(root);
  const call = session.client.call(FILESEND);
  let bytes = 0;
  let files = 0;
  /** Files go one after another, in the order the client asked for them. */
  let queue: Promise<void> = Promise.resolve();
  const sendFile = async (id: number): Promise<void> => {
    const e = entries[id];
    if (!e?.regular) throw invalid(`invalid file request ${id}`);
    const fh = await fs.open(e.abs, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    try {
      const buf = Buffer.alloc(CHUNK);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        bytes += bytesRead;
        call.send(packetCodec.encode({ type: PACKET.DATA, ID: id, data: buf.subarray(0, bytesRead) }));
        await call.drained();
      }
    } finally {
      await fh.close();
    }
    call.send(packetCodec.encode({ type: PACKET.DATA, ID: id, data: Buffer.alloc(0) }));
    files++;
  };
  try {
    for (const e of entries) call.send(packetCodec.encode({ type: PACKET.STAT, stat: e.stat }));
    call.send(packetCodec.encode({ type: PACKET.STAT }));
    let finished = false;
    for await (const raw of call.messages) {
      const p = packetCodec.decode(raw) as { type: number; ID: number; data: Buffer };
      if (p.type === PACKET.REQ) {
        const id = p.ID;
        queue = queue.then(() => sendFile(id));
        // a failed read surfaces at the next packet or at FIN
        queue.catch(() => undefined);
      } else if (p.type === PACKET.FIN) {
        await queue;
        call.send(packetCodec.encode({ type: PACKET.FIN }));
        call.end();
        finished = true;
      } else if (p.type === PACKET.ERR) {
        throw invalid(`error from receiver: ${p.data.toString('utf8')}`);
      }
    }
    await queue;
    if (!finished) throw invalid('the client ended the export before it finished');
  } catch (err) {
    call.cancel();
    throw err;
  }
  return { files, bytes };
}

/** Sends a byte stream (a tar) to the client's output file or stdout. */
export async function sendStream(session: Session, data: Readable): Promise<number> {
  requireFileSend(session);
  const call = session.client.call(FILESEND);
  let bytes = 0;
  try {
    for await (const chunk of data as AsyncIterable<Buffer>) {
      for (let off = 0; off < chunk.length; off += CHUNK) {
        const part = chunk.subarray(off, off + CHUNK);
        call.send(bytesCodec.encode({ data: part }));
        bytes += part.length;
        await call.drained();
      }
    }
    call.end();
    // the client's end of the stream says everything is written
    for await (const _ of call.messages) void _;
  } catch (err) {
    call.cancel();
    data.destroy();
    throw err;
  }
  return bytes;
}

/**
 * User resolution for a container: Docker's `-u` forms against the container's own
 * /etc/passwd and /etc/group, read without ever following a symlink out of the rootfs
 * (opened inside the root by the kernel: lib/rootfs.ts).
 */
import * as posixPath from 'node:path/posix';
import { system } from '../lib/errors.js';
import { RootDir, errCode } from '../lib/rootfs.js';

const MAX_ID = 2147483647;

/**
 * Read a file inside a rootfs (opened through {@link RootDir}: the kernel resolves it inside the
 * root); undefined when absent or not a regular file. A symlink loop is a System error with
 * securejoin's text, as dockerd answers at start.
 */
export function readFileInRoot(root: string, path: string): string | undefined {
  let dir: RootDir;
  try {
    dir = RootDir.open(root);
  } catch (err) {
    throw system(`open ${path} in container: ${(err as Error).message}`, err);
  }
  try {
    return dir.readFile(path)?.toString('utf8');
  } catch (err) {
    const code = errCode(err);
    if (code === 'ELOOP') throw system(`SecureJoin ${posixPath.join(posixPath.resolve(root), path)}: too many levels of symbolic links`, err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw system(`open ${path} in container: ${(err as Error).message}`, err);
  } finally {
    dir.close();
  }
}

/** One /etc/passwd entry. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** One /etc/group entry. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const toId = (s: string | undefined): number => {
  const n = Number.parseInt(s ?? '', 10);
  return Number.isNaN(n) ? 0 : n;
};

/** Parse /etc/passwd text (blank lines and comments skipped). */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    out.push({ name: f[0] ?? '', uid: toId(f[2]), gid: toId(f[3]), home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return out;
}

/** Parse /etc/group text. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const members = (f[3] ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '');
    out.push({ name: f[0] ?? '', gid: toId(f[2]), members });
  }
  return out;
}

/** The identity a container process runs with. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Primary gid first, then supplementary groups from /etc/group, then `groupAdd`. */
  additionalGids: number[];
  /** Home directory from /etc/passwd ("/" when unknown). */
  home: string;
}

/** Options of {@link resolveUser}. */
export interface ResolveUserOptions {
  /** Container root filesystem (host path). */
  rootfs: string;
  /** Docker's `-u`: "", "name", "uid", "name:group", "uid:gid", "name:gid", … */
  user?: string;
  /** `--group-add` entries: group names or numeric gids. */
  groupAdd?: readonly string[];
}

const parseNumericId = (s: string): number | undefined => (/^\d+$/.test(s) ? Number(s) : undefined);

/**
 * Resolve a container's user the way dockerd (libcontainer's GetExecUser) does. Failures are
 * System errors (dockerd answers 500 at start) with dockerd's messages.
 */
export function resolveUser(opts: ResolveUserOptions): ResolvedUser {
  const spec = opts.user ?? '';
  const colon = spec.indexOf(':');
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  const groupArg = colon < 0 ? '' : spec.slice(colon + 1);
  const uidArg = parseNumericId(userArg);
  const gidArg = parseNumericId(groupArg);

  const passwdText = readFileInRoot(opts.rootfs, '/etc/passwd');
  const groupText = readFileInRoot(opts.rootfs, '/etc/group');
  const passwd = passwdText !== undefined ? parsePasswd(passwdText) : [];
  const groups = groupText !== undefined ? parseGroup(groupText) : [];

  let uid = 0;
  let gid = 0;
  let home = '/';
  let name = '';
  const match = passwd.find((u) => (userArg === '' ? u.uid === 0 : uidArg !== undefined ? u.uid === uidArg : u.name === userArg));
  if (match) {
    uid = match.uid;
    gid = match.gid;
    home = match.home || '/';
    name = match.name;
  } else if (userArg !== '') {
    if (uidArg === undefined) throw system(`unable to find user ${userArg}: no matching entries in passwd file`);
    if (uidArg > MAX_ID) throw system('uids and gids must be in range 0-2147483647');
    uid = uidArg;
  }

  const sgids: number[] = [];
  if (groupArg !== '') {
    const g = groups.find((e) => (gidArg !== undefined ? e.gid === gidArg : e.name === groupArg));
    if (g) gid = g.gid;
    else {
      if (gidArg === undefined) throw system(`unable to find group ${groupArg}: no matching entries in group file`);
      if (gidArg > MAX_ID) throw system('uids and gids must be in range 0-2147483647');
      gid = gidArg;
    }
  } else if (name !== '') {
    for (const g of groups) if (g.members.includes(name)) sgids.push(g.gid);
  }

  for (const ag of opts.groupAdd ?? []) {
    const byName = groups.find((g) => g.name === ag);
    const num = parseNumericId(ag);
    const byId = num !== undefined ? groups.find((g) => g.gid === num) : undefined;
    const found = byName ?? byId;
    if (found) sgids.push(found.gid);
    else if (num !== undefined) {
      if (num > MAX_ID) throw system('uids and gids must be in range 0-2147483647');
      sgids.push(num);
    } else throw system(`Unable to find group ${ag}: no matching entries in group file`);
  }

  return { uid, gid, additionalGids: [...new Set([gid, ...sgids])], home };
}

/**
 * User resolution for a container: Docker's `-u` forms against the container's own
 * /etc/passwd and /etc/group, read without ever following a symlink out of the rootfs.
 * Also the securejoin-style {@link resolveInRoot} the daemon uses for every path a user names
 * inside a container's filesystem.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import * as posixPath from 'node:path/posix';
import { system } from '../lib/errors.js';

/** Symlinks followed before giving up with ELOOP (as filepath-securejoin). */
export const MAX_SYMLINKS = 255;

const MAX_ID = 2147483647;

/**
 * Resolve `unsafePath` inside `root` as if `root` were `/`: every symlink met is read and
 * resolved relative to `root` (absolute targets restart at `root`), `..` never climbs above
 * `root`, and missing components are taken literally. Returns an absolute host path under
 * `root`. Throws a System error (ELOOP) after {@link MAX_SYMLINKS} links.
 *
 * Like securejoin, this is a lexical resolution at one point in time: a caller that then opens
 * the result should not follow a final symlink (O_NOFOLLOW) if the tree may change meanwhile.
 */
export function resolveInRoot(root: string, unsafePath: string): string {
  const cleanRoot = posixPath.resolve(root);
  let current = ''; // resolved so far, relative, no symlinks, no '..'
  let remaining = unsafePath;
  let links = 0;
  while (remaining !== '') {
    const i = remaining.indexOf('/');
    let part: string;
    if (i === -1) {
      part = remaining;
      remaining = '';
    } else {
      part = remaining.slice(0, i);
      remaining = remaining.slice(i + 1);
    }
    const next = posixPath.join('/', current, part);
    if (next === '/') {
      current = '';
      continue;
    }
    const full = cleanRoot + next;
    let isLink = false;
    try {
      isLink = lstatSync(full).isSymbolicLink();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw system(`resolving ${unsafePath} in ${root}`, err);
    }
    if (!isLink) {
      current = next;
      continue;
    }
    links++;
    if (links > MAX_SYMLINKS) {
      const e = system(`SecureJoin ${posixPath.join(cleanRoot, unsafePath)}: too many levels of symbolic links`);
      throw e;
    }
    const dest = readlinkSync(full);
    remaining = dest + '/' + remaining;
    if (dest.startsWith('/')) current = '';
  }
  const finalPath = posixPath.join('/', current);
  if (cleanRoot === '/') return finalPath;
  return finalPath === '/' ? cleanRoot : cleanRoot + finalPath;
}

/** Read a file inside a rootfs (resolved with {@link resolveInRoot}); undefined when absent. */
export function readFileInRoot(root: string, path: string): string | undefined {
  const resolved = resolveInRoot(root, path);
  let fd: number;
  try {
    fd = openSync(resolved, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw system(`open ${path} in container: ${(err as Error).message}`, err);
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
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
    const members = (f[3] ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '');
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
  const match = passwd.find((u) =>
    userArg === '' ? u.uid === 0 : uidArg !== undefined ? u.uid === uidArg : u.name === userArg,
  );
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

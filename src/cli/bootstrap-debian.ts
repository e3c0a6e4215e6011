/**
 * `berth image bootstrap debian[:SUITE]`: a real distribution base image without Docker Hub.
 * Runs Debian's `debootstrap --variant=minbase SUITE` from Debian's archive into a private
 * temp dir on the client (root needed, like debootstrap itself), trims what Docker's debian
 * images also leave out (apt lists, downloaded .debs, logs), then streams the tree through the
 * import API (POST /images/create?fromSrc=-) as `debian:SUITE` with `CMD ["bash"]`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { packPath } from '../lib/tarpack.js';
import type { Cli } from './common.js';
import { displayJsonMessages } from './progress.js';
import { parseReference } from './reference.js';

export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const SUITES = new Set(['bookworm', 'bullseye', 'trixie', 'sid', 'stable', 'oldstable', 'testing', 'unstable']);

function ensureDebootstrap(cli: Cli): void {
  if (spawnSync('debootstrap', ['--version'], { stdio: 'ignore' }).status === 0) return;
  cli.eprintln('debootstrap is not installed; installing it with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', 'debootstrap'], { stdio: ['ignore', 'inherit', 'inherit'], env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'], env });
    r = spawnSync('apt-get', ['install', '-y', 'debootstrap'], { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (r.status !== 0) throw new Error('could not install debootstrap (apt-get install -y debootstrap failed)');
  }
}

/** Unmounts whatever debootstrap left mounted under `dir` (deepest first). */
function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
}

function runDebootstrap(cli: Cli, suite: string, target: string, mirror: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('debootstrap', ['--variant=minbase', suite, target, mirror], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (b: Buffer): void => {
      tail = (tail + b.toString()).slice(-4000);
    };
    child.stdout.on('data', (b: Buffer) => {
      keep(b);
      for (const line of b.toString().split('\n')) if (line.startsWith('I: Base system')) cli.eprintln(line);
    });
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`debootstrap --variant=minbase ${suite} failed (exit ${code}):\n${tail.trim()}`))));
  });
}

/** Removes what a container image does not need: caches, apt lists, logs. */
async function trim(root: string, suite: string, mirror: string): Promise<void> {
  const empty = async (dir: string): Promise<void> => {
    const abs = path.join(root, dir);
    for (const n of await fs.readdir(abs).catch(() => [] as string[])) {
      if (n === 'partial' || n === 'lock') continue;
      await fs.rm(path.join(abs, n), { recursive: true, force: true });
    }
  };
  await empty('var/cache/apt/archives');
  await empty('var/lib/apt/lists');
  await empty('var/log');
  await fs.rm(path.join(root, 'var/cache/apt/pkgcache.bin'), { force: true });
  await fs.rm(path.join(root, 'var/cache/apt/srcpkgcache.bin'), { force: true });
  // Device nodes are the runtime's business (never archived into a layer).
  await empty('dev');
  await fs.writeFile(path.join(root, 'etc/apt/sources.list'), `deb ${mirror} ${suite} main\n`);
  await fs.writeFile(path.join(root, 'etc/hostname'), '');
  await fs.writeFile(path.join(root, 'etc/resolv.conf'), '');
}

export async function bootstrapDebian(cli: Cli, what: string, options: { tag?: string | undefined; mirror?: string | undefined } = {}): Promise<string> {
  const suite = what.includes(':') ? what.slice(what.indexOf(':') + 1) : 'bookworm';
  if (!SUITES.has(suite)) throw new Error(`unknown Debian suite "${suite}" (supported: ${[...SUITES].join(', ')})`);
  if (process.getuid?.() !== 0) throw new Error('bootstrapping a Debian image needs root (debootstrap creates files owned by other users)');
  ensureDebootstrap(cli);
  const mirror = options.mirror ?? process.env['BERTH_DEBIAN_MIRROR'] ?? DEFAULT_MIRROR;
  const ref = parseReference(options.tag ?? `debian:${suite}`);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-debootstrap-'));
  const root = path.join(work, 'rootfs');
  try {
    cli.eprintln(`debootstrap --variant=minbase ${suite} from ${mirror}`);
    await runDebootstrap(cli, suite, root, mirror);
    unmountUnder(root);
    await trim(root, suite, mirror);
    const tar = packPath(root, { rename: '' });
    const res = await cli.client.imageImport({
      source: '-',
      body: tar,
      repo: ref.name,
      tag: ref.tag ?? suite,
      changes: ['CMD ["bash"]'],
      message: `debootstrap --variant=minbase ${suite} ${mirror}`,
    });
    const sink = new PassThrough();
    sink.resume();
    let id = '';
    for (const m of await displayJsonMessages(res, sink)) if (m.status && /^sha256:[0-9a-f]{64}$/.test(m.status.trim())) id = m.status.trim();
    if (!id) id = (await cli.client.imageInspect(`${ref.name}:${ref.tag ?? suite}`)).Id;
    cli.println(id);
    return id;
  } finally {
    unmountUnder(work);
    await fs.rm(work, { recursive: true, force: true });
  }
}

/**
 * `berth image bootstrap busybox`: builds busybox:latest on the client from Debian's
 * busybox-static and sends it through the import API (POST /images/create?fromSrc=-).
 * The tar is generated in memory order with fixed mtimes and owners, so two bootstraps
 * produce the same layer.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';

type TarHeader = Parameters<tar.Pack['entry']>[0];
import type { Cli } from './common.js';
import { displayJsonMessages } from './progress.js';
import { parseReference } from './reference.js';

const BUSYBOX = '/bin/busybox';
/** 2024-01-01T00:00:00Z: every entry gets this mtime (SOURCE_DATE_EPOCH overrides). */
const DEFAULT_EPOCH = 1704067200;

function ensureBusyboxStatic(cli: Cli): void {
  const check = spawnSync('dpkg', ['-s', 'busybox-static'], { stdio: 'ignore' });
  if (check.status === 0) return;
  cli.eprintln('busybox-static is not installed; installing it with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = spawnSync('apt-get', ['install', '-y', 'busybox-static'], { stdio: ['ignore', 'inherit', 'inherit'], env });
  if (install.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'], env });
    const again = spawnSync('apt-get', ['install', '-y', 'busybox-static'], { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (again.status !== 0) throw new Error('could not install busybox-static (apt-get install -y busybox-static failed)');
  }
}

export function busyboxApplets(binary = BUSYBOX): string[] {
  const r = spawnSync(binary, ['--list'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${binary} --list failed: ${r.stderr}`);
  return [
    ...new Set(
      r.stdout
        .split('\n')
        .map((s) => s.trim())
        .filter((s) => s !== '' && s !== 'busybox' && !s.includes('/')),
    ),
  ].sort();
}

export interface RootfsOptions {
  busybox: Buffer;
  applets: string[];
  mtime: Date;
}

/** The busybox rootfs as a tar stream. */
export function busyboxRootfs(options: RootfsOptions): tar.Pack {
  const pack = tar.pack();
  const mtime = options.mtime;
  const owner = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime };
  const dirs: Array<[string, number]> = [
    ['bin', 0o755],
    ['dev', 0o755],
    ['etc', 0o755],
    ['home', 0o755],
    ['proc', 0o555],
    ['root', 0o700],
    ['sys', 0o555],
    ['tmp', 0o1777],
    ['usr', 0o755],
    ['usr/bin', 0o755],
    ['usr/sbin', 0o755],
    ['var', 0o755],
    ['var/spool', 0o755],
    ['var/spool/mail', 0o755],
    ['var/www', 0o755],
  ];
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n';
  const group = 'root:x:0:\nnobody:x:65534:\n';
  const write = async (): Promise<void> => {
    const add = (header: TarHeader, body?: Buffer | string): Promise<void> =>
      new Promise((resolve, reject) => {
        pack.entry({ ...owner, ...header }, body ?? '', (err) => (err ? reject(err) : resolve()));
      });
    for (const [name, mode] of dirs.slice(0, 1)) await add({ name: `${name}/`, type: 'directory', mode });
    await add({ name: 'bin/busybox', type: 'file', mode: 0o755, size: options.busybox.length }, options.busybox);
    for (const applet of options.applets) {
      await add({ name: `bin/${applet}`, type: 'link', linkname: 'bin/busybox', mode: 0o755, size: 0 });
    }
    for (const [name, mode] of dirs.slice(1)) {
      await add({ name: `${name}/`, type: 'directory', mode });
      if (name === 'etc') {
        await add({ name: 'etc/group', type: 'file', mode: 0o644, size: Buffer.byteLength(group) }, group);
        await add({ name: 'etc/passwd', type: 'file', mode: 0o644, size: Buffer.byteLength(passwd) }, passwd);
      }
    }
    pack.finalize();
  };
  write().catch((e: unknown) => pack.destroy(e as Error));
  return pack;
}

export async function bootstrap(cli: Cli, what: string, options: { tag?: string | undefined } = {}): Promise<string> {
  if (what !== 'busybox') throw new Error(`unknown bootstrap image "${what}" (supported: busybox, debian[:SUITE])`);
  ensureBusyboxStatic(cli);
  statSync(BUSYBOX);
  const busybox = readFileSync(BUSYBOX);
  const applets = busyboxApplets();
  const epoch = Number(process.env['SOURCE_DATE_EPOCH'] ?? DEFAULT_EPOCH);
  const rootfs = busyboxRootfs({ busybox, applets, mtime: new Date((Number.isFinite(epoch) ? epoch : DEFAULT_EPOCH) * 1000) });
  const ref = parseReference(options.tag ?? 'busybox:latest');
  const res = await cli.client.imageImport({
    source: '-',
    body: rootfs as unknown as Readable,
    repo: ref.name,
    tag: ref.tag ?? 'latest',
    changes: ['CMD ["sh"]'],
  });
  let id = '';
  const { PassThrough } = await import('node:stream');
  const sink = new PassThrough();
  sink.resume();
  const messages = await displayJsonMessages(res, sink);
  for (const m of messages) if (m.status && /^sha256:[0-9a-f]{64}$/.test(m.status.trim())) id = m.status.trim();
  if (!id) {
    const inspect = await cli.client.imageInspect(`${ref.name}:${ref.tag ?? 'latest'}`);
    id = inspect.Id;
  }
  cli.println(id);
  return id;
}

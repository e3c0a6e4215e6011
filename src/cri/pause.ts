/**
 * The infra process of every pod sandbox: the host's static `catatonit` in pause mode
 * (`catatonit -P`: no child, reaps zombies, exits on SIGTERM). Berth pulls no pause image: the
 * first sandbox imports a one-layer image holding only that binary (`berth.local/pause:catatonit`,
 * user 65535 as upstream's pause), so the infra container is an ordinary Berth container.
 */
import { existsSync, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { unavailable } from '../lib/errors.js';
import type { Image } from '../images/types.js';

export const PAUSE_IMAGE = 'berth.local/pause:catatonit';
export const CATATONIT_CANDIDATES = ['/usr/bin/catatonit', '/usr/libexec/catatonit/catatonit'];

export interface PauseImageDeps {
  find(ref: string): Image | undefined;
  importTar(src: Readable, o: { repo: string; tag: string; changes: string[] }): Promise<Image>;
}

let pending: Promise<Image> | undefined;

/** The pause image, imported from the host's catatonit the first time it is needed. */
export async function ensurePauseImage(d: PauseImageDeps, binary = CATATONIT_CANDIDATES.find((p) => existsSync(p))): Promise<Image> {
  const have = d.find(PAUSE_IMAGE);
  if (have) return have;
  if (!binary) throw unavailable(`no catatonit binary for the pod infra process (looked in ${CATATONIT_CANDIDATES.join(', ')}); install Debian's catatonit`);
  pending ??= build(d, binary).finally(() => (pending = undefined));
  return pending;
}

async function build(d: PauseImageDeps, binary: string): Promise<Image> {
  const bytes = await fs.readFile(binary);
  const pack = tar.pack();
  const mtime = new Date(0);
  for (const dir of ['dev', 'proc', 'sys', 'etc']) pack.entry({ name: `${dir}/`, type: 'directory', mode: 0o755, mtime });
  pack.entry({ name: 'catatonit', mode: 0o755, mtime, size: bytes.length }, bytes);
  pack.finalize();
  const [repo, tag] = PAUSE_IMAGE.split(':') as [string, string];
  return d.importTar(Readable.from(pack), {
    repo,
    tag,
    changes: ['ENTRYPOINT ["/catatonit", "-P"]', 'USER 65535:65535'],
  });
}

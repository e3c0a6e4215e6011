/**
 * `docker import`: a rootfs tar (plain, gzip, bzip2 or xz) becomes a one-layer image.
 * The tar streams through decompression, hashing and extraction at once; its bytes are
 * committed to the content store by diff ID.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ContentStore } from '../content/store.js';
import type { Leases } from '../content/leases.js';
import { decompress } from '../lib/decompress.js';
import type { LayerStore } from '../snapshots/layers.js';
import { applyChanges } from './changes.js';
import type { ImageStore } from './store.js';
import type { Image, ImageConfig } from './types.js';

export interface ImportOptions {
  changes?: string[];
  message?: string;
  source?: string;
  architecture?: string;
}

export async function importImage(
  deps: { content: ContentStore; layers: LayerStore; images: ImageStore; leases?: Leases | undefined },
  src: Readable,
  opts: ImportOptions,
): Promise<Image> {
  const runConfig = applyChanges({}, opts.changes ?? []);
  const tar = await decompress(src);
  const blobFile = deps.content.tempPath();
  const lease = deps.leases?.create();
  try {
    const layer = await deps.layers.apply(undefined, tar, { blobFile, ...(lease ? { lease } : {}) });
    await deps.content.commit(blobFile, layer.diffId);
    const now = new Date().toISOString();
    const config: ImageConfig = {
      architecture: opts.architecture ?? 'amd64',
      os: 'linux',
      created: now,
      config: runConfig,
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created: now, comment: opts.message ? opts.message : `Imported from ${opts.source ?? '-'}` }],
    };
    if (opts.message) config.comment = opts.message;
    const bytes = Buffer.from(JSON.stringify(config));
    lease?.add(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    return await deps.images.add(bytes);
  } finally {
    lease?.release();
    await fs.rm(blobFile, { force: true });
  }
}

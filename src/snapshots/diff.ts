/**
 * A container's (or build step's) overlay upper directory → a new layer: packed as a layer tar
 * (whiteouts as `.wh.` entries, opaque directories marked), digested into the content store and
 * unpacked into the layer store on top of its parent. Shared by `commit` and the builder.
 */
import { promises as fs } from 'node:fs';
import type { ContentStore } from '../content/store.js';
import { lgetxattr } from '../lib/syscalls.js';
import { packPath } from '../lib/tarpack.js';
import type { LayerInfo, LayerStore } from './layers.js';

/**
 * Paths runc creates in a rootfs only to mount over (Docker keeps them in an "init" layer
 * under the container's): never part of a committed layer.
 */
export const RUNTIME_MOUNTPOINTS: ReadonlySet<string> = new Set(['etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'dev', 'proc', 'sys']);

export interface LayerFromUpperOptions {
  /** Times later than this are written as this (reproducible builds). */
  clampMtime?: Date;
  /** More archive names to leave out (besides {@link RUNTIME_MOUNTPOINTS}). */
  omit?: ReadonlySet<string>;
}

export async function layerFromUpper(
  deps: { content: ContentStore; layers: LayerStore },
  parentChain: string | undefined,
  upperDir: string,
  o: LayerFromUpperOptions = {},
): Promise<LayerInfo> {
  const tar = packPath(upperDir, {
    rename: '',
    overlayWhiteouts: true,
    isOpaque: (p) => lgetxattr(p, 'trusted.overlay.opaque')?.toString() === 'y',
    omit: (name) => RUNTIME_MOUNTPOINTS.has(name) || (o.omit?.has(name) ?? false),
    ...(o.clampMtime ? { clampMtime: o.clampMtime } : {}),
  });
  const blobFile = deps.content.tempPath();
  try {
    const layer = await deps.layers.apply(parentChain, tar, { blobFile });
    await deps.content.commit(blobFile, layer.diffId);
    return layer;
  } finally {
    await fs.rm(blobFile, { force: true });
  }
}

/**
 * A container's (or build step's) overlay upper directory → a new layer: packed as a layer tar
 * (whiteouts as `.wh.` entries, opaque directories marked), digested into the content store and
 * unpacked into the layer store on top of its parent. Shared by `commit` and the builder.
 */
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Lease } from '../content/leases.js';
import { Digester, type ContentStore } from '../content/store.js';
import { fgetxattr } from '../lib/syscalls.js';
import { RootDir } from '../lib/rootfs.js';
import { packPath } from '../lib/tarpack.js';
import { span } from '../lib/trace.js';
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
  /**
   * The upper dir is the caller's to give away (its container is removed next): it becomes the
   * layer's directory by a rename instead of a second copy of every file.
   */
  adopt?: boolean;
  /** Holds the new layer and blob against garbage collection until an image references them. */
  lease?: Lease;
}

export async function layerFromUpper(
  deps: { content: ContentStore; layers: LayerStore },
  parentChain: string | undefined,
  upperDir: string,
  o: LayerFromUpperOptions = {},
): Promise<LayerInfo> {
  const omitted = (name: string): boolean => RUNTIME_MOUNTPOINTS.has(name) || (o.omit?.has(name) ?? false);
  let size = 0;
  const tar = packPath(upperDir, {
    rename: '',
    overlayWhiteouts: true,
    isOpaque: (_p, fd) => fgetxattr(fd, 'trusted.overlay.opaque')?.toString() === 'y',
    omit: omitted,
    onFile: (n) => (size += n),
    ...(o.clampMtime ? { clampMtime: o.clampMtime } : {}),
  });
  const blobFile = deps.content.tempPath();
  const lease = o.lease ? { lease: o.lease } : {};
  try {
    if (o.adopt) {
      const t = span('layer-from-upper');
      const digester = new Digester();
      await pipeline(tar, digester, createWriteStream(blobFile, { mode: 0o644 }));
      const diffId = digester.digest();
      t.mark('pack');
      // The directory must hold exactly what the tar holds.
      // (Removed through fds inside the upper dir: its symlinks are the container's, never followed.)
      await RootDir.with(upperDir, (root) => {
        for (const name of [...RUNTIME_MOUNTPOINTS, ...(o.omit ?? [])]) root.removeAll(name);
      });
      const layer =
        (await deps.layers.adopt(parentChain, upperDir, { diffId, size }, lease)) ?? (await deps.layers.apply(parentChain, createReadStream(blobFile), lease));
      t.mark('adopt');
      await deps.content.commit(blobFile, diffId);
      t.mark('commit');
      t.end();
      return layer;
    }
    const layer = await deps.layers.apply(parentChain, tar, { blobFile, ...lease });
    await deps.content.commit(blobFile, layer.diffId);
    return layer;
  } finally {
    await fs.rm(blobFile, { force: true });
  }
}

/**
 * The exporters of a solve, by the name the control Solve gives (buildx's `--output type=…`):
 *
 * - `moby` / `image`: the image into berthd's store, tagged with `name` (`--load`, the docker
 *   driver's default; `--push` is buildx's own push through `/images/{name}/push` afterwards).
 *   The response carries `containerimage.digest` and `containerimage.config.digest` (both the
 *   image ID: the docker driver's image is not a registry manifest) and `image.name`, which
 *   buildx writes to `--metadata-file`. dockerd 20.10 answers only `containerimage.digest`;
 *   later dockerd and BuildKit add the other two, and buildx reads them when they are there.
 * - `local`: the final stage's filesystem into the client's `dest` directory (FileSend, fsutil).
 * - `tar`: that filesystem as a tar into the client's `dest` file or stdout (FileSend, bytes).
 *
 * The filesystem is a read-only view of the image's layers, released when the send ends.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BuildResult } from '../build/request.js';
import type { Image } from '../images/types.js';
import { invalid, notImplemented } from '../lib/errors.js';
import { packPath } from '../lib/tarpack.js';
import { sendDir, sendStream } from './filesend.js';
import type { Progress } from './progress.js';
import type { Session } from './sessions.js';

/** Where exported images go (images/service.ts's ImageService). */
export interface ImageExporter {
  tag(imageId: string, ref: string): Promise<void>;
}

/** A read-only view of an image's layers (snapshots/snapshotter.ts's Snapshotter.view). */
export interface RootfsViews {
  view(parents: readonly string[], target: string): Promise<{ path: string; release(): Promise<void> }>;
}

export interface ExporterDeps {
  images: ImageExporter;
  snapshots: RootfsViews;
  /** Scratch space for the views' mount points (the builder's work dir). */
  workDir: string;
}

export interface ExportRequest {
  exporter: string;
  attrs: Record<string, string>;
  result: BuildResult | undefined;
  session: Session;
  progress: Progress;
}

const EXPORTERS = ['moby', 'image', 'local', 'tar'];

/** Runs the solve's exporter; returns the solve's ExporterResponse. */
export async function runExporter(d: ExporterDeps, r: ExportRequest): Promise<Record<string, string>> {
  if (r.exporter === '') return {};
  if (!EXPORTERS.includes(r.exporter)) throw notImplemented(`exporter ${r.exporter} is not supported: Berth exports to the image store, local and tar`);
  if (!r.result) throw invalid('the build returned no image to export');
  const image = r.result.image;
  switch (r.exporter) {
    case 'local':
      return exportFilesystem(d, image, async (root) => {
        const v = r.progress.vertex('exporting to client').start();
        const sent = await sendDir(r.session, root);
        v.status('copying files', sent.bytes);
        v.complete();
      });
    case 'tar':
      return exportFilesystem(d, image, async (root) => {
        const v = r.progress.vertex('exporting to client').start();
        const n = await sendStream(r.session, packPath(root, { rename: '' }));
        v.status('sending tarball', n);
        v.complete();
      });
    default:
      return exportImage(d, image, r);
  }
}

async function exportImage(d: ExporterDeps, image: Image, r: ExportRequest): Promise<Record<string, string>> {
  // `push=true` is left to the client, as dockerd's exporter leaves it: buildx's docker driver
  // pushes the named image through `/images/{name}/push` once the solve returned.
  const id = image.id;
  const v = r.progress.vertex('exporting to image').start();
  v.status(`writing image ${id}`, 0);
  const names = (r.attrs['name'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    await d.images.tag(id, n);
    v.status(`naming to ${n}`, 0);
  }
  v.complete();
  return { 'containerimage.digest': id, 'containerimage.config.digest': id, ...(names.length ? { 'image.name': names.join(',') } : {}) };
}

/** Mounts the image's filesystem read-only for `send`, and releases it after. */
async function exportFilesystem(d: ExporterDeps, image: Image, send: (root: string) => Promise<void>): Promise<Record<string, string>> {
  const dir = path.join(d.workDir, `bk-export-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const view = await d.snapshots.view(image.chainIds, dir);
    try {
      await send(view.path);
    } finally {
      await view.release();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
  return {};
}

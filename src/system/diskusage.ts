/** `GET /system/df`: each part from its owner, only the parts asked for. */
import type { ContainerSummary } from '../engine-api/types.js';
import { invalid } from '../lib/errors.js';

/** The owners of the parts, as the wiring supplies them. */
export interface DiskUsageSources {
  /** Images with their shared sizes and container counts, and the total of all layers. */
  images: () => Promise<{ layersSize: number; images: Array<Record<string, unknown>> }>;
  /** Container list entries with SizeRw and SizeRootFs. */
  containers: () => Promise<ContainerSummary[]>;
  /** Volumes with UsageData. */
  volumes: () => Promise<Array<Record<string, unknown>>>;
  /** Build cache records. */
  buildCache: () => Promise<Array<Record<string, unknown>>>;
}

const TYPES = ['container', 'image', 'volume', 'build-cache'];

export class DiskUsage {
  constructor(private readonly s: DiskUsageSources) {}

  /** The document for the `type=` values asked for (none: every part); an unknown type is refused. */
  async usage(types: readonly string[]): Promise<Record<string, unknown>> {
    for (const t of types) {
      if (!TYPES.includes(t)) throw invalid(`unknown object type: ${t}`);
    }
    const want = (t: string): boolean => types.length === 0 || types.includes(t);
    const out: Record<string, unknown> = {};
    if (want('image')) {
      const im = await this.s.images();
      out.LayersSize = im.layersSize;
      out.Images = im.images;
    }
    if (want('container')) out.Containers = await this.s.containers();
    if (want('volume')) out.Volumes = await this.s.volumes();
    if (want('build-cache')) out.BuildCache = await this.s.buildCache();
    return out;
  }
}

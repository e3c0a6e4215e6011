/** /volumes/…: HTTP ⇄ VolumeService. */
import { parseFilters } from '../lib/filters.js';
import { invalid } from '../lib/errors.js';
import type { CreateVolumeRequest, VolumeView } from '../volumes/service.js';
import { boolParam, readJSON, sendEmpty, sendJSON, versionAtLeast, type Router } from './router.js';

/** The volume operations the /volumes routes call (volumes/service.ts's VolumeService). */
export interface VolumeOps {
  list(filters: Map<string, string[]>): VolumeView[];
  create(req: CreateVolumeRequest): Promise<VolumeView>;
  /** `all`: every unused volume, not only anonymous ones. */
  prune(o: { all: boolean; filters: Map<string, string[]> }): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }>;
  /** Throws NotFound. */
  get(name: string): VolumeView;
  remove(name: string, o: { force?: boolean }): Promise<void>;
}

export function registerVolumeRoutes(r: Router, volumes: VolumeOps): void {
  r.add('GET', '/volumes', async (ctx) => {
    sendJSON(ctx, 200, { Volumes: volumes.list(parseFilters(ctx.query.get('filters'))), Warnings: null });
  });

  r.add('POST', '/volumes/create', async (ctx) => {
    const body = await readJSON<Record<string, unknown>>(ctx);
    for (const k of ['Name', 'Driver'] as const) {
      if (body[k] !== undefined && body[k] !== null && typeof body[k] !== 'string') throw invalid(`invalid JSON: ${k} must be a string`);
    }
    for (const k of ['DriverOpts', 'Labels'] as const) {
      const v = body[k];
      if (v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string'))) {
        throw invalid(`invalid JSON: ${k} must be a map of strings`);
      }
    }
    sendJSON(ctx, 201, await volumes.create(body));
  });

  r.add('POST', '/volumes/prune', async (ctx) => {
    const filters = parseFilters(ctx.query.get('filters'));
    // Before API 1.42, prune removed every unused volume; since, only anonymous ones unless all=true.
    sendJSON(ctx, 200, await volumes.prune({ all: !versionAtLeast(ctx, '1.42'), filters }));
  });

  r.add('GET', '/volumes/{name}', async (ctx) => {
    sendJSON(ctx, 200, volumes.get(ctx.params.name as string));
  });

  r.add('DELETE', '/volumes/{name}', async (ctx) => {
    await volumes.remove(ctx.params.name as string, { force: boolParam(ctx.query, 'force') });
    sendEmpty(ctx, 204);
  });
}

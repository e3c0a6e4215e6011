/** GET /containers/{id}/stats: HTTP ⇄ containers/stats.ts. */
import type { ContainerService } from '../containers/service.js';
import { statsStream } from '../containers/stats.js';
import { boolParam, type Router } from './router.js';

export function registerStatsRoutes(r: Router, svc: ContainerService): void {
  r.add('GET', '/containers/{id}/stats', async (ctx) => {
    const c = svc.get(ctx.params.id as string);
    const q = ctx.query;
    const stream = q.get('stream') === null ? true : boolParam(q, 'stream');
    const oneShot = boolParam(q, 'one-shot');
    const res = ctx.res;
    if (!res) return;
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (stream) res.flushHeaders();
    const src = {
      find: (id: string) => {
        try {
          return svc.get(id);
        } catch {
          return undefined;
        }
      },
      cgroupsPath: (x: Parameters<ContainerService['cgroupsPathOf']>[0]) => svc.cgroupsPathOf(x),
    };
    try {
      for await (const doc of statsStream(src, c.ID, { stream, oneShot, signal: ac.signal })) {
        if (ac.signal.aborted) break;
        res.write(`${JSON.stringify(doc)}\n`);
      }
    } finally {
      res.end();
    }
  });
}

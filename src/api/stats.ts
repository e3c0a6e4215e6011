/** GET /containers/{id}/stats: HTTP ⇄ containers/stats.ts. */
import { statsStream, type StatsSource } from '../containers/stats.js';
import type { Container } from '../containers/types.js';
import { boolParam, type Router } from './router.js';

export interface StatsApiDeps extends StatsSource {
  /** A container by reference; throws NotFound (the 404 before any byte). */
  get(ref: string): Container;
}

export function registerStatsRoutes(r: Router, d: StatsApiDeps): void {
  r.add('GET', '/containers/{id}/stats', async (ctx) => {
    const c = d.get(ctx.params.id as string);
    const q = ctx.query;
    const stream = q.get('stream') === null ? true : boolParam(q, 'stream');
    const oneShot = boolParam(q, 'one-shot');
    const res = ctx.res;
    if (!res) return;
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (stream) res.flushHeaders();
    try {
      for await (const doc of statsStream(d, c.ID, { stream, oneShot, signal: ac.signal })) {
        if (ac.signal.aborted) break;
        res.write(`${JSON.stringify(doc)}\n`);
      }
    } finally {
      res.end();
    }
  });
}

/** /_ping, /version, /info, /events, /system/df: HTTP ⇄ system/info.ts, system/diskusage.ts and the event bus. */
import type { EngineEvent } from '../events/bus.js';
import { parseFilters } from '../lib/filters.js';
import { eventMatches } from '../events/filter.js';
import { parseUnixSecondsNs } from '../lib/timestamp.js';
import { sendJSON, versionAtLeast, type Router } from './router.js';
import type { SystemInfo, SystemVersion } from '../engine-api/types.js';

/** What the system routes call (system/info.ts's SystemInfoService and the event bus). */
export interface SystemApiDeps {
  info(o: { executionDriver: boolean }): SystemInfo;
  version(): SystemVersion;
  /** The event bus (events/bus.ts): the events kept since a time, and a subscription (returns its cancel). */
  events: { since(timeNano: number): EngineEvent[]; subscribe(fn: (ev: EngineEvent) => void): () => void };
}

export function registerSystemRoutes(r: Router, s: SystemApiDeps): void {
  const ping = async (ctx: Parameters<Parameters<Router['add']>[2]>[0]): Promise<void> => {
    const res = ctx.res;
    if (!res) return;
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'Content-Length': ctx.req.method === 'HEAD' ? 0 : 2,
    });
    res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
  };
  r.add('GET', '/_ping', ping);
  r.add('HEAD', '/_ping', ping);

  r.add('GET', '/version', async (ctx) => {
    sendJSON(ctx, 200, s.version());
  });

  r.add('GET', '/info', async (ctx) => {
    sendJSON(ctx, 200, s.info({ executionDriver: !versionAtLeast(ctx, '1.25') }));
  });

  r.add('GET', '/events', async (ctx) => {
    const res = ctx.res;
    if (!res) return;
    const q = ctx.query;
    const filters = parseFilters(q.get('filters'));
    const since = parseUnixSecondsNs(q.get('since'));
    const until = parseUnixSecondsNs(q.get('until'));
    const match = (e: EngineEvent): boolean => eventMatches(filters, e) && (until === undefined || e.timeNano <= until);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    for (const e of since !== undefined ? s.events.since(since) : []) if (match(e)) res.write(JSON.stringify(e) + '\n');
    if (until !== undefined && until <= Date.now() * 1e6) {
      res.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const unsub = s.events.subscribe((e) => {
        if (match(e)) res.write(JSON.stringify(e) + '\n');
      });
      const timer = until !== undefined ? setTimeout(() => res.end(), until / 1e6 - Date.now()) : undefined;
      res.on('close', () => {
        unsub();
        if (timer) clearTimeout(timer);
        resolve();
      });
    });
  });
}

/** What `/system/df` calls (system/diskusage.ts's DiskUsage). */
export interface DiskUsageApiDeps {
  usage(types: readonly string[]): Promise<Record<string, unknown>>;
}

/** `/system/df` (with `type=` to ask for parts only). */
export function registerDiskUsageRoutes(r: Router, d: DiskUsageApiDeps): void {
  r.add('GET', '/system/df', async (ctx) => {
    sendJSON(ctx, 200, await d.usage(ctx.query.getAll('type')));
  });
}

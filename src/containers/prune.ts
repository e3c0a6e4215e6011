/**
 * `docker container prune`, with dockerd's filters and its SpaceReclaimed (the removed
 * containers' writable layers). Removal itself is the life cycle's (`remove`).
 */
import type { EventBus } from '../events/bus.js';
import { invalid, isCategory, messageOf } from '../lib/errors.js';
import { matchLabels } from '../lib/filters.js';
import { parseTimestampMs } from '../lib/timestamp.js';
import type { Container } from './types.js';
import { sizeRw } from './view.js';

/** What prune needs: the containers, their removal, their writable layer, the event bus. */
export interface PruneDeps {
  list(): Container[];
  /** Removes a stopped container (not forced: a container that started meanwhile stays). */
  remove(id: string): Promise<void>;
  /** The container's writable layer (measured before removal). */
  upperDir(c: Container): string;
  events: Pick<EventBus, 'publish'>;
}

export interface PruneResult {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

/**
 * `docker container prune`: removes every container that is not running (nor paused or
 * restarting), with dockerd's filters — `until` (created before), `label` (every one matches)
 * and `label!` (skipped when every one matches). SpaceReclaimed sums the removed containers'
 * writable layers, measured before removal. A container that cannot be removed is left out.
 */
export async function pruneContainers(d: PruneDeps, filters: Map<string, string[]>): Promise<PruneResult> {
  for (const k of filters.keys()) if (!['until', 'label', 'label!'].includes(k)) throw invalid(`Invalid filter '${k}'`);
  const untilValues = filters.get('until') ?? [];
  // dockerd answers these two with 500; they are the client's errors, so 400 here (issue 14)
  if (untilValues.length > 1) throw invalid('more than one until filter specified');
  let until: number | undefined;
  if (untilValues[0] !== undefined) {
    try {
      until = parseTimestampMs(untilValues[0]);
    } catch (err) {
      throw invalid(messageOf(err));
    }
  }
  const labels = filters.get('label') ?? [];
  const notLabels = filters.get('label!') ?? [];
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const c of d.list()) {
    if (c.State.Running || c.State.Restarting || c.State.Paused) continue;
    if (until !== undefined && !(Date.parse(c.Created) < until)) continue;
    const l = c.Config.Labels ?? {};
    if (!matchLabels(l, labels)) continue;
    if (notLabels.length > 0 && matchLabels(l, notLabels)) continue;
    const size = await sizeRw(d.upperDir(c)).catch(() => 0);
    try {
      await d.remove(c.ID);
    } catch (err) {
      if (isCategory(err, 'NotFound')) continue; // removed meanwhile
      console.error(`berthd: prune: cannot remove container ${c.ID}: ${messageOf(err)}`);
      continue;
    }
    deleted.push(c.ID);
    reclaimed += size;
  }
  d.events.publish('container', 'prune', '', { reclaimed: String(reclaimed) });
  return { ContainersDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
}

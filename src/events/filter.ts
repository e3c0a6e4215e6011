/**
 * Which events an `/events?filters=…` subscriber sees, as dockerd's daemon/events/filter.go
 * decides: every given key must match; values of one key are alternatives. `container`,
 * `volume`, `network`, `daemon` match IDs and names by prefix; `image` matches image events
 * by ID or name and container events by the image they run (with or without tag); `event`
 * matches actions exactly, or by prefix for health_status/exec_create/exec_start; `label`
 * values must all match.
 */
import type { EngineEvent } from './bus.js';

export type EventFilters = Map<string, string[]>;

const exact = (f: EventFilters, key: string, value: string | undefined): boolean => {
  const vals = f.get(key);
  if (!vals || vals.length === 0) return true;
  return value !== undefined && vals.includes(value);
};

const fuzzy = (f: EventFilters, key: string, value: string | undefined): boolean => {
  const vals = f.get(key);
  if (!vals || vals.length === 0) return true;
  return value !== undefined && value !== '' && vals.some((v) => value === v || value.startsWith(v));
};

const stripTag = (ref: string | undefined): string | undefined => {
  if (ref === undefined) return undefined;
  const at = ref.indexOf('@');
  const base = at >= 0 ? ref.slice(0, at) : ref;
  const colon = base.lastIndexOf(':');
  return colon > base.lastIndexOf('/') ? base.slice(0, colon) : base;
};

const FUZZY_ACTIONS = ['health_status', 'exec_create', 'exec_start'];

export function eventMatches(f: EventFilters, e: EngineEvent): boolean {
  const attrs = e.Actor.Attributes;
  const events = f.get('event') ?? [];
  const actionOk = events.some((v) => FUZZY_ACTIONS.includes(v)) ? fuzzy(f, 'event', e.Action) : exact(f, 'event', e.Action);
  if (!actionOk) return false;
  if (!exact(f, 'type', e.Type)) return false;
  if (!exact(f, 'scope', e.scope)) return false;
  const byName = (key: string, type: EngineEvent['Type']): boolean =>
    !f.has(key) || (e.Type === type && (fuzzy(f, key, e.Actor.ID) || fuzzy(f, key, attrs.name)));
  if (!byName('container', 'container') || !byName('volume', 'volume') || !byName('network', 'network') || !byName('daemon', 'daemon')) {
    return false;
  }
  if (f.has('image')) {
    const name = e.Type === 'image' ? attrs.name : attrs.image;
    const id = e.Actor.ID;
    if (!(exact(f, 'image', id) || exact(f, 'image', name) || exact(f, 'image', stripTag(id)) || exact(f, 'image', stripTag(name)))) return false;
  }
  for (const l of f.get('label') ?? []) {
    const eq = l.indexOf('=');
    if (eq < 0 ? !(l in attrs) : attrs[l.slice(0, eq)] !== l.slice(eq + 1)) return false;
  }
  return true;
}

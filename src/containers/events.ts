/** Container events as dockerd publishes them: image, name and the container's labels as attributes. */
import type { EventBus } from '../events/bus.js';
import type { Container } from './types.js';

/** Publishes a container event (`action`) with dockerd's attributes, `extra` last. */
export function publishContainerEvent(events: EventBus, c: Container, action: string, extra: Record<string, string> = {}): void {
  events.publish('container', action, c.ID, {
    image: c.Config.Image,
    name: c.Name.slice(1),
    ...c.Config.Labels,
    ...extra,
  });
}

/** What the distribution client works with; built once by the daemon's wiring file. */
import type { ContentStore } from '../content/store.js';
import type { EventBus } from '../events/bus.js';
import type { ImageStore } from '../images/store.js';
import type { LayerStore } from '../snapshots/layers.js';
import type { BlobSources } from './metadata.js';
import type { Leases } from '../content/leases.js';
import type { DistributionConfig } from './types.js';

export interface DistributionDeps {
  content: ContentStore;
  layers: LayerStore;
  images: ImageStore;
  events: EventBus;
  sources: BlobSources;
  inflight: Leases;
  config: DistributionConfig;
}

/** The event bus: engine modules publish Docker-shaped events; the API streams them. */
import { EventEmitter } from 'node:events';

export interface EngineEvent {
  Type: 'container' | 'image' | 'volume' | 'network' | 'daemon';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  /** Legacy fields dockerd still sends for containers and images. */
  status?: string;
  id?: string;
  from?: string;
}

export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly history: EngineEvent[] = [];

  constructor(private readonly keep = 1000) {
    this.emitter.setMaxListeners(0);
  }

  publish(type: EngineEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): void {
    const nowNs = BigInt(Date.now()) * 1_000_000n + BigInt(process.hrtime()[1] % 1_000_000);
    const ev: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    if (type === 'container' || type === 'image') {
      ev.status = action;
      ev.id = id;
      if (attributes.image !== undefined) ev.from = attributes.image;
    }
    this.history.push(ev);
    if (this.history.length > this.keep) this.history.shift();
    this.emitter.emit('event', ev);
  }

  since(timeNano: number): EngineEvent[] {
    return this.history.filter((e) => e.timeNano >= timeNano);
  }

  subscribe(fn: (ev: EngineEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}

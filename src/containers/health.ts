/**
 * Healthchecks, as dockerd runs them: a probe (an exec inside the container) on a timer while the
 * container runs, State.Health with the last five results, `health_status: …` events on changes.
 *
 * The monitor follows the event bus (start/restart → probe; die/destroy → stop), so the container
 * service needs no knowledge of it. After a daemon restart, `resume()` restarts the probes of
 * the containers that kept running (status back to `starting`, as dockerd's restore does).
 */
import type { EventBus, EngineEvent } from '../events/bus.js';
import { invalid } from '../lib/errors.js';
import type { Container, HealthcheckConfig, HealthState } from './types.js';

/** dockerd's defaults (api/types/container and daemon/health.go). */
export const DEFAULT_INTERVAL_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_START_INTERVAL_MS = 5_000;
export const DEFAULT_RETRIES = 3;
/** Results kept in State.Health.Log. */
export const MAX_LOG_ENTRIES = 5;
/** Bytes of probe output kept per result. */
export const MAX_OUTPUT_LEN = 4096;
/** Exit code a probe gets when it runs out of time (or cannot run). */
const PROBE_FAILED = -1;

export interface ProbeResult {
  exitCode: number;
  output: string;
}

export interface HealthDeps {
  events: EventBus;
  /** The current record of a container, undefined once it is gone. */
  find: (id: string) => Container | undefined;
  /** Runs `cmd` inside the running container; resolves when it exits or `timeoutMs` passed. */
  probe: (c: Container, cmd: string[], o: { timeoutMs: number }) => Promise<ProbeResult>;
  /** Persists the record (State.Health) crash-safely. */
  save: (c: Container) => Promise<void>;
  /** Publishes a container event with dockerd's attributes. */
  publish: (c: Container, action: string) => void;
}

const NS_PER_MS = 1_000_000;
const ms = (ns: unknown, fallback: number): number => (typeof ns === 'number' && ns > 0 ? ns / NS_PER_MS : fallback);

/** The command a probe runs, or undefined when the container has no (or a disabled) healthcheck. */
export function probeCommand(c: Container): string[] | undefined {
  const test = c.Config.Healthcheck?.Test;
  if (!Array.isArray(test) || test.length === 0) return undefined;
  switch (test[0]) {
    case 'CMD':
      return test.length > 1 ? test.slice(1) : undefined;
    case 'CMD-SHELL':
      return [...(c.Config.Shell && c.Config.Shell.length > 0 ? c.Config.Shell : ['/bin/sh', '-c']), test.slice(1).join(' ')];
    default:
      // NONE, or something dockerd does not know.
      return undefined;
  }
}

/**
 * dockerd's create-time checks of a Healthcheck (daemon/container.go), with its messages.
 * Durations are nanoseconds; 0 means "inherit/default".
 */
export function validateHealthcheck(h: HealthcheckConfig | undefined): void {
  if (!h) return;
  const MIN = NS_PER_MS;
  const check = (v: unknown, name: string): void => {
    if (v === undefined || v === null) return;
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw invalid(`json: cannot unmarshal ${typeof v} into Go struct field HealthConfig.${name} of type time.Duration`);
    if (v !== 0 && v < MIN) throw invalid(`${name} in Healthcheck cannot be less than 1ms`);
  };
  check(h.Interval, 'Interval');
  check(h.Timeout, 'Timeout');
  check(h.StartPeriod, 'StartPeriod');
  check(h.StartInterval, 'StartInterval');
  if (typeof h.Retries === 'number' && h.Retries < 0) throw invalid('Retries in Healthcheck cannot be negative');
}

/**
 * The healthcheck a container gets: its own fields over the image's, field by field, as
 * dockerd merges them (a container Test of NONE disables the image's).
 */
export function mergeHealthcheck(own: HealthcheckConfig | undefined, image: HealthcheckConfig | undefined): HealthcheckConfig | undefined {
  if (!own) return image ? { ...image } : undefined;
  if (!image) return { ...own };
  const out: HealthcheckConfig = { ...own };
  if (!Array.isArray(out.Test) || out.Test.length === 0) {
    if (image.Test !== undefined) out.Test = image.Test;
  }
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    if (!out[k] && image[k]) out[k] = image[k];
  }
  return out;
}

interface Watch {
  timer?: NodeJS.Timeout;
  stopped: boolean;
  startedAt: number;
}

export class HealthMonitor {
  private readonly watches = new Map<string, Watch>();
  private readonly unsubscribe: () => void;

  constructor(private readonly d: HealthDeps) {
    this.unsubscribe = d.events.subscribe((ev) => this.onEvent(ev));
  }

  /** Probes again for every running container (after a daemon restart). */
  resume(containers: Container[]): void {
    for (const c of containers) if (c.State.Running) this.watch(c);
  }

  /** Stops every timer (daemon shutdown); records keep their last state. */
  close(): void {
    this.unsubscribe();
    for (const id of [...this.watches.keys()]) this.unwatch(id, { keepStatus: true });
  }

  private onEvent(ev: EngineEvent): void {
    if (ev.Type !== 'container') return;
    const id = ev.Actor.ID;
    switch (ev.Action) {
      case 'start': {
        const c = this.d.find(id);
        if (c) this.watch(c);
        break;
      }
      case 'die':
        this.unwatch(id, { keepStatus: false });
        break;
      case 'destroy':
        this.unwatch(id, { keepStatus: true });
        break;
      default:
        break;
    }
  }

  private watch(c: Container): void {
    this.unwatch(c.ID, { keepStatus: true });
    if (!probeCommand(c)) return;
    const h: HealthState = c.State.Health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
    h.Status = 'starting';
    h.FailingStreak = 0;
    c.State.Health = h;
    void this.d.save(c).catch(() => undefined);
    const w: Watch = { stopped: false, startedAt: Date.parse(c.State.StartedAt) || Date.now() };
    this.watches.set(c.ID, w);
    this.schedule(c.ID, w);
  }

  private unwatch(id: string, o: { keepStatus: boolean }): void {
    const w = this.watches.get(id);
    if (w) {
      w.stopped = true;
      if (w.timer) clearTimeout(w.timer);
      this.watches.delete(id);
    }
    // Also without a watch: an exit found at daemon start (recover) stops the monitor too.
    if (o.keepStatus) return;
    // dockerd: "unhealthy when the monitor has stopped for compatibility reasons" (no event).
    const c = this.d.find(id);
    if (c?.State.Health && c.State.Health.Status !== 'unhealthy') {
      c.State.Health.Status = 'unhealthy';
      void this.d.save(c).catch(() => undefined);
    }
  }

  /** The wait before the next probe: the start interval while starting within the start period. */
  private nextDelay(c: Container, w: Watch): number {
    const hc = c.Config.Healthcheck ?? {};
    const interval = ms(hc.Interval, DEFAULT_INTERVAL_MS);
    const startPeriod = ms(hc.StartPeriod, 0);
    if (Date.now() - w.startedAt >= startPeriod) return interval;
    if (c.State.Health?.Status === 'starting') return ms(hc.StartInterval, DEFAULT_START_INTERVAL_MS);
    return interval;
  }

  private schedule(id: string, w: Watch): void {
    const c = this.d.find(id);
    if (!c || w.stopped) return;
    w.timer = setTimeout(() => void this.runOnce(id, w), this.nextDelay(c, w));
    w.timer.unref();
  }

  private async runOnce(id: string, w: Watch): Promise<void> {
    const c = this.d.find(id);
    if (!c || w.stopped || !c.State.Running) return;
    if (c.State.Paused) {
      this.schedule(id, w);
      return;
    }
    const cmd = probeCommand(c);
    if (!cmd) return;
    const hc = c.Config.Healthcheck ?? {};
    const timeoutMs = ms(hc.Timeout, DEFAULT_TIMEOUT_MS);
    const start = new Date();
    let result: ProbeResult;
    try {
      result = await this.d.probe(c, cmd, { timeoutMs });
    } catch (err) {
      result = { exitCode: PROBE_FAILED, output: (err as Error).message };
    }
    if (w.stopped) return;
    const end = new Date();
    this.record(c, w, {
      Start: start.toISOString(),
      End: end.toISOString(),
      ExitCode: result.exitCode,
      Output: truncate(result.output),
    });
    await this.d.save(c).catch(() => undefined);
    this.schedule(id, w);
  }

  /** dockerd's handleProbeResult. */
  private record(c: Container, w: Watch, entry: HealthState['Log'][number]): void {
    const h = c.State.Health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
    c.State.Health = h;
    const old = h.Status;
    h.Log = [...h.Log, entry].slice(-MAX_LOG_ENTRIES);
    const hc = c.Config.Healthcheck ?? {};
    const retries = typeof hc.Retries === 'number' && hc.Retries > 0 ? hc.Retries : DEFAULT_RETRIES;
    if (entry.ExitCode === 0) {
      h.FailingStreak = 0;
      h.Status = 'healthy';
    } else {
      // Failures while starting, within the start period, do not count.
      const inStartPeriod = h.Status === 'starting' && Date.parse(entry.Start) - w.startedAt < ms(hc.StartPeriod, 0);
      if (!inStartPeriod) {
        h.FailingStreak++;
        if (h.FailingStreak >= retries) h.Status = 'unhealthy';
      }
    }
    if (h.Status !== old) this.d.publish(c, `health_status: ${h.Status}`);
  }
}

function truncate(s: string): string {
  const b = Buffer.from(s);
  return b.length > MAX_OUTPUT_LEN ? b.subarray(0, MAX_OUTPUT_LEN).toString() : s;
}

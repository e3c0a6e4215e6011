/** `--health-*` / `--no-healthcheck` flags of run/create → Config.Healthcheck, as the docker CLI builds it. */
import type { HealthcheckConfig } from '../containers/types.js';
import { parseGoDuration } from '../lib/duration.js';
import { FlagError, type FlagSpec, type ParsedFlags } from './flags.js';

export const HEALTH_FLAGS: FlagSpec[] = [
  { long: 'health-cmd', type: 'string', description: 'Command to run to check health' },
  { long: 'health-interval', type: 'string', valueName: 'duration', description: 'Time between running the check (ms|s|m|h) (default 0s)' },
  { long: 'health-retries', type: 'int', description: 'Consecutive failures needed to report unhealthy' },
  {
    long: 'health-start-interval',
    type: 'string',
    valueName: 'duration',
    description: 'Time between running the check during the start period (ms|s|m|h) (default 0s)',
  },
  {
    long: 'health-start-period',
    type: 'string',
    valueName: 'duration',
    description: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)',
  },
  { long: 'health-timeout', type: 'string', valueName: 'duration', description: 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)' },
  { long: 'no-healthcheck', type: 'bool', description: 'Disable any container-specified HEALTHCHECK' },
];

/** The Healthcheck of a create request, or undefined when no health flag was given. */
export function healthcheckFromFlags(flags: ParsedFlags): HealthcheckConfig | undefined {
  const dur = (name: string): number => {
    if (!flags.has(name)) return 0;
    const v = flags.string(name) ?? '';
    try {
      return parseGoDuration(v);
    } catch (e) {
      throw new FlagError(`invalid argument "${v}" for "--${name}" flag: ${(e as Error).message}`);
    }
  };
  const cmd = flags.string('health-cmd') ?? '';
  const interval = dur('health-interval');
  const timeout = dur('health-timeout');
  const startPeriod = dur('health-start-period');
  const startInterval = dur('health-start-interval');
  const retries = flags.int('health-retries') ?? 0;
  const any = cmd !== '' || interval !== 0 || timeout !== 0 || startPeriod !== 0 || startInterval !== 0 || retries !== 0;
  if (flags.bool('no-healthcheck')) {
    if (any) throw new Error('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!any) return undefined;
  if (interval < 0) throw new Error('--health-interval cannot be negative');
  if (timeout < 0) throw new Error('--health-timeout cannot be negative');
  if (retries < 0) throw new Error('--health-retries cannot be negative');
  if (startPeriod < 0) throw new Error('--health-start-period cannot be negative');
  if (startInterval < 0) throw new Error('--health-start-interval cannot be negative');
  const h: HealthcheckConfig = { Interval: interval, Timeout: timeout, StartPeriod: startPeriod, StartInterval: startInterval, Retries: retries };
  if (cmd !== '') h.Test = ['CMD-SHELL', cmd];
  return h;
}

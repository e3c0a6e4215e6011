/**
 * Security options: Docker's --security-opt list (seccomp, apparmor, labels, no-new-privileges,
 * systempaths) and the masked and read-only /proc and /sys paths; `securityLinux` gives the
 * spec's `linux.seccomp`, `maskedPaths` and `readonlyPaths` for them (the seccomp profile itself
 * is resolved by seccomp.ts).
 */
import { invalid } from '../lib/errors.js';
import { parseDockerProfile, resolveSeccomp, type SeccompPolicy } from './seccomp.js';
import type { OciLinux } from './oci.js';

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Security options parsed from Docker's `--security-opt` list. */
export interface SecurityOptions {
  noNewPrivileges?: boolean;
  /** 'unconfined', 'default' or a custom policy. */
  seccomp: 'default' | 'unconfined' | SeccompPolicy;
  apparmor?: string;
  labels: string[];
  /** `systempaths=unconfined`: no masked / read-only paths. */
  unconfinedSystemPaths: boolean;
}

/** Parse Docker's --security-opt values; errors carry dockerd's messages. */
export function parseSecurityOpt(list: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { seccomp: 'default', labels: [], unconfinedSystemPaths: false };
  for (const opt of list) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') {
      out.labels.push('disable');
      continue;
    }
    let key: string;
    let value: string;
    const eq = opt.indexOf('=');
    const colon = opt.indexOf(':');
    if (eq >= 0) {
      key = opt.slice(0, eq);
      value = opt.slice(eq + 1);
    } else if (colon >= 0) {
      key = opt.slice(0, colon);
      value = opt.slice(colon + 1);
    } else {
      throw invalid(`invalid --security-opt 1: "${opt}"`);
    }
    switch (key) {
      case 'label':
        out.labels.push(value);
        break;
      case 'apparmor':
        out.apparmor = value;
        break;
      case 'seccomp':
        if (value === 'unconfined') out.seccomp = 'unconfined';
        else if (value === '' || value === 'builtin' || value === 'default') out.seccomp = 'default';
        else out.seccomp = parseDockerProfile(value);
        break;
      case 'no-new-privileges': {
        const b = parseBool(value);
        if (b === undefined) throw invalid(`invalid --security-opt 2: "${opt}"`);
        out.noNewPrivileges = b;
        break;
      }
      case 'systempaths':
        if (value !== 'unconfined') throw invalid(`invalid --security-opt 2: "${opt}"`);
        out.unconfinedSystemPaths = true;
        break;
      default:
        throw invalid(`invalid --security-opt 2: "${opt}"`);
    }
  }
  return out;
}

function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/**
 * The confinement part of `linux` (seccomp, masked and read-only paths) for a container with
 * these security options and effective capabilities; a privileged container gets none of it.
 */
export function securityLinux(opts: {
  privileged: boolean;
  security: SecurityOptions;
  capabilities: readonly string[];
  maskedPaths?: readonly string[];
  readonlyPaths?: readonly string[];
  seccompArch?: string;
  kernelRelease?: string;
}): Pick<OciLinux, 'seccomp' | 'maskedPaths' | 'readonlyPaths'> {
  const out: Pick<OciLinux, 'seccomp' | 'maskedPaths' | 'readonlyPaths'> = {};
  const { privileged, security: sec } = opts;
  if (!privileged && sec.seccomp !== 'unconfined') {
    out.seccomp = resolveSeccomp({
      capabilities: [...opts.capabilities],
      ...(sec.seccomp !== 'default' ? { policy: sec.seccomp } : {}),
      ...(opts.seccompArch ? { arch: opts.seccompArch } : {}),
      ...(opts.kernelRelease ? { kernel: opts.kernelRelease } : {}),
    });
  }
  if (!privileged && !sec.unconfinedSystemPaths) {
    out.maskedPaths = [...DEFAULT_MASKED_PATHS, ...(opts.maskedPaths ?? [])];
    out.readonlyPaths = [...DEFAULT_READONLY_PATHS, ...(opts.readonlyPaths ?? [])];
  }
  return out;
}

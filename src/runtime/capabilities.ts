/**
 * Capabilities: Docker's default set, every capability Linux defines, the host's bounding set,
 * and Docker's capability arithmetic for --cap-add / --cap-drop / --privileged.
 */
import { readFileSync } from 'node:fs';
import { invalid } from '../lib/errors.js';

/** Docker's default capability set (order as dockerd writes it). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability Linux defines (through CAP_CHECKPOINT_RESTORE = 40), by number. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** The kernel's capability bit mask (as /proc/PID/status CapBnd shows it) of a capability list. */
export function capabilityMask(caps: readonly string[]): bigint {
  let mask = 0n;
  for (const c of caps) {
    const bit = ALL_CAPABILITIES.indexOf(c);
    if (bit >= 0) mask |= 1n << BigInt(bit);
  }
  return mask;
}

/** The capabilities in this process's bounding set (from /proc/self/status CapBnd). Not pure. */
export function hostBoundingCapabilities(): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m?.[1]) return [...ALL_CAPABILITIES];
  const mask = BigInt('0x' + m[1]);
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** Normalize a capability name as Docker does: upper case, `CAP_` prefix; `ALL` stays. */
export function normalizeCapability(name: string): string {
  const up = name.trim().toUpperCase();
  if (up === 'ALL') return 'ALL';
  const full = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (!ALL_CAPABILITIES.includes(full)) throw invalid(`unknown capability: "${full}"`);
  return full;
}

/** Docker's capability arithmetic (TweakCapabilities). */
export function effectiveCapabilities(opts: {
  privileged?: boolean;
  capAdd?: readonly string[];
  capDrop?: readonly string[];
  /** What "all" means on this host (default {@link ALL_CAPABILITIES}). */
  hostCapabilities?: readonly string[];
}): string[] {
  const adds = (opts.capAdd ?? []).map(normalizeCapability);
  const drops = (opts.capDrop ?? []).map(normalizeCapability);
  const host = opts.hostCapabilities;
  const everything = host ? ALL_CAPABILITIES.filter((c) => host.includes(c)) : [...ALL_CAPABILITIES];
  if (opts.privileged) return everything;
  if (adds.length === 0 && drops.length === 0) return [...DEFAULT_CAPABILITIES];
  let caps: string[];
  if (adds.includes('ALL')) {
    caps = everything.filter((c) => !drops.includes(c));
  } else if (drops.includes('ALL')) {
    caps = [...adds];
  } else {
    caps = DEFAULT_CAPABILITIES.filter((c) => !drops.includes(c));
    caps.push(...adds);
  }
  return [...new Set(caps.filter((c) => c !== 'ALL'))];
}

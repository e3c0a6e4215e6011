/**
 * HostConfig.Devices (`--device`) and HostConfig.DeviceCgroupRules (`--device-cgroup-rule`) as
 * dockerd turns them into the OCI spec at start: each host device node (a directory: every
 * device node under it) becomes a node in the container with the host's type, numbers, mode and
 * owner, allowed in the devices cgroup with its permissions; each rule becomes a devices cgroup
 * entry (cgroup v1 devices.allow). Errors carry dockerd's text. Not pure (stats host paths).
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { BerthError, system } from '../lib/errors.js';
import type { OciDevice, OciDeviceCgroup } from './oci.js';
import type { DeviceMapping } from './resources.js';

/** A HostConfig.Devices entry as the API sends it. */
export interface DeviceRequest {
  PathOnHost?: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}

/** dockerd's deviceCgroupRuleRegex. */
const RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** `c 1:3 rwm` → a devices cgroup allow entry. */
export function deviceCgroupRule(rule: string): OciDeviceCgroup {
  const m = RULE.exec(rule);
  if (!m) throw system(`invalid device cgroup rule format: '${rule}'`);
  const num = (s: string): number | undefined => (s === '*' ? undefined : Number(s));
  const major = num(m[2] as string);
  const minor = num(m[3] as string);
  return {
    allow: true,
    type: m[1] as 'a' | 'c' | 'b',
    ...(major !== undefined ? { major } : {}),
    ...(minor !== undefined ? { minor } : {}),
    access: m[4],
  };
}

/** Go's text for the common errno values (dockerd prints the syscall error). */
function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'ENOTDIR') return 'not a directory';
  return (err as Error).message;
}

/** The device node at `hostPath` (undefined when it is no char/block device). */
function deviceAt(hostPath: string, containerPath: string): OciDevice | undefined {
  const st = statSync(hostPath, { bigint: true });
  const char = st.isCharacterDevice();
  if (!char && !st.isBlockDevice()) return undefined;
  const rdev = st.rdev;
  return {
    path: containerPath,
    type: char ? 'c' : 'b',
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
    fileMode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
  };
}

/** One `--device` request → the nodes to create (dockerd's DevicesFromPath). */
export function devicesFromRequest(req: DeviceRequest): DeviceMapping[] {
  const onHost = req.PathOnHost ?? '';
  const inContainer = req.PathInContainer || onHost;
  const access = req.CgroupPermissions || 'rwm';
  const fail = (why: string): never => {
    throw system(`error gathering device information while adding custom device "${onHost}": ${why}`);
  };
  let resolved = onHost;
  try {
    resolved = realpathSync(onHost);
    const one = deviceAt(resolved, inContainer);
    if (one) return [{ device: one, access }];
    if (!statSync(resolved).isDirectory()) fail('not a device node');
  } catch (err) {
    if (err instanceof BerthError) throw err;
    fail(errnoText(err));
  }
  // A directory: every device node under it, at the same relative path under PathInContainer.
  const out: DeviceMapping[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isCharacterDevice() || e.isBlockDevice()) {
        const dev = deviceAt(p, path.posix.join(inContainer, path.relative(resolved, p)));
        if (dev) out.push({ device: dev, access });
      }
    }
  };
  try {
    walk(resolved);
  } catch (err) {
    fail(errnoText(err));
  }
  return out;
}

/** HostConfig.Devices → the nodes to create; anything but an object list is refused. */
export function devicesFromHostConfig(devices: unknown): DeviceMapping[] {
  if (!Array.isArray(devices)) return [];
  return devices.flatMap((d) => devicesFromRequest((d ?? {}) as DeviceRequest));
}

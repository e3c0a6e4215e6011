/**
 * The config hash of a service (com.docker.compose.config-hash): sha256 of its canonical JSON
 * (keys sorted), leaving out what docker compose v2 leaves out of ServiceHash — the build
 * section, pull_policy, scale/replicas/deploy.replicas, depends_on and profiles — so changing
 * how many replicas run or how an image is built does not recreate the running containers.
 */
import { createHash } from 'node:crypto';
import type { Service } from '../model/types.js';

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = canonical(x);
    }
    return out;
  }
  return v;
}

export function canonicalJson(v: unknown): string {
  return JSON.stringify(canonical(v));
}

export function serviceHash(service: Service, extra: Record<string, unknown> = {}): string {
  const { build: _build, pull_policy: _pp, scale: _scale, replicas: _replicas, depends_on: _deps, profiles: _profiles, ...rest } = service;
  const copy: Record<string, unknown> = { ...rest, ...extra };
  if (service.deploy) {
    const { replicas: _r, ...deploy } = service.deploy;
    if (Object.keys(deploy).length > 0) copy['deploy'] = deploy;
    else delete copy['deploy'];
  }
  return createHash('sha256').update(canonicalJson(copy)).digest('hex');
}

/**
 * Where a registry domain is reached: HTTPS by default; loopback hosts over plain HTTP (as
 * dockerd treats `localhost`, `127.0.0.0/8` and `::1` as insecure); daemon-configured insecure
 * registries over HTTPS without certificate verification, falling back to plain HTTP; Docker Hub
 * behind its configured mirrors.
 */
import * as net from 'node:net';
import { invalid } from '../lib/errors.js';
import { DEFAULT_DOMAIN } from '../images/reference.js';
import type { DistributionConfig } from './types.js';

export const DOCKER_HUB_HOST = 'registry-1.docker.io';
/** The key docker uses for Docker Hub credentials in config.json. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

export interface Endpoint {
  /** `http://127.0.0.1:5000` (no trailing slash). */
  base: string;
  /** Skip TLS verification (insecure registries). */
  insecureTLS: boolean;
  /** Also try plain HTTP when HTTPS fails (insecure registries). */
  httpFallback: boolean;
  mirror: boolean;
}

function splitHostPort(hostport: string): { host: string; port?: string } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostport);
  if (m) return { host: m[1] as string, ...(m[2] ? { port: m[2] } : {}) };
  const i = hostport.lastIndexOf(':');
  if (i > 0 && hostport.indexOf(':') === i) return { host: hostport.slice(0, i), port: hostport.slice(i + 1) };
  return { host: hostport };
}

export function isLoopback(hostport: string): boolean {
  const { host } = splitHostPort(hostport);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
}

function inCidr(ip: string, cidr: string): boolean {
  const [range, bitsText] = cidr.split('/');
  if (!range || bitsText === undefined || !net.isIPv4(range) || !net.isIPv4(ip)) return false;
  const bits = Number(bitsText);
  if (!(bits >= 0 && bits <= 32)) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipv4ToInt(ip) & mask) === (ipv4ToInt(range) & mask);
}

/** Whether `domain` (host[:port]) is listed in insecure-registries (by name or CIDR). */
export function isInsecure(domain: string, cfg: DistributionConfig): boolean {
  const { host } = splitHostPort(domain);
  for (const entry of cfg.insecureRegistries ?? []) {
    const e = entry.replace(/^https?:\/\//, '').replace(/\/+$/, '');
    if (e === domain || e === host) return true;
    if (e.includes('/') && inCidr(host, e)) return true;
  }
  return false;
}

/** Checks daemon.json values the way dockerd does at start-up; throws with its messages. */
export function validateDistributionConfig(cfg: DistributionConfig): void {
  for (const m of cfg.registryMirrors ?? []) {
    let u: URL;
    try {
      u = new URL(m);
    } catch {
      throw invalid(`invalid mirror: "${m}" is not a valid URI`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(`invalid mirror: unsupported scheme "${u.protocol.slice(0, -1)}" in "${m}"`);
    if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '') throw invalid(`invalid mirror: path, query, or fragment at end of the URI "${m}"`);
  }
  for (const [domain, m] of Object.entries(cfg.registryHosts ?? {})) {
    let u: URL;
    try {
      u = new URL(m);
    } catch {
      throw invalid(`invalid registry host for ${domain}: "${m}" is not a valid URI`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(`invalid registry host for ${domain}: unsupported scheme in "${m}"`);
  }
  for (const r of cfg.insecureRegistries ?? []) {
    if (/^[a-z]+:\/\//.test(r) && !/^https?:\/\//.test(r)) throw invalid(`insecure registry ${r} should not contain '://'`);
  }
}

/** Endpoints for a registry domain, in the order to try them. `push` never uses mirrors. */
export function endpointsFor(domain: string, cfg: DistributionConfig, opts: { push?: boolean } = {}): Endpoint[] {
  const out: Endpoint[] = [];
  const host = opts.push ? undefined : cfg.registryHosts?.[domain];
  if (host) {
    const u = new URL(host);
    const insecure = u.protocol === 'http:' || isInsecure(u.host, cfg);
    return [{ base: `${u.protocol}//${u.host}`, insecureTLS: insecure, httpFallback: false, mirror: false }];
  }
  if (domain === DEFAULT_DOMAIN) {
    if (!opts.push) {
      for (const m of cfg.registryMirrors ?? []) {
        const u = new URL(m);
        const insecure = u.protocol === 'http:' || isInsecure(u.host, cfg);
        out.push({ base: `${u.protocol}//${u.host}`, insecureTLS: insecure, httpFallback: false, mirror: true });
      }
    }
    out.push({ base: `https://${DOCKER_HUB_HOST}`, insecureTLS: false, httpFallback: false, mirror: false });
    return out;
  }
  if (isLoopback(domain)) {
    out.push({ base: `http://${domain}`, insecureTLS: true, httpFallback: false, mirror: false });
    return out;
  }
  const insecure = isInsecure(domain, cfg);
  out.push({ base: `https://${domain}`, insecureTLS: insecure, httpFallback: insecure, mirror: false });
  return out;
}

/**
 * The endpoint of a registry named by its URL (berth-registry's `--proxy-remote-url`): the scheme
 * as given (and any path prefix), certificates verified, no plain-HTTP fallback, not a mirror.
 */
export function endpointForUrl(url: string): Endpoint {
  return { base: url.replace(/\/+$/, ''), insecureTLS: false, httpFallback: false, mirror: false };
}

/**
 * The registry domain of a `docker login` server address: `https://index.docker.io/v1/`,
 * `docker.io`, `localhost:5000`, `http://127.0.0.1:5000/`.
 */
export function domainOfServerAddress(addr: string | undefined): string {
  let s = (addr ?? '').trim();
  if (s === '') return DEFAULT_DOMAIN;
  s = s.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  if (s === 'index.docker.io' || s === 'registry-1.docker.io' || s === 'docker.io' || s === 'registry.hub.docker.com') return DEFAULT_DOMAIN;
  return s;
}

/** The config.json `auths` key docker uses for a domain. */
export const authKeyFor = (domain: string): string => (domain === DEFAULT_DOMAIN ? DOCKER_HUB_AUTH_KEY : domain);

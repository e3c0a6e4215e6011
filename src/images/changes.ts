/**
 * Dockerfile instructions applied to an image config by `import --change` and `commit --change`:
 * CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.
 */
import { invalid } from '../lib/errors.js';
import { parseGoDuration } from '../lib/duration.js';
import type { RunConfig } from './types.js';

const ALLOWED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'HEALTHCHECK', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);

function jsonOrShell(rest: string): string[] {
  const t = rest.trim();
  if (t.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(t);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    } catch {
      /* not JSON: shell form */
    }
  }
  return ['/bin/sh', '-c', t];
}

/** Splits `k=v k2="v 2"` or the legacy `k v` form into pairs. */
function keyValues(rest: string, instr: string): Array<[string, string]> {
  const t = rest.trim();
  const words: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let any = false;
  for (let i = 0; i < t.length; i++) {
    const ch = t[i] as string;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < t.length) cur += t[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      any = true;
    } else if (/\s/.test(ch)) {
      if (cur !== '' || any) words.push(cur);
      cur = '';
      any = false;
    } else if (ch === '\\' && i + 1 < t.length) cur += t[++i];
    else cur += ch;
  }
  if (cur !== '' || any) words.push(cur);
  if (words.length === 0) throw invalid(`${instr} requires at least one argument`);
  if (!(words[0] as string).includes('=')) {
    const m = /^(\S+)\s+(.*)$/s.exec(t);
    if (!m) throw invalid(`${instr} must have two arguments`);
    return [[m[1] as string, (m[2] as string).trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw invalid(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

export function applyChanges(config: RunConfig, changes: string[]): RunConfig {
  const out: RunConfig = { ...config };
  for (const raw of changes) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^(\S+)\s*(.*)$/s.exec(line);
    const instr = (m?.[1] ?? '').toUpperCase();
    const rest = m?.[2] ?? '';
    if (!ALLOWED.has(instr)) throw invalid(`${instr.toLowerCase()} is not a valid change command`);
    switch (instr) {
      case 'CMD':
        out.Cmd = jsonOrShell(rest);
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = jsonOrShell(rest);
        break;
      case 'ENV': {
        const env = [...(out.Env ?? [])];
        for (const [k, v] of keyValues(rest, 'ENV')) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        out.Env = env;
        break;
      }
      case 'LABEL': {
        out.Labels = { ...(out.Labels ?? {}) };
        for (const [k, v] of keyValues(rest, 'LABEL')) out.Labels[k] = v;
        break;
      }
      case 'EXPOSE': {
        out.ExposedPorts = { ...(out.ExposedPorts ?? {}) };
        for (const p of rest.trim().split(/\s+/).filter(Boolean)) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw invalid(`invalid containerPort: ${p}`);
          out.ExposedPorts[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        break;
      }
      case 'VOLUME': {
        out.Volumes = { ...(out.Volumes ?? {}) };
        const t = rest.trim();
        const vols = t.startsWith('[') ? (JSON.parse(t) as string[]) : t.split(/\s+/);
        for (const v of vols.filter(Boolean)) out.Volumes[v] = {};
        break;
      }
      case 'USER':
        out.User = rest.trim();
        break;
      case 'WORKDIR':
        out.WorkingDir = rest.trim();
        break;
      case 'STOPSIGNAL':
        out.StopSignal = rest.trim();
        break;
      case 'HEALTHCHECK':
        out.Healthcheck = parseHealthcheck(rest);
        break;
      case 'ONBUILD':
        out.OnBuild = [...(out.OnBuild ?? []), rest.trim()];
        break;
    }
  }
  return out;
}

/** `HEALTHCHECK [--interval=… --timeout=… --start-period=… --start-interval=… --retries=N] CMD …` or `NONE`. */
function parseHealthcheck(rest: string): Record<string, unknown> {
  let t = rest.trim();
  const out: Record<string, unknown> = {};
  const durations: Record<string, string> = { interval: 'Interval', timeout: 'Timeout', 'start-period': 'StartPeriod', 'start-interval': 'StartInterval' };
  for (;;) {
    const m = /^--([a-z-]+)=(\S*)\s*/.exec(t);
    if (!m) break;
    t = t.slice(m[0].length);
    const [, name, value] = m as unknown as [string, string, string];
    if (name === 'retries') {
      const n = Number(value);
      if (!Number.isInteger(n)) throw invalid(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
      if (n < 1) throw invalid(`--retries must be at least 1 (not ${n})`);
      out.Retries = n;
    } else if (durations[name]) {
      let ns: number;
      try {
        ns = parseGoDuration(value);
      } catch (err) {
        throw invalid((err as Error).message);
      }
      if (ns !== 0 && ns < 1_000_000) throw invalid(`Interval "${name}" cannot be less than 1ms`);
      out[durations[name]] = ns;
    } else {
      throw invalid(`Unknown flag: ${name}`);
    }
  }
  const m = /^(\S+)\s*(.*)$/s.exec(t);
  const kind = (m?.[1] ?? '').toUpperCase();
  if (kind === 'NONE') {
    if ((m?.[2] ?? '').trim() !== '') throw invalid('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (kind !== 'CMD') throw invalid(`Unknown type "${kind}" in HEALTHCHECK (try CMD)`);
  const cmd = (m?.[2] ?? '').trim();
  let exec: string[] | undefined;
  try {
    const v: unknown = JSON.parse(cmd);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) exec = v;
  } catch {
    exec = undefined;
  }
  out.Test = exec ? ['CMD', ...exec] : ['CMD-SHELL', cmd];
  return out;
}

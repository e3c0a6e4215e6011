/**
 * `logs --details`: the extra attributes dockerd's log drivers attach to every line, from the
 * `labels`, `labels-regex`, `env` and `env-regex` log options (container labels and environment
 * variables by name or pattern). dockerd stores them with each message; conmon's k8s-file does
 * not, so they are derived from the (immutable) container config when the log is read. The
 * prefix is dockerd's: `k=v` pairs sorted by key, query-escaped, joined by ",", then a blank
 * (just a blank when there are none).
 */
import type { Container } from './types.js';

function names(opt: string | undefined): string[] {
  return (opt ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Go's url.QueryEscape. */
function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The attributes of the container's log lines. */
export function logAttributes(c: Container): Record<string, string> {
  const opts = c.HostConfig.LogConfig.Config ?? {};
  const out: Record<string, string> = {};
  const labels = c.Config.Labels ?? {};
  for (const k of names(opts['labels'])) if (k in labels) out[k] = labels[k] ?? '';
  if (opts['labels-regex']) {
    const re = new RegExp(opts['labels-regex']);
    for (const [k, v] of Object.entries(labels)) if (re.test(k)) out[k] = v;
  }
  const env = new Map<string, string>();
  for (const kv of c.Config.Env ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) env.set(kv.slice(0, i), kv.slice(i + 1));
  }
  for (const k of names(opts['env'])) if (env.has(k)) out[k] = env.get(k) ?? '';
  if (opts['env-regex']) {
    const re = new RegExp(opts['env-regex']);
    for (const [k, v] of env) if (re.test(k)) out[k] = v;
  }
  return out;
}

/** The `--details` prefix of every line. */
export function logDetailsPrefix(c: Container): string {
  const attrs = logAttributes(c);
  const pairs = Object.keys(attrs)
    .sort()
    .map((k) => `${queryEscape(k)}=${queryEscape(attrs[k] ?? '')}`);
  return `${pairs.join(',')} `;
}

/**
 * Daemon address parsing. Berth's client takes Docker-style host strings:
 * `unix:///run/berth.sock`, `tcp://127.0.0.1:2375`, `http://host:port`, or a bare socket path.
 */
export const DEFAULT_HOST = 'unix:///run/berth.sock';

export type HostAddress =
  | { kind: 'unix'; socketPath: string; raw: string }
  | { kind: 'tcp'; host: string; port: number; raw: string };

export function parseHost(raw: string): HostAddress {
  const s = raw.trim();
  if (s.startsWith('unix://')) {
    const p = s.slice('unix://'.length);
    if (p === '') throw new Error(`invalid host: ${raw}`);
    return { kind: 'unix', socketPath: p, raw: s };
  }
  if (s.startsWith('/')) return { kind: 'unix', socketPath: s, raw: `unix://${s}` };
  let rest: string;
  if (s.startsWith('tcp://')) rest = s.slice(6);
  else if (s.startsWith('http://')) rest = s.slice(7);
  else throw new Error(`Invalid bind address format: ${raw}`);
  rest = rest.replace(/\/+$/, '');
  let host = rest;
  let port = 2375;
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(rest);
  if (!m) throw new Error(`Invalid bind address format: ${raw}`);
  host = m[1] ?? '';
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (host === '') host = '127.0.0.1';
  if (m[2] !== undefined) port = Number(m[2]);
  return { kind: 'tcp', host, port, raw: s };
}

/** Host selection: explicit flag, then BERTH_HOST, then the default socket. */
export function resolveHost(options: { flag?: string | undefined; env?: NodeJS.ProcessEnv } = {}): string {
  const env = options.env ?? process.env;
  if (options.flag) return options.flag;
  const fromEnv = env['BERTH_HOST'];
  if (fromEnv) return fromEnv;
  return DEFAULT_HOST;
}

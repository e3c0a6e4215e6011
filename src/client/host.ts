/**
 * Daemon address parsing. Berth's client takes Docker-style host strings:
 * `unix:///run/berth.sock`, `tcp://127.0.0.1:2375`, `http://host:port`, or a bare socket path.
 */
export const DEFAULT_HOST = 'unix:///run/berth.sock';

export type HostAddress = { kind: 'unix'; socketPath: string; raw: string } | { kind: 'tcp'; host: string; port: number; raw: string };

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

/** The docker CLI's default when TLS is on and no host is given. */
export const DEFAULT_TLS_HOST = 'tcp://localhost:2376';

/**
 * Host selection: explicit flag, then BERTH_HOST, then DOCKER_HOST (as the docker CLI reads
 * it), then tcp://localhost:2376 when TLS is on, else the default socket.
 */
export function resolveHost(options: { flag?: string | undefined; env?: NodeJS.ProcessEnv; tls?: boolean } = {}): string {
  const env = options.env ?? process.env;
  if (options.flag) return options.flag;
  const fromEnv = env['BERTH_HOST'] || env['DOCKER_HOST'];
  if (fromEnv) return fromEnv;
  return options.tls ? DEFAULT_TLS_HOST : DEFAULT_HOST;
}

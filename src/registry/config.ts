/**
 * berth-registry configuration: defaults, a JSON config file, then command-line flags (flags win).
 *
 * Config file (JSON), every key optional:
 * {
 *   "listen": "127.0.0.1:5000", "root": "/var/lib/berth-registry",
 *   "tls": { "cert": "server.crt", "key": "server.key" },
 *   "delete": { "enabled": true },
 *   "readOnly": false,
 *   "auth": {
 *     "htpasswd": { "realm": "berth-registry", "path": "htpasswd" }
 *     // or
 *     "token": { "realm": "https://host/token", "service": "berth-registry", "issuer": "berth-registry",
 *                "secret": "…" | "secretFile": "…", "htpasswd": "htpasswd", "expiry": 300,
 *                "anonymous": ["pull"] }
 *     "access": [ { "account": "alice", "repository": "alice/*", "actions": ["pull", "push", "delete"] } ]
 *   },
 *   "proxy": { "remoteUrl": "http://upstream:5000", "username": "…", "password": "…" },
 *   "log": { "access": "stdout" | "off" | "/path/to/file" },
 *   "uploads": { "purgeAfterHours": 168 },
 *   "sendfile": "auto" | "always" | "never"
 * }
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { invalid } from '../lib/errors.js';
import type { SendfileMode } from './blobout.js';

export type Action = 'pull' | 'push' | 'delete' | '*';

export interface AccessRule {
  /** An account name, or "*" for any authenticated account, or "" for anonymous. */
  account: string;
  /** Repository glob: "*" matches within a path component, "**" across components. */
  repository: string;
  actions: Action[];
}

export type AuthConfig =
  | { type: 'none' }
  | { type: 'htpasswd'; realm: string; path: string; access: AccessRule[] | undefined }
  | {
      type: 'token';
      /** Token endpoint URL as clients see it; derived from the request's Host when unset. */
      realm: string | undefined;
      service: string;
      issuer: string;
      secret: Buffer;
      htpasswd: string | undefined;
      expiry: number;
      anonymous: Action[];
      access: AccessRule[] | undefined;
    };

export interface RegistryConfig {
  listen: { host: string; port: number };
  root: string;
  tls: { cert: string; key: string } | undefined;
  deleteEnabled: boolean;
  readOnly: boolean;
  auth: AuthConfig;
  proxy: { remoteUrl: string; username: string | undefined; password: string | undefined } | undefined;
  accessLog: string;
  purgeUploadsAfterMs: number;
  /** Blob bodies with sendfile(2): for peers not on this host (auto), whenever possible, or never (see blobout.ts). */
  sendfile: SendfileMode;
}

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s);
  if (!m) throw invalid(`invalid --listen address ${JSON.stringify(s)}: want HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw invalid(`invalid port in ${s}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export const USAGE = `Usage:
  berth-registry [serve] --listen HOST:PORT --root DIR [options]
  berth-registry gc --root DIR [--dry-run] [--config FILE]

Options:
  --config FILE             JSON config file (flags override it)
  --tls-cert FILE --tls-key FILE
                            serve HTTPS
  --delete-enabled          allow DELETE of manifests, tags and blobs (default: off, 405 UNSUPPORTED)
  --read-only               refuse every write
  --htpasswd FILE           basic auth against an htpasswd file (bcrypt entries)
  --auth-token              bearer tokens from the built-in /token endpoint (needs --htpasswd for accounts)
  --token-secret FILE       HMAC key for tokens (default: random per start)
  --token-realm URL         token endpoint URL given to clients (default: derived from Host)
  --service NAME            token service name (default: berth-registry)
  --proxy-remote-url URL    pull-through cache of a remote registry
  --proxy-username U --proxy-password P
  --access-log stdout|off|FILE
  --sendfile auto|always|never
                            send blob bodies with sendfile(2) on plain HTTP: auto (default) for
                            peers not on this host, always, or never (a copy through user space)
`;

/** Parses argv (without the subcommand) into a config. */
export function loadConfig(argv: string[]): RegistryConfig & { dryRun: boolean } {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw invalid(`unexpected argument ${JSON.stringify(a)}\n${USAGE}`);
    const eq = a.indexOf('=');
    if (eq > 0) {
      flags.set(a.slice(2, eq), a.slice(eq + 1));
      continue;
    }
    const name = a.slice(2);
    const boolean = ['delete-enabled', 'read-only', 'auth-token', 'dry-run', 'help'].includes(name);
    if (boolean) flags.set(name, true);
    else {
      const v = argv[++i];
      if (v === undefined) throw invalid(`flag --${name} needs a value`);
      flags.set(name, v);
    }
  }
  const known = new Set([
    'listen',
    'root',
    'config',
    'tls-cert',
    'tls-key',
    'delete-enabled',
    'read-only',
    'htpasswd',
    'auth-token',
    'token-secret',
    'token-realm',
    'service',
    'proxy-remote-url',
    'proxy-username',
    'proxy-password',
    'access-log',
    'dry-run',
    'help',
    'sendfile',
  ]);
  for (const k of flags.keys()) if (!known.has(k)) throw invalid(`unknown flag --${k}\n${USAGE}`);
  const flag = (k: string): string | undefined => {
    const v = flags.get(k);
    return typeof v === 'string' ? v : undefined;
  };

  let file: Json = {};
  let base = process.cwd();
  const cfgPath = flag('config');
  if (cfgPath) {
    try {
      file = obj(JSON.parse(readFileSync(cfgPath, 'utf8')));
    } catch (err) {
      throw invalid(`cannot read config ${cfgPath}: ${(err as Error).message}`);
    }
    base = path.dirname(path.resolve(cfgPath));
  }
  const rel = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(base, p));

  const listen = parseListen(flag('listen') ?? str(file.listen) ?? '127.0.0.1:5000');
  const root = flag('root') ? path.resolve(flag('root')!) : rel(str(file.root));
  if (!root) throw invalid(`--root DIR is required\n${USAGE}`);

  const tlsFile = obj(file.tls);
  const cert = flag('tls-cert') ?? rel(str(tlsFile.cert));
  const key = flag('tls-key') ?? rel(str(tlsFile.key));
  if ((cert === undefined) !== (key === undefined)) throw invalid('--tls-cert and --tls-key go together');

  const authFile = obj(file.auth);
  const access = Array.isArray(authFile.access) ? (authFile.access as unknown[]).map(parseRule) : undefined;
  const tokenFile = authFile.token !== undefined ? obj(authFile.token) : undefined;
  const htFile = authFile.htpasswd !== undefined ? obj(authFile.htpasswd) : undefined;
  let auth: AuthConfig = { type: 'none' };
  if (flags.has('auth-token') || tokenFile) {
    const t = tokenFile ?? {};
    let secret: Buffer;
    const secretFile = flag('token-secret') ?? rel(str(t.secretFile));
    if (secretFile) secret = readFileSync(secretFile);
    else if (str(t.secret)) secret = Buffer.from(str(t.secret)!);
    else secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32)));
    auth = {
      type: 'token',
      realm: flag('token-realm') ?? str(t.realm),
      service: flag('service') ?? str(t.service) ?? 'berth-registry',
      issuer: str(t.issuer) ?? 'berth-registry',
      secret,
      htpasswd: flag('htpasswd') ?? rel(str(t.htpasswd)) ?? rel(str(htFile?.path)),
      expiry: typeof t.expiry === 'number' ? t.expiry : 300,
      anonymous: Array.isArray(t.anonymous) ? (t.anonymous as unknown[]).map(parseAction) : [],
      access,
    };
  } else if (flag('htpasswd') || htFile) {
    const p = flag('htpasswd') ?? rel(str(htFile?.path));
    if (!p) throw invalid('auth.htpasswd.path is required');
    auth = { type: 'htpasswd', realm: str(htFile?.realm) ?? 'berth-registry', path: p, access };
  }

  const proxyFile = file.proxy !== undefined ? obj(file.proxy) : undefined;
  const remoteUrl = flag('proxy-remote-url') ?? str(proxyFile?.remoteUrl);
  const proxy = remoteUrl
    ? {
        remoteUrl: remoteUrl.replace(/\/+$/, ''),
        username: flag('proxy-username') ?? str(proxyFile?.username),
        password: flag('proxy-password') ?? str(proxyFile?.password),
      }
    : undefined;

  const del = obj(file.delete);
  const uploads = obj(file.uploads);
  return {
    listen,
    root,
    tls: cert && key ? { cert, key } : undefined,
    deleteEnabled: flags.has('delete-enabled') || del.enabled === true,
    readOnly: flags.has('read-only') || file.readOnly === true,
    auth,
    proxy,
    accessLog: flag('access-log') ?? str(obj(file.log).access) ?? 'stdout',
    purgeUploadsAfterMs: (typeof uploads.purgeAfterHours === 'number' ? uploads.purgeAfterHours : 168) * 3600_000,
    sendfile: parseSendfile(flag('sendfile') ?? (file.sendfile === true ? 'always' : file.sendfile === false ? 'never' : file.sendfile)),
    dryRun: flags.has('dry-run'),
  };
}

function parseSendfile(v: unknown): SendfileMode {
  if (v === undefined) return 'auto';
  if (v === 'auto' || v === 'always' || v === 'never') return v;
  throw invalid(`invalid sendfile mode ${JSON.stringify(v)}: want auto, always or never`);
}

function parseAction(v: unknown): Action {
  if (v === 'pull' || v === 'push' || v === 'delete' || v === '*') return v;
  throw invalid(`invalid action ${JSON.stringify(v)} in config`);
}

function parseRule(v: unknown): AccessRule {
  const o = obj(v);
  const actions = Array.isArray(o.actions) ? (o.actions as unknown[]).map(parseAction) : [];
  return { account: str(o.account) ?? '*', repository: str(o.repository) ?? '**', actions };
}

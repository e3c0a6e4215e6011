/**
 * The managed-plugin service: plugins created from a tar (`config.json` + `rootfs/`, as
 * `docker plugin create` sends it), listed, inspected, configured (`set`) and removed, with
 * dockerd's rules and messages. Berth runs no plugin processes: a plugin is never enabled, and
 * enabling one, pushing or pulling one is refused plainly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError, conflict, invalid, notFound, notImplemented } from '../lib/errors.js';
import { mkdirAll } from '../lib/atomic.js';
import { decompress } from '../lib/decompress.js';
import { extractTar } from '../lib/safetar.js';
import { packPath } from '../lib/tarpack.js';
import { parseJSONValue } from '../api/validate.js';
import { familiarName, parseReference } from '../images/reference.js';
import type { PluginConfig, PluginRecord, PluginStore } from './store.js';

export const CANNOT_RUN = 'Berth cannot run managed plugins';
const MAX_CONFIG = 1 << 20;

export const pluginNotFound = (name: string): BerthError => notFound(`plugin ${JSON.stringify(name)} not found`);

// ---- config.json decoded as Go's encoding/json decodes it into PluginConfig -------------------

type Spec = 'string' | 'bool' | 'strings' | 'nstring' | 'uint32?' | { obj: Array<[string, Spec]> } | { arr: Spec };

const STRS: Spec = 'strings';
const CONFIG_SPEC: { obj: Array<[string, Spec]> } = {
  obj: [
    [
      'Args',
      {
        obj: [
          ['Description', 'string'],
          ['Name', 'string'],
          ['Settable', STRS],
          ['Value', STRS],
        ],
      },
    ],
    ['Description', 'string'],
    ['DockerVersion', 'string'],
    ['Documentation', 'string'],
    ['Entrypoint', STRS],
    [
      'Env',
      {
        arr: {
          obj: [
            ['Description', 'string'],
            ['Name', 'string'],
            ['Settable', STRS],
            ['Value', 'nstring'],
          ],
        },
      },
    ],
    [
      'Interface',
      {
        obj: [
          ['ProtocolScheme', 'string'],
          ['Socket', 'string'],
          ['Types', STRS],
        ],
      },
    ],
    ['IpcHost', 'bool'],
    [
      'Linux',
      {
        obj: [
          ['AllowAllDevices', 'bool'],
          ['Capabilities', STRS],
          [
            'Devices',
            {
              arr: {
                obj: [
                  ['Description', 'string'],
                  ['Name', 'string'],
                  ['Path', 'nstring'],
                  ['Settable', STRS],
                ],
              },
            },
          ],
        ],
      },
    ],
    [
      'Mounts',
      {
        arr: {
          obj: [
            ['Description', 'string'],
            ['Destination', 'string'],
            ['Name', 'string'],
            ['Options', STRS],
            ['Settable', STRS],
            ['Source', 'nstring'],
            ['Type', 'string'],
          ],
        },
      },
    ],
    ['Network', { obj: [['Type', 'string']] }],
    ['PidHost', 'bool'],
    ['PropagatedMount', 'string'],
    [
      'User',
      {
        obj: [
          ['GID', 'uint32?'],
          ['UID', 'uint32?'],
        ],
      },
    ],
    ['WorkDir', 'string'],
    [
      'rootfs',
      {
        obj: [
          ['diff_ids', STRS],
          ['type', 'string'],
        ],
      },
    ],
  ],
};

const goType = (s: Spec): string =>
  s === 'string' || s === 'nstring'
    ? 'string'
    : s === 'bool'
      ? 'bool'
      : s === 'strings'
        ? '[]string'
        : s === 'uint32?'
          ? 'uint32'
          : 'arr' in s
            ? `[]${goType(s.arr)}`
            : 'struct';
const jsonType = (v: unknown): string => (Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? 'number' : typeof v);

function zero(s: Spec): unknown {
  if (s === 'string') return '';
  if (s === 'bool') return false;
  if (s === 'strings' || s === 'nstring') return null;
  if (s === 'uint32?') return undefined;
  if ('arr' in s) return null;
  const o: Record<string, unknown> = {};
  for (const [k, f] of s.obj) {
    const z = zero(f);
    if (z !== undefined && !(k === 'ProtocolScheme')) o[k] = z;
  }
  return o;
}

function decode(s: Spec, v: unknown, field: string): unknown {
  const bad = (): never => {
    throw invalid(`failed to parse config: json: cannot unmarshal ${jsonType(v)} into Go struct field ${field} of type ${goType(s)}`);
  };
  if (v === null) return zero(s);
  if (s === 'string' || s === 'nstring') return typeof v === 'string' ? v : bad();
  if (s === 'bool') return typeof v === 'boolean' ? v : bad();
  if (s === 'uint32?') return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? (v === 0 ? undefined : v) : bad();
  if (s === 'strings') return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : decode('string', x, field))) : bad();
  if ('arr' in s) return Array.isArray(v) ? v.map((x) => decode(s.arr, x, field)) : bad();
  if (typeof v !== 'object' || Array.isArray(v)) return bad();
  const out = zero(s) as Record<string, unknown>;
  for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
    // Go matches a key to a field exactly, else case-insensitively; unknown keys are ignored
    const f = s.obj.find(([k]) => k === key) ?? s.obj.find(([k]) => k.toLowerCase() === key.toLowerCase());
    if (!f) continue;
    const d = decode(f[1], value, `${field}.${f[0]}`);
    if (d === undefined || (f[0] === 'ProtocolScheme' && d === '')) delete out[f[0]];
    else out[f[0]] = d;
  }
  return out;
}

/** config.json's text as dockerd reads it into a PluginConfig (its messages). */
export function parsePluginConfig(text: string): PluginConfig {
  let v: unknown;
  try {
    v = parseJSONValue(text);
  } catch (err) {
    throw invalid(`failed to parse config: ${(err as Error).message}`);
  }
  return decode(CONFIG_SPEC, v, 'PluginConfig') as PluginConfig;
}

// ---- set: dockerd's settables ----------------------------------------------------------------

interface Settable {
  name: string;
  field: string;
  value: string;
}

function parseSettable(arg: string): Settable {
  const i = arg.indexOf('=');
  if (i === 0) throw invalid('invalid format, must be <name>[.<field>][=<value>]');
  const s: Settable = { name: i < 0 ? arg : arg.slice(0, i), field: '', value: i < 0 ? '' : arg.slice(i + 1) };
  const dot = s.name.lastIndexOf('.');
  if (dot > 0) {
    s.field = s.name.slice(dot + 1);
    s.name = arg.slice(0, dot);
  }
  return s;
}

function isSettable(s: Settable, allowed: string, settable: string[] | null): boolean {
  if (s.field === '') {
    if (settable?.length === 1) s.field = settable[0]!;
    else if ((settable?.length ?? 0) > 1) throw invalid('multiple fields are settable, one must be specified');
  }
  return s.field === allowed && (settable ?? []).includes(s.field);
}

const prettyName = (s: Settable): string => (s.field ? `${s.name}.${s.field}` : s.name);

// ---- the service -------------------------------------------------------------------------

export interface PluginFilters {
  enabled?: boolean;
  capability?: string[];
}

export interface PluginServiceDeps {
  store: PluginStore;
  dockerVersion: string;
}

export class PluginService {
  constructor(private readonly deps: PluginServiceDeps) {}

  async init(): Promise<void> {
    await this.deps.store.init();
  }

  /** dockerd's name for a plugin reference: familiar, with `:latest` when untagged. */
  static canonicalName(name: string): string {
    let ref;
    try {
      ref = parseReference(name);
    } catch (err) {
      throw invalid(
        `failed to parse reference ${name}: ${(err as Error).message.replace(/: repository name \(.*\) must be lowercase$/, ': repository name must be lowercase')}`,
      );
    }
    if (ref.digest !== undefined) throw invalid(`failed to parse reference ${name}: a plugin name cannot have a digest`);
    return familiarName(ref);
  }

  /** By full ID, by name (`:latest` implied), else by unique ID prefix; dockerd's 404 text otherwise. */
  get(idOrName: string): PluginRecord {
    const { store } = this.deps;
    if (/^[0-9a-f]{64}$/.test(idOrName)) {
      const p = store.get(idOrName);
      if (p) return p;
      throw pluginNotFound(idOrName);
    }
    let name: string | undefined;
    try {
      const ref = parseReference(idOrName);
      if (ref.digest === undefined) name = familiarName(ref);
    } catch {
      /* not a name: no plugin */
    }
    if (name === undefined) throw pluginNotFound(idOrName);
    const byName = store.list().find((p) => p.Name === name);
    if (byName) return byName;
    const matches = store.list().filter((p) => p.Id.startsWith(idOrName));
    if (matches.length > 1) throw invalid(`multiple plugins found for ${JSON.stringify(idOrName)}`);
    if (matches.length === 0) throw pluginNotFound(idOrName);
    return matches[0]!;
  }

  list(f: PluginFilters): PluginRecord[] {
    return this.deps.store.list().filter((p) => {
      if (f.enabled !== undefined && p.Enabled !== f.enabled) return false;
      if (f.capability) {
        // dockerd: every interface type's capability must match one of the values (exactly or as a pattern)
        for (const t of p.Config.Interface.Types ?? []) {
          const cap = /^[^.]*\.([^/]*)\//.exec(t)?.[1] ?? '';
          if (!f.capability.some((v) => v === cap || safeMatch(v, cap))) return false;
        }
      }
      return true;
    });
  }

  /**
   * Creates a plugin from a tar (optionally compressed) holding `config.json` and `rootfs/`.
   * Everything is unpacked under the store's tmp directory with the safe extractor first: a
   * hostile archive fails there and leaves nothing.
   */
  async create(nameIn: string, body: Readable): Promise<PluginRecord> {
    const { store } = this.deps;
    const name = PluginService.canonicalName(nameIn);
    if (store.list().some((p) => p.Name === name)) {
      body.resume();
      throw conflict(`plugin ${name} already exists`);
    }
    await mkdirAll(store.tmpRoot(), 0o700);
    const tmp = path.join(store.tmpRoot(), randomBytes(8).toString('hex'));
    await fs.mkdir(tmp, { mode: 0o700 });
    try {
      try {
        await extractTar(await decompress(body), tmp, { whiteouts: 'none', sameOwner: true });
      } catch (err) {
        if (err instanceof BerthError && /path escapes|hard link|whiteout|parent of/.test(err.message)) throw err;
        throw invalid(`failed to read from tar: ${(err as Error).message}`);
      }
      const conf = await fs.lstat(path.join(tmp, 'config.json')).catch(() => undefined);
      if (!conf?.isFile()) throw invalid('config not found');
      if (conf.size > MAX_CONFIG) throw invalid(`failed to parse config: config.json is larger than ${MAX_CONFIG} bytes`);
      const config = parsePluginConfig(await fs.readFile(path.join(tmp, 'config.json'), 'utf8'));
      const rootfs = path.join(tmp, 'rootfs');
      const rst = await fs.lstat(rootfs).catch(() => undefined);
      if (!rst?.isDirectory()) throw invalid('no rootfs found: EOF');
      const diffId = await digestOf(packPath(rootfs, { rename: '' }));
      config.DockerVersion = this.deps.dockerVersion;
      config.rootfs = { diff_ids: [diffId], type: 'layers' };
      const id = createHash('sha256').update(JSON.stringify(config)).digest('hex');
      if (store.get(id)) throw conflict(`content ${diffId}: already exists`);
      // a name taken while the upload was read
      if (store.list().some((p) => p.Name === name)) throw conflict(`plugin ${name} already exists`);
      const rec: PluginRecord = {
        Config: config,
        Enabled: false,
        Id: id,
        Name: name,
        PluginReference: name,
        Settings: {
          Args: [...(config.Args.Value ?? [])],
          Devices: (config.Linux.Devices ?? []).map((d) => ({ ...d })),
          Env: (config.Env ?? []).filter((e) => e.Value !== null).map((e) => `${e.Name}=${e.Value}`),
          Mounts: (config.Mounts ?? []).map((m) => ({ ...m })),
        },
      };
      await store.add(rec, rootfs);
      return rec;
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }

  async set(idOrName: string, args: string[]): Promise<void> {
    const p = structuredClone(this.get(idOrName));
    if (p.Enabled) throw invalid('cannot set on an active plugin, disable plugin before setting');
    next: for (const arg of args) {
      const s = parseSettable(arg);
      for (const env of p.Config.Env ?? []) {
        if (env.Name !== s.name) continue;
        if (!isSettable(s, 'value', env.Settable)) throw invalid(`${JSON.stringify(prettyName(s))} is not settable`);
        const i = p.Settings.Env.findIndex((e) => e.split('=', 1)[0] === s.name);
        if (i >= 0) p.Settings.Env[i] = `${s.name}=${s.value}`;
        else p.Settings.Env.push(`${s.name}=${s.value}`);
        continue next;
      }
      for (const [i, m] of (p.Config.Mounts ?? []).entries()) {
        if (m.Name !== s.name) continue;
        if (!isSettable(s, 'source', m.Settable)) throw invalid(`${JSON.stringify(prettyName(s))} is not settable`);
        if (m.Source === null) throw invalid('Plugin config has no mount source');
        m.Source = s.value;
        if (p.Settings.Mounts[i]) p.Settings.Mounts[i].Source = s.value;
        continue next;
      }
      for (const [i, d] of (p.Config.Linux.Devices ?? []).entries()) {
        if (d.Name !== s.name) continue;
        if (!isSettable(s, 'path', d.Settable)) throw invalid(`${JSON.stringify(prettyName(s))} is not settable`);
        if (d.Path === null) throw invalid('Plugin config has no device path');
        d.Path = s.value;
        if (p.Settings.Devices[i]) p.Settings.Devices[i].Path = s.value;
        continue next;
      }
      if (p.Config.Args.Name === s.name) {
        if (!isSettable(s, 'value', p.Config.Args.Settable)) throw invalid(`${JSON.stringify(prettyName(s))} is not settable`);
        p.Settings.Args = s.value.split(' ');
        continue next;
      }
      throw invalid(`setting ${JSON.stringify(s.name)} not found in the plugin configuration`);
    }
    await this.deps.store.update(p);
  }

  async remove(idOrName: string, force: boolean): Promise<void> {
    const p = this.get(idOrName);
    if (p.Enabled && !force) throw conflict(`plugin ${p.Name} is enabled`);
    await this.deps.store.remove(p.Id);
  }

  enable(idOrName: string): never {
    this.get(idOrName);
    throw notImplemented(`${CANNOT_RUN}: Berth does not run plugin processes`);
  }

  disable(idOrName: string): void {
    const p = this.get(idOrName);
    if (!p.Enabled) throw conflict(`plugin is already disabled: plugin ${p.Name} found but disabled`);
  }

  /** push and upgrade need a registry's plugin support, which Berth lacks. */
  refuse(idOrName: string, what: 'push' | 'upgrade'): never {
    const p = this.get(idOrName);
    throw notImplemented(`Berth does not support managed plugins: cannot ${what} ${p.Name}`);
  }
}

function safeMatch(pattern: string, s: string): boolean {
  try {
    return new RegExp(pattern).test(s);
  } catch {
    return false;
  }
}

async function digestOf(src: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of src) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

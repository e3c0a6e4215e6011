/**
 * `-v`, `--mount`, `--tmpfs` and `--volumes-from` as the docker CLI turns them into a create
 * request: `-v /path` is an anonymous volume (Config.Volumes), `-v a:b[:mode]` a Binds entry,
 * `--mount` a HostConfig.Mounts entry parsed from its CSV fields, `--tmpfs /p[:opts]` a
 * HostConfig.Tmpfs entry. The daemon validates the rest (as dockerd does).
 */
import { FlagError } from './flags.js';
import { parseMemory } from './format.js';

export interface ApiMountSpec {
  Type: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface VolumeFlags {
  binds: string[];
  anonymous: Record<string, object>;
  mounts: ApiMountSpec[];
  tmpfs: Record<string, string>;
  volumesFrom: string[];
}

const mountError = (value: string, msg: string): FlagError => new FlagError(`invalid argument "${value}" for "--mount" flag: ${msg}`);

function parseBool(value: string, key: string, raw: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw mountError(raw, `invalid value for ${key}: ${value}`);
}

/** One `--mount` value: comma-separated key=value fields (docker's opts.MountOpt). */
export function parseMountFlag(raw: string): ApiMountSpec {
  const m: ApiMountSpec = { Type: 'volume' };
  const volumeOptions = (): NonNullable<ApiMountSpec['VolumeOptions']> => (m.VolumeOptions ??= {});
  const bindOptions = (): NonNullable<ApiMountSpec['BindOptions']> => (m.BindOptions ??= {});
  const tmpfsOptions = (): NonNullable<ApiMountSpec['TmpfsOptions']> => (m.TmpfsOptions ??= {});
  for (const field of raw.split(',')) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    if (value === undefined) {
      if (key === 'readonly' || key === 'ro') m.ReadOnly = true;
      else if (key === 'volume-nocopy') volumeOptions().NoCopy = true;
      else if (key === 'bind-nonrecursive') bindOptions().NonRecursive = true;
      else throw mountError(raw, `invalid field '${field}' must be a key=value pair`);
      continue;
    }
    switch (key) {
      case 'type':
        m.Type = value;
        break;
      case 'source':
      case 'src':
        m.Source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = value;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = parseBool(value, key, raw);
        break;
      case 'consistency':
        m.Consistency = value;
        break;
      case 'bind-propagation':
        bindOptions().Propagation = value;
        break;
      case 'bind-nonrecursive':
        bindOptions().NonRecursive = parseBool(value, key, raw);
        break;
      case 'volume-nocopy':
        volumeOptions().NoCopy = parseBool(value, key, raw);
        break;
      case 'volume-label': {
        const i = value.indexOf('=');
        (volumeOptions().Labels ??= {})[i < 0 ? value : value.slice(0, i)] = i < 0 ? '' : value.slice(i + 1);
        break;
      }
      case 'volume-driver':
        (volumeOptions().DriverConfig ??= {}).Name = value;
        break;
      case 'volume-opt': {
        const i = value.indexOf('=');
        const dc = (volumeOptions().DriverConfig ??= {});
        (dc.Options ??= {})[i < 0 ? value : value.slice(0, i)] = i < 0 ? '' : value.slice(i + 1);
        break;
      }
      case 'tmpfs-size':
        try {
          tmpfsOptions().SizeBytes = parseMemory(value);
        } catch {
          throw mountError(raw, `invalid value for ${key}: ${value}`);
        }
        break;
      case 'tmpfs-mode': {
        if (!/^[0-7]+$/.test(value)) throw mountError(raw, `invalid value for ${key}: ${value}`);
        tmpfsOptions().Mode = Number.parseInt(value, 8);
        break;
      }
      default:
        throw mountError(raw, `unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.Target) throw mountError(raw, 'target is required');
  if (m.VolumeOptions && m.Type !== 'volume') throw mountError(raw, `cannot mix 'volume-*' options with mount type '${m.Type}'`);
  if (m.BindOptions && m.Type !== 'bind') throw mountError(raw, `cannot mix 'bind-*' options with mount type '${m.Type}'`);
  if (m.TmpfsOptions && m.Type !== 'tmpfs') throw mountError(raw, `cannot mix 'tmpfs-*' options with mount type '${m.Type}'`);
  return m;
}

export function parseVolumeFlags(f: { volumes: string[]; mounts: string[]; tmpfs: string[]; volumesFrom: string[] }): VolumeFlags {
  const binds: string[] = [];
  const anonymous: Record<string, object> = {};
  for (const v of f.volumes) {
    if (v.includes(':')) binds.push(v);
    else anonymous[v] = {};
  }
  const tmpfs: Record<string, string> = {};
  for (const t of f.tmpfs) {
    const i = t.indexOf(':');
    if (i < 0) tmpfs[t] = '';
    else tmpfs[t.slice(0, i)] = t.slice(i + 1);
  }
  return { binds, anonymous, mounts: f.mounts.map(parseMountFlag), tmpfs, volumesFrom: f.volumesFrom };
}

// Derives src/api/schema/engine-api.json — the JSON schemas berthd validates request bodies
// against — from the Docker Engine API's own Swagger 2.0 document (api/swagger.yaml of moby v28.2.2,
// API v1.50). Run by hand when the spec changes; the daemon never reads the YAML:
//
//   node scripts/gen-api-schema.mjs /path/to/engine-api-v1.50.yaml
//
// What the conversion keeps is what Go's encoding/json (dockerd's decoder) checks: the JSON kind
// of each field, integer ranges of the Go field types, and nothing else. Go accepts null for every
// field, ignores unknown fields and does not look at enums, patterns, lengths or `required`, so
// neither do these schemas; dockerd checks those later with its own messages, as berthd does.
// Each node carries `x-go` (the Go type dockerd decodes into, for its error text) and objects that
// are Go structs carry `x-go-struct` (the struct's name).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const src = process.argv[2];
if (!src) {
  console.error('usage: node scripts/gen-api-schema.mjs engine-api-v1.50.yaml');
  process.exit(2);
}
const spec = parse(readFileSync(src, 'utf8'));
const defs = spec.definitions;

/** Go type and struct names of the definitions, as dockerd 20.10's types are named. */
const DEF_GO = {
  HostConfig: ['container.HostConfig', 'HostConfig'],
  RestartPolicy: ['container.RestartPolicy', 'RestartPolicy'],
  Mount: ['mount.Mount', 'Mount'],
  PortBinding: ['nat.PortBinding', 'PortBinding'],
  PortMap: ['nat.PortMap'],
  HealthConfig: ['container.HealthConfig', 'HealthConfig'],
  NetworkingConfig: ['network.NetworkingConfig', 'NetworkingConfig'],
  EndpointSettings: ['network.EndpointSettings', 'EndpointSettings'],
  EndpointIPAMConfig: ['network.EndpointIPAMConfig', 'EndpointIPAMConfig'],
  IPAM: ['network.IPAM', 'IPAM'],
  IPAMConfig: ['network.IPAMConfig', 'IPAMConfig'],
  DeviceMapping: ['container.DeviceMapping', 'DeviceMapping'],
  DeviceRequest: ['container.DeviceRequest', 'DeviceRequest'],
  ThrottleDevice: ['blkiodev.ThrottleDevice', 'ThrottleDevice'],
  ConfigReference: ['network.ConfigReference', 'ConfigReference'],
  ClusterVolumeSpec: ['volume.ClusterVolumeSpec', 'ClusterVolumeSpec'],
  AuthConfig: ['types.AuthConfig', 'AuthConfig'],
};

/** Fields whose Go type is not what the spec's type and format say. Keys: `Struct.Field`. */
const FIELD_GO = {
  'ContainerConfig.ExposedPorts': 'nat.PortSet',
  'ContainerConfig.Volumes': 'map[string]struct {}',
  'ContainerConfig.StopTimeout': 'int',
  'ContainerConfig.Labels': 'map[string]string',
  'HostConfig.NetworkMode': 'container.NetworkMode',
  'HostConfig.IpcMode': 'container.IpcMode',
  'HostConfig.PidMode': 'container.PidMode',
  'HostConfig.UTSMode': 'container.UTSMode',
  'HostConfig.UsernsMode': 'container.UsernsMode',
  'HostConfig.CgroupnsMode': 'container.CgroupnsMode',
  'HostConfig.Cgroup': 'container.CgroupSpec',
  'HostConfig.Isolation': 'container.Isolation',
  'HostConfig.LogConfig': 'container.LogConfig',
  'HostConfig.Mounts': '[]mount.Mount',
  'HostConfig.Ulimits': '[]*units.Ulimit',
  'HostConfig.Devices': '[]container.DeviceMapping',
  'HostConfig.DeviceRequests': '[]container.DeviceRequest',
  'HostConfig.BlkioWeightDevice': '[]*blkiodev.WeightDevice',
  'HostConfig.BlkioDeviceReadBps': '[]*blkiodev.ThrottleDevice',
  'HostConfig.BlkioDeviceWriteBps': '[]*blkiodev.ThrottleDevice',
  'HostConfig.BlkioDeviceReadIOps': '[]*blkiodev.ThrottleDevice',
  'HostConfig.BlkioDeviceWriteIOps': '[]*blkiodev.ThrottleDevice',
  'HostConfig.CpuShares': 'int64',
  'HostConfig.BlkioWeight': 'uint16',
  'HostConfig.OomScoreAdj': 'int',
  'HostConfig.ConsoleSize': '[2]uint',
  'HostConfig.Init': 'bool',
  'HostConfig.MemorySwappiness': 'int64',
  'HostConfig.PidsLimit': 'int64',
  'HealthConfig.Interval': 'time.Duration',
  'HealthConfig.Timeout': 'time.Duration',
  'HealthConfig.StartPeriod': 'time.Duration',
  'HealthConfig.StartInterval': 'time.Duration',
  'Mount.Type': 'mount.Type',
  'Mount.Consistency': 'mount.Consistency',
  'BindOptions.Propagation': 'mount.Propagation',
  'TmpfsOptions.Mode': 'fs.FileMode',
  'Ulimit.Soft': 'int64',
  'Ulimit.Hard': 'int64',
  'ExecConfig.ConsoleSize': '*[2]uint',
  'ExecStartCheck.ConsoleSize': '*[2]uint',
  'EndpointSettings.IPPrefixLen': 'int',
  'EndpointSettings.GwPriority': 'int',
};

/** Nested anonymous objects that are Go structs of their own (name of the property → Go). */
const NESTED_GO = {
  LogConfig: ['container.LogConfig', 'LogConfig'],
  BindOptions: ['mount.BindOptions', 'BindOptions'],
  VolumeOptions: ['mount.VolumeOptions', 'VolumeOptions'],
  DriverConfig: ['mount.Driver', 'Driver'],
  TmpfsOptions: ['mount.TmpfsOptions', 'TmpfsOptions'],
  ImageOptions: ['mount.ImageOptions', 'ImageOptions'],
  Ulimits: ['units.Ulimit', 'Ulimit'],
  BlkioWeightDevice: ['blkiodev.WeightDevice', 'WeightDevice'],
};

/** Go's integer ranges (exact decimal strings; JSON numbers are doubles in JS, see api/validate.ts). */
const RANGES = {
  int: [-9223372036854775808, 9223372036854775807],
  int64: [-9223372036854775808, 9223372036854775807],
  'time.Duration': [-9223372036854775808, 9223372036854775807],
  int32: [-2147483648, 2147483647],
  uint: [0, 18446744073709551615],
  uint64: [0, 18446744073709551615],
  uint32: [0, 4294967295],
  uint16: [0, 65535],
  uint8: [0, 255],
  'fs.FileMode': [0, 4294967295],
};

const primitiveGo = (s) => {
  if (s.type === 'boolean') return 'bool';
  if (s.type === 'string') return 'string';
  if (s.type === 'number') return 'float64';
  if (s.type === 'integer') return s.format && RANGES[s.format] ? s.format : 'int';
  return undefined;
};

const deref = (s) => {
  if (s && s.$ref) {
    const name = s.$ref.replace('#/definitions/', '');
    return { name, schema: defs[name] };
  }
  return { name: undefined, schema: s };
};

/** Merges allOf members into one object schema (Go embeds such structs: their fields are promoted). */
function flatten(s, seen) {
  const { name, schema } = deref(s);
  if (!schema.allOf) return { name, schema };
  const props = {};
  for (const part of schema.allOf) {
    const { schema: p } = flatten(part, seen);
    Object.assign(props, p.properties ?? {});
  }
  return { name, schema: { type: 'object', properties: props } };
}

/**
 * Converts one node. `structName` is the Go struct the node is a field of (for FIELD_GO),
 * `field` its JSON name there.
 */
function convert(s, ctx) {
  const { structName, field, seen = new Set() } = ctx;
  const { name: defName, schema } = flatten(s, seen);
  if (defName && seen.has(defName)) return { 'x-go': DEF_GO[defName]?.[0] ?? defName };
  const nextSeen = defName ? new Set([...seen, defName]) : seen;
  const alias = { UpdateConfig: 'HostConfig', ContainerConfigWrapper: 'ContainerConfig' }[structName] ?? structName;
  const override = structName && field ? FIELD_GO[`${alias}.${field}`] : undefined;
  const nested = !defName && field && schema.type === 'object' && schema.properties ? NESTED_GO[field] : undefined;
  const out = {};

  if (field === 'Cmd' || field === 'Entrypoint' || field === 'Shell') {
    if (structName === 'ContainerConfig') {
      // strslice.StrSlice: a string or a list of strings; Go names "string" in both errors.
      return { type: ['array', 'string', 'null'], items: { type: ['string', 'null'], 'x-go': 'string' }, 'x-go': 'string' };
    }
  }

  if (schema.type === 'object' || schema.properties || schema.additionalProperties) {
    out.type = ['object', 'null'];
    if (schema.properties) {
      const goStruct = (defName && DEF_GO[defName]?.[1]) ?? nested?.[1] ?? ctx.goStruct ?? defName ?? schema.title ?? field;
      out['x-go'] = override ?? (defName && DEF_GO[defName]?.[0]) ?? nested?.[0] ?? goStruct;
      out['x-go-struct'] = goStruct;
      out.properties = {};
      // FIELD_GO is keyed by the spec's name for ContainerConfig, by the Go struct otherwise.
      const keyName = defName === 'ContainerConfig' ? 'ContainerConfig' : goStruct;
      for (const [k, v] of Object.entries(schema.properties)) {
        out.properties[k] = convert(v, { structName: keyName, field: k, seen: nextSeen });
      }
    } else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      const ap = deref(schema.additionalProperties).schema;
      if (ap.type === 'object' && !ap.properties && !ap.additionalProperties) {
        // map[...]struct{}: any object (or null) as the value
        out.additionalProperties = { type: ['object', 'null'], 'x-go': 'struct {}' };
      } else {
        out.additionalProperties = convert(schema.additionalProperties, { seen: nextSeen });
      }
      const vgo = out.additionalProperties['x-go'];
      out['x-go'] = override ?? (defName && DEF_GO[defName]?.[0]) ?? `map[string]${vgo}`;
    } else {
      out['x-go'] = override ?? 'map[string]interface {}';
    }
    return out;
  }
  if (schema.type === 'array') {
    out.type = ['array', 'null'];
    const items = schema.items
      ? convert(schema.items, {
          structName,
          field: field && NESTED_GO[field] ? field : undefined,
          seen: nextSeen,
          ...(field && NESTED_GO[field] ? { goStruct: NESTED_GO[field][1] } : {}),
        })
      : {};
    if (field && NESTED_GO[field] && items.properties) {
      items['x-go'] = NESTED_GO[field][0];
      items['x-go-struct'] = NESTED_GO[field][1];
    }
    if (override === '[2]uint' || override === '*[2]uint') {
      out.items = { type: ['integer', 'null'], minimum: 0, maximum: RANGES.uint[1], 'x-go': 'uint' };
    } else out.items = items;
    out['x-go'] = override ?? `[]${items['x-go'] ?? 'interface {}'}`;
    return out;
  }
  const go = override ?? primitiveGo(schema);
  if (!go) return {}; // anything goes (interface{})
  const base = { bool: 'boolean', string: 'string', float64: 'number' }[go];
  if (base) out.type = [base, 'null'];
  else if (RANGES[go]) {
    out.type = ['integer', 'null'];
    out.minimum = RANGES[go][0];
    out.maximum = RANGES[go][1];
  } else if (schema.type === 'boolean') out.type = ['boolean', 'null'];
  else if (schema.type === 'integer') {
    out.type = ['integer', 'null'];
    out.minimum = RANGES.int64[0];
    out.maximum = RANGES.int64[1];
  } else out.type = [schema.type === 'number' ? 'number' : 'string', 'null'];
  out['x-go'] = go;
  return out;
}

const bodyOf = (p, m) => spec.paths[p][m].parameters.find((x) => x.in === 'body').schema;

/** Each body: the route, the schema, and the Go value dockerd decodes it into. */
const BODIES = {
  ContainerCreate: {
    route: 'POST /containers/create',
    schema: bodyOf('/containers/create', 'post'),
    go: 'runconfig.ContainerConfigWrapper',
    struct: 'ContainerConfigWrapper',
  },
  ContainerUpdate: {
    route: 'POST /containers/{id}/update',
    schema: bodyOf('/containers/{id}/update', 'post'),
    go: 'container.UpdateConfig',
    struct: 'UpdateConfig',
  },
  Commit: { route: 'POST /commit', schema: bodyOf('/commit', 'post'), go: 'runconfig.ContainerConfigWrapper', struct: 'ContainerConfigWrapper' },
  ExecCreate: { route: 'POST /containers/{id}/exec', schema: bodyOf('/containers/{id}/exec', 'post'), go: 'types.ExecConfig', struct: 'ExecConfig' },
  ExecStart: { route: 'POST /exec/{id}/start', schema: bodyOf('/exec/{id}/start', 'post'), go: 'types.ExecStartCheck', struct: 'ExecStartCheck' },
  NetworkCreate: {
    route: 'POST /networks/create',
    schema: bodyOf('/networks/create', 'post'),
    go: 'types.NetworkCreateRequest',
    struct: 'NetworkCreateRequest',
  },
  NetworkConnect: {
    route: 'POST /networks/{id}/connect',
    schema: bodyOf('/networks/{id}/connect', 'post'),
    go: 'types.NetworkConnect',
    struct: 'NetworkConnect',
  },
  NetworkDisconnect: {
    route: 'POST /networks/{id}/disconnect',
    schema: bodyOf('/networks/{id}/disconnect', 'post'),
    go: 'types.NetworkDisconnect',
    struct: 'NetworkDisconnect',
  },
  VolumeCreate: { route: 'POST /volumes/create', schema: bodyOf('/volumes/create', 'post'), go: 'volume.VolumeCreateBody', struct: 'VolumeCreateBody' },
  Auth: { route: 'POST /auth', schema: bodyOf('/auth', 'post'), go: 'types.AuthConfig', struct: 'AuthConfig' },
  PluginPrivileges: { route: 'POST /plugins/pull', schema: bodyOf('/plugins/pull', 'post'), go: '[]types.PluginPrivilege', struct: 'PluginPrivilege' },
  PluginSet: { route: 'POST /plugins/{name}/set', schema: bodyOf('/plugins/{name}/set', 'post'), go: '[]string', struct: '' },
};

const int64 = { type: ['integer', 'null'], minimum: RANGES.int64[0], maximum: RANGES.int64[1], 'x-go': 'int64' };
/** Fields dockerd 20.10 still decodes that v1.50 dropped, and that clients (docker-py) still send. */
const EXTRA = {
  NetworkCreate: { CheckDuplicate: { type: ['boolean', 'null'], 'x-go': 'bool' } },
  'ContainerCreate.HostConfig': {
    KernelMemory: int64,
    Capabilities: { type: ['array', 'null'], items: { type: ['string', 'null'], 'x-go': 'string' }, 'x-go': '[]string' },
  },
  ContainerUpdate: { KernelMemory: int64 },
};

const out = {
  $comment:
    'Generated by scripts/gen-api-schema.mjs from the Docker Engine API v1.50 (moby v28.2.2 api/swagger.yaml). ' +
    "Kinds and Go integer ranges only, null allowed everywhere, unknown fields allowed: what dockerd's JSON decoder checks. Do not edit by hand.",
  bodies: {},
};
for (const [name, b] of Object.entries(BODIES)) {
  // The top level of create/commit is Go's wrapper struct: Config's fields are promoted into it.
  const top = convert(b.schema, { seen: new Set(), goStruct: b.struct });
  if (name === 'Commit' || name === 'ContainerCreate') {
    // Config's fields keep their ContainerConfig overrides; the wrapper adds HostConfig and NetworkingConfig.
    const cfg = convert({ $ref: '#/definitions/ContainerConfig' }, { seen: new Set() });
    top.properties = {
      ...cfg.properties,
      ...(name === 'ContainerCreate' ? { HostConfig: top.properties.HostConfig, NetworkingConfig: top.properties.NetworkingConfig } : {}),
    };
  }
  for (const [k, v] of Object.entries(EXTRA[name] ?? {})) top.properties[k] = v;
  for (const [k, v] of Object.entries(EXTRA[`${name}.HostConfig`] ?? {})) top.properties.HostConfig.properties[k] = v;
  if (top.properties) top['x-go-struct'] = b.struct;
  top['x-go'] = b.go;
  // The body itself must be a JSON object (or an array for the plugin bodies); null is `{}` for Go.
  top.$id = name;
  top['x-route'] = b.route;
  out.bodies[name] = top;
}

const here = dirname(fileURLToPath(import.meta.url));
const file = join(here, '..', 'src', 'api', 'schema', 'engine-api.json');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, JSON.stringify(out, null, 1) + '\n');
console.log(`wrote ${file} (${Object.keys(out.bodies).length} bodies)`);

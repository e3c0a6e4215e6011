/**
 * BuildKit's control service (`moby.buildkit.v1.Control`) on Berth's builder: ListWorkers and
 * Info describe the one worker (the host's platform, Berth's version), DiskUsage and Prune are the
 * build cache of `build/cache.ts` (the same cache `/system/df` and `builder prune` see).
 */
import * as os from 'node:os';
import { firstMessage, type ServerCall, type ServerMethod } from './grpc.js';
import { codec, timestamp } from './proto.js';

/** The build cache as the control service reads and prunes it (build/builder.ts's Builder). */
export interface BuildCacheControl {
  cacheUsage(): Promise<Array<Record<string, unknown>>>;
  prune(o: { all: boolean; filters: Map<string, string[]> }): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }>;
}

export interface ControlDeps {
  cache: BuildCacheControl;
  /** Berth's version, reported as the worker's BuildKit version. */
  version: string;
  /** `builder.gc.defaultKeepStorage`, reported as the worker's GC policy. */
  keepStorage: number;
}

const SERVICE = '/moby.buildkit.v1.Control/';

/** GOARCH for Node's process.arch. */
export function hostPlatform(): { OS: string; Architecture: string; Variant: string } {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { OS: 'linux', Architecture: arch[process.arch] ?? process.arch, Variant: process.arch === 'arm' ? 'v7' : '' };
}

export function workerRecord(d: ControlDeps): Record<string, unknown> {
  return {
    ID: os.hostname(),
    Labels: {
      'org.mobyproject.buildkit.worker.executor': 'oci',
      'org.mobyproject.buildkit.worker.hostname': os.hostname(),
      'org.mobyproject.buildkit.worker.snapshotter': 'overlayfs',
      'org.mobyproject.buildkit.worker.moby.host-gateway-ip': '',
    },
    platforms: [hostPlatform()],
    GCPolicy: d.keepStorage > 0 ? [{ all: true, keepBytes: d.keepStorage }] : [],
    BuildkitVersion: buildkitVersion(d),
  };
}

const buildkitVersion = (d: ControlDeps): Record<string, string> => ({ package: 'github.com/berth/berth', version: d.version, revision: '' });

/** One build-cache entry of `build/cache.ts` as BuildKit's UsageRecord. */
function usageRecord(e: Record<string, unknown>): Record<string, unknown> {
  const created = Date.parse(String(e['CreatedAt'] ?? ''));
  const parent = String(e['Parent'] ?? '');
  return {
    ID: String(e['ID'] ?? ''),
    Mutable: false,
    InUse: Boolean(e['InUse']),
    Size: Number(e['Size'] ?? 0),
    Parents: parent ? [parent] : [],
    CreatedAt: timestamp(Number.isFinite(created) ? created : 0),
    UsageCount: Number(e['UsageCount'] ?? 0),
    Description: String(e['Description'] ?? ''),
    RecordType: String(e['Type'] ?? 'regular'),
    Shared: Boolean(e['Shared']),
  };
}

/**
 * containerd-style filter strings (`key==value,key2=value`, one request entry per `--filter` set)
 * into the build cache's filter map; only `until` has a meaning for Berth's cache.
 */
function parseFilterStrings(list: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const entry of list) {
    for (const part of entry.split(',')) {
      const m = /^([^=!~]+)(==|=|!=|~=)(.*)$/.exec(part.trim());
      if (!m) continue;
      const key = (m[1] as string).trim();
      out.set(key, [...(out.get(key) ?? []), m[3] as string]);
    }
  }
  return out;
}

const unary = (reqType: string, resType: string, fn: (req: Record<string, unknown>) => Promise<object>): ServerMethod => {
  const req = codec(reqType);
  const res = codec(resType);
  return async (call: ServerCall) => {
    const r = req.decode(await firstMessage(call));
    call.send(res.encode(await fn(r)));
  };
};

/** The control service's methods by gRPC path. Solve and Status are added by the solver. */
export function controlMethods(d: ControlDeps): Map<string, ServerMethod> {
  const m = new Map<string, ServerMethod>();
  m.set(
    `${SERVICE}ListWorkers`,
    unary('moby.buildkit.v1.ListWorkersRequest', 'moby.buildkit.v1.ListWorkersResponse', async () => ({ record: [workerRecord(d)] })),
  );
  m.set(
    `${SERVICE}Info`,
    unary('moby.buildkit.v1.InfoRequest', 'moby.buildkit.v1.InfoResponse', async () => ({ buildkitVersion: buildkitVersion(d) })),
  );
  m.set(
    `${SERVICE}DiskUsage`,
    unary('moby.buildkit.v1.DiskUsageRequest', 'moby.buildkit.v1.DiskUsageResponse', async () => ({
      record: (await d.cache.cacheUsage()).map(usageRecord),
    })),
  );
  const pruneReq = codec('moby.buildkit.v1.PruneRequest');
  const record = codec('moby.buildkit.v1.UsageRecord');
  m.set(`${SERVICE}Prune`, async (call) => {
    const r = pruneReq.decode(await firstMessage(call)) as { filter: string[]; all: boolean; keepDuration: number };
    const filters = parseFilterStrings(r.filter);
    if (r.keepDuration > 0 && !filters.has('until')) filters.set('until', [`${Math.floor(r.keepDuration / 1e6)}ms`]);
    const before = new Map((await d.cache.cacheUsage()).map((e) => [String(e['ID']), e]));
    const result = await d.cache.prune({ all: r.all, filters });
    for (const id of result.CachesDeleted) {
      const short = id.replace(/^sha256:/, '').slice(0, 25);
      const e = before.get(short) ?? { ID: short };
      call.send(record.encode(usageRecord(e)));
    }
  });
  return m;
}

/** /_ping, /version, /info, /events. */
import { cpus, hostname, release, totalmem, arch } from 'node:os';
import { readFileSync } from 'node:fs';
import type { EventBus, EngineEvent } from '../events/bus.js';
import { parseFilters } from '../lib/filters.js';
import { eventMatches } from '../events/filter.js';
import { invalid } from '../lib/errors.js';
import { parseUnixSecondsNs } from '../lib/timestamp.js';
import { API_VERSION, MIN_API_VERSION, sendJSON, versionAtLeast, type Router } from './router.js';
import type { ContainerSummary } from '../engine-api/types.js';

export const BERTH_VERSION = '0.1.0';

export interface SystemInfoSource {
  id: string;
  dataRoot: string;
  counts: () => { containers: number; running: number; paused: number; stopped: number; images: number };
  cgroupVersion: string;
  runcPath: string;
  initPath?: string;
  debug: boolean;
  events: EventBus;
  /** Versions of the runtime and monitor, filled in once known. */
  components: { runc: string; runcCommit: string; conmon: string };
  /** `Warnings` of /info (e.g. a TCP host without TLS client verification). */
  warnings?: string[];
}

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

const goArch = (): string => (arch() === 'x64' ? 'amd64' : arch());

export function registerSystemRoutes(r: Router, s: SystemInfoSource): void {
  const ping = async (ctx: Parameters<Parameters<Router['add']>[2]>[0]): Promise<void> => {
    const res = ctx.res;
    if (!res) return;
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'Content-Length': ctx.req.method === 'HEAD' ? 0 : 2,
    });
    res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
  };
  r.add('GET', '/_ping', ping);
  r.add('HEAD', '/_ping', ping);

  r.add('GET', '/version', async (ctx) => {
    sendJSON(ctx, 200, {
      Platform: { Name: 'Berth Engine' },
      Components: [
        {
          Name: 'Engine',
          Version: BERTH_VERSION,
          Details: { ApiVersion: API_VERSION, Arch: goArch(), BuildTime: '', Experimental: 'false', GitCommit: '', GoVersion: `node${process.versions.node}`, KernelVersion: release(), MinAPIVersion: MIN_API_VERSION, Os: 'linux' },
        },
        { Name: 'runc', Version: s.components.runc, Details: { GitCommit: s.components.runcCommit } },
        { Name: 'conmon', Version: s.components.conmon, Details: { GitCommit: '' } },
      ],
      Version: BERTH_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: '',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: release(),
      BuildTime: '',
    });
  });

  r.add('GET', '/info', async (ctx) => {
    const n = s.counts();
    const v1 = s.cgroupVersion === '1';
    sendJSON(ctx, 200, {
      ID: s.id,
      Containers: n.containers,
      ContainersRunning: n.running,
      ContainersPaused: n.paused,
      ContainersStopped: n.stopped,
      Images: n.images,
      Driver: 'overlay2',
      // API < 1.25 still carries the field dockerd stopped using with containerd
      ...(versionAtLeast(ctx, '1.25') ? {} : { ExecutionDriver: '<not supported>' }),
      DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true'], ['Using metacopy', 'false'], ['Native Overlay Diff', 'true'], ['userxattr', 'false']],
      Plugins: { Volume: ['local'], Network: ['host', 'null'], Authorization: null, Log: ['json-file'] },
      MemoryLimit: true,
      SwapLimit: true,
      KernelMemoryTCP: v1,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      Debug: s.debug,
      NFd: 0,
      OomKillDisable: v1,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: s.cgroupVersion,
      NEventsListener: 0,
      KernelVersion: release(),
      OperatingSystem: osName(),
      OSVersion: '',
      OSType: 'linux',
      Architecture: arch() === 'x64' ? 'x86_64' : arch(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['::1/128', '127.0.0.0/8'], Mirrors: [] },
      NCPU: cpus().length,
      MemTotal: totalmem(),
      GenericResources: null,
      DockerRootDir: s.dataRoot,
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: BERTH_VERSION,
      Runtimes: { runc: { path: s.runcPath } },
      DefaultRuntime: 'runc',
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: s.initPath ?? '',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: s.components.runcCommit },
      InitCommit: { ID: '' },
      SecurityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns'],
      Warnings: s.warnings && s.warnings.length > 0 ? s.warnings : null,
    });
  });

  r.add('GET', '/events', async (ctx) => {
    const res = ctx.res;
    if (!res) return;
    const q = ctx.query;
    const filters = parseFilters(q.get('filters'));
    const since = parseUnixSecondsNs(q.get('since'));
    const until = parseUnixSecondsNs(q.get('until'));
    const match = (e: EngineEvent): boolean => eventMatches(filters, e) && (until === undefined || e.timeNano <= until);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    for (const e of since !== undefined ? s.events.since(since) : []) if (match(e)) res.write(JSON.stringify(e) + '\n');
    if (until !== undefined && until <= Date.now() * 1e6) {
      res.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const unsub = s.events.subscribe((e) => {
        if (match(e)) res.write(JSON.stringify(e) + '\n');
      });
      const timer = until !== undefined ? setTimeout(() => res.end(), until / 1e6 - Date.now()) : undefined;
      res.on('close', () => {
        unsub();
        if (timer) clearTimeout(timer);
        resolve();
      });
    });
  });
}

/** What `GET /system/df` reports, each part from its owner. */
export interface DiskUsageSource {
  /** Images with their shared sizes and container counts, and the total of all layers. */
  images: () => Promise<{ layersSize: number; images: Array<Record<string, unknown>> }>;
  /** Container list entries with SizeRw and SizeRootFs. */
  containers: () => Promise<ContainerSummary[]>;
  /** Volumes with UsageData (from the volume service once wired; empty until then). */
  volumes?: () => Promise<Array<Record<string, unknown>>>;
  /** Build cache records (from the builder once wired; empty until then). */
  buildCache?: () => Promise<Array<Record<string, unknown>>>;
}

/** `/system/df` (with `type=` to ask for parts only). */
export function registerDiskUsageRoutes(r: Router, s: DiskUsageSource): void {
  r.add('GET', '/system/df', async (ctx) => {
    const types = ctx.query.getAll('type');
    for (const t of types) {
      if (!['container', 'image', 'volume', 'build-cache'].includes(t)) throw invalid(`unknown object type: ${t}`);
    }
    const want = (t: string): boolean => types.length === 0 || types.includes(t);
    const out: Record<string, unknown> = {};
    if (want('image')) {
      const im = await s.images();
      out.LayersSize = im.layersSize;
      out.Images = im.images;
    }
    if (want('container')) out.Containers = await s.containers();
    if (want('volume')) out.Volumes = s.volumes ? await s.volumes() : [];
    if (want('build-cache')) out.BuildCache = s.buildCache ? await s.buildCache() : [];
    sendJSON(ctx, 200, out);
  });
}

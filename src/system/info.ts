/**
 * The documents of `GET /info` and `GET /version`: the engine's counts, the host's kernel and OS
 * facts, the runtime and its versions, the plugins and options Berth has. The API handler only
 * sends what this builds.
 */
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import type { SystemInfo, SystemVersion } from '../engine-api/types.js';
import { BERTH_VERSION } from './version.js';

/** A container as /info counts it. */
interface CountedContainer {
  State: { Running: boolean; Paused: boolean };
}

export interface SystemInfoDeps {
  /** The engine's ID (`engine-id.json`). */
  id: string;
  dataRoot: string;
  containers: () => readonly CountedContainer[];
  images: () => readonly unknown[];
  cgroupVersion: string;
  runcPath: string;
  initPath?: string;
  debug: boolean;
  /** Versions of the runtime and monitor, filled in once known. */
  components: { runc: string; runcCommit: string; conmon: string };
  /** `Warnings` of /info (e.g. a TCP host without TLS client verification). */
  warnings?: string[];
  /** The Engine API versions served (the router's). */
  apiVersion: string;
  minApiVersion: string;
}

/** How old clients' documents differ. */
export interface InfoOptions {
  /** API < 1.25 still carries the field dockerd stopped using with containerd. */
  executionDriver: boolean;
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

export class SystemInfoService {
  constructor(private readonly d: SystemInfoDeps) {}

  /** Container counts as /info gives them: running excludes paused ones. */
  counts(): { containers: number; running: number; paused: number; stopped: number; images: number } {
    const all = this.d.containers();
    const running = all.filter((c) => c.State.Running && !c.State.Paused).length;
    const paused = all.filter((c) => c.State.Paused).length;
    return { containers: all.length, running, paused, stopped: all.length - running - paused, images: this.d.images().length };
  }

  version(): SystemVersion {
    const s = this.d;
    return {
      Platform: { Name: 'Berth Engine' },
      Components: [
        {
          Name: 'Engine',
          Version: BERTH_VERSION,
          Details: {
            ApiVersion: s.apiVersion,
            Arch: goArch(),
            BuildTime: '',
            Experimental: 'false',
            GitCommit: '',
            GoVersion: `node${process.versions.node}`,
            KernelVersion: release(),
            MinAPIVersion: s.minApiVersion,
            Os: 'linux',
          },
        },
        { Name: 'runc', Version: s.components.runc, Details: { GitCommit: s.components.runcCommit } },
        { Name: 'conmon', Version: s.components.conmon, Details: { GitCommit: '' } },
      ],
      Version: BERTH_VERSION,
      ApiVersion: s.apiVersion,
      MinAPIVersion: s.minApiVersion,
      GitCommit: '',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: release(),
      BuildTime: '',
    };
  }

  info(o: InfoOptions): SystemInfo {
    const s = this.d;
    const n = this.counts();
    const v1 = s.cgroupVersion === '1';
    return {
      ID: s.id,
      Containers: n.containers,
      ContainersRunning: n.running,
      ContainersPaused: n.paused,
      ContainersStopped: n.stopped,
      Images: n.images,
      Driver: 'overlay2',
      ...(o.executionDriver ? { ExecutionDriver: '<not supported>' } : {}),
      DriverStatus: [
        ['Backing Filesystem', 'extfs'],
        ['Supports d_type', 'true'],
        ['Using metacopy', 'false'],
        ['Native Overlay Diff', 'true'],
        ['userxattr', 'false'],
      ],
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
    };
  }
}

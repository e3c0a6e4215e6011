/**
 * The Engine API's request and response shapes, once (a subset of engine-api-v1.50.yaml): the
 * daemon's views (containers/view.ts, images/view.ts, network/view.ts) produce them and the client
 * (src/client/) and CLI read them. A leaf module: it imports nothing.
 * Fields are optional where the daemon may omit them; documents with an index signature carry
 * fields this module does not name (they pass through unchanged).
 */

export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

export interface MountPoint {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination?: string;
  Driver?: string;
  Mode?: string;
  RW?: boolean;
  Propagation?: string;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: Port[];
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string> | null;
  State: string;
  Status: string;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, EndpointSettings> | null };
  Mounts: MountPoint[];
}

/** A container's endpoint on one network (NetworkSettings.Networks[name]). */
export interface EndpointSettings {
  IPAMConfig: unknown;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
  GwPriority: number;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
}

/** NetworkSettings.Ports: "80/tcp" → its host bindings, or null when only exposed. */
export type PortMap = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

/** A container's NetworkSettings (inspect). */
export interface NetworkSettings {
  Bridge: string;
  SandboxID: string;
  SandboxKey: string;
  Ports: PortMap;
  HairpinMode: boolean;
  LinkLocalIPv6Address: string;
  LinkLocalIPv6PrefixLen: number;
  SecondaryIPAddresses: null;
  SecondaryIPv6Addresses: null;
  EndpointID: string;
  Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  MacAddress: string;
  Networks: Record<string, EndpointSettings>;
}

/** A running container's entry in NetworkResource.Containers. */
export interface NetworkContainer {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

/** Docker's NetworkResource (`GET /networks`, `GET /networks/{id}`). */
export interface NetworkResource {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv6: boolean;
  IPAM: {
    Driver: string;
    Options: Record<string, string> | null;
    Config: Array<{ Subnet?: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> }>;
  };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  Containers: Record<string, NetworkContainer>;
  [key: string]: unknown;
}

/** Fields are null where dockerd's documents carry null (an unset list or map). */
export interface ContainerConfig {
  Hostname?: string | null;
  Domainname?: string | null;
  User?: string | null;
  AttachStdin?: boolean | null;
  AttachStdout?: boolean | null;
  AttachStderr?: boolean | null;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean | null;
  OpenStdin?: boolean | null;
  StdinOnce?: boolean | null;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  Image?: string | null;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string | null;
  StopTimeout?: number | null;
  NetworkDisabled?: boolean | null;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number } | null;
}

export interface RestartPolicy {
  Name: string;
  MaximumRetryCount?: number;
}

export interface Resources {
  Memory?: number | null;
  MemorySwap?: number | null;
  NanoCpus?: number | null;
  CpuShares?: number | null;
  CpusetCpus?: string | null;
  PidsLimit?: number | null;
}

export interface HostConfig extends Resources {
  Binds?: string[] | null;
  NetworkMode?: string | null;
  IpcMode?: string | null;
  PidMode?: string | null;
  UTSMode?: string | null;
  RestartPolicy?: RestartPolicy | null;
  AutoRemove?: boolean | null;
  Privileged?: boolean | null;
  ReadonlyRootfs?: boolean | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Init?: boolean | null;
  /** `--device` entries as sent ({ PathOnHost, PathInContainer, CgroupPermissions }); the daemon checks them at start. */
  Devices?: unknown[] | null;
  DeviceCgroupRules?: string[] | null;
  LogConfig?: { Type: string; Config: Record<string, string> } | null;
  /** Initial console size [height, width] for TTY containers (API >= 1.42). */
  ConsoleSize?: [number, number] | null;
  Mounts?: MountRequest[] | null;
  /** "80/tcp" → [{ HostIp, HostPort }] (a PortMap when sent by a client) */
  PortBindings?: Record<string, unknown> | null;
  PublishAllPorts?: boolean | null;
  Tmpfs?: Record<string, string> | null;
  Dns?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  Sysctls?: Record<string, string> | null;
  Ulimits?: Array<{ Name: string; Soft: number; Hard: number }> | null;
  ShmSize?: number | null;
  MemoryReservation?: number | null;
  SecurityOpt?: string[] | null;
  GroupAdd?: string[] | null;
  Links?: string[] | null;
  VolumesFrom?: string[] | null;
}

/** HostConfig.Mounts entry (Docker's mount.Mount). */
export interface MountRequest {
  Type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Subpath?: string; Labels?: Record<string, string> };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

/** GET /volumes/{name}, POST /volumes/create's answer. */
export interface VolumeResource {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Labels: Record<string, string> | null;
  Scope: string;
  Options: Record<string, string> | null;
  [key: string]: unknown;
}

/** POST /networks/create body. */
export interface NetworkCreateRequest {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  Options?: Record<string, string>;
  Labels?: Record<string, string>;
  IPAM?: { Driver?: string; Config?: Array<{ Subnet?: string; IPRange?: string; Gateway?: string }>; Options?: Record<string, string> };
  CheckDuplicate?: boolean;
}

export interface ContainerCreateRequest extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: { EndpointsConfig?: Record<string, object> };
}

export interface ContainerCreateResponse {
  Id: string;
  Warnings: string[] | null;
}

export interface ContainerState {
  Status: string;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: { Status: string; FailingStreak?: number; Log?: Array<{ ExitCode: number; Output: string }> | null };
}

export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  Name: string;
  RestartCount: number;
  Config: ContainerConfig;
  HostConfig: HostConfig;
  [key: string]: unknown;
}

export interface WaitResponse {
  StatusCode: number;
  Error?: { Message?: string } | null;
}

export interface ContainerTop {
  Titles: string[];
  Processes: string[][];
}

export interface FilesystemChange {
  Path: string;
  Kind: number;
}

export interface ContainerUpdateResponse {
  Warnings?: string[] | null;
}

export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: string;
  Size: number;
  [key: string]: unknown;
}

/** One layer of `GET /images/{name}/history`, newest first. */
export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export interface SystemVersion {
  Platform?: { Name: string };
  Components?: Array<{ Name: string; Version: string; Details?: Record<string, string> }>;
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion?: string;
  Experimental?: boolean;
  BuildTime?: string;
}

export type SystemInfo = Record<string, unknown>;

export interface PingResult {
  apiVersion: string | undefined;
  osType: string | undefined;
  experimental: boolean;
}

/** filters as the API takes them: {"key": ["value", ...]} */
export type Filters = Record<string, string[]>;

/** POST /containers/{id}/exec body (Docker's ExecOptions). */
export interface ExecCreateRequest {
  User?: string;
  Privileged?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
  AttachStdin?: boolean;
  AttachStderr?: boolean;
  AttachStdout?: boolean;
  Detach?: boolean;
  DetachKeys?: string;
  Env?: string[];
  WorkingDir?: string;
  Cmd: string[];
}

export interface ExecCreateResponse {
  Id: string;
}

/** POST /exec/{id}/start body. */
export interface ExecStartRequest {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
}

/** GET /exec/{id}/json */
export interface ExecInspect {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  OpenStdin?: boolean;
  OpenStdout?: boolean;
  OpenStderr?: boolean;
  DetachKeys?: string;
  ProcessConfig?: { entrypoint?: string; arguments?: string[]; privileged?: boolean; tty?: boolean; user?: string };
  [key: string]: unknown;
}

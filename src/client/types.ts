/**
 * Engine API shapes used by the client (a subset of engine-api-v1.50.yaml).
 * Fields are optional where the daemon may omit them; unknown fields pass through.
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
  NetworkSettings?: { Networks?: Record<string, unknown> | null };
  Mounts: MountPoint[];
}

export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object>;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[];
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  Image?: string;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  NetworkDisabled?: boolean;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
}

export interface RestartPolicy {
  Name: string;
  MaximumRetryCount?: number;
}

export interface Resources {
  Memory?: number;
  MemorySwap?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpusetCpus?: string;
  PidsLimit?: number;
}

export interface HostConfig extends Resources {
  Binds?: string[];
  NetworkMode?: string;
  IpcMode?: string;
  PidMode?: string;
  UTSMode?: string;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  CapAdd?: string[];
  CapDrop?: string[];
  Init?: boolean;
  Devices?: Array<{ PathOnHost: string; PathInContainer: string; CgroupPermissions: string }>;
  DeviceCgroupRules?: string[];
  LogConfig?: { Type: string; Config: Record<string, string> };
  /** Initial console size [height, width] for TTY containers (API >= 1.42). */
  ConsoleSize?: [number, number];
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

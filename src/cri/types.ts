/** The CRI messages the handlers read, as proto-loader decodes them (api.proto's field names; absent messages are null). */

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

export interface NamespaceOption {
  network: NamespaceMode;
  pid: NamespaceMode;
  ipc: NamespaceMode;
  target_id: string;
}

export interface SecurityProfile {
  profile_type: 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  localhost_ref: string;
}

export interface Int64Value {
  value: string;
}

export interface LinuxContainerResources {
  cpu_period: string;
  cpu_quota: string;
  cpu_shares: string;
  memory_limit_in_bytes: string;
  oom_score_adj: string;
  cpuset_cpus: string;
  cpuset_mems: string;
  memory_swap_limit_in_bytes: string;
  unified: Record<string, string>;
}

export interface PodSandboxConfig {
  metadata: { name: string; uid: string; namespace: string; attempt: number } | null;
  hostname: string;
  log_directory: string;
  dns_config: { servers: string[]; searches: string[]; options: string[] } | null;
  port_mappings: Array<{ protocol: 'TCP' | 'UDP' | 'SCTP'; container_port: number; host_port: number; host_ip: string }>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  linux: {
    cgroup_parent: string;
    sysctls: Record<string, string>;
    security_context: {
      namespace_options: NamespaceOption | null;
      run_as_user: Int64Value | null;
      run_as_group: Int64Value | null;
      readonly_rootfs: boolean;
      supplemental_groups: string[];
      privileged: boolean;
      seccomp: SecurityProfile | null;
      seccomp_profile_path: string;
    } | null;
    resources: LinuxContainerResources | null;
  } | null;
}

export interface CriMount {
  container_path: string;
  host_path: string;
  readonly: boolean;
  selinux_relabel: boolean;
  propagation: 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
}

export interface ContainerSecurityContext {
  capabilities: { add_capabilities: string[]; drop_capabilities: string[] } | null;
  privileged: boolean;
  namespace_options: NamespaceOption | null;
  run_as_user: Int64Value | null;
  run_as_group: Int64Value | null;
  run_as_username: string;
  readonly_rootfs: boolean;
  supplemental_groups: string[];
  no_new_privs: boolean;
  masked_paths: string[];
  readonly_paths: string[];
  seccomp: SecurityProfile | null;
  seccomp_profile_path: string;
}

export interface ContainerConfig {
  metadata: { name: string; attempt: number } | null;
  image: { image: string } | null;
  command: string[];
  args: string[];
  working_dir: string;
  envs: Array<{ key: string; value: string }>;
  mounts: CriMount[];
  devices: Array<{ container_path: string; host_path: string; permissions: string }>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  log_path: string;
  stdin: boolean;
  stdin_once: boolean;
  tty: boolean;
  linux: { resources: LinuxContainerResources | null; security_context: ContainerSecurityContext | null } | null;
}

/** A label selector: every key must carry the value. */
export function matchesLabels(labels: Record<string, string>, selector: Record<string, string> | undefined | null): boolean {
  for (const [k, v] of Object.entries(selector ?? {})) if (labels[k] !== v) return false;
  return true;
}

// The normalised compose project: what the loader (model/) hands the engine (engine/) and what
// `compose config --format json` prints. Its shape follows the Compose Specification's canonical
// form as docker compose v2 prints it: long syntax everywhere, maps rather than lists, every
// relative path made absolute, interpolation done, profiles and `extends`/`include` applied.

export interface Project {
  /** project name: -p, COMPOSE_PROJECT_NAME, `name:`, else the working dir's base name (normalised) */
  name: string;
  /** absolute directory relative paths were resolved against */
  workingDir: string;
  /** the compose files loaded, absolute, in merge order */
  files: string[];
  /** services enabled by the active profiles, by name */
  services: Record<string, Service>;
  networks: Record<string, Network>;
  volumes: Record<string, Volume>;
  configs: Record<string, FileObject>;
  secrets: Record<string, FileObject>;
  /** services present in the files but disabled by profiles (kept for `--remove-orphans` logic and `config --profiles`) */
  disabledServices: Record<string, Service>;
  /** x-* fields of the top level */
  extensions: Record<string, unknown>;
  /** the variables interpolation used: the .env file(s) overlaid by the process environment */
  environment?: Record<string, string>;
}

export interface Service {
  name: string;
  image?: string;
  build?: Build;
  command?: string[] | null; // null: not set (image default); [] never produced
  entrypoint?: string[] | null;
  environment: Record<string, string | null>; // null: declared without a value and unset in the environment
  env_file?: string[];
  working_dir?: string;
  user?: string;
  hostname?: string;
  domainname?: string;
  container_name?: string;
  labels: Record<string, string>;
  ports: Port[];
  expose?: string[];
  volumes: ServiceVolume[];
  tmpfs?: string[];
  networks: Record<string, ServiceNetwork | null>; // default network is `default` when none given and network_mode unset
  network_mode?: string;
  depends_on: Record<string, DependsOn>;
  healthcheck?: Healthcheck;
  restart?: string;
  deploy?: Deploy;
  scale?: number;
  /** replicas to run: scale, else deploy.replicas, else 1 */
  replicas: number;
  secrets: ServiceFileRef[];
  configs: ServiceFileRef[];
  profiles?: string[];
  pull_policy?: string;
  stop_signal?: string;
  stop_grace_period?: string;
  init?: boolean;
  privileged?: boolean;
  read_only?: boolean;
  stdin_open?: boolean;
  tty?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  dns?: string[];
  dns_search?: string[];
  extra_hosts?: string[]; // "host:ip"
  sysctls?: Record<string, string>;
  ulimits?: Record<string, { soft: number; hard: number }>;
  mem_limit?: number; // bytes
  mem_reservation?: number;
  memswap_limit?: number;
  cpus?: number;
  cpu_shares?: number;
  pids_limit?: number;
  shm_size?: number;
  logging?: { driver?: string; options?: Record<string, string> };
  ipc?: string;
  pid?: string;
  security_opt?: string[];
  devices?: string[];
  group_add?: string[];
  links?: string[];
  external_links?: string[];
  platform?: string;
  /** x-* fields of the service */
  extensions: Record<string, unknown>;
  /** label_file entries, absolute (their labels are already merged into `labels`) */
  label_file?: string[];
  /** other Compose Specification fields this model does not type yet, as written (after merge and interpolation) */
  other?: Record<string, unknown>;
}

export interface Build {
  context: string; // absolute path (or URL as given)
  dockerfile?: string;
  dockerfile_inline?: string;
  args: Record<string, string | null>;
  target?: string;
  labels?: Record<string, string>;
  cache_from?: string[];
  cache_to?: string[];
  network?: string;
  shm_size?: number;
  extra_hosts?: string[];
  secrets?: ServiceFileRef[];
  tags?: string[];
  platforms?: string[];
  no_cache?: boolean;
  pull?: boolean;
  /** other build fields (additional_contexts, ssh, privileged, ...) as written */
  other?: Record<string, unknown>;
}

export interface Port {
  target: number;
  published?: string; // host port or range as a string ("8080", "8000-8010"); absent: ephemeral
  host_ip?: string;
  protocol: string; // tcp | udp | sctp
  mode: string; // ingress (default) | host
  name?: string;
  app_protocol?: string;
}

export interface ServiceVolume {
  type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster';
  source?: string; // bind: absolute host path; volume: the project-level key (not the engine name) or absent (anonymous)
  target: string;
  read_only?: boolean;
  consistency?: string;
  bind?: { propagation?: string; create_host_path?: boolean; selinux?: string };
  volume?: { nocopy?: boolean; subpath?: string };
  tmpfs?: { size?: number; mode?: number };
}

export interface ServiceNetwork {
  aliases?: string[];
  ipv4_address?: string;
  ipv6_address?: string;
  priority?: number;
  gw_priority?: number;
  mac_address?: string;
  link_local_ips?: string[];
  interface_name?: string;
  driver_opts?: Record<string, string>;
}

export interface DependsOn {
  condition: 'service_started' | 'service_healthy' | 'service_completed_successfully';
  restart: boolean;
  required: boolean;
}

export interface Healthcheck {
  test?: string[]; // ["CMD", ...] | ["CMD-SHELL", "..."] | ["NONE"]
  interval?: string; // Go duration text as written ("30s"); the engine converts
  timeout?: string;
  retries?: number;
  start_period?: string;
  start_interval?: string;
  disable?: boolean;
}

export interface Deploy {
  replicas?: number;
  resources?: {
    limits?: { cpus?: string; memory?: number; pids?: number };
    reservations?: { cpus?: string; memory?: number; devices?: Array<Record<string, unknown>> };
  };
  restart_policy?: { condition?: string; delay?: string; max_attempts?: number; window?: string };
  labels?: Record<string, string>;
  /** other deploy fields (mode, placement, update_config, ...) as written */
  other?: Record<string, unknown>;
}

export interface Network {
  /** engine name: `name:` if given, else `<project>_<key>`; for external, `name:` or the key */
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  ipam?: { driver?: string; config?: Array<{ subnet?: string; ip_range?: string; gateway?: string }>; options?: Record<string, string> };
  external?: boolean;
  internal?: boolean;
  attachable?: boolean;
  enable_ipv6?: boolean;
  labels: Record<string, string>;
}

export interface Volume {
  /** engine name: `name:` if given, else `<project>_<key>`; for external, `name:` or the key */
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external?: boolean;
  labels: Record<string, string>;
}

/** a top-level config or secret */
export interface FileObject {
  name: string;
  file?: string; // absolute path
  environment?: string; // variable name
  content?: string; // configs only
  external?: boolean;
  labels?: Record<string, string>;
}

/** a service's reference to a config or secret, long syntax */
export interface ServiceFileRef {
  source: string;
  target?: string; // secrets default /run/secrets/<source>; configs default /<source>
  uid?: string;
  gid?: string;
  mode?: number;
}

/** how a caller asks for a project (CLI flags and environment) */
export interface LoadOptions {
  files?: string[]; // -f; default compose.yaml|compose.yml|docker-compose.yml|docker-compose.yaml (+ override) in cwd or parents
  projectName?: string; // -p
  projectDirectory?: string; // --project-directory
  profiles?: string[]; // --profile, COMPOSE_PROFILES
  envFiles?: string[]; // --env-file; default <project dir>/.env
  environment?: Record<string, string | undefined>; // process.env by default
  cwd?: string;
  /** services named on the command line: their profiles become active (15-profiles.md) */
  enableServices?: string[];
  /** hears warnings compose v2 prints (unset variables, several default files, obsolete `version`) */
  warn?: (message: string) => void;
  /** the text of `-f -` (default: read from stdin) */
  stdin?: string;
}

/** Image configuration, as the OCI image spec and Docker define it (only the fields Berth reads). */
export interface RunConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: Record<string, unknown>;
  OnBuild?: string[] | null;
  Shell?: string[];
  ArgsEscaped?: boolean;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  comment?: string;
  docker_version?: string;
  config?: RunConfig;
  container?: string;
  container_config?: RunConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** What the store keeps about an image besides its config blob. */
export interface ImageMeta {
  lastTagTime?: string;
  parent?: string;
  /** Builder cache key of the step that made this image (see build/steps.ts, build/cache.ts). */
  buildKey?: string;
}

export interface Image {
  id: string;
  config: ImageConfig;
  chainIds: string[];
  /** Unpacked size of all layers. */
  size: number;
  meta: ImageMeta;
}

/**
 * Registry-facing types: media types, manifests and indexes (Docker schema 2 and OCI), the
 * credentials the Engine API receives, and the daemon settings the distribution client reads.
 */

export const MediaTypes = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerTar: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifestV1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** The Accept header of a manifest GET: every format Berth can pull. */
export const MANIFEST_ACCEPT = [MediaTypes.dockerManifest, MediaTypes.dockerManifestList, MediaTypes.ociManifest, MediaTypes.ociIndex].join(', ');

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface RegistryDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** Docker schema 2 or OCI image manifest. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: RegistryDescriptor;
  layers: RegistryDescriptor[];
}

/** Docker manifest list or OCI image index. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: RegistryDescriptor[];
}

/**
 * Credentials as the docker CLI sends them in `X-Registry-Auth` (base64url JSON) and in the
 * body of `POST /auth`.
 */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
  email?: string;
}

/**
 * daemon.json / flag settings the distribution client reads. Wire as
 * `"registry-mirrors": ["https://mirror.example"]` and `"insecure-registries": ["host:5000", "10.0.0.0/8"]`
 * (dockerd's names, also `--registry-mirror` and `--insecure-registry` flags).
 */
export interface DistributionConfig {
  /** Mirrors tried, in order, before Docker Hub for docker.io pulls (`https://mirror:5000`). */
  registryMirrors?: string[];
  /** `host[:port]` or CIDR ranges spoken to over plain HTTP (or HTTPS without verification). */
  insecureRegistries?: string[];
  /**
   * Where a registry domain is reached instead of itself, e.g. `registry.k8s.io` →
   * `http://127.0.0.1:5000` (the CRI's `--cri-registry-mirror`): no fallback to the domain.
   */
  registryHosts?: Record<string, string>;
  /** Concurrent blob downloads per pull (default 3). */
  maxConcurrentDownloads?: number;
  /** Concurrent blob uploads per push (default 5, dockerd's). */
  maxConcurrentUploads?: number;
}

export const isIndexType = (mt: string | undefined): boolean => mt === MediaTypes.dockerManifestList || mt === MediaTypes.ociIndex;

export const isManifestType = (mt: string | undefined): boolean => mt === MediaTypes.dockerManifest || mt === MediaTypes.ociManifest;

/** Decodes the `X-Registry-Auth` header (base64url JSON, as the docker CLI encodes it). */
export function decodeAuthHeader(header: string | string[] | undefined): AuthConfig | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h) return undefined;
  try {
    const text = Buffer.from(h, 'base64url').toString('utf8');
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return undefined;
    return normaliseAuth(v);
  } catch {
    return undefined;
  }
}

/** Fills username/password from `auth` (base64 user:pass) when only that is given. */
export function normaliseAuth(a: AuthConfig): AuthConfig {
  const out: AuthConfig = { ...a };
  if (!out.username && !out.password && out.auth) {
    const decoded = Buffer.from(out.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) {
      out.username = decoded.slice(0, i);
      out.password = decoded.slice(i + 1);
    }
  }
  return out;
}

export const hasCredentials = (a: AuthConfig | undefined): boolean =>
  !!a && (!!a.identitytoken || !!a.registrytoken || (!!a.username && a.password !== undefined && a.password !== ''));

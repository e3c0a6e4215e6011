/** Inspect documents and list entries for images, in dockerd's shapes. */
import { invalid } from '../lib/errors.js';
import { matchLabels } from '../lib/filters.js';
import { familiarName, fullName, parseReference } from './reference.js';
import type { ImageStore } from './store.js';
import type { Image } from './types.js';
import type { ImageService } from './service.js';
import type { ImageInspect, ImageSummary } from '../engine-api/types.js';

const created = (img: Image): string => img.config.created ?? '0001-01-01T00:00:00Z';

/** The fields of a container config that dockerd always prints (the rest are omitted when empty). */
const runConfig = (rc: Record<string, unknown> | undefined): Record<string, unknown> => ({
  Hostname: '',
  Domainname: '',
  User: '',
  AttachStdin: false,
  AttachStdout: false,
  AttachStderr: false,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: null,
  Cmd: null,
  Image: '',
  Volumes: null,
  WorkingDir: '',
  Entrypoint: null,
  OnBuild: null,
  Labels: null,
  ...(rc ?? {}),
});

/** Fields older API versions carry (dockerd drops them in the version named). */
export interface InspectImageLegacy {
  /**
   * `Container` and `ContainerConfig`. dockerd drops them from API 1.45, but Berth keeps them at
   * every version, as dockerd 20.10 prints them: docker-compose 1.29 (docker-py 5) negotiates the
   * daemon's newest version and then reads ContainerConfig on every recreate.
   */
  containerConfig?: boolean;
  /** `VirtualSize`, equal to Size (API < 1.44). */
  virtualSize?: boolean;
}

export function inspectImage(store: ImageStore, img: Image, layerDirs: string[], legacy: InspectImageLegacy = {}): ImageInspect {
  const c = img.config;
  return {
    Id: img.id,
    RepoTags: store.tagsOf(img.id),
    RepoDigests: store.digestsOf(img.id),
    Parent: img.meta.parent ?? '',
    Comment: c.comment ?? '',
    Created: created(img),
    ...(legacy.containerConfig ? { Container: c.container ?? '', ContainerConfig: runConfig(c.container_config as Record<string, unknown> | undefined) } : {}),
    DockerVersion: c.docker_version ?? '',
    Author: c.author ?? '',
    Config: runConfig(c.config as Record<string, unknown> | undefined),
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: img.size,
    ...(legacy.virtualSize ? { VirtualSize: img.size } : {}),
    GraphDriver: {
      Data:
        layerDirs.length > 0
          ? { ...(layerDirs.length > 1 ? { LowerDir: layerDirs.slice(1).join(':') } : {}), UpperDir: layerDirs[0], MergedDir: '', WorkDir: '' }
          : {},
      Name: 'overlay2',
    },
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Metadata: { LastTagTime: img.meta.lastTagTime ?? '0001-01-01T00:00:00Z' },
  };
}

/** True when a tag matches one of `reference` filter patterns (globs on the familiar or full name, with or without tag). */
export function tagMatches(tag: string, patterns: string[]): boolean {
  const full = fullName(parseReference(tag));
  const fam = familiarName(parseReference(tag));
  return patterns.some((r) => {
    const re = globToRegex(r);
    return re.test(fam) || re.test(full) || re.test(fam.replace(/:[^:/]+$/, '')) || re.test(full.replace(/:[^:/]+$/, ''));
  });
}

export function imageListEntry(
  store: ImageStore,
  img: Image,
  containers: number,
  refFilter: string[] = [],
  legacy: { virtualSize?: boolean } = {},
): ImageSummary {
  const all = store.tagsOf(img.id);
  // With a reference filter, dockerd lists only the matching tags.
  const tags = refFilter.length > 0 ? all.filter((t) => tagMatches(t, refFilter)) : all;
  return {
    Id: img.id,
    ParentId: img.meta.parent ?? '',
    RepoTags: tags,
    RepoDigests: store.digestsOf(img.id),
    Created: Math.floor(Date.parse(created(img)) / 1000) || 0,
    Size: img.size,
    SharedSize: -1,
    ...(legacy.virtualSize ? { VirtualSize: img.size } : {}),
    Labels: img.config.config?.Labels ?? {},
    Containers: containers,
  };
}

const IMAGE_FILTERS = new Set(['dangling', 'label', 'reference', 'before', 'since', 'until']);

function globToRegex(glob: string): RegExp {
  const esc = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${esc}$`);
}

export function filterImages(store: ImageStore, list: Image[], filters: Map<string, string[]>, all: boolean): Image[] {
  for (const k of filters.keys()) if (!IMAGE_FILTERS.has(k)) throw invalid(`invalid filter '${k}'`);
  const dangling = filters.get('dangling')?.[0];
  if (dangling !== undefined && !['true', 'false', '1', '0'].includes(dangling)) throw invalid(`invalid filter 'dangling=${dangling}'`);
  const boundary = (k: string): number | undefined => {
    const v = filters.get(k)?.[0];
    if (v === undefined) return undefined;
    return Date.parse(created(store.resolve(v)));
  };
  const before = boundary('before');
  const since = boundary('since');
  const refs = filters.get('reference') ?? [];
  return list
    .filter((img) => {
      const tags = store.tagsOf(img.id);
      // Untagged images with children are intermediate (build steps): shown only with `-a`.
      const intermediate = tags.length === 0 && store.hasChildren(img.id);
      if (intermediate && !all) return false;
      if (dangling !== undefined && (dangling === 'true' || dangling === '1') !== (tags.length === 0 && !intermediate)) return false;
      const labels = filters.get('label');
      if (labels && !matchLabels(img.config.config?.Labels ?? {}, labels)) return false;
      const t = Date.parse(created(img));
      if (before !== undefined && !(t < before)) return false;
      if (since !== undefined && !(t > since)) return false;
      if (refs.length > 0) {
        if (!tags.some((tag) => tagMatches(tag, refs))) return false;
      }
      return true;
    })
    .sort((a, b) => Date.parse(created(b)) - Date.parse(created(a)));
}

/** The Images part of `GET /system/df`: list entries with SharedSize and container counts, and LayersSize. */
export async function imageDiskUsage(svc: ImageService): Promise<{ layersSize: number; images: Array<Record<string, unknown>> }> {
  const du = await svc.diskUsage();
  return {
    layersSize: du.layersSize,
    images: du.images
      .sort((a, b) => Date.parse(created(b.image)) - Date.parse(created(a.image)))
      .map((u) => ({ ...imageListEntry(svc.store, u.image, u.containers), SharedSize: u.sharedSize })),
  };
}

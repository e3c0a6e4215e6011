/**
 * ImageService: CRI's image RPCs on Berth's image store (the one the Docker side uses) and
 * distribution service. Names are CRI's full references (`docker.io/library/busybox:latest`);
 * an image's CRI id is its config digest, as on the Docker side.
 */
import { invalid, isCategory } from '../lib/errors.js';
import { fullName, parseReference, type Reference } from '../images/reference.js';
import type { Image } from '../images/types.js';
import type { AuthConfig } from '../distribution/types.js';
import type { CriHandlers } from './server.js';

/** What the image RPCs need of Berth (wired in cri/index.ts). */
export interface CriImageBackend {
  list(): Image[];
  find(nameOrId: string): Image | undefined;
  /** Familiar names (as ImageStore has them). */
  tagsOf(id: string): string[];
  digestsOf(id: string): string[];
  /** Whether other images are built on this one (an untagged one is then a build step, not listed). */
  hasChildren(id: string): boolean;
  pull(ref: Reference, auth: AuthConfig | undefined): Promise<void>;
  /** Removes every reference to the image, and the image unless a container still uses it. */
  remove(id: string): Promise<void>;
  /** The image file system: where layers live and what they use. */
  usage(): Promise<{ mountpoint: string; usedBytes: number; inodesUsed: number }>;
}

interface ImageSpec {
  image: string;
  annotations?: Record<string, string>;
}
interface CriAuth {
  username: string;
  password: string;
  auth: string;
  server_address: string;
  identity_token: string;
  registry_token: string;
}

/** An image's USER as CRI reports it: a numeric user is `uid`, a name is `username`. */
export function imageUser(user: string | undefined): { uid?: { value: string }; username: string } {
  const u = (user ?? '').split(':')[0] ?? '';
  if (u === '') return { username: '' };
  if (/^\d+$/.test(u)) return { uid: { value: u }, username: '' };
  return { username: u };
}

const full = (familiar: string): string => fullName(parseReference(familiar));

export function criImage(b: CriImageBackend, img: Image, pinnedRef = ''): object {
  const tags = b.tagsOf(img.id).map(full);
  return {
    id: img.id,
    repo_tags: tags,
    repo_digests: b.digestsOf(img.id).map(full),
    size: String(img.size),
    ...imageUser(img.config.config?.User),
    spec: { image: img.id, annotations: {} },
    pinned: pinnedRef !== '' && tags.includes(pinnedRef),
  };
}

function authOf(a: CriAuth | null | undefined): AuthConfig | undefined {
  if (!a) return undefined;
  const out: AuthConfig = {};
  if (a.username) out.username = a.username;
  if (a.password) out.password = a.password;
  if (a.auth) out.auth = a.auth;
  if (a.server_address) out.serveraddress = a.server_address;
  if (a.identity_token) out.identitytoken = a.identity_token;
  if (a.registry_token) out.registrytoken = a.registry_token;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The image a spec names, or undefined (CRI answers "no image", not an error, for most RPCs). */
function lookup(b: CriImageBackend, spec: ImageSpec | null | undefined): Image | undefined {
  const name = spec?.image ?? '';
  if (name === '') throw invalid('image spec is empty');
  try {
    return b.find(name);
  } catch {
    return undefined;
  }
}

/** `pinned`: the infra image (kubelet's image GC leaves pinned images alone). */
export function imageHandlers(b: CriImageBackend, pinned = ''): CriHandlers {
  // Pulls and removals one at a time (kubelet serializes pulls by default too): a removal racing
  // a pull of the same image (critest's parallel image benchmark) would otherwise pull away the
  // image the pull is about to tag.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    unary: {
      ListImages: async (req: { filter?: { image?: ImageSpec | null } | null }) => {
        const want = req.filter?.image?.image;
        let images = b.list().filter((i) => b.tagsOf(i.id).length > 0 || b.digestsOf(i.id).length > 0 || !b.hasChildren(i.id));
        if (want) {
          const img = lookup(b, { image: want });
          images = img ? [img] : [];
        }
        return { images: images.map((i) => criImage(b, i, pinned)) };
      },
      ImageStatus: async (req: { image?: ImageSpec | null; verbose?: boolean }) => {
        const img = lookup(b, req.image);
        if (!img) return { image: null, info: {} };
        const info: Record<string, string> = {};
        if (req.verbose) info['info'] = JSON.stringify({ id: img.id, chainIds: img.chainIds, imageSpec: img.config });
        return { image: criImage(b, img, pinned), info };
      },
      PullImage: async (req: { image?: ImageSpec | null; auth?: CriAuth | null }) => {
        const name = req.image?.image ?? '';
        if (name === '') throw invalid('image spec is empty');
        const ref = parseReference(name, { defaultTag: true });
        return serial(async () => {
          await b.pull(ref, authOf(req.auth));
          const img = b.find(fullName(ref));
          if (!img) throw invalid(`image ${name} not found after its pull`);
          return { image_ref: img.id };
        });
      },
      RemoveImage: async (req: { image?: ImageSpec | null }) => {
        await serial(async () => {
          const img = lookup(b, req.image);
          if (img)
            await b.remove(img.id).catch((err: unknown) => {
              if (!isCategory(err, 'NotFound')) throw err;
            });
        });
        return {};
      },
      ImageFsInfo: async () => {
        const u = await b.usage();
        const fsUsage = {
          timestamp: String(BigInt(Date.now()) * 1_000_000n),
          fs_id: { mountpoint: u.mountpoint },
          used_bytes: { value: String(u.usedBytes) },
          inodes_used: { value: String(u.inodesUsed) },
        };
        return { image_filesystems: [fsUsage], container_filesystems: [] };
      },
    },
  };
}

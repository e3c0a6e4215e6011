/**
 * `POST /commit`: pauses the container (unless told not to), writes its writable layer as a new
 * image (images/commit.ts), tags it, and publishes dockerd's `commit` container event.
 */
import { invalid, messageOf, notFound } from '../lib/errors.js';
import { commitContainer, type CommitDeps, type CommitOptions } from '../images/commit.js';
import { familiarName, parseReference, type Reference } from '../images/reference.js';
import type { ImageService } from '../images/service.js';
import type { Image } from '../images/types.js';
import type { PauseControl } from './pause.js';
import type { Container } from './types.js';

export interface CommitRequest extends CommitOptions {
  container: string;
  repo?: string;
  tag?: string;
  /** Pause a running container while its layer is read (default true, as dockerd). */
  pause?: boolean;
}

/** What commit needs from the container life cycle (wired in daemon.ts). */
export interface CommitContainers {
  get(ref: string): Container;
  imageOf(c: Container): Image | undefined;
  layersOf(c: Container): { upper: string; lowers: string[] };
  usersOf(imageId: string): Container[];
}

export class CommitService {
  constructor(
    private readonly d: CommitDeps & {
      containers: CommitContainers;
      /** Commit's pause (containers/pause.ts): true when this call froze the container. */
      pauses: Pick<PauseControl, 'pauseForCommit' | 'unpauseAfterCommit'>;
      imageService: ImageService;
      /** Publishes a container event with dockerd's attributes. */
      publish: (c: Container, action: string, extra: Record<string, string>) => void;
    },
  ) {}

  async commit(req: CommitRequest): Promise<string> {
    const c = this.d.containers.get(req.container);
    let ref: Reference | undefined;
    if (req.repo) {
      ref = parseReference(req.tag ? `${req.repo}:${req.tag}` : req.repo);
      if (ref.digest) throw invalid('cannot commit to digest reference');
    } else if (req.tag) {
      throw invalid('tag is specified without a repository');
    }
    const image = this.d.containers.imageOf(c);
    if (!image) throw notFound(`No such image: ${c.Image}`);
    let pause = false;
    if ((req.pause ?? true) && c.State.Running && !c.State.Paused) {
      try {
        pause = await this.d.pauses.pauseForCommit(c.ID);
      } catch (err) {
        // A container that exits just now (docker-py's `touch /test`, then commit) has nothing
        // left to pause: commit it as a stopped one, as dockerd does. runc may see the exit
        // before berthd has recorded it ("container not running").
        const gone = !this.d.containers.get(c.ID).State.Running || /\bnot running\b/.test(messageOf(err));
        if (!gone) throw err;
      }
    }
    let id: string;
    try {
      const img = await commitContainer(this.d, { container: c, image, upperDir: this.d.containers.layersOf(c).upper }, req);
      id = img.id;
    } finally {
      if (pause) await this.d.pauses.unpauseAfterCommit(c.ID).catch(() => undefined);
    }
    if (ref) {
      try {
        await this.d.imageService.tag(id, ref);
      } catch (err) {
        // A commit that cannot be tagged (a full disk) leaves no dangling image behind.
        const store = this.d.imageService.store;
        if (store.tagsOf(id).length === 0 && store.digestsOf(id).length === 0 && !store.hasChildren(id) && this.d.containers.usersOf(id).length === 0) {
          await this.d.imageService.remove(id, { force: false, prune: false }).catch(() => undefined);
        }
        throw err;
      }
    }
    this.d.publish(c, 'commit', {
      comment: req.comment ?? '',
      imageID: id,
      imageRef: ref ? familiarName(ref) : '',
    });
    return id;
  }
}

/**
 * When `docker attach` (or `run`'s attach) gets the container's streams: a running container's
 * monitor socket now, nothing for one that has exited, and for one not started yet its socket at
 * the next start, before its process runs, so no output is lost.
 */
import type { SeqpacketSocket } from 'node-unix-socket';
import type { Container } from './types.js';

/** What the decision reads of the life cycle (ContainerService). */
export interface AttachSource {
  get(id: string): Container;
  attachSocket(c: Container): Promise<SeqpacketSocket>;
  onNextStart(id: string, hook: (socket: SeqpacketSocket | undefined) => void): () => void;
}

/** Calls `bind` with the container's attach socket when there is one (undefined: nothing to attach to); returns a cancel for a wait. */
export async function attachStreams(src: AttachSource, id: string, bind: (socket: SeqpacketSocket | undefined) => void): Promise<() => void> {
  const cur = src.get(id);
  if (cur.State.Running) {
    bind(await src.attachSocket(cur));
    return () => {};
  }
  if (cur.State.Status === 'exited' || cur.State.Dead) {
    bind(undefined);
    return () => {};
  }
  return src.onNextStart(id, bind);
}

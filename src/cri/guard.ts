/**
 * The Docker API's hands off the kubelet's containers: pods and containers CRI made (labelled
 * `io.kubernetes.docker.type`) are listed, inspected, logged, exec'd and stats'd as any
 * container, but the calls that would change them behind the kubelet's back — start, stop,
 * restart, kill, pause, unpause, rename, update, remove — are refused, and prune leaves them, with a Conflict
 * naming crictl. (dockershim made the same split; docs/cri.md.)
 */
import type { Container } from '../containers/types.js';
import { conflict } from '../lib/errors.js';
import { LABEL_TYPE } from './sandboxes.js';

export const GUARDED_METHODS = ['start', 'stop', 'restart', 'kill', 'rename', 'update', 'remove', 'pause', 'unpause'];

/**
 * `target` with its GUARDED_METHODS (first argument: a container reference) refusing the
 * containers `owned` says CRI made (its own records, not merely the labels: a container a user
 * labelled io.kubernetes.* by hand stays theirs).
 */
export function guardCriOwned<T extends object>(target: T, find: (ref: string) => Container | undefined, owned: (id: string) => boolean): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const v: unknown = Reflect.get(t, prop, receiver);
      if (typeof v !== 'function') return v;
      const fn = v as (...args: unknown[]) => unknown;
      if (typeof prop !== 'string' || !GUARDED_METHODS.includes(prop)) return fn.bind(t);
      return (ref: unknown, ...rest: unknown[]) => {
        const c = typeof ref === 'string' ? find(ref) : undefined;
        if (c && owned(c.ID)) {
          const kind = c.Config.Labels[LABEL_TYPE] === 'podsandbox' ? 'pod sandbox' : 'container';
          throw conflict(`${c.Name.replace(/^\//, '')} is a Kubernetes ${kind} managed through the CRI: use crictl (or the kubelet) to ${prop} it`);
        }
        return fn.call(t, ref, ...rest);
      };
    },
  });
}

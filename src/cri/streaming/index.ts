/**
 * The CRI streaming server (Exec, Attach, PortForward): the URLs the RPCs return and the SPDY
 * protocols kubelets and crictl speak on them (docs/cri.md). daemon.ts makes one call,
 * `startCriStreaming`, and hands the server to startCri as `streaming`.
 */
import { existsSync } from 'node:fs';
import { invalid } from '../../lib/errors.js';
import { sandboxNetnsPath } from '../netns.js';
import { BerthStreamingRuntime, type BerthStreamingDeps, type SandboxNetns } from './berthruntime.js';
import { StreamingServer, type StreamingServerOptions } from './server.js';

export { StreamingServer, BerthStreamingRuntime };
export type { StreamingRuntime, StreamingServerOptions, ExecRequest, AttachRequest, PortForwardRequest } from './server.js';
export type { CommandIO, TerminalSize } from './remotecommand.js';
export type { BerthStreamingDeps, SandboxNetns, StreamingExecs, StreamingContainers } from './berthruntime.js';

/** The streaming server on Berth's services, listening (stop it after the CRI server). */
export async function startCriStreaming(d: BerthStreamingDeps & { options?: StreamingServerOptions }): Promise<StreamingServer> {
  const server = new StreamingServer(new BerthStreamingRuntime(d), d.options ?? {});
  await server.start();
  return server;
}

/**
 * Sandboxes' network namespaces where cri-core keeps them: `<exec-root>/cri/netns/<sandbox id>`;
 * none there is a pod on the host's network. (cri-core's sandbox store should replace this with a
 * lookup that knows the pod's network mode, so a lost netns file is an error, not the host.)
 */
export function netnsFiles(execRoot: string): SandboxNetns {
  return {
    netnsPath: async (id) => {
      const p = sandboxNetnsPath(execRoot, id);
      return existsSync(p) ? p : '';
    },
  };
}

/** `--cri-stream-address`: `host:port` or `[v6]:port` (port 0: ephemeral); throws InvalidParameter. */
export function parseStreamAddress(s: string): { address: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw invalid(`invalid --cri-stream-address ${JSON.stringify(s)}: want host:port`);
  return { address: (m[1] ?? m[2]) as string, port };
}

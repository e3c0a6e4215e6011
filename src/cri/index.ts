/**
 * The CRI server assembled: RuntimeService and ImageService handlers on one gRPC server.
 * daemon/daemon.ts calls startCri with Berth's services; nothing here touches runc, overlay or
 * iptables itself.
 */
import { notFound } from '../lib/errors.js';
import { CriServer } from './server.js';
import { runtimeHandlers, type CriStreaming } from './runtime.js';
import { imageHandlers } from './images.js';

export interface CriDeps {
  socket: string;
  runtimeName: string;
  runtimeVersion: string;
  /** The streaming server for Exec/Attach/PortForward (src/cri/streaming/); absent: UNIMPLEMENTED. */
  streaming?: CriStreaming | undefined;
  log?: (msg: string) => void;
}

export interface Cri {
  readonly socket: string;
  stop(): Promise<void>;
}

export async function startCri(d: CriDeps): Promise<Cri> {
  const runtime = runtimeHandlers({
    runtimeName: d.runtimeName,
    runtimeVersion: d.runtimeVersion,
    streaming: d.streaming,
    targets: {
      runningContainer: (id) => {
        throw notFound(`container "${id}" not found`);
      },
      readySandbox: (id) => {
        throw notFound(`pod sandbox "${id}" not found`);
      },
    },
    parts: [],
  });
  const server = new CriServer({ socket: d.socket, runtime, image: imageHandlers(), ...(d.log ? { log: d.log } : {}) });
  await server.start();
  return { socket: d.socket, stop: () => server.stop() };
}

/**
 * The CRI server assembled: RuntimeService (runtime.ts, status.ts, sandboxes.ts, containers.ts,
 * podops.ts) and ImageService (images.ts) handlers on one gRPC server. daemon/daemon.ts calls
 * startCri with Berth's services; nothing here touches runc, overlay or iptables itself.
 */
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { Container, HostConfig } from '../containers/types.js';
import type { CreateRequest } from '../containers/create.js';
import type { StatsDoc } from '../containers/stats.js';
import type { Image } from '../images/types.js';
import type { Reference } from '../images/reference.js';
import type { AuthConfig } from '../distribution/types.js';
import { CriServer } from './server.js';
import { runtimeHandlers, type CriStreaming } from './runtime.js';
import { imageHandlers, type CriImageBackend } from './images.js';
import { statusHandlers } from './status.js';
import { Cni } from './cni.js';
import { CriStore } from './store.js';
import { Sandboxes } from './sandboxes.js';
import { CriContainers } from './containers.js';
import { podOpHandlers } from './podops.js';
import { ensurePauseImage, PAUSE_IMAGE } from './pause.js';

/** What CRI uses of Berth (daemon.ts passes its services). */
export interface CriBerth {
  containers: {
    create(req: CreateRequest, opts: { name?: string }): Promise<Container>;
    start(ref: string): Promise<void>;
    stop(ref: string, opts: { timeout?: number }): Promise<void>;
    remove(ref: string, opts: { force?: boolean }): Promise<void>;
    find(ref: string): Container | undefined;
    get(ref: string): Container;
    saveRecord(c: Container): Promise<void>;
    update(ref: string, body: Partial<HostConfig>): Promise<unknown>;
  };
  images: Omit<CriImageBackend, 'usage'> & { importTar(src: Readable, o: { repo: string; tag: string; changes: string[] }): Promise<Image> };
  execSync(id: string, cmd: string[], o: { timeoutMs: number }): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer; timedOut: boolean }>;
  stats(c: Container): StatsDoc;
  reopenLog(c: Container): Promise<void>;
}

export interface CriDeps {
  socket: string;
  runtimeName: string;
  runtimeVersion: string;
  dataRoot: string;
  execRoot: string;
  cniConfDir: string;
  cniBinDir: string;
  berth: CriBerth;
  /** The streaming server for Exec/Attach/PortForward (src/cri/streaming/); absent: UNIMPLEMENTED. */
  streaming?: CriStreaming | undefined;
  log?: (msg: string) => void;
}

export interface Cri {
  readonly socket: string;
  /** Whether a Berth container is a CRI sandbox or container (guard.ts). */
  owns(id: string): boolean;
  stop(): Promise<void>;
}

export type { Reference, AuthConfig };
export { sandboxNetnsPath } from './netns.js';

export async function startCri(d: CriDeps): Promise<Cri> {
  const store = new CriStore(path.join(d.dataRoot, 'cri'));
  await store.init();
  const cni = new Cni({ confDir: d.cniConfDir, binDir: d.cniBinDir });
  const b = d.berth;
  // Late-bound: sandboxes stop and remove their containers, containers live in sandboxes.
  const late: { pods?: CriContainers } = {};
  const sandboxes = new Sandboxes({
    store,
    containers: b.containers,
    pods: {
      stopAll: (id) => late.pods?.stopAll(id) ?? Promise.resolve(),
      removeAll: (id) => late.pods?.removeAll(id) ?? Promise.resolve(),
    },
    pauseImage: () => ensurePauseImage({ find: (r) => b.images.find(r), importTar: (s, o) => b.images.importTar(s, o) }),
    cni,
    execRoot: d.execRoot,
    ...(d.log ? { log: d.log } : {}),
  });
  const containers = new CriContainers({ store, sandboxes, containers: b.containers, findImage: (r) => b.images.find(r) });
  late.pods = containers;
  const fsMountpoint = path.join(d.dataRoot, 'layers');
  const runtime = runtimeHandlers({
    runtimeName: d.runtimeName,
    runtimeVersion: d.runtimeVersion,
    streaming: d.streaming,
    targets: { runningContainer: (id) => containers.runningContainer(id), readySandbox: (id) => sandboxes.readySandbox(id) },
    parts: [
      statusHandlers({ network: () => cni.network(), cniConfDir: d.cniConfDir, cniBinDir: d.cniBinDir, criSocket: d.socket }),
      sandboxes.handlers(),
      containers.handlers(),
      podOpHandlers({
        store,
        sandboxes,
        containers,
        find: (id) => b.containers.find(id),
        execSync: (id, cmd, o) => b.execSync(id, cmd, o),
        update: (id, body) => b.containers.update(id, body),
        stats: (c) => b.stats(c),
        reopenLog: (c) => b.reopenLog(c),
        fsMountpoint,
      }),
    ],
  });
  const imageBackend: CriImageBackend = {
    ...b.images,
    list: () => b.images.list(),
    find: (r) => b.images.find(r),
    tagsOf: (id) => b.images.tagsOf(id),
    digestsOf: (id) => b.images.digestsOf(id),
    hasChildren: (id) => b.images.hasChildren(id),
    pull: (ref, auth) => b.images.pull(ref, auth),
    remove: (id) => b.images.remove(id),
    usage: async () => {
      const used = b.images.list().reduce((n, img) => n + img.size, 0);
      return { mountpoint: fsMountpoint, usedBytes: used, inodesUsed: 0 };
    },
  };
  const server = new CriServer({ socket: d.socket, runtime, image: imageHandlers(imageBackend, PAUSE_IMAGE), ...(d.log ? { log: d.log } : {}) });
  await server.start();
  return {
    socket: d.socket,
    owns: (id) => store.sandboxes.get(id) !== undefined || store.containers.get(id) !== undefined,
    stop: () => server.stop(),
  };
}

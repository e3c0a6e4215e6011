/**
 * RuntimeService: the handlers of CRI's runtime RPCs. Version and the runtime-wide RPCs are
 * here; pod sandboxes (sandboxes.ts) and containers (containers.ts) add theirs. Exec, Attach
 * and PortForward hand the checked request to the streaming server (src/cri/streaming/), which
 * answers the URL the client then dials; without one they answer UNIMPLEMENTED.
 */
import { notImplemented } from '../lib/errors.js';
import type { CriHandlers, UnaryHandler } from './server.js';

/** CRI's API version this server implements (runtime.v1). */
export const CRI_API_VERSION = 'v1';
/** VersionResponse.version: the kubelet runtime API version (what containerd and CRI-O answer). */
export const KUBELET_API_VERSION = '0.1.0';

/** The decoded streaming requests, as api.proto spells their fields. */
export interface ExecRequest {
  container_id: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}
export interface AttachRequest {
  container_id: string;
  stdin: boolean;
  tty: boolean;
  stdout: boolean;
  stderr: boolean;
}
export interface PortForwardRequest {
  pod_sandbox_id: string;
  port: number[];
}

/**
 * What RuntimeService needs of the streaming server (src/cri/streaming/): a URL per request.
 * The ids it gets are full Berth container ids of a CRI container (exec, attach) or sandbox
 * (port-forward), already checked to exist (and, for exec/attach, to be running).
 */
export interface CriStreaming {
  exec(req: ExecRequest): Promise<{ url: string }> | { url: string };
  attach(req: AttachRequest): Promise<{ url: string }> | { url: string };
  portForward(req: PortForwardRequest): Promise<{ url: string }> | { url: string };
}

/** How the streaming RPCs find what their request names (containers.ts and sandboxes.ts answer). */
export interface StreamingTargets {
  /** The full id of a running CRI container (NotFound / Conflict otherwise). */
  runningContainer(id: string): Promise<string> | string;
  /** The full id of a ready CRI sandbox (NotFound / Conflict otherwise). */
  readySandbox(id: string): Promise<string> | string;
}

export interface RuntimeDeps {
  runtimeName: string;
  runtimeVersion: string;
  streaming?: CriStreaming | undefined;
  targets: StreamingTargets;
  /** The runtime RPCs of sandboxes.ts, containers.ts and the runtime-wide ones (status.ts). */
  parts: Array<Record<string, UnaryHandler>>;
}

export function runtimeHandlers(d: RuntimeDeps): CriHandlers {
  const streaming = (): CriStreaming => {
    if (!d.streaming) throw notImplemented('the CRI streaming server is not available in this berthd');
    return d.streaming;
  };
  const unary: Record<string, UnaryHandler> = {
    Version: async () => ({
      version: KUBELET_API_VERSION,
      runtime_name: d.runtimeName,
      runtime_version: d.runtimeVersion,
      runtime_api_version: CRI_API_VERSION,
    }),
    Exec: async (req: ExecRequest) => {
      const s = streaming();
      return s.exec({ ...req, container_id: await d.targets.runningContainer(req.container_id) });
    },
    Attach: async (req: AttachRequest) => {
      const s = streaming();
      return s.attach({ ...req, container_id: await d.targets.runningContainer(req.container_id) });
    },
    PortForward: async (req: PortForwardRequest) => {
      const s = streaming();
      return s.portForward({ ...req, pod_sandbox_id: await d.targets.readySandbox(req.pod_sandbox_id) });
    },
  };
  for (const part of d.parts) Object.assign(unary, part);
  return { unary };
}

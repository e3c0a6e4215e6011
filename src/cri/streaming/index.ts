/**
 * The CRI streaming server (Exec, Attach, PortForward): the URLs the RPCs return and the SPDY
 * protocols kubelets and crictl speak on them. See docs/cri.md.
 */
export { StreamingServer } from './server.js';
export type { StreamingRuntime, StreamingServerOptions, ExecRequest, AttachRequest, PortForwardRequest } from './server.js';
export type { CommandIO, TerminalSize } from './remotecommand.js';
export { BerthStreamingRuntime } from './berthruntime.js';
export type { BerthStreamingDeps, SandboxNetns } from './berthruntime.js';

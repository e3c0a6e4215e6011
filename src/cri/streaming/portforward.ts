/**
 * The port-forward protocol of the kubelet's streaming server (`portforward.k8s.io`) on a SPDY
 * session. Facts (client-go's portforward, which crictl and kubectl use): for each local
 * connection the client opens two streams with the same `requestID` and `port` headers, one with
 * `streamType: error` (which it half-closes at once and then reads) and one with `streamType:
 * data` (the connection's bytes both ways). The server pairs them, connects to the port inside
 * the pod's network namespace and copies; a failure is written as text on the error stream.
 * Both streams are ended when the forwarded connection ends; the session lives until the client
 * closes it.
 */
import type { Duplex } from 'node:stream';
import { messageOf } from '../../lib/errors.js';
import type { SpdySession, SpdyStream } from './session.js';
import { RstStatus } from './spdy.js';

export const PORTFORWARD_PROTOCOLS = ['portforward.k8s.io'];

export interface PortForwardOptions {
  /** The pod the session forwards into (for messages). */
  podSandboxId: string;
  /** How long a stream waits for the other of its pair. */
  streamCreationTimeoutMs: number;
  /** Connects `conn` to `port` in the pod; resolves when the forwarded connection has ended. */
  forward: (port: number, conn: Duplex) => Promise<void>;
}

interface Pair {
  port: string;
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** Serves port forwarding on an upgraded session until the client ends it. */
export function servePortForward(session: SpdySession, o: PortForwardOptions): Promise<void> {
  const pairs = new Map<string, Pair>();
  session.on('stream', (s: SpdyStream) => {
    s.on('error', () => undefined);
    const type = s.header('streamtype');
    const port = s.header('port') ?? '';
    // client-go always sends requestID; older clients did not, and then each stream is its own.
    const requestId = s.header('requestid') ?? `stream-${s.id}`;
    if (type !== 'error' && type !== 'data') {
      s.reset(RstStatus.REFUSED_STREAM);
      return;
    }
    void s.reply();
    let pair = pairs.get(requestId);
    if (!pair) {
      const timer = setTimeout(() => {
        // The other stream never came: the kubelet gives up on the pair the same way.
        const p = pairs.get(requestId);
        pairs.delete(requestId);
        if (p?.error) failPair(p.error, `timeout waiting for data stream (request ${requestId})`);
        p?.data?.reset(RstStatus.CANCEL);
      }, o.streamCreationTimeoutMs);
      timer.unref();
      pair = { port, timer };
      pairs.set(requestId, pair);
    }
    if (pair[type]) {
      s.reset(RstStatus.PROTOCOL_ERROR);
      return;
    }
    pair[type] = s;
    if (type === 'error') s.resume();
    if (pair.error && pair.data) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      void forwardPair(pair.error, pair.data, pair.port, o);
    }
  });
  return new Promise((resolve) => {
    session.on('close', () => {
      for (const p of pairs.values()) clearTimeout(p.timer);
      pairs.clear();
      resolve();
    });
  });
}

async function forwardPair(error: SpdyStream, data: SpdyStream, portHeader: string, o: PortForwardOptions): Promise<void> {
  const port = /^\d+$/.test(portHeader) ? Number(portHeader) : NaN;
  if (!(port > 0 && port < 65536)) {
    failPair(error, `invalid port ${JSON.stringify(portHeader)}`);
    data.reset(RstStatus.CANCEL);
    return;
  }
  try {
    await o.forward(port, data);
    if (!error.writableEnded && !error.destroyed) error.end();
  } catch (err) {
    failPair(error, `error forwarding port ${port} to pod ${o.podSandboxId}: ${messageOf(err)}`);
  }
  if (!data.writableEnded && !data.destroyed) data.end();
}

function failPair(error: SpdyStream, msg: string): void {
  if (error.destroyed || error.writableEnded) return;
  error.end(msg);
}

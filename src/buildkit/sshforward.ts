/**
 * `--ssh` for BuildKit builds: the client serves its ssh agents on the session as
 * `moby.sshforward.v1.SSH/ForwardAgent`, a bidirectional stream of BytesMessage chunks with the
 * agent's ID in the `buildkit.ssh.id` metadata. For a `RUN --mount=type=ssh` berthd listens on a
 * fresh unix socket (mode 0600, in a private scratch directory) that the builder binds into
 * the RUN container; each connection to it is relayed through its own ForwardAgent stream.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { SshAgents } from '../build/request.js';
import { codec } from './proto.js';
import type { Session } from './sessions.js';

const FORWARD = '/moby.sshforward.v1.SSH/ForwardAgent';
const CHECK = '/moby.sshforward.v1.SSH/CheckAgent';
const bytesCodec = codec('moby.sshforward.v1.BytesMessage');
const checkReq = codec('moby.sshforward.v1.CheckAgentRequest');

/** Relays one local connection through a ForwardAgent stream. */
function relay(session: Session, id: string, conn: net.Socket): void {
  const call = session.client.call(FORWARD, { 'buildkit.ssh.id': id });
  conn.on('data', (chunk: Buffer) => call.send(bytesCodec.encode({ data: chunk })));
  conn.on('end', () => call.end());
  conn.on('error', () => call.cancel());
  void (async () => {
    try {
      for await (const m of call.messages) {
        const data = bytesCodec.decode(m)['data'] as Uint8Array;
        if (data.length > 0) conn.write(data);
      }
      conn.end();
    } catch {
      conn.destroy();
    }
  })();
}

/** The session's agents as the builder asks for them. */
export function sessionSshAgents(session: Session, workDir: string): SshAgents {
  return {
    async open(id) {
      if (!session.supports(FORWARD)) return undefined;
      if (session.supports(CHECK)) {
        try {
          await session.client.unary(CHECK, checkReq.encode({ ID: id }));
        } catch {
          return undefined;
        }
      }
      const dir = path.join(workDir, `ssh-${randomBytes(8).toString('hex')}`);
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const socket = path.join(dir, 'agent.sock');
      const conns = new Set<net.Socket>();
      const server = net.createServer((conn) => {
        conns.add(conn);
        conn.once('close', () => conns.delete(conn));
        relay(session, id, conn);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socket, () => resolve());
      });
      await fs.chmod(socket, 0o600);
      return {
        socket,
        close: async () => {
          for (const c of conns) c.destroy();
          await new Promise<void>((resolve) => server.close(() => resolve()));
          await fs.rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

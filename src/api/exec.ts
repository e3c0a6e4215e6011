/** /containers/{id}/exec and /exec/{id}/…: HTTP ⇄ ExecService. */
import { invalid, messageOf } from '../lib/errors.js';
import type { SeqpacketSocket } from 'node-unix-socket';
import type { ExecConfig, ExecRecord } from '../containers/exec.js';
import { frame, hijack, parseDetachKeys, pipeAttach, STDOUT } from './streams.js';
import { intParam, readJSON, sendEmpty, sendJSON, type Router } from './router.js';

/** The exec sessions as the /exec routes call them (containers/exec.ts's ExecService). */
export interface ExecOps {
  /** A new session in a running container; throws NotFound, Conflict. */
  create(ref: string, body: Partial<ExecConfig>): ExecRecord;
  /** A session by ID; throws NotFound. */
  get(id: string): ExecRecord;
  /**
   * Starts the process; `attach` receives the monitor's attach socket before it runs. Resolves
   * once it runs; `done` resolves with its exit code.
   */
  start(id: string, o: { consoleSize?: [number, number]; attach?: (s: SeqpacketSocket) => void }): Promise<{ done: Promise<number> }>;
  resize(id: string, height: number, width: number): Promise<void>;
  /** The client left the session with the detach keys (the exec_detach event). */
  detached(id: string): void;
  /** GET /exec/{id}/json's document. */
  inspect(id: string): Record<string, unknown>;
}

export function registerExecRoutes(r: Router, execs: ExecOps): void {
  r.add('POST', '/containers/{id}/exec', async (ctx) => {
    const body = await readJSON<Partial<ExecConfig>>(ctx);
    if (body.DetachKeys) {
      try {
        parseDetachKeys(body.DetachKeys);
      } catch (err) {
        throw invalid((err as Error).message);
      }
    }
    const rec = execs.create(ctx.params.id as string, body);
    sendJSON(ctx, 201, { Id: rec.ID });
  });

  r.add('POST', '/exec/{id}/start', async (ctx) => {
    const body = await readJSON<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] }>(ctx);
    const rec = execs.get(ctx.params.id as string);
    // As dockerd: the process gets a terminal when the exec was created with Tty; the start
    // body's Tty only decides the stream's framing (docker-py sends Tty: false by default, and
    // then reads the terminal's output in 8-byte frames).
    const tty = body.Tty ?? rec.Config.Tty;
    if (body.Detach) {
      await execs.start(rec.ID, {});
      sendEmpty(ctx, 200);
      return;
    }
    const attaching = rec.Config.AttachStdin || rec.Config.AttachStdout || rec.Config.AttachStderr;
    if (!attaching) {
      const { done } = await execs.start(rec.ID, {});
      await done;
      sendEmpty(ctx, 200);
      return;
    }
    const detachKeys = parseDetachKeys(rec.Config.DetachKeys || 'ctrl-p,ctrl-q');
    let conn: ReturnType<typeof hijack> | undefined;
    // The stream ends when the process's output does; the exit code comes a moment later on the
    // sync pipe. Clients read it right after the stream ends, so hold the end until it is known.
    let exitKnown!: () => void;
    const exited = new Promise<void>((r) => (exitKnown = r));
    const holdEnd = (): Promise<unknown> => Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    try {
      const { done } = await execs.start(rec.ID, {
        ...(body.ConsoleSize ? { consoleSize: body.ConsoleSize } : {}),
        attach: (sock) => {
          conn = hijack(ctx, tty);
          if (ctx.head.length > 0) conn.unshift(ctx.head);
          pipeAttach(conn, sock, {
            tty,
            stdin: rec.Config.AttachStdin,
            stdout: rec.Config.AttachStdout,
            stderr: rec.Config.AttachStderr,
            detachKeys: rec.Config.Tty ? detachKeys : Buffer.alloc(0),
            beforeEnd: holdEnd,
            onDetach: () => execs.detached(rec.ID),
          });
        },
      });
      void done.finally(exitKnown);
    } catch (err) {
      exitKnown();
      // As dockerd does once a client attached: the error goes into the stream, the exit code
      // (126/127) into the exec record, which the client reads next.
      const c = conn ?? hijack(ctx, tty);
      const line = Buffer.from(`${messageOf(err)}\r\n`);
      c.end(tty ? line : frame(STDOUT, line));
    }
  });

  r.add('POST', '/exec/{id}/resize', async (ctx) => {
    const h = intParam(ctx.query, 'h') ?? 0;
    const w = intParam(ctx.query, 'w') ?? 0;
    await execs.resize(ctx.params.id as string, h, w);
    sendEmpty(ctx, 200);
  });

  r.add('GET', '/exec/{id}/json', async (ctx) => {
    sendJSON(ctx, 200, execs.inspect(ctx.params.id as string));
  });
}

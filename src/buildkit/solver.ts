/**
 * Solves: the control service's Solve and Status, and the gateway (`moby.buildkit.v1.frontend.
 * LLBBridge`) through which buildx runs its build. buildx 0.10 sends a control Solve without a
 * frontend (the "gateway forwarder" case), then, on the same connection and tagged with the
 * solve's ref in the `buildkit-controlapi-buildid` metadata, Ping, a gateway Solve naming the
 * Dockerfile frontend, and Return with the result ref; the control Solve then exports that result.
 * A solve's ref is its job: Status may come before Solve, so either creates it.
 */
import { randomBytes } from 'node:crypto';
import type { BuildResult } from '../build/request.js';
import { invalid, isCategory, notImplemented } from '../lib/errors.js';
import { checkSolveCache } from './cacheopts.js';
import { workerRecord, type ControlDeps } from './control.js';
import { runExporter, type ExporterDeps } from './exporters.js';
import { buildkitMessage, DOCKERFILE_FRONTENDS, solveDockerfile, type FrontendDeps } from './frontend.js';
import { firstMessage, GrpcCode, GrpcError, type ServerCall, type ServerMethod } from './grpc.js';
import { Progress } from './progress.js';
import { codec } from './proto.js';
import type { Session, SessionManager } from './sessions.js';

export interface SolverDeps extends FrontendDeps, ExporterDeps {
  sessions: SessionManager;
  control: ControlDeps;
}

interface Returned {
  result?: BuildResult;
  error?: { code: number; message: string };
}

class Job {
  readonly progress: Progress;
  readonly results = new Map<string, BuildResult>();
  session?: Session;
  private resolveReturn!: (r: Returned) => void;
  readonly returned: Promise<Returned>;
  readonly ac = new AbortController();
  private sessionWaiters: Array<{ resolve: (s: Session) => void; reject: (e: Error) => void }> = [];
  private failure?: Error;

  constructor(readonly ref: string) {
    this.progress = new Progress(ref);
    this.returned = new Promise((resolve) => {
      this.resolveReturn = resolve;
    });
  }

  setSession(s: Session): void {
    this.session = s;
    for (const w of this.sessionWaiters) w.resolve(s);
    this.sessionWaiters = [];
  }

  /** The job's session, once its control Solve named it (rejected once the control Solve failed). */
  sessionReady(): Promise<Session> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.session) return Promise.resolve(this.session);
    return new Promise((resolve, reject) => this.sessionWaiters.push({ resolve, reject }));
  }

  /** The control Solve failed: the gateway's work for it stops, and what waits for it fails. */
  fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.sessionWaiters) w.reject(err);
    this.sessionWaiters = [];
    this.ac.abort();
  }

  finish(r: Returned): void {
    this.resolveReturn(r);
  }
}

const BUILDID = 'buildkit-controlapi-buildid';

/** The gateway capabilities Berth implements (frontend/gateway/pb/caps.go's IDs). */
const FRONTEND_CAPS = ['solve.base', 'solve.inlinereturn', 'return', 'returnmap', 'proto.refarray', 'frontend.inputs', 'gateway.solve.metadata'];

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * A failed build as the solve reports it: a failed RUN in BuildKit's words (frontend.ts), and
 * the builder's other errors (a missing secret, a file COPY cannot find) with gRPC's Unknown
 * code, as BuildKit's solver reports them, so the client prints the message without a code name.
 * What Berth does not implement (a cache backend, a frontend, a platform) stays NotImplemented
 * (gRPC Unimplemented).
 */
function solveError(err: unknown): Error {
  if (err instanceof GrpcError || isCategory(err, 'NotImplemented')) return err as Error;
  return new GrpcError(GrpcCode.UNKNOWN, buildkitMessage(err));
}

export class Solver {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly d: SolverDeps) {}

  private job(ref: string): Job {
    let j = this.jobs.get(ref);
    if (!j) {
      j = new Job(ref);
      this.jobs.set(ref, j);
    }
    return j;
  }

  /** A finished job stays a while for a Status call that comes late. */
  private retire(j: Job): void {
    setTimeout(() => {
      if (this.jobs.get(j.ref) === j) this.jobs.delete(j.ref);
    }, 60_000).unref();
  }

  private jobOfCall(call: ServerCall): Job {
    const id = call.metadata[BUILDID];
    const ref = Array.isArray(id) ? id[0] : id;
    if (!ref) throw invalid('no buildid in the gateway call');
    const j = this.jobs.get(ref);
    if (!j) throw new GrpcError(GrpcCode.NOT_FOUND, `no such job ${ref}`);
    return j;
  }

  /** Control Solve: runs (or waits for the gateway to run) the build, then exports its result. */
  private async controlSolve(req: Record<string, unknown>, signal: AbortSignal): Promise<object> {
    const ref = String(req['Ref'] ?? '');
    if (!ref) throw invalid('no ref in the solve request');
    const j = this.job(ref);
    const abort = (): void => j.ac.abort();
    signal.addEventListener('abort', abort, { once: true });
    try {
      checkSolveCache(req['Cache']);
      const session = await this.d.sessions.get(String(req['Session'] ?? ''));
      j.setSession(session);
      const frontend = String(req['Frontend'] ?? '');
      const attrs = (req['FrontendAttrs'] ?? {}) as Record<string, string>;
      let result: BuildResult | undefined;
      if (frontend === '') {
        const defs = (req['Definition'] as { def?: unknown[] } | null)?.def ?? [];
        if (defs.length > 0) throw notImplemented('LLB definitions are not supported: Berth builds Dockerfiles (frontend dockerfile.v0)');
        const r = await Promise.race([
          j.returned,
          new Promise<never>((_r, reject) =>
            j.ac.signal.addEventListener('abort', () => reject(new GrpcError(GrpcCode.CANCELLED, 'context canceled')), { once: true }),
          ),
        ]);
        if (r.error) throw new GrpcError(r.error.code || GrpcCode.UNKNOWN, r.error.message);
        result = r.result;
      } else {
        result = await this.runFrontend(j, frontend, attrs);
      }
      const response = await runExporter(this.d, {
        exporter: String(req['Exporter'] ?? ''),
        attrs: (req['ExporterAttrs'] ?? {}) as Record<string, string>,
        result,
        session,
        progress: j.progress,
      });
      j.progress.close();
      return { ExporterResponse: response };
    } catch (err) {
      j.progress.close(message(err));
      const e = solveError(err);
      j.fail(e);
      throw e;
    } finally {
      signal.removeEventListener('abort', abort);
      this.retire(j);
    }
  }

  private async runFrontend(j: Job, frontend: string, attrs: Record<string, string>): Promise<BuildResult> {
    if (!DOCKERFILE_FRONTENDS.has(frontend)) throw notImplemented(`frontend ${frontend} is not supported: Berth runs the Dockerfile frontend (dockerfile.v0)`);
    const session = await j.sessionReady();
    return solveDockerfile(this.d, session, attrs, j.progress, j.ac.signal);
  }

  /** The control service's Solve and Status, and the gateway's methods, by gRPC path. */
  methods(): Map<string, ServerMethod> {
    const m = new Map<string, ServerMethod>();
    const solveReq = codec('moby.buildkit.v1.SolveRequest');
    const solveRes = codec('moby.buildkit.v1.SolveResponse');
    m.set('/moby.buildkit.v1.Control/Solve', async (call) => {
      const req = solveReq.decode(await firstMessage(call));
      call.send(solveRes.encode(await this.controlSolve(req, call.signal)));
    });
    const statusReq = codec('moby.buildkit.v1.StatusRequest');
    m.set('/moby.buildkit.v1.Control/Status', async (call) => {
      const req = statusReq.decode(await firstMessage(call));
      const ref = String(req['Ref'] ?? '');
      if (!ref) throw invalid('no ref in the status request');
      await this.job(ref).progress.subscribe((b) => call.send(b), call.signal);
    });

    const G = '/moby.buildkit.v1.frontend.LLBBridge/';
    const pong = codec('moby.buildkit.v1.frontend.PongResponse');
    m.set(`${G}Ping`, async (call) => {
      await firstMessage(call);
      call.send(
        pong.encode({
          FrontendAPICaps: FRONTEND_CAPS.map((ID) => ({ ID, Enabled: true })),
          LLBCaps: [],
          Workers: [workerRecord(this.d.control)],
        }),
      );
    });
    const gSolveReq = codec('moby.buildkit.v1.frontend.SolveRequest');
    const gSolveRes = codec('moby.buildkit.v1.frontend.SolveResponse');
    m.set(`${G}Solve`, async (call) => {
      const j = this.jobOfCall(call);
      const req = gSolveReq.decode(await firstMessage(call));
      const frontend = String(req['Frontend'] ?? '');
      if (frontend === '') throw notImplemented('LLB definitions are not supported: Berth builds Dockerfiles (frontend dockerfile.v0)');
      // A frontend's failure goes back as Unknown, as BuildKit's frontends fail: buildx hands the
      // gateway's status to Return, and a code on it would be printed twice ("Unimplemented: Unimplemented: …").
      const result = await this.runFrontend(j, frontend, (req['FrontendOpt'] ?? {}) as Record<string, string>).catch((err: unknown) => {
        throw err instanceof GrpcError ? err : new GrpcError(GrpcCode.UNKNOWN, buildkitMessage(err));
      });
      const id = randomBytes(16).toString('hex');
      j.results.set(id, result);
      const config = Buffer.from(JSON.stringify(result.image.config));
      call.send(gSolveRes.encode({ ref: id, result: { ref: { id }, metadata: { 'containerimage.config': config } } }));
    });
    const retReq = codec('moby.buildkit.v1.frontend.ReturnRequest');
    const retRes = codec('moby.buildkit.v1.frontend.ReturnResponse');
    m.set(`${G}Return`, async (call) => {
      const j = this.jobOfCall(call);
      const req = retReq.decode(await firstMessage(call)) as {
        result: { ref?: { id: string } | null; refs?: { refs: Record<string, { id: string }> } | null; refDeprecated?: string } | null;
        error: { code: number; message: string } | null;
      };
      if (req.error && req.error.code !== 0) j.finish({ error: { code: req.error.code, message: req.error.message } });
      else {
        const r = req.result;
        const id = r?.ref?.id ?? r?.refDeprecated ?? Object.values(r?.refs?.refs ?? {})[0]?.id ?? '';
        const result = j.results.get(id);
        j.finish(result ? { result } : {});
      }
      call.send(retRes.encode({}));
    });
    return m;
  }
}

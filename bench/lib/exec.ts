/**
 * Commands and Engine API requests as bench/run.ts times them: a child process run to completion
 * with a bound (timed with process.hrtime), the failure text, `which`, and one bounded request to a
 * daemon's UNIX socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

/** Any one client command (a run, a bootstrap) gets this long. */
export const COMMAND_TIMEOUT_MS = 120_000;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function which(name: string, preferred: string[] = []): string | undefined {
  for (const p of preferred) if (isExecutable(p)) return p;
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    const st = statSync(p);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds (process.hrtime). */
  ms: number;
  timedOut: boolean;
}

/** Runs a command to completion (bounded by timeoutMs), timing it with process.hrtime. */
export function run(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ code: null, signal: null, stdout: '', stderr: (err as Error).message, ms: 0, timedOut: false });
      return;
    }
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < 1 << 20) stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 1 << 20) stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? COMMAND_TIMEOUT_MS);
    child.on('error', (err) => {
      stderr += err.message;
    });
    child.on('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms, timedOut });
    });
  });
}

export function describeFailure(what: string, r: ExecResult): string {
  const why = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit status ${r.code}`;
  const err = (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n  ');
  return `${what}: ${why}${err ? `\n  ${err}` : ''}`;
}

/** One request to an Engine API on a UNIX socket (bounded). */
export function api(sock: string, method: string, urlPath: string, timeoutMs = 15_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path: urlPath, headers: { Host: 'localhost' }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} on ${sock}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export async function ping(sock: string): Promise<boolean> {
  if (!existsSync(sock)) return false;
  try {
    const r = await api(sock, 'GET', '/_ping', 2_000);
    return r.status === 200;
  } catch {
    return false;
  }
}

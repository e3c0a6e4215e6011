/**
 * Drives a CLI through a real pseudo-terminal with util-linux `script`: the command runs with
 * the pty as its stdin/stdout/stderr (so `isatty` holds and raw mode applies), the test writes
 * keystrokes into it, reads what the terminal shows, and changes the terminal's size from
 * outside (`stty -F <pts> rows R cols C`, which sends SIGWINCH to the foreground process).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sleep } from './daemon.js';

/** Quotes a word for sh. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface PtyOptions {
  rows?: number;
  cols?: number;
  env?: Record<string, string>;
  /** Kill the session after this long (default 30 s). */
  timeout?: number;
}

export class PtySession {
  private out = '';
  private readonly proc: ChildProcess;
  private readonly ttyFile: string;
  private readonly dir: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private timer: NodeJS.Timeout;

  /** Starts `file args…` on a fresh pty of the given size. */
  constructor(
    readonly argv: string[],
    o: PtyOptions = {},
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-pty-'));
    this.ttyFile = path.join(this.dir, 'tty');
    const inner = `stty rows ${o.rows ?? 24} cols ${o.cols ?? 80}; tty > ${shq(this.ttyFile)}; exec ${argv.map(shq).join(' ')}`;
    this.proc = spawn('script', ['-qfec', inner, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
    this.proc.stdout?.on('data', (b: Buffer) => (this.out += b.toString('utf8')));
    this.proc.stderr?.on('data', (b: Buffer) => (this.out += b.toString('utf8')));
    this.proc.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) => this.proc.on('close', (code, signal) => resolve({ code, signal })));
    this.timer = setTimeout(() => this.kill(), o.timeout ?? 30_000);
    void this.exited.then(() => {
      clearTimeout(this.timer);
      fs.rmSync(this.dir, { recursive: true, force: true });
    });
  }

  /** Everything the terminal showed so far. */
  get output(): string {
    return this.out;
  }

  get desc(): string {
    return `pty: ${this.argv.join(' ')}\noutput: ${JSON.stringify(this.out)}`;
  }

  /** Types bytes into the terminal. */
  write(data: string | Buffer): void {
    this.proc.stdin?.write(data);
  }

  /** Waits until the output (from `from` on) matches; returns the match. */
  async expect(re: RegExp, o: { timeout?: number; from?: number } = {}): Promise<RegExpMatchArray> {
    const deadline = Date.now() + (o.timeout ?? 15_000);
    for (;;) {
      const m = this.out.slice(o.from ?? 0).match(re);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} on the terminal\n${this.desc}`);
      await sleep(25);
    }
  }

  /** The pty device the command runs on. */
  async ttyPath(): Promise<string> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const t = fs.readFileSync(this.ttyFile, 'utf8').trim();
        if (t.startsWith('/dev/')) return t;
      } catch {
        /* not yet */
      }
      if (Date.now() > deadline) throw new Error(`no tty file\n${this.desc}`);
      await sleep(20);
    }
  }

  /** Resizes the terminal from outside, as a terminal emulator does (SIGWINCH follows). */
  async resize(rows: number, cols: number): Promise<void> {
    const r = spawnSync('stty', ['-F', await this.ttyPath(), 'rows', String(rows), 'cols', String(cols)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`stty -F failed: ${r.stderr}`);
  }

  /** Waits for the command to end; returns its exit code (script -e passes it through). */
  async wait(timeout = 15_000): Promise<number | null> {
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.exited,
      new Promise<'timeout'>((resolve) => {
        t = setTimeout(() => resolve('timeout'), timeout);
      }),
    ]);
    clearTimeout(t);
    if (r === 'timeout') throw new Error(`session did not end within ${timeout} ms\n${this.desc}`);
    return r.code;
  }

  /** The pid of the command inside the pty (script's child). */
  commandPid(): number | undefined {
    const pid = this.proc.pid;
    if (!pid) return undefined;
    try {
      const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return kids.length ? Number(kids[0]) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Ends the session (and the command in it) if it is still running. */
  kill(): void {
    const child = this.commandPid();
    if (child) {
      try {
        process.kill(child, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    this.proc.kill('SIGKILL');
  }
}

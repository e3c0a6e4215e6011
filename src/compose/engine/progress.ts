/**
 * Progress of a compose operation: the engine reports one event per resource and state change
 * (" ✔ Container p-web-1  Started" as docker compose v2 prints it); a sink decides how to show
 * them. `writerProgress` is the CLI's: on a TTY a block of lines redrawn in place under
 * "[+] Running n/m", otherwise one plain line per event on the given stream.
 */
import type { Writable } from 'node:stream';

export type ResourceKind = 'Network' | 'Volume' | 'Container' | 'Image' | 'Service';

export interface ProgressEvent {
  kind: ResourceKind;
  /** as printed: a container or network name, a volume name in quotes as v2 shows it */
  name: string;
  /** Creating, Created, Started, Recreated, Healthy, Stopped, Removed, Pulled, Built, Error, … */
  status: string;
  /** true when this is the resource's final state in the operation */
  done: boolean;
  error?: boolean;
  /** extra text after the status (an error message) */
  text?: string;
}

export type ProgressSink = (e: ProgressEvent) => void;

export const silentProgress: ProgressSink = () => undefined;

const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface WriterProgress {
  sink: ProgressSink;
  /** final redraw (TTY) and stop the spinner */
  stop(): void;
}

export function writerProgress(out: Writable, o: { tty?: boolean; verb?: string } = {}): WriterProgress {
  const tty = o.tty ?? (out as NodeJS.WriteStream).isTTY === true;
  if (!tty) {
    return {
      sink: (e) => {
        const label = `${e.kind} ${e.name}`;
        out.write(` ${label}  ${e.status}${e.text ? ` ${e.text}` : ''}\n`);
      },
      stop: () => undefined,
    };
  }
  const rows = new Map<string, ProgressEvent & { t0: number; t1?: number }>();
  let drawn = 0;
  let tick = 0;
  const draw = (): void => {
    const list = [...rows.values()];
    const doneCount = list.filter((r) => r.done).length;
    const width = Math.max(0, ...list.map((r) => `${r.kind} ${r.name}`.length));
    const lines = [`\x1b[34m[+] ${o.verb ?? 'Running'} ${doneCount}/${list.length}\x1b[0m`];
    for (const r of list) {
      const mark = r.error ? '\x1b[31m✘\x1b[0m' : r.done ? '\x1b[32m✔\x1b[0m' : SPIN[tick % SPIN.length];
      const label = `${r.kind} ${r.name}`.padEnd(width);
      const secs = (((r.t1 ?? Date.now()) - r.t0) / 1000).toFixed(1);
      lines.push(` ${mark} ${label}  ${r.status}${r.text ? ` ${r.text}` : ''}`.padEnd(60) + `\x1b[34m${secs}s\x1b[0m`);
    }
    let s = drawn > 0 ? `\x1b[${drawn}A` : '';
    s += lines.map((l) => `\r\x1b[2K${l}\n`).join('');
    drawn = lines.length;
    out.write(s);
  };
  const timer = setInterval(() => {
    tick++;
    draw();
  }, 100);
  timer.unref();
  return {
    sink: (e) => {
      const key = `${e.kind}/${e.name}`;
      const at = rows.get(key)?.t0 ?? Date.now();
      rows.set(key, { ...e, t0: at, ...(e.done ? { t1: Date.now() } : {}) });
      draw();
    },
    stop: () => {
      clearInterval(timer);
      if (rows.size > 0) draw();
    },
  };
}

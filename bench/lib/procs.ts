/**
 * What the benches read from /proc: processes (pid, parent, name, command line), liveness,
 * memory (VmRSS, Pss), CPU time of a process or of its tree, and the mount points under roots.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from './exec.js';

export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  argv: string[];
}

export function readProc(pid: number): Proc | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? '0');
    const comm = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '';
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((s) => s !== '');
    return { pid, ppid, comm, argv };
  } catch {
    return undefined;
  }
}

export function listProcs(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) out.push(p);
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitGone(pids: number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (pids.every((p) => !alive(p))) return true;
    await sleep(100);
  }
  return pids.every((p) => !alive(p));
}

export interface Mem {
  /** VmRSS in KiB, from /proc/<pid>/status. */
  rssKb: number;
  /** Pss in KiB, from /proc/<pid>/smaps_rollup (shared pages divided among their users). */
  pssKb: number;
}

export function readMem(pid: number): Mem | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (!rss?.[1]) return undefined;
    let pssKb = 0;
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      pssKb = Number(/^Pss:\s+(\d+)\s+kB/m.exec(rollup)?.[1] ?? '0');
    } catch {
      /* smaps_rollup is optional */
    }
    return { rssKb: Number(rss[1]), pssKb };
  } catch {
    return undefined;
  }
}

/** USER_HZ: fixed at 100 on Linux for /proc. */
const TICK = 100;

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces): state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system, all threads) a process has used; throws when it is gone. */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  return (Number(f[11]) + Number(f[12])) / TICK;
}

/** CPU seconds (user + system, reaped children included) used so far by `pid` and its descendants. */
export function treeCpuSeconds(pid: number): number {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(statFields(Number(name))[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      /* exited meanwhile */
    }
  }
  let total = 0;
  const visit = (p: number): void => {
    try {
      const f = statFields(p);
      total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICK;
    } catch {
      return;
    }
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return total;
}

/** The mount points (from /proc/self/mountinfo, octal escapes decoded) at or under any of roots. */
export function mountsUnder(roots: string[]): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const mp = field.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (roots.some((r) => mp === r || mp.startsWith(`${r}/`))) out.push(mp);
  }
  return out;
}

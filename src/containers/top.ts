/**
 * `docker top`: `ps` run on the host with the client's arguments, its rows kept for the
 * container's processes (runc's list of PIDs), the command column whole.
 */
import { execFile } from 'node:child_process';
import { conflict, invalid } from '../lib/errors.js';
import type { Container } from './types.js';

/** What top needs: the container's record and the PIDs of its processes. */
export interface TopDeps {
  get(ref: string): Container;
  /** PIDs of the container's processes (runc ps). */
  pids(id: string): Promise<number[]>;
}

export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

export async function top(d: TopDeps, ref: string, psArgs: string): Promise<TopResult> {
  const c = d.get(ref);
  if (!c.State.Running) throw conflict(`Container ${c.ID} is not running`);
  const pids = new Set((await d.pids(c.ID)).map(String));
  const args = (psArgs || '-ef').split(/\s+/).filter(Boolean);
  // A NUL cannot reach an argv; spawn would throw a TypeError (a 500) for the client's bytes.
  if (args.some((a) => a.includes('\0'))) throw invalid('ps: invalid argument: ps_args holds a NUL byte');
  const out = await new Promise<string>((resolve, reject) =>
    execFile('ps', args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(invalid(`ps: ${stderr || err.message}`)) : resolve(stdout))),
  );
  return parsePs(out, pids);
}

/** `ps` output → dockerd's top document, rows limited to `pids` (by the PID column). */
export function parsePs(out: string, pids: Set<string>): TopResult {
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0] ?? '';
  const titles = header.trim().split(/\s+/);
  const pidCol = titles.indexOf('PID');
  if (pidCol < 0) throw invalid(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (!pids.has(fields[pidCol] ?? '')) continue;
    // The last column (command) may contain spaces.
    const row = fields.slice(0, titles.length - 1);
    row.push(fields.slice(titles.length - 1).join(' '));
    processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

/** The machine facts bench/run.ts reports: date, OS, kernel, cores, node, load, tool versions. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { run } from './exec.js';

export interface Machine {
  date: string;
  nproc: number;
  kernel: string;
  os: string;
  node: string;
  loadavgStart: number[];
  loadavgEnd?: number[];
  versions: Record<string, string>;
}

export async function firstLine(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 10_000 });
  return r.code === 0 ? (r.stdout.trim().split('\n')[0] ?? '') : '';
}

export async function machineFacts(dockerBin: string | undefined, dockerdBin: string | undefined): Promise<Machine> {
  let osName = os.type();
  try {
    osName = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? osName;
  } catch {
    /* keep os.type() */
  }
  const nproc = Number(await firstLine('nproc', [])) || os.availableParallelism();
  const versions: Record<string, string> = {
    runc: await firstLine('runc', ['--version']),
    conmon: await firstLine('conmon', ['--version']),
  };
  if (dockerBin) versions['docker CLI'] = await firstLine(dockerBin, ['--version']);
  if (dockerdBin) {
    versions['dockerd'] = await firstLine(dockerdBin, ['--version']);
    versions['containerd'] = await firstLine('containerd', ['--version']);
  }
  return {
    date: new Date().toISOString(),
    nproc,
    kernel: os.release(),
    os: osName,
    node: process.version,
    loadavgStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    versions,
  };
}

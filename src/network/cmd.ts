/** Runs the standard network tools (ip, iptables-restore, iptables-save) with input on stdin. */
import { spawn } from 'node:child_process';
import { system } from '../lib/errors.js';

export function runTool(file: string, args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(system(`${file}: ${e.message}`, e)));
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(system(`${file} ${args.join(' ')}: ${err.trim() || `exit ${code}`}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/**
 * `ip -batch -` in the host namespace, or inside the namespace of `netnsPid`; there, `sysctl`
 * (a /proc/sys/net file, which resolves in the opener's namespace) is set to 1 first, by the
 * shell that then becomes `ip` (no extra process).
 */
export function ipBatch(lines: string[], o: { netnsPid?: number; force?: boolean; sysctl?: string } = {}): Promise<string> {
  if (lines.length === 0) return Promise.resolve('');
  const ipArgs = [...(o.force ? ['-force'] : []), '-batch', '-'];
  if (o.netnsPid && o.sysctl) {
    if (!/^\/proc\/sys\/net\/[\w./-]+$/.test(o.sysctl)) throw system(`bad sysctl path ${o.sysctl}`);
    return runTool(
      'nsenter',
      [`--net=/proc/${o.netnsPid}/ns/net`, '/bin/sh', '-c', `echo 1 > ${o.sysctl} && exec ip ${ipArgs.join(' ')}`],
      `${lines.join('\n')}\n`,
    );
  }
  if (o.netnsPid) return runTool('nsenter', [`--net=/proc/${o.netnsPid}/ns/net`, 'ip', ...ipArgs], `${lines.join('\n')}\n`);
  return runTool('ip', ipArgs, `${lines.join('\n')}\n`);
}

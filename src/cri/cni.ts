/**
 * Pod networking through CNI (the CNI spec's plugin protocol): the network list from
 * `--cni-conf-dir` (the first `.conflist`/`.conf`/`.json` by name, as libcni picks it), each
 * plugin run from `--cni-bin-dir` with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
 * CNI_ARGS and CNI_PATH in its environment and its configuration on stdin. ADD runs the list in
 * order, each plugin getting the previous one's result; DEL runs it in reverse with the result
 * ADD returned (kept by the caller). Capabilities: `portMappings` (portmap).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { system, unavailable } from '../lib/errors.js';

export interface NetworkList {
  name: string;
  cniVersion: string;
  plugins: Array<Record<string, unknown> & { type: string; capabilities?: Record<string, boolean> }>;
  file: string;
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

export interface CniAttachment {
  containerId: string;
  netns: string;
  ifName: string;
  /** K8S_POD_* arguments (CNI_ARGS). */
  args: Record<string, string>;
  portMappings: PortMapping[];
}

export interface CniResult {
  ips?: Array<{ address: string; gateway?: string; interface?: number; version?: string }>;
  [k: string]: unknown;
}

/** The network list kubelet-style runtimes use: the first config file in the directory by name. */
export async function loadNetwork(confDir: string): Promise<NetworkList | undefined> {
  let names: string[];
  try {
    names = (await fs.readdir(confDir)).filter((n) => /\.(conflist|conf|json)$/.test(n)).sort();
  } catch {
    return undefined;
  }
  for (const n of names) {
    const file = path.join(confDir, n);
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (n.endsWith('.conflist') || Array.isArray(raw['plugins'])) {
      const plugins = raw['plugins'];
      if (!Array.isArray(plugins) || plugins.length === 0) continue;
      return { name: String(raw['name'] ?? ''), cniVersion: String(raw['cniVersion'] ?? '0.4.0'), plugins: plugins as NetworkList['plugins'], file };
    }
    if (typeof raw['type'] !== 'string') continue;
    return { name: String(raw['name'] ?? ''), cniVersion: String(raw['cniVersion'] ?? '0.4.0'), plugins: [raw as NetworkList['plugins'][number]], file };
  }
  return undefined;
}

export class Cni {
  constructor(private readonly o: { confDir: string; binDir: string }) {}

  network(): Promise<NetworkList | undefined> {
    return loadNetwork(this.o.confDir);
  }

  /** ADD on every plugin of the list; the last result (what DEL is given back). */
  async add(net: NetworkList, a: CniAttachment): Promise<CniResult> {
    let prev: CniResult | undefined;
    for (const p of net.plugins) {
      prev = (await this.exec('ADD', net, p, a, prev)) ?? prev;
    }
    return prev ?? {};
  }

  /** DEL on every plugin, in reverse; errors of each are collected and thrown at the end. */
  async del(net: NetworkList, a: CniAttachment, result: CniResult | undefined): Promise<void> {
    const errors: string[] = [];
    for (const p of [...net.plugins].reverse()) {
      try {
        await this.exec('DEL', net, p, a, result);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length > 0) throw system(`CNI DEL: ${errors.join('; ')}`);
  }

  /** Brings up `lo` in a netns (as kubelets' runtimes do whatever the list holds). */
  async loopback(a: Pick<CniAttachment, 'containerId' | 'netns'>, command: 'ADD' | 'DEL'): Promise<void> {
    const net: NetworkList = { name: 'cni-loopback', cniVersion: '0.3.1', plugins: [{ type: 'loopback' }], file: '' };
    await this.exec(command, net, net.plugins[0] as NetworkList['plugins'][number], { ...a, ifName: 'lo', args: {}, portMappings: [] }, undefined);
  }

  private async exec(
    command: 'ADD' | 'DEL',
    net: NetworkList,
    plugin: NetworkList['plugins'][number],
    a: CniAttachment,
    prev: CniResult | undefined,
  ): Promise<CniResult | undefined> {
    const conf: Record<string, unknown> = { ...plugin, name: net.name, cniVersion: net.cniVersion };
    if (prev) conf['prevResult'] = prev;
    if (plugin.capabilities?.['portMappings'] && a.portMappings.length > 0) {
      conf['runtimeConfig'] = { ...(plugin['runtimeConfig'] ?? {}), portMappings: a.portMappings };
    }
    const bin = path.join(this.o.binDir, plugin.type);
    try {
      await fs.access(bin);
    } catch {
      throw unavailable(`CNI plugin ${plugin.type} not found in ${this.o.binDir}`);
    }
    const cniArgs = ['IgnoreUnknown=1', ...Object.entries(a.args).map(([k, v]) => `${k}=${v}`)].join(';');
    const env = {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: a.containerId,
      CNI_NETNS: a.netns,
      CNI_IFNAME: a.ifName,
      CNI_ARGS: cniArgs,
      CNI_PATH: this.o.binDir,
    };
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(bin, [], { env, maxBuffer: 4 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
        if (err) {
          let msg = stderr.trim() || err.message;
          try {
            const e = JSON.parse(stdout) as { msg?: string; details?: string };
            if (e.msg) msg = `${e.msg}${e.details ? `: ${e.details}` : ''}`;
          } catch {
            // not a CNI error document
          }
          reject(system(`CNI plugin ${plugin.type} ${command} failed: ${msg}`));
        } else resolve(stdout);
      });
      child.stdin?.end(JSON.stringify(conf));
    });
    if (command === 'DEL' || out.trim() === '') return undefined;
    return JSON.parse(out) as CniResult;
  }
}

/** The first IPv4 (then any) address of a result, without its prefix length. */
export function podIp(r: CniResult | undefined): { ip: string; additional: string[] } {
  const all = (r?.ips ?? []).map((i) => i.address.split('/')[0] ?? '').filter((a) => a !== '');
  const v4 = all.find((a) => a.includes('.'));
  const ip = v4 ?? all[0] ?? '';
  return { ip, additional: all.filter((a) => a !== ip) };
}

/**
 * Pod sandboxes. A sandbox is a Berth container (labelled io.kubernetes.*, so `docker ps` shows
 * it) running the infra process of pause.ts; it holds the pod's network, IPC and UTS namespaces
 * (and PID, for pod-level PID sharing) that the pod's containers join (`container:<id>` modes).
 * Its network namespace is the infra's, bind-mounted (netns.ts) and configured by CNI (cni.ts)
 * after the infra starts; StopPodSandbox tears CNI down, unmounts it and stops the infra.
 */
import type { Container, HostConfig } from '../containers/types.js';
import type { CreateRequest } from '../containers/create.js';
import type { Image } from '../images/types.js';
import { invalid, isCategory, messageOf, notFound } from '../lib/errors.js';
import type { Cni, PortMapping } from './cni.js';
import { podIp } from './cni.js';
import { pinNetns, releaseNetns, sandboxNetnsPath } from './netns.js';
import { PAUSE_IMAGE } from './pause.js';
import { seccompOpts } from './security.js';
import type { UnaryHandler } from './server.js';
import { isoToNs, nowNs, type CriStore, type SandboxRecord } from './store.js';
import { matchesLabels, type PodSandboxConfig } from './types.js';

/** What sandboxes need of Berth's containers (ContainerService satisfies it). */
export interface SandboxContainers {
  create(req: CreateRequest, opts: { name?: string }): Promise<Container>;
  start(ref: string): Promise<void>;
  stop(ref: string, opts: { timeout?: number }): Promise<void>;
  remove(ref: string, opts: { force?: boolean }): Promise<void>;
  find(ref: string): Container | undefined;
}

/** What a sandbox does to the CRI containers in it (containers.ts). */
export interface PodContainers {
  stopAll(sandboxId: string): Promise<void>;
  removeAll(sandboxId: string): Promise<void>;
}

export interface SandboxDeps {
  store: CriStore;
  containers: SandboxContainers;
  pods: PodContainers;
  pauseImage(): Promise<Image>;
  cni: Cni;
  execRoot: string;
  log?: (msg: string) => void;
}

export const LABEL_TYPE = 'io.kubernetes.docker.type';
export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_SANDBOX_ID = 'io.kubernetes.sandbox.id';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';

/** Berth container names for CRI objects (dockershim's scheme): unique per metadata and attempt. */
export function criName(parts: string[]): string {
  return ['k8s', ...parts].map((p) => p.replace(/[^a-zA-Z0-9_.-]/g, '-')).join('_');
}

export class Sandboxes {
  constructor(private readonly d: SandboxDeps) {}

  /** A sandbox by id or unique prefix; NotFound otherwise. */
  get(id: string): SandboxRecord {
    const r = this.d.store.sandboxes.find(id);
    if (!r) throw notFound(`pod sandbox "${id}" not found`);
    return r;
  }

  /** The sandbox, ready (for the streaming server's port-forward). */
  readySandbox(id: string): string {
    const r = this.get(id);
    if (this.state(r) !== 'SANDBOX_READY') throw invalid(`pod sandbox ${r.id} is not ready`);
    return r.id;
  }

  state(r: SandboxRecord): SandboxRecord['state'] {
    if (r.state !== 'SANDBOX_READY') return 'SANDBOX_NOTREADY';
    const c = this.d.containers.find(r.id);
    return c?.State.Running ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY';
  }

  async run(config: PodSandboxConfig, runtimeHandler: string): Promise<string> {
    const md = config.metadata;
    if (!md || md.name === '' || md.namespace === '' || md.uid === '') throw invalid('sandbox config must include metadata with name, namespace and uid');
    const sc = config.linux?.security_context ?? null;
    const ns = sc?.namespace_options ?? null;
    const hostNetwork = ns?.network === 'NODE';
    const pidMode = ns?.pid === 'NODE' ? 'NODE' : ns?.pid === 'POD' ? 'POD' : 'CONTAINER';
    const ipcMode = ns?.ipc === 'NODE' ? 'NODE' : 'POD';
    await this.d.pauseImage();
    const dns = config.dns_config;
    const host: Partial<HostConfig> = {
      NetworkMode: hostNetwork ? 'host' : 'none',
      IpcMode: ipcMode === 'NODE' ? 'host' : 'shareable',
      PidMode: pidMode === 'NODE' ? 'host' : '',
      Dns: dns?.servers ?? [],
      DnsSearch: dns?.searches ?? [],
      DnsOptions: dns?.options ?? [],
      CgroupParent: config.linux?.cgroup_parent ?? '',
      Privileged: sc?.privileged === true,
      ReadonlyRootfs: true,
      SecurityOpt: [...(await seccompOpts(sc?.seccomp, sc?.seccomp_profile_path)), 'no-new-privileges'],
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'none', Config: {} },
    };
    if (config.linux?.sysctls && Object.keys(config.linux.sysctls).length > 0) host.Sysctls = config.linux.sysctls;
    const labels: Record<string, string> = {
      ...config.labels,
      [LABEL_TYPE]: 'podsandbox',
      [LABEL_POD_NAME]: md.name,
      [LABEL_POD_NAMESPACE]: md.namespace,
      [LABEL_POD_UID]: md.uid,
    };
    const req: CreateRequest = {
      Config: { Image: PAUSE_IMAGE, Hostname: hostNetwork ? '' : config.hostname, Labels: labels, Env: [] },
      HostConfig: host,
    };
    const c = await this.d.containers.create(req, { name: criName(['POD', md.name, md.namespace, md.uid, String(md.attempt)]) });
    const portMappings: PortMapping[] = (config.port_mappings ?? [])
      .filter((p) => p.host_port > 0)
      .map((p) => ({
        hostPort: p.host_port,
        containerPort: p.container_port,
        protocol: p.protocol.toLowerCase(),
        ...(p.host_ip ? { hostIP: p.host_ip } : {}),
      }));
    const rec: SandboxRecord = {
      id: c.ID,
      metadata: { name: md.name, uid: md.uid, namespace: md.namespace, attempt: md.attempt },
      labels: config.labels ?? {},
      annotations: config.annotations ?? {},
      createdAt: nowNs(),
      state: 'SANDBOX_NOTREADY',
      ip: '',
      additionalIps: [],
      portMappings,
      hostNetwork,
      pidMode,
      ipcMode,
      logDirectory: config.log_directory,
      runtimeHandler,
      cgroupParent: config.linux?.cgroup_parent ?? '',
    };
    await this.d.store.sandboxes.save(rec);
    try {
      await this.d.containers.start(c.ID);
      if (!hostNetwork) await this.setupNetwork(rec);
      rec.state = 'SANDBOX_READY';
      await this.d.store.sandboxes.save(rec);
    } catch (err) {
      await this.teardown(rec).catch(() => undefined);
      await this.d.containers.remove(c.ID, { force: true }).catch(() => undefined);
      await this.d.store.sandboxes.delete(c.ID);
      throw err;
    }
    return c.ID;
  }

  private async setupNetwork(rec: SandboxRecord): Promise<void> {
    const net = await this.d.cni.network();
    if (!net) throw invalid('no CNI network configuration found: the pod network is not ready');
    const c = this.d.containers.find(rec.id);
    if (!c?.State.Running) throw invalid(`pod sandbox ${rec.id} infra process is not running`);
    const file = sandboxNetnsPath(this.d.execRoot, rec.id);
    await pinNetns(file, c.State.Pid);
    rec.netns = file;
    rec.network = net.file;
    await this.d.store.sandboxes.save(rec);
    await this.d.cni.loopback({ containerId: rec.id, netns: file }, 'ADD').catch((err: unknown) => this.d.log?.(`CNI loopback: ${messageOf(err)}`));
    const result = await this.d.cni.add(net, this.attachment(rec, file));
    rec.cniResult = result;
    const ips = podIp(result);
    rec.ip = ips.ip;
    rec.additionalIps = ips.additional;
  }

  private attachment(rec: SandboxRecord, netns: string): Parameters<Cni['add']>[1] {
    return {
      containerId: rec.id,
      netns,
      ifName: 'eth0',
      args: {
        K8S_POD_NAMESPACE: rec.metadata.namespace,
        K8S_POD_NAME: rec.metadata.name,
        K8S_POD_INFRA_CONTAINER_ID: rec.id,
        K8S_POD_UID: rec.metadata.uid,
      },
      portMappings: rec.portMappings,
    };
  }

  /** CNI DEL and the netns released; idempotent. */
  private async teardown(rec: SandboxRecord): Promise<void> {
    if (!rec.netns) return;
    const net = await this.d.cni.network();
    if (net && rec.cniResult) {
      try {
        await this.d.cni.del(net, this.attachment(rec, rec.netns), rec.cniResult);
      } catch (err) {
        this.d.log?.(`CNI DEL of ${rec.id}: ${messageOf(err)}`);
        throw err;
      }
    }
    await releaseNetns(rec.netns);
    delete rec.netns;
    delete rec.cniResult;
  }

  async stop(id: string): Promise<void> {
    const rec = this.d.store.sandboxes.find(id);
    if (!rec) return; // CRI: stopping a sandbox that is gone is no error
    await this.d.pods.stopAll(rec.id);
    await this.teardown(rec);
    await this.d.containers.stop(rec.id, { timeout: 2 }).catch((err: unknown) => {
      if (!isCategory(err, 'NotModified') && !isCategory(err, 'NotFound')) throw err;
    });
    rec.state = 'SANDBOX_NOTREADY';
    await this.d.store.sandboxes.save(rec);
  }

  async remove(id: string): Promise<void> {
    const rec = this.d.store.sandboxes.find(id);
    if (!rec) return;
    await this.d.pods.removeAll(rec.id);
    await this.teardown(rec).catch(() => undefined);
    if (rec.netns) await releaseNetns(rec.netns).catch(() => undefined);
    await this.d.containers.remove(rec.id, { force: true }).catch((err: unknown) => {
      if (!isCategory(err, 'NotFound')) throw err;
    });
    await this.d.store.sandboxes.delete(rec.id);
  }

  status(r: SandboxRecord): object {
    const nsOpts = {
      network: r.hostNetwork ? 'NODE' : 'POD',
      pid: r.pidMode,
      ipc: r.ipcMode,
      target_id: '',
    };
    return {
      id: r.id,
      metadata: r.metadata,
      state: this.state(r),
      created_at: r.createdAt,
      network: { ip: r.ip, additional_ips: r.additionalIps.map((ip) => ({ ip })) },
      linux: { namespaces: { options: nsOpts } },
      labels: r.labels,
      annotations: r.annotations,
      runtime_handler: r.runtimeHandler,
    };
  }

  summary(r: SandboxRecord): object {
    return {
      id: r.id,
      metadata: r.metadata,
      state: this.state(r),
      created_at: r.createdAt,
      labels: r.labels,
      annotations: r.annotations,
      runtime_handler: r.runtimeHandler,
    };
  }

  list(filter: { id?: string; state?: { state: string } | null; label_selector?: Record<string, string> } | null | undefined): SandboxRecord[] {
    return this.d.store.sandboxes
      .list()
      .filter((r) => !filter?.id || r.id.startsWith(filter.id))
      .filter((r) => !filter?.state || this.state(r) === filter.state.state)
      .filter((r) => matchesLabels(r.labels, filter?.label_selector))
      .sort((a, b) => (BigInt(a.createdAt) < BigInt(b.createdAt) ? -1 : 1));
  }

  handlers(): Record<string, UnaryHandler> {
    return {
      RunPodSandbox: async (req: { config: PodSandboxConfig | null; runtime_handler: string }) => {
        if (!req.config) throw invalid('sandbox config is required');
        return { pod_sandbox_id: await this.run(req.config, req.runtime_handler ?? '') };
      },
      StopPodSandbox: async (req: { pod_sandbox_id: string }) => {
        await this.stop(req.pod_sandbox_id);
        return {};
      },
      RemovePodSandbox: async (req: { pod_sandbox_id: string }) => {
        await this.remove(req.pod_sandbox_id);
        return {};
      },
      PodSandboxStatus: async (req: { pod_sandbox_id: string; verbose: boolean }) => {
        const r = this.get(req.pod_sandbox_id);
        const info: Record<string, string> = {};
        if (req.verbose) {
          const c = this.d.containers.find(r.id);
          info['info'] = JSON.stringify({
            pid: c?.State.Pid ?? 0,
            netns: r.netns ?? '',
            cniResult: r.cniResult ?? null,
            name: c?.Name ?? '',
            startedAt: isoToNs(c?.State.StartedAt ?? ''),
          });
        }
        return { status: this.status(r), info, containers_statuses: [], timestamp: nowNs() };
      },
      ListPodSandbox: async (req: { filter: Parameters<Sandboxes['list']>[0] }) => ({ items: this.list(req.filter).map((r) => this.summary(r)) }),
    };
  }
}

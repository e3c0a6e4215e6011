/**
 * CRI containers: Berth containers created in a sandbox's namespaces (`container:<sandbox>`
 * for network and IPC, and PID for pod-level sharing), labelled io.kubernetes.*, their log at
 * the CRI log_path (conmon writes CRI's log format there). Lifecycle, status and listing here;
 * ExecSync, logs reopening, resources and stats in podops.ts.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Container, HostConfig } from '../containers/types.js';
import type { CreateRequest } from '../containers/create.js';
import type { Image } from '../images/types.js';
import { invalid, isCategory, notFound } from '../lib/errors.js';
import { seccompOpts } from './security.js';
import {
  criName,
  LABEL_CONTAINER_NAME,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  LABEL_SANDBOX_ID,
  LABEL_TYPE,
  type PodContainers,
  type SandboxContainers,
  type Sandboxes,
} from './sandboxes.js';
import type { UnaryHandler } from './server.js';
import { isoToNs, nowNs, type ContainerRecord, type CriStore, type SandboxRecord } from './store.js';
import { matchesLabels, type ContainerConfig, type CriMount, type LinuxContainerResources } from './types.js';

export interface CriContainerDeps {
  store: CriStore;
  sandboxes: Sandboxes;
  containers: SandboxContainers & { saveRecord(c: Container): Promise<void>; get(ref: string): Container };
  findImage(ref: string): Image | undefined;
}

const PROPAGATION: Record<CriMount['propagation'], string> = {
  PROPAGATION_PRIVATE: 'rprivate',
  PROPAGATION_HOST_TO_CONTAINER: 'rslave',
  PROPAGATION_BIDIRECTIONAL: 'rshared',
};

/** CRI's resources in HostConfig's terms (create and UpdateContainerResources). */
export function hostResources(r: LinuxContainerResources | null | undefined): Partial<HostConfig> {
  if (!r) return {};
  const out: Partial<HostConfig> = {};
  const n = (v: string | undefined): number => Number(v ?? 0);
  if (n(r.cpu_period)) out.CpuPeriod = n(r.cpu_period);
  if (n(r.cpu_quota)) out.CpuQuota = n(r.cpu_quota);
  if (n(r.cpu_shares)) out.CpuShares = n(r.cpu_shares);
  if (n(r.memory_limit_in_bytes)) out.Memory = n(r.memory_limit_in_bytes);
  if (n(r.memory_swap_limit_in_bytes)) out.MemorySwap = n(r.memory_swap_limit_in_bytes);
  if (r.cpuset_cpus) out.CpusetCpus = r.cpuset_cpus;
  if (r.cpuset_mems) out.CpusetMems = r.cpuset_mems;
  return out;
}

const text = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v ?? ''));

export class CriContainers implements PodContainers {
  constructor(private readonly d: CriContainerDeps) {}

  get(id: string): ContainerRecord {
    const r = this.d.store.containers.find(id);
    if (!r) throw notFound(`container "${id}" not found`);
    return r;
  }

  /** The Berth record of a CRI container (NotFound when either is gone). */
  berth(r: ContainerRecord): Container {
    const c = this.d.containers.find(r.id);
    if (!c) throw notFound(`container "${r.id}" not found`);
    return c;
  }

  runningContainer(id: string): string {
    const r = this.get(id);
    if (!this.d.containers.find(r.id)?.State.Running) throw invalid(`container ${r.id} is not running`);
    return r.id;
  }

  async create(sandboxId: string, cfg: ContainerConfig): Promise<string> {
    const sb = this.d.sandboxes.get(sandboxId);
    const md = cfg.metadata;
    if (!md || md.name === '') throw invalid('container config must include metadata with a name');
    const imageName = cfg.image?.image ?? '';
    const image = imageName ? this.d.findImage(imageName) : undefined;
    if (!image) throw notFound(`image "${imageName}" not found`);
    const req = await this.request(sb, cfg, image);
    const c = await this.d.containers.create(req, {
      name: criName([md.name, sb.metadata.name, sb.metadata.namespace, sb.metadata.uid, String(md.attempt)]),
    });
    const logPath = sb.logDirectory && cfg.log_path ? path.join(sb.logDirectory, cfg.log_path) : '';
    try {
      if (logPath) {
        await fs.mkdir(path.dirname(logPath), { recursive: true });
        c.LogPath = logPath;
        await this.d.containers.saveRecord(c);
      }
      await this.d.store.containers.save({
        id: c.ID,
        sandboxId: sb.id,
        metadata: { name: md.name, attempt: md.attempt },
        labels: cfg.labels ?? {},
        annotations: cfg.annotations ?? {},
        createdAt: nowNs(),
        image: imageName,
        imageRef: image.id,
        logPath,
        mounts: (cfg.mounts ?? []).map((m) => ({
          container_path: m.container_path,
          host_path: m.host_path,
          readonly: m.readonly,
          selinux_relabel: m.selinux_relabel,
          propagation: m.propagation,
        })),
      });
    } catch (err) {
      await this.d.containers.remove(c.ID, { force: true }).catch(() => undefined);
      throw err;
    }
    return c.ID;
  }

  private async request(sb: SandboxRecord, cfg: ContainerConfig, image: Image): Promise<CreateRequest> {
    const sc = cfg.linux?.security_context ?? null;
    const ns = sc?.namespace_options ?? null;
    const pidMode =
      ns?.pid === 'NODE' ? 'host' : ns?.pid === 'POD' ? `container:${sb.id}` : ns?.pid === 'TARGET' && ns.target_id ? `container:${ns.target_id}` : '';
    let user: string | undefined;
    if (sc?.run_as_user) user = sc.run_as_user.value;
    else if (sc?.run_as_username) user = sc.run_as_username;
    if (sc?.run_as_group) {
      // As containerd: a group alone would pair with whatever user the image names.
      if (user === undefined) throw invalid(`user group "${sc.run_as_group.value}" is specified without user`);
      user = `${user}:${sc.run_as_group.value}`;
    }
    const securityOpt = [...(await seccompOpts(sc?.seccomp, sc?.seccomp_profile_path))];
    if (sc?.no_new_privs) securityOpt.push('no-new-privileges');
    const binds = (cfg.mounts ?? []).map((m) => {
      if (!m.host_path || !m.container_path) throw invalid('a mount needs host_path and container_path');
      return `${m.host_path}:${m.container_path}:${m.readonly ? 'ro' : 'rw'},${PROPAGATION[m.propagation] ?? 'rprivate'}`;
    });
    const host: Partial<HostConfig> = {
      NetworkMode: `container:${sb.id}`,
      IpcMode: sb.ipcMode === 'NODE' ? 'host' : `container:${sb.id}`,
      PidMode: pidMode,
      UTSMode: sb.hostNetwork ? 'host' : '',
      CgroupParent: sb.cgroupParent,
      Binds: binds,
      Privileged: sc?.privileged === true,
      CapAdd: sc?.capabilities?.add_capabilities ?? [],
      CapDrop: sc?.capabilities?.drop_capabilities ?? [],
      ReadonlyRootfs: sc?.readonly_rootfs === true,
      GroupAdd: (sc?.supplemental_groups ?? []).map(String),
      SecurityOpt: securityOpt,
      MaskedPaths: sc?.masked_paths?.length ? sc.masked_paths : null,
      ReadonlyPaths: sc?.readonly_paths?.length ? sc.readonly_paths : null,
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'json-file', Config: {} },
      Devices: (cfg.devices ?? []).map((d) => ({ PathOnHost: d.host_path, PathInContainer: d.container_path, CgroupPermissions: d.permissions || 'rwm' })),
      ...hostResources(cfg.linux?.resources),
    };
    const oom = Number(cfg.linux?.resources?.oom_score_adj ?? 0);
    if (oom) host.OomScoreAdj = oom;
    const labels: Record<string, string> = {
      ...cfg.labels,
      [LABEL_TYPE]: 'container',
      [LABEL_CONTAINER_NAME]: cfg.metadata?.name ?? '',
      [LABEL_SANDBOX_ID]: sb.id,
      [LABEL_POD_NAME]: sb.metadata.name,
      [LABEL_POD_NAMESPACE]: sb.metadata.namespace,
      [LABEL_POD_UID]: sb.metadata.uid,
    };
    const config: CreateRequest['Config'] = {
      Image: image.id,
      Labels: labels,
      Env: (cfg.envs ?? []).map((e) => `${e.key}=${text(e.value)}`),
      Tty: cfg.tty === true,
      OpenStdin: cfg.stdin === true,
      StdinOnce: cfg.stdin_once === true,
      AttachStdin: cfg.stdin === true,
    };
    if (cfg.command?.length) config.Entrypoint = cfg.command;
    if (cfg.args?.length) config.Cmd = cfg.args;
    if (cfg.working_dir) config.WorkingDir = cfg.working_dir;
    if (user !== undefined) config.User = user;
    return { Config: config, HostConfig: host };
  }

  async start(id: string): Promise<void> {
    const r = this.get(id);
    const sb = this.d.sandboxes.get(r.sandboxId);
    if (this.d.sandboxes.state(sb) !== 'SANDBOX_READY') throw invalid(`pod sandbox ${sb.id} is not ready`);
    const c = this.berth(r);
    if (c.State.Running || c.HasBeenStartedBefore) throw invalid(`container ${r.id} is not in created state`);
    await this.d.containers.start(r.id);
  }

  async stop(id: string, timeout: number): Promise<void> {
    const r = this.d.store.containers.find(id);
    if (!r) throw notFound(`container "${id}" not found`);
    await this.d.containers.stop(r.id, { timeout }).catch((err: unknown) => {
      if (!isCategory(err, 'NotModified') && !isCategory(err, 'NotFound')) throw err;
    });
  }

  async remove(id: string): Promise<void> {
    const r = this.d.store.containers.find(id);
    if (!r) return;
    await this.d.containers.remove(r.id, { force: true }).catch((err: unknown) => {
      if (!isCategory(err, 'NotFound')) throw err;
    });
    await this.d.store.containers.delete(r.id);
  }

  async stopAll(sandboxId: string): Promise<void> {
    for (const r of this.d.store.containers.list().filter((x) => x.sandboxId === sandboxId)) await this.stop(r.id, 0);
  }

  async removeAll(sandboxId: string): Promise<void> {
    for (const r of this.d.store.containers.list().filter((x) => x.sandboxId === sandboxId)) await this.remove(r.id);
  }

  state(c: Container | undefined): 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN' {
    if (!c) return 'CONTAINER_UNKNOWN';
    if (c.State.Running || c.State.Restarting) return 'CONTAINER_RUNNING';
    if (c.State.Status === 'created' && !c.HasBeenStartedBefore) return 'CONTAINER_CREATED';
    return 'CONTAINER_EXITED';
  }

  summary(r: ContainerRecord): object {
    const c = this.d.containers.find(r.id);
    return {
      id: r.id,
      pod_sandbox_id: r.sandboxId,
      metadata: r.metadata,
      image: { image: r.image, annotations: {} },
      image_ref: r.imageRef,
      image_id: r.imageRef,
      state: this.state(c),
      created_at: r.createdAt,
      labels: r.labels,
      annotations: r.annotations,
    };
  }

  status(r: ContainerRecord): object {
    const c = this.d.containers.find(r.id);
    const state = this.state(c);
    let reason = '';
    if (state === 'CONTAINER_EXITED' && c) reason = c.State.OOMKilled ? 'OOMKilled' : c.State.ExitCode === 0 ? 'Completed' : 'Error';
    const started = c?.HasBeenStartedBefore || c?.State.Running;
    return {
      id: r.id,
      metadata: r.metadata,
      state,
      created_at: r.createdAt,
      started_at: started ? isoToNs(c?.State.StartedAt ?? '') : '0',
      finished_at: state === 'CONTAINER_EXITED' ? isoToNs(c?.State.FinishedAt ?? '') : '0',
      exit_code: state === 'CONTAINER_EXITED' ? (c?.State.ExitCode ?? 0) : 0,
      image: { image: r.image, annotations: {} },
      image_ref: r.imageRef,
      image_id: r.imageRef,
      reason,
      message: c?.State.Error ?? '',
      labels: r.labels,
      annotations: r.annotations,
      mounts: r.mounts,
      log_path: r.logPath,
    };
  }

  list(
    filter: { id?: string; state?: { state: string } | null; pod_sandbox_id?: string; label_selector?: Record<string, string> } | null | undefined,
  ): ContainerRecord[] {
    return this.d.store.containers
      .list()
      .filter((r) => !filter?.id || r.id.startsWith(filter.id))
      .filter((r) => !filter?.pod_sandbox_id || r.sandboxId.startsWith(filter.pod_sandbox_id))
      .filter((r) => !filter?.state || this.state(this.d.containers.find(r.id)) === filter.state.state)
      .filter((r) => matchesLabels(r.labels, filter?.label_selector))
      .sort((a, b) => (BigInt(a.createdAt) < BigInt(b.createdAt) ? -1 : 1));
  }

  handlers(): Record<string, UnaryHandler> {
    return {
      CreateContainer: async (req: { pod_sandbox_id: string; config: ContainerConfig | null }) => {
        if (!req.config) throw invalid('container config is required');
        return { container_id: await this.create(req.pod_sandbox_id, req.config) };
      },
      StartContainer: async (req: { container_id: string }) => {
        await this.start(req.container_id);
        return {};
      },
      StopContainer: async (req: { container_id: string; timeout: string }) => {
        await this.stop(req.container_id, Number(req.timeout ?? 0));
        return {};
      },
      RemoveContainer: async (req: { container_id: string }) => {
        await this.remove(req.container_id);
        return {};
      },
      ContainerStatus: async (req: { container_id: string; verbose: boolean }) => {
        const r = this.get(req.container_id);
        const info: Record<string, string> = {};
        if (req.verbose) {
          const c = this.d.containers.find(r.id);
          info['info'] = JSON.stringify({ pid: c?.State.Pid ?? 0, sandboxID: r.sandboxId, name: c?.Name ?? '', config: c?.Config ?? null });
        }
        return { status: this.status(r), info };
      },
      ListContainers: async (req: { filter: Parameters<CriContainers['list']>[0] }) => ({ containers: this.list(req.filter).map((r) => this.summary(r)) }),
    };
  }
}

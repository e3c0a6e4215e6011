/**
 * The RPCs on running CRI containers and sandboxes besides their life cycle: ExecSync (Berth's
 * exec service), ReopenContainerLog (conmon's control FIFO), UpdateContainerResources
 * (ContainerService.update: record and cgroup), and the stats RPCs from containers/stats.ts's
 * cgroup samples.
 */
import { existsSync } from 'node:fs';
import type { Container, HostConfig } from '../containers/types.js';
import type { StatsDoc } from '../containers/stats.js';
import { invalid, system, timeout } from '../lib/errors.js';
import { hostResources, type CriContainers } from './containers.js';
import type { Sandboxes } from './sandboxes.js';
import type { UnaryHandler } from './server.js';
import { nowNs, type ContainerRecord, type CriStore, type SandboxRecord } from './store.js';
import { matchesLabels, type LinuxContainerResources } from './types.js';

export interface PodOpsDeps {
  store: CriStore;
  sandboxes: Sandboxes;
  containers: CriContainers;
  find(id: string): Container | undefined;
  execSync(id: string, cmd: string[], o: { timeoutMs: number }): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer; timedOut: boolean }>;
  update(id: string, body: Partial<HostConfig>): Promise<unknown>;
  /** The container's monitor reopens its log file. */
  reopenLog(c: Container): Promise<void>;
  stats(c: Container): StatsDoc;
  /** The image file system's mount point (writable layers live there too). */
  fsMountpoint: string;
}

export function podOpHandlers(d: PodOpsDeps): Record<string, UnaryHandler> {
  const attributes = (r: ContainerRecord): object => ({ id: r.id, metadata: r.metadata, labels: r.labels, annotations: r.annotations });
  const containerStats = (r: ContainerRecord): object => {
    const c = d.find(r.id);
    const ts = nowNs();
    const doc = c?.State.Running ? d.stats(c) : undefined;
    const usage = doc?.memory_stats.usage ?? 0;
    const inactive = doc?.memory_stats.stats?.['total_inactive_file'] ?? doc?.memory_stats.stats?.['inactive_file'] ?? 0;
    const rss = doc?.memory_stats.stats?.['total_rss'] ?? doc?.memory_stats.stats?.['rss'] ?? doc?.memory_stats.stats?.['anon'] ?? 0;
    return {
      attributes: attributes(r),
      cpu: { timestamp: ts, usage_core_nano_seconds: { value: String(doc?.cpu_stats.cpu_usage.total_usage ?? 0) } },
      memory: {
        timestamp: ts,
        working_set_bytes: { value: String(Math.max(0, usage - inactive)) },
        usage_bytes: { value: String(usage) },
        rss_bytes: { value: String(rss) },
      },
      writable_layer: { timestamp: ts, fs_id: { mountpoint: d.fsMountpoint }, used_bytes: { value: '0' }, inodes_used: { value: '0' } },
    };
  };
  const sandboxStats = (sb: SandboxRecord): object => {
    const ts = nowNs();
    const members = d.store.containers.list().filter((r) => r.sandboxId === sb.id);
    const stats = members.map(containerStats) as Array<{
      cpu: { usage_core_nano_seconds: { value: string } };
      memory: { working_set_bytes: { value: string } };
    }>;
    const sum = (f: (s: (typeof stats)[number]) => string): string => String(stats.reduce((a, s) => a + Number(f(s)), 0));
    const infra = d.find(sb.id);
    const net = infra?.State.Running ? d.stats(infra).networks : undefined;
    const ifaces = Object.entries(net ?? {}).map(([name, n]) => ({
      name,
      rx_bytes: { value: String(n.rx_bytes) },
      rx_errors: { value: String(n.rx_errors) },
      tx_bytes: { value: String(n.tx_bytes) },
      tx_errors: { value: String(n.tx_errors) },
    }));
    return {
      attributes: { id: sb.id, metadata: sb.metadata, labels: sb.labels, annotations: sb.annotations },
      linux: {
        cpu: { timestamp: ts, usage_core_nano_seconds: { value: sum((s) => s.cpu.usage_core_nano_seconds.value) } },
        memory: { timestamp: ts, working_set_bytes: { value: sum((s) => s.memory.working_set_bytes.value) } },
        network: { timestamp: ts, default_interface: ifaces.find((i) => i.name === 'eth0') ?? null, interfaces: ifaces },
        process: { timestamp: ts, process_count: { value: String(members.filter((r) => d.find(r.id)?.State.Running).length) } },
        containers: stats,
      },
    };
  };
  return {
    ExecSync: async (req: { container_id: string; cmd: string[]; timeout: string }) => {
      const id = d.containers.runningContainer(req.container_id);
      if (!req.cmd?.length) throw invalid('no command given');
      const timeoutMs = Number(req.timeout ?? 0) * 1000;
      const r = await d.execSync(id, req.cmd, { timeoutMs });
      if (r.timedOut) throw timeout(`command ${JSON.stringify(req.cmd)} timed out after ${req.timeout}s`);
      return { stdout: r.stdout, stderr: r.stderr, exit_code: r.exitCode };
    },
    ReopenContainerLog: async (req: { container_id: string }) => {
      const id = d.containers.runningContainer(req.container_id);
      const c = d.find(id);
      if (!c?.MonitorPid) throw invalid(`container ${id} has no log monitor`);
      await d.reopenLog(c);
      // conmon reopens asynchronously; the kubelet expects the new file once the call returns.
      const logPath = d.containers.get(id).logPath || c.LogPath;
      const deadline = Date.now() + 3000;
      while (!existsSync(logPath)) {
        if (Date.now() > deadline) throw system(`the log monitor of ${id} did not reopen ${logPath}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return {};
    },
    UpdateContainerResources: async (req: { container_id: string; linux: LinuxContainerResources | null }) => {
      const r = d.containers.get(req.container_id);
      const body = hostResources(req.linux);
      if (Object.keys(body).length > 0) await d.update(r.id, body);
      return {};
    },
    ContainerStats: async (req: { container_id: string }) => ({ stats: containerStats(d.containers.get(req.container_id)) }),
    ListContainerStats: async (req: { filter: { id: string; pod_sandbox_id: string; label_selector: Record<string, string> } | null }) => {
      const f = req.filter;
      const list = d.store.containers
        .list()
        .filter((r) => !f?.id || r.id.startsWith(f.id))
        .filter((r) => !f?.pod_sandbox_id || r.sandboxId.startsWith(f.pod_sandbox_id))
        .filter((r) => matchesLabels(r.labels, f?.label_selector))
        .filter((r) => d.find(r.id)?.State.Running);
      return { stats: list.map(containerStats) };
    },
    PodSandboxStats: async (req: { pod_sandbox_id: string }) => ({ stats: sandboxStats(d.sandboxes.get(req.pod_sandbox_id)) }),
    ListPodSandboxStats: async (req: { filter: { id: string; label_selector: Record<string, string> } | null }) => {
      const f = req.filter;
      const list = d.store.sandboxes
        .list()
        .filter((r) => !f?.id || r.id.startsWith(f.id))
        .filter((r) => matchesLabels(r.labels, f?.label_selector))
        .filter((r) => d.sandboxes.state(r) === 'SANDBOX_READY');
      return { stats: list.map(sandboxStats) };
    },
  };
}

/** The runtime-wide RPCs: Status (runtime and network readiness), RuntimeConfig, UpdateRuntimeConfig. */
import type { UnaryHandler } from './server.js';
import type { NetworkList } from './cni.js';

export interface StatusDeps {
  network(): Promise<NetworkList | undefined>;
  cniConfDir: string;
  cniBinDir: string;
  criSocket: string;
}

export function statusHandlers(d: StatusDeps): Record<string, UnaryHandler> {
  let podCidr = '';
  return {
    Status: async (req: { verbose?: boolean }) => {
      const net = await d.network();
      const conditions = [
        { type: 'RuntimeReady', status: true, reason: '', message: '' },
        net
          ? { type: 'NetworkReady', status: true, reason: '', message: '' }
          : {
              type: 'NetworkReady',
              status: false,
              reason: 'NetworkPluginNotReady',
              message: `Network plugin returns error: no CNI network configuration in ${d.cniConfDir}`,
            },
      ];
      const info: Record<string, string> = {};
      if (req.verbose) {
        info['config'] = JSON.stringify({
          criSocket: d.criSocket,
          cni: { confDir: d.cniConfDir, binDir: d.cniBinDir, network: net?.name ?? '', file: net?.file ?? '' },
          cgroupDriver: 'cgroupfs',
          podCidr,
        });
        if (net) info['cniconfig'] = JSON.stringify(net);
      }
      return { status: { conditions }, info };
    },
    RuntimeConfig: async () => ({ linux: { cgroup_driver: 'CGROUPFS' } }),
    UpdateRuntimeConfig: async (req: { runtime_config?: { network_config?: { pod_cidr?: string } | null } | null }) => {
      podCidr = req.runtime_config?.network_config?.pod_cidr ?? podCidr;
      return {};
    },
  };
}

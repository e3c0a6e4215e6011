/**
 * The network/UTS mode conflicts dockerd refuses at create (its runconfig validateNetMode and
 * validateNetContainerMode), checked on the request as sent, before the image's defaults are
 * merged (an image's EXPOSE never conflicts). Messages and status (400) are dockerd 20.10's.
 * Pure.
 */
import { invalid } from '../lib/errors.js';

export interface NetModeRequest {
  Hostname?: unknown;
  MacAddress?: unknown;
  ExposedPorts?: unknown;
}

export interface NetModeHostConfig {
  NetworkMode?: string | undefined;
  UTSMode?: string | undefined;
  Links?: string[] | null | undefined;
  Dns?: string[] | null | undefined;
  ExtraHosts?: string[] | null | undefined;
  PortBindings?: Record<string, unknown> | null | undefined;
  PublishAllPorts?: boolean | undefined;
}

const nonEmpty = (v: unknown): boolean => (Array.isArray(v) ? v.length > 0 : v !== null && typeof v === 'object' ? Object.keys(v).length > 0 : false);

/**
 * `endpointMac`: the MAC address the request sets on its primary network's endpoint (API 1.44+
 * clients send `--mac-address` there instead of in Config).
 */
export function validateNetMode(cfg: NetModeRequest, hc: NetModeHostConfig, endpointMac?: string): void {
  const mode = hc.NetworkMode ?? '';
  const isContainer = mode.startsWith('container:') || mode === 'container';
  const isHost = mode === 'host';
  if (isContainer && mode.slice('container:'.length) === '') {
    throw invalid('Invalid network mode: invalid container format container:<name|id>');
  }
  const hostname = typeof cfg.Hostname === 'string' ? cfg.Hostname : '';
  const mac = (typeof cfg.MacAddress === 'string' ? cfg.MacAddress : '') || (endpointMac ?? '');
  if (isContainer) {
    if (hostname !== '') throw invalid('conflicting options: hostname and the network mode');
    if (nonEmpty(hc.Links)) throw invalid("conflicting options: container type network can't be used with links. This would result in undefined behavior");
    if (nonEmpty(hc.Dns)) throw invalid('conflicting options: dns and the network mode');
    if (nonEmpty(hc.ExtraHosts)) throw invalid('conflicting options: custom host-to-IP mapping and the network mode');
  }
  if ((isContainer || isHost) && mac !== '') throw invalid('conflicting options: mac-address and the network mode');
  if (isContainer) {
    if (nonEmpty(hc.PortBindings) || hc.PublishAllPorts === true) throw invalid('conflicting options: port publishing and the container type network mode');
    if (nonEmpty(cfg.ExposedPorts)) throw invalid('conflicting options: port exposing and the container type network mode');
  }
  if (hc.UTSMode === 'host' && hostname !== '') throw invalid('conflicting options: hostname and the UTS mode');
  if (isHost && nonEmpty(hc.Links))
    throw invalid("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
}

/**
 * What the container life cycle needs from networking (implemented by network/service.ts):
 * validate and record membership at create, addresses before start, interfaces between
 * `runc create` and release, everything released after exit, and the /etc files' contents.
 */
import type { Container } from './types.js';

export type EndpointsConfig = Record<
  string,
  { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null; MacAddress?: string } | null
>;

export interface ContainerNetworking {
  validateCreate(
    mode: string,
    endpoints: EndpointsConfig | undefined,
    ports?: { bindings: Record<string, unknown> | null | undefined; exposed: Record<string, unknown> | undefined },
  ): void;
  created(c: Container, endpoints: EndpointsConfig | undefined): Promise<void>;
  prepare(c: Container): Promise<void>;
  attach(c: Container, pid: number): Promise<void>;
  release(c: Container): Promise<void>;
  removed(c: Container): Promise<void>;
  etcInfo(c: Container): { hostsLines: string[]; hostGateway?: string; nameservers?: string[]; options?: string[] };
  /** create: `--link` targets exist (throws dockerd's error). */
  validateLinks(c: Container): void;
  /** Legacy links' environment variables (placed before the container's Env, as dockerd). */
  linkEnv(c: Container): string[];
}

/**
 * The read side of `docker ps`, `docker inspect` and `/system/df`'s container part: the records
 * filtered and projected (containers/view.ts), with their networks from the network service and
 * their sizes measured on the upper dirs.
 */
import * as path from 'node:path';
import type { ContainerInspect, ContainerSummary, NetworkSettings, Port } from '../engine-api/types.js';
import type { Image } from '../images/types.js';
import { filterContainers, inspectContainer, listEntry, sizeRw } from './view.js';
import type { Container } from './types.js';

/** The container life cycle as the queries read it (containers/service.ts's ContainerService). */
export interface QueryContainers {
  list(): Container[];
  /** A container by reference; throws NotFound. */
  get(ref: string): Container;
  /** Legacy link names (`/parent/alias`) by container ID. */
  linkNames(): Map<string, string[]>;
  layersOf(c: Container): { upper: string; lowers: string[] };
  imageOf(c: Container): Image | undefined;
}

/** Network views of a container (network/service.ts's NetworkService). */
export interface QueryNetworks {
  settings(c: Container): NetworkSettings;
  listPorts(c: Container): Port[];
  /** Names and IDs of the container's networks (the `network` filter). */
  networkRefsOf(c: Container): string[];
}

export interface ContainerQueryDeps {
  containers: QueryContainers;
  /** Images by reference (the `ancestor` filter). */
  images: { find(ref: string): Image | undefined };
  network: QueryNetworks;
}

export interface ListQuery {
  all: boolean;
  /** -1: no limit. */
  limit: number;
  filters: Map<string, string[]>;
  /** SizeRw and SizeRootFs in each entry. */
  size: boolean;
}

export class ContainerQueries {
  constructor(private readonly d: ContainerQueryDeps) {}

  /** `GET /containers/json`: filtered, newest first, with Ports, Networks and link names. */
  async list(q: ListQuery): Promise<ContainerSummary[]> {
    const svc = this.d.containers;
    const net = this.d.network;
    const list = filterContainers(svc.list(), {
      all: q.all,
      limit: q.limit,
      filters: q.filters,
      find: (ref) => {
        try {
          return svc.get(ref);
        } catch {
          return undefined;
        }
      },
      images: this.d.images,
      networksOf: (c: Container) => net.networkRefsOf(c),
      portsOf: (c: Container) => net.listPorts(c),
    });
    const out: ContainerSummary[] = [];
    const links = svc.linkNames();
    for (const c of list) {
      const n = { settings: net.settings(c), ports: net.listPorts(c) };
      out.push(listEntry(c, c.Config.Image, q.size ? await this.sizesOf(c) : undefined, n, links.get(c.ID)));
    }
    return out;
  }

  /** `GET /containers/{id}/json`; throws NotFound. */
  async inspect(ref: string, o: { size: boolean }): Promise<ContainerInspect> {
    const c = this.d.containers.get(ref);
    const sizes = o.size ? await this.sizesOf(c) : undefined;
    return inspectContainer(c, { graph: this.graphOf(c), ...(sizes ? { sizes } : {}), network: this.d.network.settings(c) });
  }

  /** `/system/df`'s Containers: every container's list entry with its sizes. */
  diskUsage(): Promise<ContainerSummary[]> {
    return Promise.all(this.d.containers.list().map(async (c) => listEntry(c, c.Config.Image, await this.sizesOf(c))));
  }

  /** The upper dir's bytes, and with the image's. */
  private async sizesOf(c: Container): Promise<{ rw: number; rootfs: number }> {
    const rw = await sizeRw(this.d.containers.layersOf(c).upper).catch(() => 0);
    return { rw, rootfs: rw + (this.d.containers.imageOf(c)?.size ?? 0) };
  }

  /** Inspect's GraphDriver directories. */
  private graphOf(c: Container): { lowers: string[]; upper: string; work: string; merged: string } {
    const l = this.d.containers.layersOf(c);
    return { ...l, work: path.join(path.dirname(l.upper), 'work'), merged: '' };
  }
}

/** A container's mount point as its record keeps it (dockerd's MountPoint in config.v2.json). */
export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  /** Volume name (volumes only). */
  Name?: string;
  /** Host path: the bind source or the volume's `_data`; '' for tmpfs. */
  Source: string;
  Destination: string;
  Driver?: string;
  /** The mode text as given (`ro`, `z`, …), shown by inspect. */
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** Seed an empty volume with the image's content at the destination (until done once). */
  CopyData?: boolean;
  /** `-v /host:/ctr` creates a missing host directory; `--mount` refuses it. */
  CreateSource?: boolean;
  /** `bind-nonrecursive`. */
  NonRecursive?: boolean;
  /** tmpfs mount data (`size=…,mode=…`). */
  TmpfsOptions?: string;
  /** A volume made for this container without a name: removed by `rm -v` and `--rm`. */
  Anonymous?: boolean;
}

/** inspect's and list's `Mounts` entries, from a container's mount points. */
export function mountsView(mps: Record<string, MountPoint> | undefined): Array<Record<string, unknown>> {
  return Object.values(mps ?? {})
    .sort((a, b) => a.Destination.localeCompare(b.Destination))
    .map((m) => {
      const v: Record<string, unknown> = { Type: m.Type };
      if (m.Type === 'volume') v.Name = m.Name;
      v.Source = m.Source;
      v.Destination = m.Destination;
      if (m.Type === 'volume') v.Driver = m.Driver ?? 'local';
      v.Mode = m.Mode;
      v.RW = m.RW;
      v.Propagation = m.Propagation;
      return v;
    });
}

/** `ps --filter volume=X`: a volume name, or a mount destination / source. */
export function usesVolume(mps: Record<string, MountPoint> | undefined, wanted: string): boolean {
  return Object.values(mps ?? {}).some((m) => m.Name === wanted || m.Destination === wanted || (m.Source !== '' && m.Source === wanted));
}

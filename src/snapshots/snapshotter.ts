/**
 * The snapshotter: every consumer of image layers as file systems (container root filesystems,
 * `diff`, the GraphDriver of inspect, `commit`, the builder's COPY/ADD roots and read-only stage
 * views) goes through this interface, after containerd's Snapshotter (prepare / view / commit /
 * remove / mounts). Nothing outside the implementation computes a layer's directory or mounts
 * overlayfs. The overlay implementation is `overlay.ts`; `snapshotter.test.ts` is the shared
 * conformance suite an implementation must pass.
 *
 * Unlike containerd's, an active snapshot is not recorded by the snapshotter: its caller keeps
 * where it lives ({@link ActiveSnapshot}: a container record knows its directory and image), so
 * a crash leaves nothing here to reconcile but mounts ({@link Snapshotter.unmountUnder}).
 */
import type { Lease } from '../content/leases.js';
import type { LayerInfo } from './layers.js';

/** A mount, described rather than done (containerd's mount.Mount). */
export interface MountSpec {
  type: string;
  source: string;
  target: string;
  /** The file system's options, e.g. `lowerdir=…`, `upperdir=…`, `workdir=…`, `volatile`. */
  options: string[];
}

/** A writable snapshot on top of an image's layers. */
export interface ActiveSnapshot {
  /** The layers beneath, as chain IDs bottom first (an image's `chainIds`). */
  parents: readonly string[];
  /** The directory that holds the snapshot's own files (its `upper/` and `work/`). */
  dir: string;
  /** Where it is mounted. */
  target: string;
  /**
   * Mount without write-back of fsync/syncfs (overlayfs `volatile`): for build-step containers,
   * whose upper dir either becomes a layer or is thrown away when the step fails (dpkg fsyncs
   * every file it unpacks). After a clean unmount the kernel's crash marker is removed, so the
   * snapshot can be mounted again.
   */
  volatile?: boolean;
}

/** The directories of an active snapshot (`diff`, inspect's GraphDriver.Data). */
export interface SnapshotDirs {
  /** Read-only layer directories, top-most first. */
  lowers: string[];
  upper: string;
  work: string;
  merged: string;
}

/** A read-only view of a chain of layers; `release` unmounts what was mounted for it. */
export interface SnapshotView {
  path: string;
  release(): Promise<void>;
}

export interface CommitOptions {
  /** Times later than this are written as this (reproducible builds). */
  clampMtime?: Date;
  /** More archive names to leave out (besides the runtime's mount points). */
  omit?: ReadonlySet<string>;
  /**
   * The upper dir is the caller's to give away (its container or scratch dir goes next): it
   * becomes the layer's directory by a rename instead of a second copy of every file.
   */
  adopt?: boolean;
  /** Holds the new layer and blob against garbage collection until an image references them. */
  lease?: Lease;
}

export interface Snapshotter {
  /** The read-only directories of a chain of layers (bottom first), top-most first. */
  lowers(parents: readonly string[]): string[];
  /** The directories of an active snapshot. */
  dirs(s: ActiveSnapshot): SnapshotDirs;
  /** The mount an active snapshot needs (what {@link acquire} mounts). */
  mounts(s: ActiveSnapshot): MountSpec;
  /** Creates an active snapshot's own directories (idempotent); returns its mount. */
  prepare(s: ActiveSnapshot): Promise<MountSpec>;
  /** Mounts `s` at its target under `key`, or takes another reference on that mount. */
  acquire(key: string, s: ActiveSnapshot): Promise<string>;
  /** Takes a reference on a mount an earlier daemon made (live restore). */
  adopt(key: string): void;
  /** Drops a reference; the last one unmounts `target`. A key without references unmounts too. */
  release(key: string, target: string): Promise<void>;
  /** Unmounts `target` whatever the references (removal, crash clean-up). */
  forceRelease(key: string, target: string): Promise<void>;
  /** The number of references `key` holds (0 for an unknown key). */
  refs(key: string): number;
  /**
   * A read-only view of a chain of layers at `target` (a directory the caller made and removes):
   * an empty chain is `target` itself, one layer its directory, more a read-only overlay.
   * NotFound for a layer the store does not hold.
   */
  view(parents: readonly string[], target: string): Promise<SnapshotView>;
  /**
   * An upper dir (an active snapshot's, or any directory in overlay form) → a new layer on top of
   * `parent` (a chain ID; NotFound when the store does not hold it): packed with `.wh.` whiteouts
   * into the content store, unpacked (or, with `adopt`, renamed) into the layer store.
   */
  commit(parent: string | undefined, upperDir: string, o?: CommitOptions): Promise<LayerInfo>;
  /** Unmounts and deletes an active snapshot's own files. */
  remove(key: string, s: ActiveSnapshot): Promise<void>;
  /** Unmounts every mount below these directories (what a crashed daemon left); deepest first. */
  unmountUnder(dirs: readonly string[]): Promise<void>;
}

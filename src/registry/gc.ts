/**
 * Garbage collection: marks every blob a stored manifest references (the manifest itself, its
 * config and layers; index children are manifests of their own), then removes the unmarked blobs
 * and the repository links to them. Run it while the registry takes no pushes (a blob uploaded
 * but not yet referenced by a manifest counts as garbage), as with the distribution registry.
 */
import { Storage } from './storage.js';

export interface GcResult {
  marked: number;
  removed: string[];
  bytesFreed: number;
}

export async function collectGarbage(root: string, o: { dryRun: boolean; log?: (line: string) => void }): Promise<GcResult> {
  const storage = new Storage(root);
  const log = o.log ?? (() => undefined);
  const marked = new Set<string>();
  for (const name of await storage.listRepositories()) {
    for (const digest of await storage.listRevisions(name)) {
      const rev = await storage.getRevision(name, digest);
      if (!rev) continue;
      marked.add(digest);
      log(`${name}: marking manifest ${digest}`);
      for (const ref of rev.refs ?? []) {
        if (!marked.has(ref)) log(`${name}: marking blob ${ref}`);
        marked.add(ref);
      }
    }
  }
  const removed: string[] = [];
  let bytesFreed = 0;
  for (const digest of await storage.listBlobs()) {
    if (marked.has(digest)) continue;
    const size = (await storage.blobSize(digest)) ?? 0;
    removed.push(digest);
    bytesFreed += size;
    log(`${o.dryRun ? 'would delete' : 'deleting'} blob ${digest} (${size} bytes)`);
    if (!o.dryRun) await storage.deleteBlobFile(digest);
  }
  if (!o.dryRun) {
    const gone = new Set(removed);
    for (const name of await storage.listRepositories()) {
      for (const digest of await storage.listLinkedBlobs(name)) if (gone.has(digest)) await storage.unlinkBlob(name, digest);
    }
  }
  return { marked: marked.size, removed, bytesFreed };
}

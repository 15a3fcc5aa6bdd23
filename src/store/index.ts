// The store's one door: the contract, its errors, and the backend the
// configuration chooses. Everything outside src/store/ imports from here.

import { FsStore } from "./fs/fs-store.js";
import type { PackageStore } from "./contract.js";

export type { PackageEntry, PackageReader, PackageStore, StagedUpload, StoreHealth } from "./contract.js";
export * from "./errors.js";
export { DownloadCounts } from "./download-counts.js";

export interface StoreOptions {
  storagePath: string;
  log: (message: string) => void;
  /**
   * Which repository's store: [] is the default repository, ["owner", "repo"]
   * another one. The caller checks the names (src/github/repo-names.ts); each
   * backend maps a namespace to its medium (the filesystem: a hidden
   * subdirectory `.repos/<owner>/<repo>/`, created when first opened).
   */
  namespace?: readonly string[];
  /** Clean up what a crash left behind (default); false in a WORKERS worker, whose siblings share the medium. */
  sweep?: boolean;
}

export function openStore({ storagePath, log, namespace = [], sweep = true }: StoreOptions): Promise<PackageStore> {
  return FsStore.open(FsStore.directoryFor(storagePath, namespace), { log, create: namespace.length > 0, sweep });
}

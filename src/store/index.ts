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
}

export function openStore({ storagePath, log }: StoreOptions): Promise<PackageStore> {
  return FsStore.open(storagePath, { log });
}

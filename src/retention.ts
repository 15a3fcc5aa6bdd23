import type { PackageEntry } from "./storage.js";

/**
 * Which packages retention deletes: everything past the newest `keep`.
 * `packages` is newest first; keep = 0 keeps everything.
 */
export function packagesToDelete(packages: readonly PackageEntry[], keep: number): PackageEntry[] {
  if (keep === 0) return [];
  return packages.slice(keep);
}

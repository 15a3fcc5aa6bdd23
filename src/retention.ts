// Which packages retention deletes after an upload. Pure.
//
// The oldest packages beyond `keep` go, except:
// - the newest version of every family that has versions (what /latest
//   serves), so a release of many packages is never left incomplete;
// - the package just uploaded (the newest), so an upload never deletes itself.
// Unversioned packages follow the plain count rule. When protected packages
// alone exceed `keep`, more than `keep` packages remain.

import { latestVersionedPackages } from "./releases.js";
import type { PackageEntry } from "./store/index.js";

/** `packages` is newest first (by upload); keep = 0 keeps everything. Returns oldest first. */
export function packagesToDelete(packages: readonly PackageEntry[], keep: number): PackageEntry[] {
  if (keep === 0 || packages.length <= keep) return [];
  const protectedNames = new Set(latestVersionedPackages(packages).map((p) => p.name));
  protectedNames.add(packages[0].name);
  let excess = packages.length - keep;
  const doomed: PackageEntry[] = [];
  for (let i = packages.length - 1; i >= 0 && excess > 0; i--) {
    if (protectedNames.has(packages[i].name)) continue;
    doomed.push(packages[i]);
    excess--;
  }
  return doomed;
}

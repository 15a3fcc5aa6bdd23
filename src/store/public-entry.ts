// What the rest of the server sees of a backend's index entry: its name,
// size, digest and time, without the backend's own fields (file identity,
// object key and ETag).

import type { PackageEntry } from "./contract.js";

const publicEntries = new WeakMap<PackageEntry, PackageEntry>();

/**
 * The same object for as long as the index entry stands, so what is derived
 * from it once (its asset id, its parsed name: src/releases.ts) is not
 * derived again for every package each time another one changes.
 */
export function publicEntry(indexed: PackageEntry): PackageEntry {
  let entry = publicEntries.get(indexed);
  if (!entry) {
    const { name, size, sha256, createdAt } = indexed;
    publicEntries.set(indexed, (entry = { name, size, sha256, createdAt }));
  }
  return entry;
}

// What the older API (/upload, PUT and DELETE /assets/{name}, retention) must
// respect of the releases made through the write API in the default
// repository: an immutable release's assets are neither replaced nor deleted,
// and retention never deletes (nor counts) a package a release claims.

import type { Deps } from "../context.js";
import { HttpError } from "../http.js";
import type { PackageEntry } from "../store/index.js";

/** 409 when `name` is an asset of an immutable release of the default repository. */
export async function refuseImmutableAsset(deps: Deps, name: string): Promise<void> {
  const doc = await deps.repositories.default.releases();
  const release = doc.releases.find((r) => r.immutable && r.assets.includes(name));
  if (release) throw new HttpError(409, `"${name}" is an asset of the immutable release ${release.tag_name}; it cannot be replaced or deleted`);
}

/** The packages retention may consider: those no release made through the write API claims. */
export async function retentionCandidates(deps: Deps, packages: readonly PackageEntry[]): Promise<PackageEntry[]> {
  const claimed = new Set((await deps.repositories.default.releases()).releases.flatMap((r) => r.assets));
  return packages.filter((p) => !claimed.has(p.name));
}

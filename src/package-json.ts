import type { PackageEntry } from "./store/index.js";

/** A package as the JSON API shows it (the older server's field names). */
export function packageJson(p: PackageEntry) {
  return { name: p.name, size: p.size, created_at: p.createdAt.toISOString(), sha256: p.sha256 };
}

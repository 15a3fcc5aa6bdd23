// A repository's releases: those made through the write API (their metadata
// in releases.json) and those derived from the names of packages no release
// claims (src/releases.ts), in one list. Pure.
//
// - A derived release whose version equals an explicit release's tag joins it
//   (`tool-v1.2.3.zip` uploaded through /upload is listed with release v1.2.3).
// - Drafts, and their assets, are seen only by a viewer with the token.
// - The latest view stays "the newest package of every family", computed
//   over the packages that may be latest: those no release claims, and those
//   of published releases that are not prereleases and not make_latest=false.
//   A release made latest explicitly (make_latest=true, as `gh release create
//   --latest` sends) wins its families and gives the view its tag, until a
//   later package or another release made latest supersedes it.

import { assetIndex, releaseLookup, releaseModel, stableId, type Release, type ReleaseModel } from "../releases.js";
import type { PackageEntry } from "../store/index.js";
import { compareVersions, parseName, parseVersion } from "../version.js";
import type { ReleaseRecord, ReleasesDocument } from "./release-records.js";

export interface RepositoryModel extends ReleaseModel {
  /** The release (explicit or derived) a package belongs to. */
  releaseOf(packageName: string): Release | undefined;
  /** Whether `r` is the release GitHub would call the latest one. */
  isLatest(r: Release): boolean;
  /** The explicit release with exactly this tag, drafts included whatever the viewer. */
  recordByTag(tag: string): ReleaseRecord | undefined;
}

const cache = new WeakMap<readonly PackageEntry[], WeakMap<ReleasesDocument, RepositoryModel[]>>();

export function repositoryModel(packages: readonly PackageEntry[], doc: ReleasesDocument, viewerSeesDrafts: boolean): RepositoryModel {
  let byDoc = cache.get(packages);
  if (!byDoc) cache.set(packages, (byDoc = new WeakMap()));
  let models = byDoc.get(doc);
  if (!models) byDoc.set(doc, (models = []));
  return (models[Number(viewerSeesDrafts)] ??= build(packages, doc, viewerSeesDrafts));
}

/** A fresh id for a new release: a positive integer below 2^48, like the derived ones. */
export function newReleaseId(repoKey: string, tag: string, now: Date): number {
  return stableId(`explicit\0${repoKey}\0${tag}\0${now.toISOString()}\0${Math.random()}`);
}

function build(packages: readonly PackageEntry[], doc: ReleasesDocument, viewerSeesDrafts: boolean): RepositoryModel {
  const byName = new Map(doc.releases.length > 0 ? packages.map((p) => [p.name, p]) : []);
  const claimed = new Set(doc.releases.flatMap((r) => r.assets));
  // Without explicit releases (the usual case) these lists are `packages` itself, so the models built for it are shared.
  const derived = releaseModel(claimed.size === 0 ? packages : packages.filter((p) => !claimed.has(p.name)));

  const explicit: Release[] = doc.releases
    .filter((r) => viewerSeesDrafts || !r.draft)
    .map((record) => {
      const version = parseVersion(record.tag_name);
      return {
        id: record.id,
        key: `id:${record.id}`,
        tag: record.tag_name,
        version,
        prerelease: record.prerelease,
        packages: record.assets.map((n) => byName.get(n)).filter((p): p is PackageEntry => p !== undefined),
        record,
      };
    });
  // Derived releases of the same version join the explicit one (done before anything reads an
  // explicit release's packages; without explicit releases, nothing to join and nothing grouped).
  const joined = new Set<Release>();
  for (const r of explicit) {
    const same = derived.releases.find((d) => (d.version && r.version ? d.version.text === r.version.text : d.tag === r.tag));
    if (same && !r.record!.draft) {
      r.packages = [...r.packages, ...same.packages];
      joined.add(same);
    }
  }

  // Each part below is worked out when first asked for (GET /latest after an upload asks for one).
  let releases: Release[] | undefined;
  let latest: Release | undefined;
  let owner: Map<string, Release> | undefined;
  const hidden = new Set(viewerSeesDrafts ? [] : doc.releases.filter((r) => r.draft).flatMap((r) => r.assets));
  const model: RepositoryModel = {
    get releases() {
      return (releases ??= [...explicit, ...derived.releases.filter((d) => !joined.has(d))].sort(order));
    },
    get latest() {
      return (latest ??= latestView(packages, doc, explicit));
    },
    release: releaseLookup(() => model),
    byTag(tag) {
      if (tag === "latest") return model.latest;
      const exact = model.releases.find((r) => r.record && r.tag === tag);
      if (exact) return exact;
      const version = parseVersion(tag);
      const explicitSame = version && model.releases.find((r) => r.record && r.version && compareVersions(r.version, version) === 0 && r.version.text === version.text);
      return explicitSame || model.releases.find((r) => !r.record && derived.byTag(tag) === r);
    },
    asset: assetIndex(hidden.size === 0 ? packages : packages.filter((p) => !hidden.has(p.name))),
    releaseOf(name) {
      if (!owner) {
        owner = new Map();
        for (const r of model.releases) for (const p of r.packages) owner.set(p.name, r);
      }
      return owner.get(name);
    },
    isLatest: (r) => model.latest.packages.length > 0 && r.tag === model.latest.tag && r.key !== model.latest.key,
    recordByTag: (tag) => doc.releases.find((r) => r.tag_name === tag),
  };
  return model;
}

/** The latest view, over the packages that may be latest; a release made latest explicitly gives it its tag. */
function latestView(packages: readonly PackageEntry[], doc: ReleasesDocument, explicit: Release[]): Release {
  const mayBeLatest = (r: ReleaseRecord) => !r.draft && !r.prerelease && r.make_latest !== "false";
  const excluded = new Set(doc.releases.filter((r) => !mayBeLatest(r)).flatMap((r) => r.assets));
  const eligible = excluded.size === 0 ? packages : packages.filter((p) => !excluded.has(p.name));
  const latest = releaseModel(eligible).latest;
  const pinned = pinnedRelease(explicit, eligible);
  if (!pinned) return latest;
  const families = new Set(pinned.packages.map((p) => parseName(p.name).family));
  return {
    ...latest,
    tag: pinned.tag,
    version: pinned.version,
    prerelease: false,
    packages: [...pinned.packages, ...latest.packages.filter((p) => !families.has(parseName(p.name).family))],
  };
}

/** The release most recently made latest explicitly, unless a package stored since then supersedes it. */
function pinnedRelease(explicit: Release[], eligible: readonly PackageEntry[]): Release | undefined {
  let pinned: Release | undefined;
  for (const r of explicit) {
    const rec = r.record!;
    if (rec.draft || rec.prerelease || rec.make_latest !== "true" || !rec.latest_at) continue;
    if (!pinned || rec.latest_at > pinned.record!.latest_at!) pinned = r;
  }
  if (!pinned) return undefined;
  const since = Date.parse(pinned.record!.latest_at!);
  const mine = new Set(pinned.packages.map((p) => p.name));
  const newer = eligible.some((p) => !mine.has(p.name) && p.createdAt.getTime() > since && parseName(p.name).version !== null);
  return newer ? undefined : pinned;
}

/** Highest version first; releases without a version after, newest first; the derived "unversioned" release last. */
function order(a: Release, b: Release): number {
  if (a.version && b.version) return compareVersions(b.version, a.version) || created(b) - created(a);
  if (a.version || b.version) return a.version ? -1 : 1;
  if (!a.record || !b.record) return a.record ? -1 : b.record ? 1 : 0;
  return created(b) - created(a);
}

function created(r: Release): number {
  return r.record ? Date.parse(r.record.created_at) : Math.min(...r.packages.map((p) => p.createdAt.getTime()));
}

// The release model: stored packages grouped into GitHub-style releases, and
// the GitHub-shaped JSON objects for them. Pure apart from hashing.
//
// - Packages whose names carry the same version form one release, tagged as
//   written in the names (`v0.0.90`). Releases are ordered by SemVer
//   precedence, newest first; packages without a version form one more
//   release, tagged `unversioned`, listed last.
// - The latest release is a view, not a tag: the newest package of every
//   family (for a family with versions, its highest stable version, or its
//   highest prerelease when it has no stable one). Its tag is the highest
//   stable version among those packages, else the highest prerelease, else
//   `latest`.
// - Ids are stable integers: the first 48 bits of SHA-256 over a fixed prefix
//   and the release key (the version without `v`, or `latest`/`unversioned`),
//   or over the asset's name and content digest. They survive restarts, need
//   no storage, and are positive and below 2^53 like GitHub's. An asset
//   re-uploaded with different bytes is a new asset with a new id, as on GitHub.

import { createHash } from "node:crypto";
import { contentTypeOf } from "./content-type.js";
import type { AssetRecord, ReleaseRecord } from "./github/release-records.js";
import type { PackageEntry } from "./store/index.js";
import { compareVersions, isPrerelease, parseName, type ParsedName, type Version } from "./version.js";

export const UNVERSIONED_TAG = "unversioned";
export const LATEST_TAG = "latest";

export interface Release {
  id: number;
  /** How this release is found: the version without `v`, or "latest" / "unversioned". */
  key: string;
  tag: string;
  version: Version | null;
  prerelease: boolean;
  packages: PackageEntry[];
  /** Set for a release made through the write API: its stored metadata. */
  record?: ReleaseRecord;
}

export interface ReleaseModel {
  /** Versioned releases, highest version first, then the unversioned release if any. */
  releases: Release[];
  /** The newest package of every family. */
  latest: Release;
  release(id: number): Release | undefined;
  /** The release with this tag: as written, or with/without its `v`; "latest" is the latest view. */
  byTag(tag: string): Release | undefined;
  asset(id: number): PackageEntry | undefined;
}

/** Positive integer below 2^48 from a string; stable across restarts and machines. */
export function stableId(text: string): number {
  const digest = createHash("sha256").update(text).digest();
  return digest.readUIntBE(0, 6) || 1;
}

// Entries are never changed in place, and the store keeps the same entry
// objects across index changes: what is derived from one entry alone is
// worked out once per entry, not once per model (10,000 packages: a SHA-256
// and a name parse each, on every upload).
const assetIds = new WeakMap<PackageEntry, number>();
const parsedEntries = new WeakMap<PackageEntry, Parsed>();

export function assetId(p: PackageEntry): number {
  let id = assetIds.get(p);
  if (id === undefined) assetIds.set(p, (id = stableId(`asset\0${p.name}\0${p.sha256}`)));
  return id;
}

function parsed(entry: PackageEntry): Parsed {
  let p = parsedEntries.get(entry);
  if (!p) parsedEntries.set(entry, (p = { ...parseName(entry.name), entry }));
  return p;
}

/** Id → package, for the packages given; built on the first lookup (most answers never look one up). */
export function assetIndex(packages: readonly PackageEntry[]): (id: number) => PackageEntry | undefined {
  let byId: Map<number, PackageEntry> | undefined;
  return (id) => (byId ??= new Map(packages.map((p) => [assetId(p), p]))).get(id);
}

function releaseId(key: string): number {
  return stableId(`release\0${key}`);
}

interface Parsed extends ParsedName {
  entry: PackageEntry;
}

const models = new WeakMap<readonly PackageEntry[], ReleaseModel>();

/** The model for a package list (newest first, as Storage.list() gives it); cached per list. */
export function releaseModel(packages: readonly PackageEntry[]): ReleaseModel {
  let model = models.get(packages);
  if (!model) {
    model = buildModel(packages);
    models.set(packages, model);
  }
  return model;
}

/**
 * Each part is worked out when first asked for: GET /latest, the most frequent question after an
 * upload, needs the latest view alone, not every release grouped and sorted.
 */
function buildModel(packages: readonly PackageEntry[]): ReleaseModel {
  let all: Parsed[] | undefined;
  let releases: Release[] | undefined;
  let latest: Release | undefined;
  const model: ReleaseModel = {
    get releases() {
      return (releases ??= groupReleases((all ??= packages.map(parsed))));
    },
    get latest() {
      return (latest ??= latestRelease((all ??= packages.map(parsed))));
    },
    release: releaseLookup(() => model),
    byTag(tag) {
      if (tag === LATEST_TAG) return model.latest;
      const key = tag === UNVERSIONED_TAG ? tag : tag.replace(/^v(?=\d)/, "");
      return model.releases.find((r) => r.key === key);
    },
    asset: assetIndex(packages),
  };
  return model;
}

/** Id → release (the latest view among them), for a model's releases; built on the first lookup. */
export function releaseLookup(of: () => Pick<ReleaseModel, "releases" | "latest">): (id: number) => Release | undefined {
  let byId: Map<number, Release> | undefined;
  return (id) => {
    if (!byId) {
      const { releases, latest } = of();
      byId = new Map(releases.map((r) => [r.id, r]));
      byId.set(latest.id, latest);
    }
    return byId.get(id);
  };
}

/** Versioned releases, highest version first, then the unversioned release if any. */
function groupReleases(all: Parsed[]): Release[] {
  const byVersion = new Map<string, Parsed[]>();
  const unversioned: Parsed[] = [];
  for (const p of all) {
    if (!p.version) unversioned.push(p);
    else {
      const members = byVersion.get(p.version.text);
      if (members) members.push(p);
      else byVersion.set(p.version.text, [p]);
    }
  }
  const releases: Release[] = [...byVersion.entries()].map(([key, members]) => {
    const version = members[0].version!;
    // Tagged as written; when names disagree about the `v`, the `v` form wins.
    const tag = members.some((m) => m.tag!.startsWith("v")) ? `v${key}` : key;
    return {
      id: releaseId(key),
      key,
      tag,
      version,
      prerelease: isPrerelease(version),
      packages: members.map((m) => m.entry).sort(byName),
    };
  });
  releases.sort((a, b) => compareVersions(b.version!, a.version!) || (a.key < b.key ? -1 : 1));
  if (unversioned.length > 0) {
    releases.push({
      id: releaseId(UNVERSIONED_TAG),
      key: UNVERSIONED_TAG,
      tag: UNVERSIONED_TAG,
      version: null,
      prerelease: false,
      packages: unversioned.map((p) => p.entry).sort(byName),
    });
  }
  return releases;
}

function latestRelease(parsed: Parsed[]): Release {
  const chosen = latestOfEachFamily(parsed);
  const versions = chosen.map((p) => p.version).filter((v): v is Version => v !== null);
  const stable = versions.filter((v) => !isPrerelease(v));
  const top = (stable.length ? stable : versions).sort((a, b) => compareVersions(b, a))[0];
  let tag = LATEST_TAG;
  if (top) tag = chosen.some((p) => p.version?.text === top.text && p.tag!.startsWith("v")) ? `v${top.text}` : top.text;
  return {
    id: releaseId(LATEST_TAG),
    key: LATEST_TAG,
    tag,
    version: top ?? null,
    prerelease: top ? isPrerelease(top) : false,
    packages: chosen.map((p) => p.entry),
  };
}

/**
 * The newest package of every family, in the order clients should find them:
 * versioned packages by version (highest first), then unversioned ones, newest
 * upload first. Within a family a stable version beats any prerelease, and of
 * equal versions the most recently uploaded wins.
 */
function latestOfEachFamily(parsed: Parsed[]): Parsed[] {
  const best = new Map<string, Parsed>();
  for (const p of parsed) {
    const current = best.get(p.family);
    if (!current || isBetter(p, current)) best.set(p.family, p);
  }
  return [...best.values()].sort(
    (a, b) =>
      (a.version && b.version ? compareVersions(b.version, a.version) : a.version ? -1 : b.version ? 1 : 0) ||
      b.entry.createdAt.getTime() - a.entry.createdAt.getTime() ||
      byName(a.entry, b.entry),
  );
}

function isBetter(p: Parsed, than: Parsed): boolean {
  if (!p.version || !than.version) return false; // unversioned names are families of one
  const stable = Number(!isPrerelease(p.version)) - Number(!isPrerelease(than.version));
  if (stable !== 0) return stable > 0;
  const order = compareVersions(p.version, than.version);
  if (order !== 0) return order > 0;
  return p.entry.createdAt.getTime() > than.entry.createdAt.getTime();
}

/** What /latest serves for families with versions: retention never deletes these. */
export function latestVersionedPackages(packages: readonly PackageEntry[]): PackageEntry[] {
  return latestOfEachFamily(packages.map(parsed))
    .filter((p) => p.version !== null)
    .map((p) => p.entry);
}

function byName(a: PackageEntry, b: PackageEntry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

// ---------------------------------------------------------------------------
// GitHub-shaped JSON

export interface UrlBases {
  /** Where clients reach us: https://releases.example.com */
  site: string;
  /** The API root the request came in on: the site, or the site plus /repos/o/r or /api/v3/repos/o/r. */
  api: string;
  /** Where release pages live: the site for the default repository, else the site plus /{owner}/{repo}. */
  web?: string;
  /** The upload root, GitHub Enterprise's layout: the site plus /api/uploads/repos/{owner}/{repo}; absent: the older /upload. */
  uploads?: string;
}

/** What the write API stored about assets, and where a repository's assets download from. */
export interface AssetExtras {
  meta(name: string): AssetRecord | undefined;
  downloadUrl(p: PackageEntry): string;
}

export type DownloadCount = (entry: PackageEntry) => number;

/** GitHub's timestamps have no fractional seconds. */
function githubTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function nodeId(prefix: string, id: number): string {
  return `${prefix}_${btoa(`${prefix}:${id}`).replace(/=+$/, "")}`;
}

export function assetJson(p: PackageEntry, urls: UrlBases, downloads: DownloadCount, extras?: AssetExtras) {
  const id = assetId(p);
  const meta = extras?.meta(p.name);
  return {
    url: `${urls.api}/releases/assets/${id}`,
    browser_download_url: extras ? extras.downloadUrl(p) : `${urls.site}/assets/${encodeURIComponent(p.name)}`,
    id,
    node_id: nodeId("RA", id),
    name: p.name,
    label: meta?.label ?? null,
    state: "uploaded" as const,
    content_type: meta?.content_type ?? contentTypeOf(p.name),
    size: p.size,
    digest: `sha256:${p.sha256}`,
    download_count: downloads(p),
    created_at: githubTime(p.createdAt),
    updated_at: githubTime(p.createdAt),
    uploader: null,
  };
}

export function releaseJson(r: Release, urls: UrlBases, downloads: DownloadCount, extras?: AssetExtras) {
  const times = r.packages.map((p) => p.createdAt.getTime());
  // A release is created with its first package and published with its last.
  const created = times.length ? new Date(Math.min(...times)) : new Date(0);
  const published = times.length ? new Date(Math.max(...times)) : new Date(0);
  const rec = r.record;
  return {
    url: `${urls.api}/releases/${r.id}`,
    // The latest view has its own page: its tag names a release that may hold fewer packages.
    html_url: `${urls.web ?? urls.site}/releases/tag/${encodeURIComponent(r.key === LATEST_TAG ? LATEST_TAG : r.tag)}`,
    assets_url: `${urls.api}/releases/${r.id}/assets`,
    upload_url: urls.uploads ? `${urls.uploads}/releases/${r.id}/assets{?name,label}` : `${urls.site}/upload{?name,label}`,
    tarball_url: null,
    zipball_url: null,
    id: r.id,
    node_id: nodeId("RE", r.id),
    tag_name: r.tag,
    target_commitish: rec ? rec.target_commitish : r.tag,
    name: rec ? rec.name : r.tag,
    body: rec ? rec.body : describe(r),
    draft: rec ? rec.draft : false,
    prerelease: r.prerelease,
    immutable: rec ? rec.immutable : false,
    created_at: rec ? githubTime(new Date(rec.created_at)) : githubTime(created),
    published_at: rec ? rec.published_at && githubTime(new Date(rec.published_at)) : githubTime(published),
    updated_at: rec ? githubTime(new Date(rec.updated_at)) : githubTime(published),
    author: null,
    assets: r.packages.map((p) => assetJson(p, urls, downloads, extras)),
  };
}

function describe(r: Release): string {
  const n = `${r.packages.length} package${r.packages.length === 1 ? "" : "s"}`;
  if (r.key === LATEST_TAG) return `The newest package of every family (${n}).`;
  if (r.key === UNVERSIONED_TAG) return `Packages whose names carry no version (${n}).`;
  return `Version ${r.version!.text} (${n}).`;
}

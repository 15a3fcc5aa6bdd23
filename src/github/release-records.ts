// Release metadata as stored: one document per repository, `releases.json`,
// holding the releases made through the write API and the labels and content
// types of assets. Packages stay in the store; a release names its assets by
// package name. Pure.

export const RELEASES_DOCUMENT = "releases.json";

export type MakeLatest = "true" | "false" | "legacy";

export interface ReleaseRecord {
  id: number;
  tag_name: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  target_commitish: string;
  make_latest: MakeLatest;
  /** Published while IMMUTABLE_RELEASES was on: its assets and tag can no longer change. */
  immutable: boolean;
  created_at: string;
  published_at: string | null;
  updated_at: string;
  /** When it was last made the latest release explicitly (make_latest "true"); null otherwise. */
  latest_at: string | null;
  /** Package names, in upload order. */
  assets: string[];
}

export interface AssetRecord {
  label: string | null;
  content_type: string | null;
  /** When uploaded through the GitHub upload route; absent for packages from elsewhere. */
  uploaded_at?: string;
}

export interface ReleasesDocument {
  version: 1;
  releases: ReleaseRecord[];
  /** Labels and content types, by package name. */
  assets: Record<string, AssetRecord>;
  /** Tags of deleted immutable releases: never used again, as on GitHub. */
  retired_tags: string[];
}

export function emptyReleases(): ReleasesDocument {
  return { version: 1, releases: [], assets: {}, retired_tags: [] };
}

/** The stored document, or an empty one; a document this version cannot read is an error, never silently emptied. */
export function parseReleasesDocument(text: string | null): ReleasesDocument {
  if (text === null) return emptyReleases();
  const doc = JSON.parse(text) as Partial<ReleasesDocument>;
  if (doc.version !== 1 || !Array.isArray(doc.releases)) throw new Error(`${RELEASES_DOCUMENT} has an unknown format (version ${String(doc.version)})`);
  return { version: 1, releases: doc.releases, assets: doc.assets ?? {}, retired_tags: doc.retired_tags ?? [] };
}

/** The release that holds a package, if any. */
export function releaseHolding(doc: ReleasesDocument, packageName: string): ReleaseRecord | undefined {
  return doc.releases.find((r) => r.assets.includes(packageName));
}

/**
 * Why `tag` cannot be a tag name, or null when it can: git's rules for a ref
 * name (`git check-ref-format`), at most 255 bytes, and no character that a
 * person could misread.
 */
export function tagProblem(tag: string): string | null {
  if (tag.length === 0) return "tag_name is empty";
  if (Buffer.byteLength(tag, "utf8") > 255) return "tag_name is longer than 255 bytes";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(tag)) return "tag_name may not contain spaces, control characters or any of ~ ^ : ? * [ \\";
  if (/\p{Bidi_Control}/u.test(tag) || !tag.isWellFormed()) return "tag_name may not contain bidirectional control characters or invalid Unicode";
  if (tag.includes("..") || tag.includes("@{") || tag === "@") return "tag_name may not contain .. or @{, or be @";
  if (/(^|\/)\./.test(tag) || /\.lock(\/|$)/.test(tag) || /\/\/|^\/|\/$|\.$/.test(tag)) {
    return "tag_name is not a valid git ref name (a part starts with a dot or ends with .lock, an empty part, or a trailing dot)";
  }
  return null;
}

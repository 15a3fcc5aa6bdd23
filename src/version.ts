// Versions come from package names: `<family>-v<semver>.<ext>` or
// `<family>-<semver>.<ext>` (or `_` instead of `-`). Pure functions only.
//
//   spec-kit-template-claude-sh-v0.0.90.zip  → family spec-kit-template-claude-sh, version 0.0.90, tag v0.0.90
//   tool_1.2.0-rc.1+build.5.tar.gz           → family tool, version 1.2.0-rc.1+build.5, tag 1.2.0-rc.1+build.5
//   notes.txt                                → family notes.txt, no version
//
// The extension is the last dot-segment that holds a letter (`.zip`, `.7z`),
// widened to `.tar.<x>` when it follows `.tar`, so `-rc.1.zip` reads as
// prerelease `rc.1`. Without such a segment the whole name is tried as
// `<family>-<semver>`. Version numbers follow SemVer 2.0.0 (no leading zeros in
// numeric parts); anything else makes the name unversioned: its own family.

export interface Version {
  major: number;
  minor: number;
  patch: number;
  /** Dot-separated prerelease identifiers; empty for a release version. */
  prerelease: string[];
  /** Build metadata identifiers; ignored for precedence. */
  build: string[];
  /** The version as written, without the `v`: "0.0.90", "1.2.0-rc.1+build.5". */
  text: string;
}

export interface ParsedName {
  name: string;
  /** Packages of one family are versions of the same thing; an unversioned name is its own family. */
  family: string;
  version: Version | null;
  /** The tag as written in the name ("v0.0.90" or "0.0.90"); null without a version. */
  tag: string | null;
  /** ".zip", ".tar.gz", or "" when there is none. */
  extension: string;
}

const NUM = "0|[1-9]\\d*";
const PRE_ID = `(?:${NUM}|\\d*[A-Za-z-][0-9A-Za-z-]*)`;
const BUILD_ID = "[0-9A-Za-z-]+";
const SEMVER = `(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?`;
// Greedy family: the version is the last one in the name.
const VERSIONED = new RegExp(`^(.+)[-_](v?)(${SEMVER})$`);
const SEMVER_ONLY = new RegExp(`^v?(${SEMVER})$`);

/** Splits a version string (with or without a leading `v`); null when it is not SemVer. */
export function parseVersion(text: string): Version | null {
  const m = SEMVER_ONLY.exec(text);
  return m ? toVersion(m.slice(1)) : null;
}

function toVersion([text, major, minor, patch, pre, build]: (string | undefined)[]): Version {
  return {
    major: Number(major),
    minor: Number(minor),
    patch: Number(patch),
    prerelease: pre ? pre.split(".") : [],
    build: build ? build.split(".") : [],
    text: text!,
  };
}

export function splitExtension(name: string): { stem: string; extension: string } {
  const m = /\.([0-9A-Za-z]*[A-Za-z][0-9A-Za-z]*)$/.exec(name);
  if (!m || m.index === 0) return { stem: name, extension: "" };
  let start = m.index;
  if (name.slice(0, start).toLowerCase().endsWith(".tar") && start > 4) start -= 4;
  return { stem: name.slice(0, start), extension: name.slice(start) };
}

export function parseName(name: string): ParsedName {
  const { stem, extension } = splitExtension(name);
  const m = VERSIONED.exec(stem);
  if (!m) return { name, family: name, version: null, tag: null, extension };
  const [, family, v, ...rest] = m;
  const version = toVersion(rest);
  return { name, family, version, tag: v + version.text, extension };
}

/** SemVer 2.0.0 precedence: negative when a < b, 0 when equal (build metadata ignored), positive when a > b. */
export function compareVersions(a: Version, b: Version): number {
  return (
    a.major - b.major ||
    a.minor - b.minor ||
    a.patch - b.patch ||
    comparePrerelease(a.prerelease, b.prerelease)
  );
}

function comparePrerelease(a: string[], b: string[]): number {
  // A version without prerelease identifiers ranks above any with them.
  if (a.length === 0 || b.length === 0) return b.length - a.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareIdentifier(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function compareIdentifier(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  // No leading zeros, so the longer number is the larger; same length compares as text.
  if (an && bn) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  if (an !== bn) return an ? -1 : 1; // numeric identifiers rank below alphanumeric ones
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isPrerelease(v: Version): boolean {
  return v.prerelease.length > 0;
}

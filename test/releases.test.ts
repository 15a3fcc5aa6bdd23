// The release model, GitHub-shaped objects, paging, retention and content
// types, without a server.

import t from "tap";
import { contentTypeOf } from "../src/content-type.js";
import { paginate } from "../src/paging.js";
import { assetId, assetJson, releaseJson, releaseModel, stableId } from "../src/releases.js";
import { packagesToDelete } from "../src/retention.js";
import type { PackageEntry } from "../src/store/index.js";
import { assetRequired, errorsOf, github, releaseRequired } from "./helpers/github-schema.js";

let clock = Date.UTC(2026, 0, 1);
/** Packages in upload order; returned newest first, as Storage.list() gives them. */
function stored(...names: string[]): PackageEntry[] {
  return names
    .map((name, i) => ({ name, size: 100 + i, sha256: sha(name), createdAt: new Date((clock += 1000)) }))
    .reverse();
}
function sha(name: string): string {
  let h = "";
  for (let i = 0; h.length < 64; i++) h += ((name.charCodeAt(i % name.length) + i) % 16).toString(16);
  return h;
}
const urls = { site: "https://rs.example", api: "https://rs.example/api/v3/repos/o/r" };
const none = () => 0;

const AGENTS = ["claude", "gemini", "copilot", "cursor-agent", "qwen", "opencode", "codex", "windsurf", "kilocode", "auggie", "roo", "codebuddy", "amp", "q", "shai", "bob", "qoder"];
const templates = (version: string) =>
  AGENTS.flatMap((ai) => ["sh", "ps"].map((script) => `spec-kit-template-${ai}-${script}-${version}.zip`));

t.test("packages of one version form one release, highest version first", async (t) => {
  const m = releaseModel(stored("a-v0.0.9.zip", "b-v0.0.9.zip", "a-v0.0.10.zip", "a-v0.0.2.zip", "notes.txt"));
  t.same(
    m.releases.map((r) => [r.tag, r.packages.map((p) => p.name)]),
    [
      ["v0.0.10", ["a-v0.0.10.zip"]],
      ["v0.0.9", ["a-v0.0.9.zip", "b-v0.0.9.zip"]],
      ["v0.0.2", ["a-v0.0.2.zip"]],
      ["unversioned", ["notes.txt"]],
    ],
  );
});

t.test("tags are as written; a version written both ways takes the v", async (t) => {
  t.same(releaseModel(stored("a-1.0.0.zip")).releases.map((r) => r.tag), ["1.0.0"]);
  const m = releaseModel(stored("a-1.0.0.zip", "b-v1.0.0.zip"));
  t.same(m.releases.map((r) => [r.tag, r.packages.length]), [["v1.0.0", 2]]);
  t.equal(m.byTag("v1.0.0"), m.byTag("1.0.0"), "found with or without the v");
  t.equal(m.byTag("v9.9.9"), undefined);
});

t.test("latest: the newest version of every family, whatever the upload order", async (t) => {
  const m = releaseModel(
    stored(
      "spec-kit-template-claude-sh-v0.0.10.zip",
      "spec-kit-template-gemini-sh-v0.0.90.zip",
      "spec-kit-template-claude-sh-v0.0.9.zip", // an older version re-uploaded later
      "spec-kit-template-gemini-sh-v0.0.89.zip",
      "readme.txt",
    ),
  );
  t.same(
    m.latest.packages.map((p) => p.name),
    ["spec-kit-template-gemini-sh-v0.0.90.zip", "spec-kit-template-claude-sh-v0.0.10.zip", "readme.txt"],
  );
  t.equal(m.latest.tag, "v0.0.90", "the highest stable version among the assets");
  t.equal(m.latest.prerelease, false);
  t.equal(m.byTag("latest"), m.latest);
  t.equal(m.release(m.latest.id), m.latest);
});

t.test("prereleases never become latest while a stable version exists", async (t) => {
  const m = releaseModel(stored("a-v1.0.0.zip", "a-v1.1.0-rc.1.zip", "b-v2.0.0-beta.zip"));
  t.same(m.latest.packages.map((p) => p.name), ["b-v2.0.0-beta.zip", "a-v1.0.0.zip"], "b has only a prerelease");
  t.equal(m.latest.tag, "v1.0.0", "the tag is the highest stable version");
  t.equal(m.latest.prerelease, false);
  const pre = releaseModel(stored("a-v1.1.0-rc.1.zip", "a-v1.1.0-rc.2.zip"));
  t.equal(pre.latest.tag, "v1.1.0-rc.2", "only prereleases: the highest one");
  t.equal(pre.latest.prerelease, true);
  t.equal(pre.releases[0].prerelease, true);
});

t.test("of equal versions the most recent upload wins; build metadata is not precedence", async (t) => {
  const m = releaseModel(stored("a-v1.0.0+build.2.zip", "a-v1.0.0+build.1.zip"));
  t.same(m.latest.packages.map((p) => p.name), ["a-v1.0.0+build.1.zip"]);
  t.equal(m.releases.length, 2, "different build metadata, different releases");
});

t.test("with no versions the latest tag is `latest`; with nothing stored it is empty", async (t) => {
  const m = releaseModel(stored("one.zip", "two.zip"));
  t.equal(m.latest.tag, "latest");
  t.same(m.latest.packages.map((p) => p.name), ["two.zip", "one.zip"], "newest upload first");
  const empty = releaseModel([]);
  t.equal(empty.latest.packages.length, 0);
  t.equal(empty.releases.length, 0);
  const json = releaseJson(empty.latest, urls, none);
  t.equal(json.tag_name, "latest");
  t.same(json.assets, []);
});

t.test("ids are stable, positive, below 2^53 and distinct", async (t) => {
  const a = releaseModel(stored(...templates("v0.0.90"), ...templates("v0.0.89")));
  clock += 10_000_000;
  const b = releaseModel(stored(...templates("v0.0.89"), ...templates("v0.0.90")));
  t.same(a.releases.map((r) => r.id), b.releases.map((r) => r.id), "release ids do not depend on upload time");
  const ids = [...a.releases.map((r) => r.id), a.latest.id, ...a.releases.flatMap((r) => r.packages.map(assetId))];
  t.equal(new Set(ids).size, ids.length);
  for (const id of ids) t.ok(Number.isSafeInteger(id) && id > 0, `${id}`);
  t.equal(stableId("x"), stableId("x"));
  const p = a.releases[0].packages[0];
  t.equal(a.asset(assetId(p)), p);
  t.not(assetId(p), assetId({ ...p, sha256: "0".repeat(64) }), "new bytes, new asset");
  t.equal(a.asset(12345), undefined);
  t.equal(a.release(12345), undefined);
});

t.test("release and asset objects carry GitHub's fields and validate against GitHub's schemas", async (t) => {
  const m = releaseModel(stored("spec-kit-template-claude-sh-v0.0.90.zip", "tool-v1.0.0-rc.1.tar.gz", "odd name <&>.bin"));
  const counts = (p: PackageEntry) => (p.name.startsWith("spec") ? 7 : 0);
  for (const r of [...m.releases, m.latest]) {
    const json = releaseJson(r, urls, counts);
    t.equal(errorsOf(github.release, json), "", `release ${r.tag}`);
    for (const a of json.assets) t.equal(errorsOf(github.asset, a), "", `asset ${a.name}`);
    for (const key of releaseRequired) t.ok(key in json, `release has ${key}`);
  }
  const rel = releaseJson(m.byTag("v0.0.90")!, urls, counts);
  t.match(rel, {
    url: `${urls.api}/releases/${rel.id}`,
    html_url: "https://rs.example/releases/tag/v0.0.90",
    assets_url: `${urls.api}/releases/${rel.id}/assets`,
    upload_url: "https://rs.example/upload{?name,label}",
    tarball_url: null,
    zipball_url: null,
    tag_name: "v0.0.90",
    name: "v0.0.90",
    draft: false,
    prerelease: false,
    author: null,
    node_id: /^RE_/,
    created_at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
  });
  const asset = rel.assets[0];
  for (const key of assetRequired) t.ok(key in asset, `asset has ${key}`);
  t.match(asset, {
    name: "spec-kit-template-claude-sh-v0.0.90.zip",
    label: null,
    state: "uploaded",
    content_type: "application/zip",
    digest: /^sha256:[0-9a-f]{64}$/,
    download_count: 7,
    uploader: null,
    url: `${urls.api}/releases/assets/${asset.id}`,
    browser_download_url: "https://rs.example/assets/spec-kit-template-claude-sh-v0.0.90.zip",
    node_id: /^RA_/,
  });
  t.equal(releaseJson(m.byTag("v1.0.0-rc.1")!, urls, none).prerelease, true);
  t.equal(releaseJson(m.latest, urls, none).html_url, "https://rs.example/releases/tag/latest");
  const odd = assetJson(m.byTag("unversioned")!.packages[0], urls, none);
  t.equal(odd.browser_download_url, "https://rs.example/assets/odd%20name%20%3C%26%3E.bin");
  t.equal(odd.content_type, "application/octet-stream");
});

t.test("GitHub's schemas do catch wrong objects (the validator is live)", async (t) => {
  const m = releaseModel(stored("a-v1.0.0.zip"));
  const json = releaseJson(m.releases[0], urls, none);
  t.not(errorsOf(github.release, { ...json, id: "1" }), "");
  t.not(errorsOf(github.release, { ...json, draft: undefined }), "");
  t.not(errorsOf(github.asset, { ...json.assets[0], state: "gone" }), "");
  t.not(errorsOf(github.asset, { ...json.assets[0], size: "100" }), "");
});

t.test("content types by extension", async (t) => {
  t.equal(contentTypeOf("a.zip"), "application/zip");
  t.equal(contentTypeOf("a.tar.gz"), "application/gzip");
  t.equal(contentTypeOf("a.TGZ"), "application/gzip");
  t.equal(contentTypeOf("a.tar"), "application/x-tar");
  t.equal(contentTypeOf("a.tar.xz"), "application/x-xz");
  t.equal(contentTypeOf("a.json"), "application/json");
  t.equal(contentTypeOf("a.unknown"), "application/octet-stream");
  t.equal(contentTypeOf("noext"), "application/octet-stream");
});

t.test("paging: GitHub's per_page and page with a Link header", async (t) => {
  const all = Array.from({ length: 7 }, (_, i) => i);
  const q = (s: string) => new URLSearchParams(s);
  const base = "https://rs.example/releases?per_page=3&page=2&x=1";
  const p2 = paginate(all, q("per_page=3&page=2"), base);
  t.same(p2.items, [3, 4, 5]);
  t.equal(
    p2.link,
    '<https://rs.example/releases?per_page=3&page=1&x=1>; rel="prev", <https://rs.example/releases?per_page=3&page=3&x=1>; rel="next", ' +
      '<https://rs.example/releases?per_page=3&page=3&x=1>; rel="last", <https://rs.example/releases?per_page=3&page=1&x=1>; rel="first"',
  );
  const p1 = paginate(all, q("per_page=3"), "https://rs.example/releases?per_page=3");
  t.same(p1.items, [0, 1, 2]);
  t.notMatch(p1.link!, /rel="prev"|rel="first"/);
  t.match(p1.link!, /page=2>; rel="next", <[^>]*page=3>; rel="last"/);
  const p3 = paginate(all, q("per_page=3&page=3"), "https://rs.example/releases");
  t.same(p3.items, [6]);
  t.notMatch(p3.link!, /rel="next"|rel="last"/);
  t.same(paginate(all, q("page=9&per_page=3"), "https://rs.example/r").items, [], "past the end: empty");
  const defaults = paginate(Array.from({ length: 40 }, (_, i) => i), q("per_page=abc&page=-1"), "https://rs.example/r");
  t.equal(defaults.items.length, 30, "bad values fall back to the defaults");
  t.equal(paginate(Array.from({ length: 300 }, (_, i) => i), q("per_page=1000"), "https://rs.example/r").items.length, 100, "at most 100");
  t.same(paginate(all, q(""), "https://rs.example/r"), { items: all, link: null }, "one page: no Link");
});

t.test("retention: 34 templates with MAX_PACKAGES=10 never leave /latest incomplete", async (t) => {
  // Two full releases stored, then a third uploaded one package at a time.
  let packages = stored(...templates("v0.0.88"), ...templates("v0.0.89"));
  packages = packages.filter((p) => !packagesToDelete(packages, 10).includes(p));
  t.equal(packages.length, 34, "only the newest version of each family is left");
  t.ok(packages.every((p) => p.name.endsWith("v0.0.89.zip")));
  for (const [i, name] of templates("v0.0.90").entries()) {
    packages = [...stored(name), ...packages];
    const doomed = packagesToDelete(packages, 10);
    packages = packages.filter((p) => !doomed.includes(p));
    const latest = releaseModel(packages).latest.packages;
    t.equal(latest.length, 34, `after ${i + 1} uploads /latest still has every template`);
    t.equal(latest.filter((p) => p.name.endsWith("v0.0.90.zip")).length, i + 1);
  }
  t.equal(packages.length, 34);
});

t.test("retention: unversioned packages keep the plain count rule", async (t) => {
  const packages = stored("a.txt", "b.txt", "c.txt", "x-v1.0.0.zip", "x-v0.9.0.zip", "d.txt");
  t.same(
    packagesToDelete(packages, 3).map((p) => p.name),
    ["a.txt", "b.txt", "c.txt"],
    "oldest first; x-v1.0.0 is protected, the just-uploaded d.txt too",
  );
  t.same(packagesToDelete(packages, 5).map((p) => p.name), ["a.txt"]);
  t.same(packagesToDelete(packages, 0), [], "0 keeps everything");
  t.same(packagesToDelete(packages, 6), []);
  t.same(packagesToDelete(stored("x-v1.0.0.zip", "x-v0.9.0.zip"), 1), [], "an upload never deletes itself");
  t.same(packagesToDelete(stored("x-v0.9.0.zip", "x-v1.0.0.zip", "y.txt"), 1).map((p) => p.name), ["x-v0.9.0.zip"]);
});

// Repository names, tag names, store namespaces and the repository registry,
// on a real temp directory.

import { readdir } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { parseReleasesDocument, type ReleaseRecord, tagProblem } from "../src/github/release-records.js";
import { parseFullName, parseRepoName } from "../src/github/repo-names.js";
import { Repositories, Repository } from "../src/github/repositories.js";
import type { PackageStore } from "../src/store/contract.js";
import { FsStore } from "../src/store/fs/fs-store.js";
import { openStore } from "../src/store/index.js";
import { keptDir } from "./helpers/server.js";

t.test("owner and repository names follow GitHub's rules", async (t) => {
  t.same(parseRepoName("GitHub", "Spec-Kit"), { owner: "GitHub", repo: "Spec-Kit", key: "github/spec-kit" });
  for (const [owner, repo] of [["a", "b"], ["a-b", "c.d_e-f"], ["a".repeat(39), "r".repeat(100)], ["0", "_x"]]) {
    t.ok(parseRepoName(owner, repo), `${owner}/${repo}`);
  }
  for (const [owner, repo] of [["..", "x"], ["a", ".."], ["a", "."], ["a", ".github"], ["-a", "x"], ["a-", "x"], ["a_b", "x"], ["a".repeat(40), "x"], ["a", "r".repeat(101)], ["a/b", "c"], ["a", "b/c"], ["a", "b\\c"], ["", "x"], ["a", ""], ["a", "x\u0000"], ["a%2f", "x"], ["ä", "x"]]) {
    t.equal(parseRepoName(owner, repo), null, `${JSON.stringify(owner)}/${JSON.stringify(repo)}`);
  }
  t.equal(parseFullName("a/b/c"), null);
  t.equal(parseFullName("github/spec-kit")?.key, "github/spec-kit");
});

t.test("tag names follow git's ref rules", async (t) => {
  for (const tag of ["v1.2.3", "1.0.0-rc.1+build.5", "release/2026-01", "nightly", "%2e%2e", "v1_0"]) t.equal(tagProblem(tag), null, tag);
  for (const tag of ["", "..", "a..b", "../x", "/x", "x/", "a//b", ".x", "a/.b", "x.lock", "x.", "@", "a@{b", "a b", "a~b", "a^b", "a:b", "a?b", "a*b", "a[b", "a\\b", "a\u0000b", "a\u007fb", "a\u202eb", "x".repeat(256)]) {
    t.type(tagProblem(tag), "string", JSON.stringify(tag.slice(0, 20)));
  }
});

t.test("a store namespace is a hidden directory the default store never lists", async (t) => {
  const dir = await keptDir(t);
  t.equal(FsStore.directoryFor(dir, []), dir);
  t.equal(FsStore.directoryFor(dir, ["acme", "tool"]), join(dir, ".repos", "acme", "tool"));
  for (const bad of [[".."], ["a", ".."], ["a/b"], ["A"], [""], ["x".repeat(101)]]) {
    t.throws(() => FsStore.directoryFor(dir, bad), /not a store namespace segment/, JSON.stringify(bad));
  }
  const log = () => {};
  const root = await openStore({ storagePath: dir, log });
  const acme = await openStore({ storagePath: dir, log, namespace: ["acme", "tool"] });
  t.teardown(async () => {
    await root.close();
    await acme.close();
  });
  const staged = await acme.stage((async function* () {
    yield new TextEncoder().encode("bytes");
  })(), 100);
  await acme.commit(staged, "tool-v1.0.0.zip", { overwrite: false });
  t.same((await acme.list()).map((p) => p.name), ["tool-v1.0.0.zip"]);
  t.same(await root.list(), [], "the default store does not see another repository's packages");
  t.same(await readdir(join(dir, ".repos", "acme", "tool")), ["tool-v1.0.0.zip", "tool-v1.0.0.zip.sha256"]);
});

t.test("the registry: unknown repositories do not exist until created; names are case-insensitive", async (t) => {
  const dir = await keptDir(t);
  const log = () => {};
  const store = await openStore({ storagePath: dir, log });
  const counts = { record() {}, count: () => 0 };
  const make = () => new Repositories({ storagePath: dir, log, defaultName: parseFullName("default/default")!, defaultStore: store, defaultDownloads: counts });
  const registry = make();
  t.teardown(() => registry.close());
  t.equal(await registry.find("acme", "tool"), undefined);
  t.equal(await registry.find("..", "tool"), undefined);
  t.equal(await registry.findOrCreate("..", "tool"), undefined, "an invalid name is never created");
  t.equal(await registry.find("Default", "DEFAULT"), registry.default);
  const created = await registry.findOrCreate("Acme", "Tool");
  t.equal(created?.name.key, "acme/tool");
  t.equal(await registry.find("acme", "tool"), created, "the same instance");
  await created!.update((doc) => {
    doc.retired_tags.push("v0");
  });
  t.same((await created!.releases()).retired_tags, ["v0"]);
  await t.rejects(created!.update(() => { throw new Error("no"); }), /no/, "a failed change saves nothing");
  t.same((await created!.releases()).retired_tags, ["v0"]);

  const restarted = make();
  t.teardown(() => restarted.close());
  const again = await restarted.find("acme", "tool");
  t.ok(again, "the repository list is durable");
  t.same((await again!.releases()).retired_tags, ["v0"], "and so is its release metadata");
  t.equal(await restarted.find("acme", "other"), undefined);
});

t.test("release metadata another worker saves while this one's save is being announced is not hidden by it", async (t) => {
  // In WORKERS, a save resolves only once the sibling workers have seen it; the sibling that took its turn
  // next may save, and its notice arrive, before that. The repository must not then keep its own older copy.
  const dir = await keptDir(t);
  const log = () => {};
  const store = await openStore({ storagePath: dir, log });
  const sibling = await openStore({ storagePath: dir, log });
  t.teardown(async () => {
    await store.close();
    await sibling.close();
  });
  const announcing: PackageStore = Object.create(store);
  announcing.updateDocument = async (key, change) => {
    await store.updateDocument(key, change);
    await sibling.updateDocument(key, (text) => {
      const doc = parseReleasesDocument(text);
      doc.releases.push(releaseRecord(2, "v2.0.0"));
      return JSON.stringify(doc);
    });
    store.noteChanged([]); // the sibling's notice, before our own announcement is answered
  };
  const repo = new Repository(parseRepoName("acme", "tool")!, false, announcing, { record() {}, count: () => 0 });
  await repo.update((doc) => {
    doc.releases.push(releaseRecord(1, "v1.0.0"));
  });
  t.same((await repo.releases()).releases.map((r) => r.tag_name), ["v1.0.0", "v2.0.0"], "the sibling's release is listed at once");
});

function releaseRecord(id: number, tag: string): ReleaseRecord {
  const at = new Date(0).toISOString();
  return { id, tag_name: tag, name: null, body: null, draft: false, prerelease: false, target_commitish: "main", make_latest: "true", immutable: false, created_at: at, published_at: at, updated_at: at, latest_at: null, assets: [] };
}

// The GitHub write API through GitHub's own client, Octokit, and through the
// call sequence of softprops/action-gh-release; immutable releases; names
// built to escape the storage directory. Every object and error body is
// validated against GitHub's published schemas (@octokit/openapi).

import { mkdir, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { Octokit } from "@octokit/rest";
import t, { type Test } from "tap";
import { errorsOf, github } from "./helpers/github-schema.js";
import { bytesFor, sha256, upload } from "./helpers/releases.js";
import { keptDir, startServer, TOKEN, type RunningServer } from "./helpers/server.js";

const owner = "acme";
const repo = "tool";
const quiet = { debug() {}, info() {}, warn() {}, error() {} }; // expected 4xx answers are not news

function clients(server: RunningServer) {
  const baseUrl = `${server.url}/api/v3`;
  return {
    writer: new Octokit({ baseUrl, auth: TOKEN, userAgent: "release-server-tests", log: quiet }),
    reader: new Octokit({ baseUrl, userAgent: "release-server-tests", log: quiet }),
  };
}

/** The error Octokit threw: its status and GitHub-shaped body. */
async function failure(promise: Promise<unknown>): Promise<{ status: number; data: any }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { status: number; response?: { data: unknown } };
    return { status: e.status, data: e.response?.data };
  }
  throw new Error("the request succeeded");
}

function checkError(t: Test, error: { status: number; data: any }, status: number, what: string): void {
  t.equal(error.status, status, `${what}: ${status}`);
  const validate = status === 422 ? github.validationError : github.basicError;
  t.equal(errorsOf(validate, error.data), "", `${what}: GitHub's error shape`);
  t.type(error.data?.documentation_url, "string", `${what}: documentation_url`);
}

t.test("Octokit: the whole release life cycle", async (t) => {
  const server = await startServer({ env: { MAX_PACKAGES: "0" } });
  t.teardown(() => server.stop());
  const { writer, reader } = clients(server);
  const checkRelease = (r: unknown, what: string) => t.equal(errorsOf(github.release, r), "", `${what} matches GitHub's release schema`);
  const checkAsset = (a: unknown, what: string) => t.equal(errorsOf(github.asset, a), "", `${what} matches GitHub's release-asset schema`);

  checkError(t, await failure(reader.rest.repos.listReleases({ owner, repo })), 404, "an unknown repository");
  checkError(t, await failure(reader.rest.repos.createRelease({ owner, repo, tag_name: "v1.0.0" })), 401, "a write without the token");

  const created = await writer.rest.repos.createRelease({ owner, repo, tag_name: "v1.0.0", name: "Tool 1.0.0", body: "First **release**.", draft: true, target_commitish: "trunk" });
  t.equal(created.status, 201);
  checkRelease(created.data, "createRelease");
  t.match(created.data, { tag_name: "v1.0.0", name: "Tool 1.0.0", body: "First **release**.", draft: true, prerelease: false, target_commitish: "trunk", published_at: null });
  t.equal(created.data.upload_url, `${server.url}/api/uploads/repos/${owner}/${repo}/releases/${created.data.id}/assets{?name,label}`, "GitHub Enterprise's upload layout");
  t.equal(created.headers.location, created.data.url);
  const id = created.data.id;

  await t.test("drafts are visible only with the token", async (t) => {
    t.same((await reader.rest.repos.listReleases({ owner, repo })).data, []);
    checkError(t, await failure(reader.rest.repos.getRelease({ owner, repo, release_id: id })), 404, "a draft read anonymously");
    t.equal((await writer.rest.repos.getRelease({ owner, repo, release_id: id })).data.draft, true);
  });

  const data = bytesFor("tool-linux-amd64.tar.gz");
  await t.test("uploadReleaseAsset at the advertised upload_url: raw body, ?name=, &label=, Content-Type kept", async (t) => {
    const uploaded = await writer.rest.repos.uploadReleaseAsset({
      owner,
      repo,
      release_id: id,
      url: created.data.upload_url,
      name: "tool-linux-amd64.tar.gz",
      label: "Linux (x86-64)",
      data: Buffer.from(data) as unknown as string,
      headers: { "content-type": "application/x-gtar" },
    });
    t.equal(uploaded.status, 201);
    checkAsset(uploaded.data, "uploadReleaseAsset");
    t.match(uploaded.data, { name: "tool-linux-amd64.tar.gz", label: "Linux (x86-64)", content_type: "application/x-gtar", size: data.length, digest: `sha256:${sha256(data)}`, state: "uploaded" });
    const again = await failure(
      writer.rest.repos.uploadReleaseAsset({ owner, repo, release_id: id, url: created.data.upload_url, name: "tool-linux-amd64.tar.gz", data: "other" }),
    );
    checkError(t, again, 422, "a duplicate name");
    t.match(again.data.errors, [{ resource: "ReleaseAsset", code: "already_exists", field: "name" }]);
    const second = await writer.rest.repos.uploadReleaseAsset({ owner, repo, release_id: id, url: created.data.upload_url, name: "tool-notes.txt", data: "notes\n" });
    t.equal(second.status, 201);
  });

  await t.test("updateRelease publishes the draft", async (t) => {
    const published = await writer.rest.repos.updateRelease({ owner, repo, release_id: id, draft: false, body: "First release, edited." });
    checkRelease(published.data, "updateRelease");
    t.match(published.data, { draft: false, body: "First release, edited.", immutable: false });
    t.type(published.data.published_at, "string");
    const latest = await reader.rest.repos.getLatestRelease({ owner, repo });
    t.equal(latest.data.tag_name, "v1.0.0", "now visible to everyone, and latest");
    t.same(latest.data.assets.map((a) => a.name).sort(), ["tool-linux-amd64.tar.gz", "tool-notes.txt"]);
  });

  await t.test("listReleaseAssets, getReleaseAsset, updateReleaseAsset, deleteReleaseAsset", async (t) => {
    const assets = await reader.rest.repos.listReleaseAssets({ owner, repo, release_id: id });
    t.same(assets.data.map((a) => a.name), ["tool-linux-amd64.tar.gz", "tool-notes.txt"]);
    for (const a of assets.data) checkAsset(a, `listReleaseAssets ${a.name}`);
    const notes = assets.data[1];
    const labelled = await writer.rest.repos.updateReleaseAsset({ owner, repo, asset_id: notes.id, label: "Notes" });
    t.match(labelled.data, { id: notes.id, label: "Notes", name: "tool-notes.txt" });
    const renamed = await writer.rest.repos.updateReleaseAsset({ owner, repo, asset_id: notes.id, name: "tool-notes-1.0.0.txt" });
    checkAsset(renamed.data, "updateReleaseAsset");
    t.match(renamed.data, { name: "tool-notes-1.0.0.txt", label: "Notes", size: 6 });
    const bytes = await fetch(renamed.data.browser_download_url);
    t.equal(await bytes.text(), "notes\n", "the renamed asset downloads at GitHub's web path");
    t.equal((await writer.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: renamed.data.id })).status, 204);
    checkError(t, await failure(reader.rest.repos.getReleaseAsset({ owner, repo, asset_id: renamed.data.id })), 404, "a deleted asset");
    t.same((await reader.rest.repos.listReleaseAssets({ owner, repo, release_id: id })).data.map((a) => a.name), ["tool-linux-amd64.tar.gz"]);
  });

  await t.test("generateReleaseNotes lists the assets", async (t) => {
    const notes = await writer.rest.repos.generateReleaseNotes({ owner, repo, tag_name: "v1.0.0" });
    t.equal(errorsOf(github.notes, notes.data), "", "GitHub's release-notes-content schema");
    t.equal(notes.data.name, "v1.0.0");
    t.match(notes.data.body, /tool-linux-amd64\.tar\.gz/);
  });

  await t.test("tags: renamed, never duplicated, never invalid", async (t) => {
    const other = await writer.rest.repos.createRelease({ owner, repo, tag_name: "v1.1.0", prerelease: true });
    const dup = await failure(writer.rest.repos.updateRelease({ owner, repo, release_id: other.data.id, tag_name: "v1.0.0" }));
    checkError(t, dup, 422, "a tag another release has");
    t.match(dup.data.errors, [{ resource: "Release", code: "already_exists", field: "tag_name" }]);
    checkError(t, await failure(writer.rest.repos.createRelease({ owner, repo, tag_name: "v1.0.0" })), 422, "creating a taken tag");
    const renamed = await writer.rest.repos.updateRelease({ owner, repo, release_id: other.data.id, tag_name: "v1.1.0-rc.1" });
    t.equal(renamed.data.tag_name, "v1.1.0-rc.1");
    t.equal((await reader.rest.repos.getReleaseByTag({ owner, repo, tag: "v1.1.0-rc.1" })).data.id, other.data.id, "found by its new tag, same id");
    t.equal((await reader.rest.repos.getLatestRelease({ owner, repo })).data.tag_name, "v1.0.0", "a prerelease is never latest");
    t.equal((await writer.rest.repos.deleteRelease({ owner, repo, release_id: other.data.id })).status, 204);
  });

  await t.test("deleteRelease removes it and its assets", async (t) => {
    t.equal((await writer.rest.repos.deleteRelease({ owner, repo, release_id: id })).status, 204);
    checkError(t, await failure(reader.rest.repos.getRelease({ owner, repo, release_id: id })), 404, "a deleted release");
    checkError(t, await failure(reader.rest.repos.getLatestRelease({ owner, repo })), 404, "no latest release left");
    const web = await fetch(`${server.url}/${owner}/${repo}/releases/download/v1.0.0/tool-linux-amd64.tar.gz`);
    t.equal(web.status, 404);
    await web.body?.cancel();
  });

  await t.test("make_latest: an older release made latest explicitly wins until superseded", async (t) => {
    const v2 = await writer.rest.repos.createRelease({ owner, repo, tag_name: "v2.0.0" });
    await writer.rest.repos.uploadReleaseAsset({ owner, repo, release_id: v2.data.id, url: v2.data.upload_url, name: "tool-v2.0.0.zip", data: "two" });
    const v19 = await writer.rest.repos.createRelease({ owner, repo, tag_name: "v1.9.0", make_latest: "false" });
    await writer.rest.repos.uploadReleaseAsset({ owner, repo, release_id: v19.data.id, url: v19.data.upload_url, name: "tool-v1.9.0.zip", data: "one-nine" });
    t.equal((await reader.rest.repos.getLatestRelease({ owner, repo })).data.tag_name, "v2.0.0", "make_latest=false is never latest");
    await writer.rest.repos.updateRelease({ owner, repo, release_id: v19.data.id, make_latest: "true" });
    const latest = await reader.rest.repos.getLatestRelease({ owner, repo });
    t.equal(latest.data.tag_name, "v1.9.0", "make_latest=true is honoured");
    t.same(latest.data.assets.map((a) => a.name), ["tool-v1.9.0.zip"]);
  });
});

t.test("the call sequence of softprops/action-gh-release, replayed", async (t) => {
  const server = await startServer({ env: { MAX_PACKAGES: "0" } });
  t.teardown(() => server.stop());
  const { writer } = clients(server);
  const files = { "app-v3.0.0.zip": bytesFor("app-v3.0.0.zip"), "app-v3.0.0.sha256sum": new TextEncoder().encode(`${sha256(bytesFor("app-v3.0.0.zip"))}  app-v3.0.0.zip\n`) };

  /** One run of the action with draft: true and these files: its requests, in its order (src/github.ts, release()). */
  const runAction = async (body: string) => {
    let release: any = null;
    try {
      // It cannot find a draft by tag, so it looks through every release first.
      for await (const page of writer.paginate.iterator(writer.rest.repos.listReleases, { owner, repo, per_page: 100 })) {
        release = page.data.find((r) => r.tag_name === "v3.0.0") ?? release;
      }
      if (!release) release = (await writer.rest.repos.getReleaseByTag({ owner, repo, tag: "v3.0.0" })).data;
      release = (await writer.rest.repos.updateRelease({ owner, repo, release_id: release.id, tag_name: "v3.0.0", target_commitish: release.target_commitish, name: release.name, body, draft: true, prerelease: false })).data;
    } catch (err) {
      // Any 404 (a repository that does not exist yet, or no release with this tag) means: create it.
      t.equal((err as { status: number }).status, 404, "a 404 leads the action to create the release");
      release = (await writer.rest.repos.createRelease({ owner, repo, tag_name: "v3.0.0", name: "v3.0.0", body, draft: true, prerelease: false })).data;
    }
    const uploadUrl = release.upload_url.replace(/\{.*$/, "");
    for (const [name, bytes] of Object.entries(files)) {
      const current = release.assets.find((a: { name: string }) => a.name === name);
      if (current) await writer.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: current.id });
      const endpoint = new URL(uploadUrl);
      endpoint.searchParams.append("name", name);
      const res = await fetch(endpoint, {
        method: "POST",
        headers: { "content-length": String(bytes.length), "content-type": "application/octet-stream", authorization: `token ${TOKEN}` },
        body: bytes,
      });
      t.equal(res.status, 201, `upload ${name}`);
      t.equal(errorsOf(github.asset, await res.json()), "");
    }
    // Finalize: publish.
    const published = (await writer.rest.repos.updateRelease({ owner, repo, release_id: release.id, draft: false, make_latest: "true" })).data;
    return published;
  };

  const first = await runAction("first run");
  t.match(first, { draft: false, body: "first run" });
  t.same(first.assets.map((a: { name: string }) => a.name).sort(), Object.keys(files).sort());
  const second = await runAction("second run, the same tag");
  t.equal(second.id, first.id, "a re-run updates the release it made");
  t.equal(second.body, "second run, the same tag");
  t.equal(second.assets.length, 2, "its assets replaced, not duplicated");
});

t.test("IMMUTABLE_RELEASES: draft, upload, publish; then assets and tag are fixed", async (t) => {
  const server = await startServer({ env: { MAX_PACKAGES: "0", IMMUTABLE_RELEASES: "true" } });
  t.teardown(() => server.stop());
  const { writer, reader } = clients(server);
  const draft = await writer.rest.repos.createRelease({ owner, repo, tag_name: "v1.0.0", draft: true });
  t.equal(draft.data.immutable, false, "a draft can still change");
  const asset = await writer.rest.repos.uploadReleaseAsset({ owner, repo, release_id: draft.data.id, url: draft.data.upload_url, name: "tool-v1.0.0.zip", data: "bytes" });
  const published = await writer.rest.repos.updateRelease({ owner, repo, release_id: draft.data.id, draft: false });
  t.equal(published.data.immutable, true, "published: immutable");
  checkRelease(t, published.data);

  const refused = [
    ["an upload", () => writer.rest.repos.uploadReleaseAsset({ owner, repo, release_id: draft.data.id, url: draft.data.upload_url, name: "late.txt", data: "late" })],
    ["deleting an asset", () => writer.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: asset.data.id })],
    ["renaming an asset", () => writer.rest.repos.updateReleaseAsset({ owner, repo, asset_id: asset.data.id, name: "renamed.zip" })],
    ["changing the tag", () => writer.rest.repos.updateRelease({ owner, repo, release_id: draft.data.id, tag_name: "v1.0.1" })],
    ["back to a draft", () => writer.rest.repos.updateRelease({ owner, repo, release_id: draft.data.id, draft: true })],
  ] as const;
  for (const [what, call] of refused) checkError(t, await failure(call()), 422, what);
  t.same((await reader.rest.repos.listReleaseAssets({ owner, repo, release_id: draft.data.id })).data.map((a) => a.name), ["tool-v1.0.0.zip"], "nothing changed");
  const notes = await writer.rest.repos.updateRelease({ owner, repo, release_id: draft.data.id, body: "notes may still change" });
  t.equal(notes.data.body, "notes may still change");
  t.equal((await writer.rest.repos.deleteRelease({ owner, repo, release_id: draft.data.id })).status, 204, "the release itself may be deleted");
  checkError(t, await failure(writer.rest.repos.createRelease({ owner, repo, tag_name: "v1.0.0" })), 422, "its tag is never used again");
});

function checkRelease(t: Test, r: unknown): void {
  t.equal(errorsOf(github.release, r), "", "GitHub's release schema");
}

t.test("names built to escape are 404 or 422 and touch nothing outside the storage directory", async (t) => {
  const root = await keptDir(t);
  const storage = join(root, "storage");
  await mkdir(storage);
  const server = await startServer({ storage, env: { MAX_PACKAGES: "0" } });
  t.teardown(() => server.stop());
  await upload(server, "keep-v1.0.0.zip");
  const auth = { authorization: `token ${TOKEN}`, "content-type": "application/json" };
  const long = "a".repeat(300);
  for (const path of ["..%2f..%2fetc/passwd", "%2e%2e/x", "a/%2e%2e", "a/..%2f..", "a/%2e", ".hidden/x", "a/.x", `${long}/x`, `a/${long}`, "a%00b/x", "-a/x", "a/b%2fc"]) {
    for (const base of ["/repos/", "/api/v3/repos/"]) {
      const read = await fetch(`${server.url}${base}${path}/releases`);
      t.equal(read.status, 404, `GET ${base}${path}`);
      await read.body?.cancel();
      const write = await fetch(`${server.url}${base}${path}/releases`, { method: "POST", headers: auth, body: JSON.stringify({ tag_name: "v1.0.0" }) });
      // "/repos/a/%2e/releases" is "/repos/a/releases" once its dot segment is resolved (WHATWG URL):
      // the releases page of a repository "repos/a", where POST is not a method (405). Nothing is written either way.
      const expected = base === "/repos/" && path === "a/%2e" ? 405 : 404;
      t.equal(write.status, expected, `POST ${base}${path}`);
      await write.body?.cancel();
    }
    const upload = await fetch(`${server.url}/api/uploads/repos/${path}/releases/1/assets?name=x.zip`, { method: "POST", headers: auth, body: "x" });
    t.equal(upload.status, 404, `upload to ${path}`);
    await upload.body?.cancel();
  }
  const created = await fetch(`${server.url}/repos/${owner}/${repo}/releases`, { method: "POST", headers: auth, body: JSON.stringify({ tag_name: "v1.0.0" }) });
  const release = (await created.json()) as { id: number; upload_url: string };
  const uploadUrl = release.upload_url.replace(/\{.*$/, "");
  for (const name of ["../escape.zip", "..", "a/b.zip", "a\\b.zip", ".hidden", "x\u0000.zip", long + ".zip", "evil.sha256"]) {
    const res = await fetch(`${uploadUrl}?name=${encodeURIComponent(name)}`, { method: "POST", headers: auth, body: "bytes" });
    t.equal(res.status, 422, `asset name ${JSON.stringify(name.slice(0, 40))}`);
    t.equal(errorsOf(github.validationError, await res.json()), "");
  }
  const literal = await fetch(`${uploadUrl}?name=${encodeURIComponent("%2e%2e%2fescape.zip")}`, { method: "POST", headers: auth, body: "bytes" });
  t.equal(literal.status, 201, "percent signs in a name are only characters: decoded once, never again");
  await literal.body?.cancel();
  for (const tag of ["../../x", "a..b", "v1/../../x", ".v1", "v1.lock", "v 1", "x\u0000", long, "", "refs/heads/../../x"]) {
    const res = await fetch(`${server.url}/repos/${owner}/${repo}/releases`, { method: "POST", headers: auth, body: JSON.stringify({ tag_name: tag }) });
    t.equal(res.status, 422, `tag ${JSON.stringify(tag.slice(0, 40))}`);
    await res.body?.cancel();
  }
  const percent = await fetch(`${server.url}/repos/${owner}/${repo}/releases`, { method: "POST", headers: auth, body: JSON.stringify({ tag_name: "%2e%2e%2fx" }) });
  t.equal(percent.status, 201, "a tag is metadata, never a path: percent signs are just characters");
  await percent.body?.cancel();

  t.same(await readdir(root), ["storage"], "nothing was created beside the storage directory");
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(dir, e.name));
      else if (!e.name.startsWith(".watch_")) files.push(relative(storage, join(dir, e.name))); // the server's watch mark (Bun, Deno)
    }
  };
  await walk(storage);
  t.same(
    files.filter((f) => !/^(keep-v1\.0\.0\.zip(\.sha256)?|\.repositories\.json|\.download-counts\.json|\.repos\/acme\/tool\/(\.releases\.json|%2e%2e%2fescape\.zip(\.sha256)?))$/.test(f)),
    [],
    "only the package, the repository list, and acme/tool's metadata and literal asset",
  );
});

t.test("the older API and releases made through the write API, in the default repository", async (t) => {
  const server = await startServer({ env: { MAX_PACKAGES: "2", IMMUTABLE_RELEASES: "true" } });
  t.teardown(() => server.stop());
  const auth = { authorization: `token ${TOKEN}` };
  // At the root, the write API acts on the default repository, as the read API does.
  const created = await fetch(`${server.url}/releases`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ tag_name: "v1.0.0", draft: true }) });
  t.equal(created.status, 201);
  const release = (await created.json()) as { id: number; upload_url: string };
  t.match(release.upload_url, `${server.url}/api/uploads/repos/default/default/releases/${release.id}/assets{?name,label}`, "DEFAULT_REPOSITORY's documented default");
  for (const name of ["a-v1.0.0.zip", "b-v1.0.0.zip", "c-v1.0.0.zip"]) {
    const res = await fetch(`${release.upload_url.replace(/\{.*$/, "")}?name=${name}`, { method: "POST", headers: auth, body: bytesFor(name) });
    t.equal(res.status, 201, `upload ${name}`);
    await res.body?.cancel();
  }
  const published = await fetch(`${server.url}/repos/default/default/releases/${release.id}`, { method: "PATCH", headers: auth, body: JSON.stringify({ draft: false }) });
  t.equal(((await published.json()) as { immutable: boolean }).immutable, true);

  for (const name of ["x.txt", "y.txt", "z.txt"]) await upload(server, name);
  const names = ((await (await fetch(`${server.url}/packages`)).json()) as { name: string }[]).map((p) => p.name).sort();
  t.same(names, ["a-v1.0.0.zip", "b-v1.0.0.zip", "c-v1.0.0.zip", "y.txt", "z.txt"], "retention (MAX_PACKAGES=2) neither deletes nor counts a release's assets");

  const del = await fetch(`${server.url}/packages/a-v1.0.0.zip`, { method: "DELETE", headers: auth });
  t.equal(del.status, 409, "DELETE /packages refuses an immutable release's asset");
  t.match(((await del.json()) as { detail: string }).detail, /immutable release v1\.0\.0/);
  const put = await fetch(`${server.url}/assets/a-v1.0.0.zip?overwrite=true`, { method: "PUT", headers: auth, body: "other" });
  t.equal(put.status, 409, "and so does an overwrite");
  await put.body?.cancel();
  const latest = (await (await fetch(`${server.url}/latest`)).json()) as { tag_name: string; assets: { name: string }[] };
  t.equal(latest.tag_name, "v1.0.0");
  const page = await fetch(`${server.url}/releases/tag/v1.0.0`);
  t.equal(page.status, 200, "the HTML release page at the root");
  t.match(await page.text(), /a-v1\.0\.0\.zip/);
});

// GitHub's own client, Octokit, pointed at the running server with `baseUrl`,
// for both layouts it may be given: GitHub Enterprise's `/api/v3` and the
// plain root (requests to /repos/{owner}/{repo}/...). Every object it receives
// is also validated against GitHub's published `release` / `release-asset` schemas.

import { Octokit } from "@octokit/rest";
import t from "tap";
import { errorsOf, github } from "./helpers/github-schema.js";
import { bytesFor, sha256, upload } from "./helpers/releases.js";
import { startServer } from "./helpers/server.js";

const owner = "github";
const repo = "spec-kit";

t.test("Octokit against the server", async (t) => {
  const server = await startServer({ env: { MAX_PACKAGES: "0", DEFAULT_REPOSITORY: `${owner}/${repo}` } });
  t.teardown(() => server.stop());
  // v0.0.10 must beat v0.0.9 and the rc; 3 assets in v0.0.10 for asset paging.
  for (const name of [
    "spec-kit-template-claude-sh-v0.0.10.zip",
    "spec-kit-template-claude-ps-v0.0.10.zip",
    "spec-kit-template-gemini-sh-v0.0.10.zip",
    "spec-kit-template-claude-sh-v0.0.9.zip",
    "spec-kit-template-claude-sh-v0.0.11-rc.1.zip",
    "spec-kit-template-claude-sh-v0.0.8.zip",
    "tool-v1.0.0.tar.gz",
  ]) {
    await upload(server, name);
  }

  for (const baseUrl of [`${server.url}/api/v3`, server.url]) {
    await t.test(`baseUrl ${baseUrl.replace(server.url, "<server>") || "<server>"}`, async (t) => {
      // Clients forward their GitHub token; reads must still succeed.
      const quiet = { debug() {}, info() {}, warn() {}, error() {} }; // the 404s below are expected
      const octokit = new Octokit({ baseUrl, auth: "ghp_not-our-token", userAgent: "release-server-tests", log: quiet });
      const checkRelease = (r: unknown, what: string) => t.equal(errorsOf(github.release, r), "", `${what} matches GitHub's release schema`);
      const checkAsset = (a: unknown, what: string) => t.equal(errorsOf(github.asset, a), "", `${what} matches GitHub's release-asset schema`);

      const latest = await octokit.rest.repos.getLatestRelease({ owner, repo });
      t.equal(latest.status, 200);
      t.equal(latest.data.tag_name, "v1.0.0", "the highest stable version among the newest of each family");
      t.equal(latest.data.prerelease, false);
      const names = latest.data.assets.map((a) => a.name);
      t.equal(names[0], "tool-v1.0.0.tar.gz", "highest version first");
      t.same(
        names.slice(1).sort(),
        ["spec-kit-template-claude-ps-v0.0.10.zip", "spec-kit-template-claude-sh-v0.0.10.zip", "spec-kit-template-gemini-sh-v0.0.10.zip"],
        "then the newest of each template family: not the rc, not the older ones",
      );
      checkRelease(latest.data, "getLatestRelease");

      const firstPage = await octokit.rest.repos.listReleases({ owner, repo, per_page: 2 });
      t.same(firstPage.data.map((r) => r.tag_name), ["v1.0.0", "v0.0.11-rc.1"]);
      t.match(firstPage.headers.link, /rel="next"/);
      const second = await octokit.rest.repos.listReleases({ owner, repo, per_page: 2, page: 2 });
      t.same(second.data.map((r) => r.tag_name), ["v0.0.10", "v0.0.9"]);
      const all = await octokit.paginate(octokit.rest.repos.listReleases, { owner, repo, per_page: 2 });
      t.same(all.map((r) => r.tag_name), ["v1.0.0", "v0.0.11-rc.1", "v0.0.10", "v0.0.9", "v0.0.8"], "paginate follows the Link header");
      t.equal(all[1].prerelease, true);
      for (const r of all) checkRelease(r, `listReleases ${r.tag_name}`);

      const byTag = await octokit.rest.repos.getReleaseByTag({ owner, repo, tag: "v0.0.10" });
      t.equal(byTag.data.assets.length, 3);
      checkRelease(byTag.data, "getReleaseByTag");

      const byId = await octokit.rest.repos.getRelease({ owner, repo, release_id: byTag.data.id });
      t.same(byId.data, byTag.data);

      const assets = await octokit.paginate(octokit.rest.repos.listReleaseAssets, { owner, repo, release_id: byTag.data.id, per_page: 2 });
      t.same(assets.map((a) => a.name), byTag.data.assets.map((a) => a.name), "listReleaseAssets, paged by 2");
      for (const a of assets) checkAsset(a, `listReleaseAssets ${a.name}`);

      const target = byTag.data.assets.find((a) => a.name === "spec-kit-template-claude-sh-v0.0.10.zip")!;
      const asset = await octokit.rest.repos.getReleaseAsset({ owner, repo, asset_id: target.id });
      t.same(asset.data, target);
      t.equal(asset.data.digest, `sha256:${sha256(bytesFor(target.name))}`);
      checkAsset(asset.data, "getReleaseAsset");

      // The download GitHub documents: the asset's API url with Accept: application/octet-stream.
      const download = await octokit.request(asset.data.url, { headers: { accept: "application/octet-stream" } });
      t.equal(download.status, 200);
      t.equal(sha256(new Uint8Array(download.data as ArrayBuffer)), sha256(bytesFor(target.name)), "the bytes match the digest");
      const viaRoute = await octokit.rest.repos.getReleaseAsset({ owner, repo, asset_id: target.id, headers: { accept: "application/octet-stream" } });
      t.equal(sha256(new Uint8Array(viaRoute.data as unknown as ArrayBuffer)), sha256(bytesFor(target.name)));

      // Unknown things are RequestErrors with status 404, as against GitHub.
      const calls: (() => Promise<unknown>)[] = [
        () => octokit.rest.repos.getRelease({ owner, repo, release_id: 1 }),
        () => octokit.rest.repos.getReleaseByTag({ owner, repo, tag: "v9.9.9" }),
        () => octokit.rest.repos.getReleaseAsset({ owner, repo, asset_id: 1 }),
        () => octokit.rest.repos.listReleaseAssets({ owner, repo, release_id: 1 }),
      ];
      for (const call of calls) {
        const err = (await call().then(() => null, (e: unknown) => e)) as { status?: number; response?: { data?: { message?: string } } } | null;
        t.equal(err?.status, 404);
        t.equal(err?.response?.data?.message, "Not Found");
      }
    });
  }
});

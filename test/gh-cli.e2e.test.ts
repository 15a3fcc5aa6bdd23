// The real `gh` (Debian's package) against the server serving HTTPS itself,
// with a self-signed certificate this test makes and trusts through
// SSL_CERT_FILE, configured the way a user would (GH_HOST,
// GH_ENTERPRISE_TOKEN). Spec Kit's release flow into the default repository,
// the whole life cycle of a draft, a second repository that stays separate,
// and afterwards the specify client's algorithm on /latest.

import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { bytesFor, sha256, specifyDownload, templateNames } from "./helpers/releases.js";
import { keptDir, startServer, TOKEN } from "./helpers/server.js";
import { makeCertificate } from "./helpers/tls.js";

const REPO = "github/spec-kit"; // the default repository of this server
const OTHER = "acme/other";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, cwd, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

t.test("gh release: Spec Kit's flow, a draft's life cycle, two repositories", async (t) => {
  const which = await exec("sh", ["-c", "command -v gh"], { PATH: process.env.PATH ?? "" }, "/");
  t.equal(which.code, 0, "gh is installed (.ci/run installs Debian's package)");
  if (which.code !== 0) return;

  const dir = await keptDir(t);
  const storage = await keptDir(t);
  const { cert, key } = await makeCertificate(dir);
  const env = { MAX_PACKAGES: "0", DEFAULT_REPOSITORY: REPO, TLS_CERT_FILE: cert, TLS_KEY_FILE: key };
  let server = await startServer({ storage, env });
  t.teardown(() => server.stop());
  t.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/, "the server speaks HTTPS itself");

  const ghEnv = {
    PATH: process.env.PATH ?? "",
    HOME: dir,
    SSL_CERT_FILE: cert,
    GH_HOST: new URL(server.url).host,
    GH_ENTERPRISE_TOKEN: TOKEN,
    GH_CONFIG_DIR: join(dir, "gh-config"),
    GH_PROMPT_DISABLED: "1",
    GH_NO_UPDATE_NOTIFIER: "1",
    NO_COLOR: "1",
  };
  const gh = async (...args: string[]): Promise<Run> => {
    const run = await exec("gh", args, ghEnv, dir);
    if (run.code !== 0) t.comment(`gh ${args.join(" ")}: exit ${run.code}\n${run.stderr}`);
    return run;
  };
  const viewJson = async (tag: string, repo = REPO) => {
    const run = await gh("release", "view", tag, "-R", repo, "--json", "tagName,name,body,isDraft,isPrerelease,assets,url");
    return run.code === 0 ? JSON.parse(run.stdout) : null;
  };

  // Spec Kit's release script: 34 template zips, a title, notes from a file, --latest.
  const names = templateNames("v1.2.3");
  for (const name of names) await writeFile(join(dir, name), bytesFor(name));
  await writeFile(join(dir, "notes.md"), "## Spec Kit 1.2.3\n\n- templates for every agent\n");

  await t.test("gh api reads the API root and the user with the token", async (t) => {
    const user = await gh("api", "user", "--jq", ".login");
    t.equal(user.code, 0);
    t.equal(user.stdout.trim(), "release-server");
  });

  await t.test("gh release create with 34 assets, --notes-file and --latest", async (t) => {
    const run = await gh("release", "create", "v1.2.3", ...names, "--title", "Spec Kit Templates - 1.2.3", "--notes-file", "notes.md", "--latest", "-R", REPO);
    t.equal(run.code, 0, "created");
    t.match(run.stdout.trim(), `${server.url}/releases/tag/v1.2.3`, "gh prints the release page");
    const view = await viewJson("v1.2.3");
    t.equal(view.name, "Spec Kit Templates - 1.2.3");
    t.equal(view.body, "## Spec Kit 1.2.3\n\n- templates for every agent\n");
    t.equal(view.isDraft, false);
    t.same(view.assets.map((a: { name: string }) => a.name).sort(), [...names].sort(), "all 34 templates");
  });

  await t.test("gh release view (human output)", async (t) => {
    const run = await gh("release", "view", "v1.2.3", "-R", REPO);
    t.equal(run.code, 0);
    t.match(run.stdout, /title:\tSpec Kit Templates - 1\.2\.3/);
    t.equal(run.stdout.split("\n").filter((l) => l.startsWith("asset:")).length, 34);
  });

  await t.test("gh release list passes every time (it lists through GraphQL)", async (t) => {
    for (let i = 0; i < 5; i++) {
      const run = await gh("release", "list", "-R", REPO);
      t.equal(run.code, 0, `run ${i + 1}`);
      t.match(run.stdout, /^Spec Kit Templates - 1\.2\.3\tLatest\tv1\.2\.3\t/m, `run ${i + 1} shows v1.2.3 as Latest`);
    }
  });

  await t.test("gh release download --pattern, verified by sha256", async (t) => {
    for (let i = 0; i < 3; i++) {
      const to = join(dir, `download-${i}`);
      const run = await gh("release", "download", "v1.2.3", "-R", REPO, "--pattern", "*claude-sh*", "-D", to);
      t.equal(run.code, 0, `download ${i + 1} (gh races REST and GraphQL for the tag)`);
      const name = "spec-kit-template-claude-sh-v1.2.3.zip";
      t.equal(sha256(await readFile(join(to, name))), sha256(bytesFor(name)), "the bytes uploaded");
    }
  });

  await t.test("gh release upload --clobber replaces an asset", async (t) => {
    const name = "spec-kit-template-claude-sh-v1.2.3.zip";
    const fixed = bytesFor(name, "fixed");
    await writeFile(join(dir, name), fixed);
    t.equal((await gh("release", "upload", "v1.2.3", name, "--clobber", "-R", REPO)).code, 0);
    const again = await gh("release", "upload", "v1.2.3", name, "-R", REPO);
    t.not(again.code, 0, "without --clobber an existing name is refused");
    t.match(again.stderr, /already_exists|already exists/);
    const to = join(dir, "download-fixed");
    t.equal((await gh("release", "download", "v1.2.3", "-R", REPO, "--pattern", name, "-D", to)).code, 0);
    t.equal(sha256(await readFile(join(to, name))), sha256(fixed), "the new bytes");
    await writeFile(join(dir, name), bytesFor(name)); // put the original back for the specify check
    t.equal((await gh("release", "upload", "v1.2.3", name, "--clobber", "-R", REPO)).code, 0);
  });

  await t.test("a draft: created, published with gh release edit, its asset and then itself deleted", async (t) => {
    await writeFile(join(dir, "extra-v2.0.0-rc.1.txt"), "extra\n");
    const create = await gh("release", "create", "v2.0.0-rc.1", "extra-v2.0.0-rc.1.txt", "--draft", "--prerelease", "--notes", "rc", "-R", REPO);
    t.equal(create.code, 0);
    t.match((await viewJson("v2.0.0-rc.1")) ?? {}, { isDraft: true, isPrerelease: true }, "gh finds the draft by its tag");
    const anonymous = await exec("curl", ["-sS", "--cacert", cert, `${server.url}/api/v3/repos/${REPO}/releases`], ghEnv, dir);
    t.equal(anonymous.code, 0);
    t.notMatch(anonymous.stdout, /v2\.0\.0-rc\.1/, "drafts are hidden without the token");
    const list = await gh("release", "list", "-R", REPO);
    t.match(list.stdout, /^v2\.0\.0-rc\.1\tDraft\t/m, "and listed with it");

    t.equal((await gh("release", "edit", "v2.0.0-rc.1", "--draft=false", "-R", REPO)).code, 0);
    t.match((await viewJson("v2.0.0-rc.1")) ?? {}, { isDraft: false, isPrerelease: true }, "published");
    const listed = await gh("release", "list", "-R", REPO);
    t.match(listed.stdout, /^v2\.0\.0-rc\.1\tPre-release\t/m);
    t.match(listed.stdout, /\tLatest\tv1\.2\.3\t/, "a prerelease is never latest");

    t.equal((await gh("release", "delete-asset", "v2.0.0-rc.1", "extra-v2.0.0-rc.1.txt", "-y", "-R", REPO)).code, 0);
    t.same((await viewJson("v2.0.0-rc.1")).assets, [], "the asset is gone");
    t.equal((await gh("release", "delete", "v2.0.0-rc.1", "-y", "-R", REPO)).code, 0);
    const gone = await gh("release", "view", "v2.0.0-rc.1", "-R", REPO);
    t.not(gone.code, 0, "the release is gone");
  });

  await t.test("a second repository stays separate", async (t) => {
    await writeFile(join(dir, "other-v1.2.3.zip"), bytesFor("other-v1.2.3.zip"));
    const unknown = await gh("release", "list", "-R", OTHER);
    t.not(unknown.code, 0, "a repository nobody wrote to does not exist");
    t.match(unknown.stderr, /Could not resolve to a Repository/);
    t.equal((await gh("release", "create", "v1.2.3", "other-v1.2.3.zip", "--notes", "other product", "-R", OTHER)).code, 0, "the first write creates it");
    const view = await viewJson("v1.2.3", OTHER);
    t.same(view.assets.map((a: { name: string }) => a.name), ["other-v1.2.3.zip"], "the same tag, its own assets");
    t.match(view.url, `${server.url}/${OTHER}/releases/tag/v1.2.3`);
    const ours = await viewJson("v1.2.3");
    t.equal(ours.assets.length, 34, "the default repository's v1.2.3 is untouched");
    t.notOk(ours.assets.some((a: { name: string }) => a.name === "other-v1.2.3.zip"));
    const list = await gh("release", "list", "-R", OTHER);
    t.equal(list.stdout.trim().split("\n").length, 1);
    const to = join(dir, "download-other");
    t.equal((await gh("release", "download", "v1.2.3", "-R", OTHER, "-D", to)).code, 0);
    t.equal(sha256(await readFile(join(to, "other-v1.2.3.zip"))), sha256(bytesFor("other-v1.2.3.zip")));
  });

  // The same storage over plain HTTP (Node's fetch trusts no self-signed certificate): what persisted.
  await server.stop();
  server = await startServer({ storage, env: { MAX_PACKAGES: "0", DEFAULT_REPOSITORY: REPO } });

  await t.test("afterwards /latest serves v1.2.3 to the specify client algorithm", async (t) => {
    for (const [ai, script] of [["claude", "sh"], ["claude", "ps"], ["gemini", "sh"], ["q", "ps"]]) {
      const got = await specifyDownload(`${server.url}/latest`, ai, script);
      t.equal(got.name, `spec-kit-template-${ai}-${script}-v1.2.3.zip`);
      t.equal(got.sha256, sha256(bytesFor(got.name)));
    }
    const latest = (await (await fetch(`${server.url}/latest`)).json()) as { tag_name: string; assets: unknown[] };
    t.equal(latest.tag_name, "v1.2.3");
    t.equal(latest.assets.length, 34, "only the 34 templates: nothing of the other repository");
    const other = (await (await fetch(`${server.url}/repos/${OTHER}/releases/latest`)).json()) as { assets: { name: string; browser_download_url: string }[] };
    t.same(other.assets.map((a) => a.name), ["other-v1.2.3.zip"]);
    const web = await fetch(other.assets[0].browser_download_url);
    t.equal(web.status, 200, "GitHub's web download path");
    t.equal(sha256(new Uint8Array(await web.arrayBuffer())), sha256(bytesFor("other-v1.2.3.zip")));
    const viaLatest = await fetch(`${server.url}/${OTHER}/releases/latest/download/other-v1.2.3.zip`);
    t.equal(viaLatest.status, 200, "and its latest/download form");
    await viaLatest.body?.cancel();
  });
});

// The GitHub Releases API over HTTP against the real server: every route under
// every prefix, GitHub's 404 shape, Link paging, assets as bytes, public URLs
// behind a proxy, download counts across a restart, the release page.

import { randomBytes } from "node:crypto";
import { get } from "node:http";
import t from "tap";
import { bytesFor, getJson, sha256, upload } from "./helpers/releases.js";
import { startServer, tempDir } from "./helpers/server.js";

const PREFIXES = ["", "/repos/o/r", "/api/v3/repos/o/r"];
const NAMES = ["tool-v1.0.0.zip", "tool-v1.1.0-rc.1.zip", "tool-v0.9.0.tar.gz", "other-v1.0.0.zip", "tool-v0.10.0.zip", "notes.txt"];

t.test("the release routes under every prefix", async (t) => {
  const server = await startServer({ env: { DEFAULT_REPOSITORY: "o/r", MAX_PACKAGES: "0" } });
  t.teardown(() => server.stop());

  await t.test("releases/latest is a GitHub 404 while nothing is stored; /latest is an empty release", async (t) => {
    for (const prefix of PREFIXES) {
      const res = await getJson(`${server.url}${prefix}/releases/latest`);
      t.equal(res.status, 404);
      t.match(res.body, { message: "Not Found", documentation_url: /^https:\/\/docs\.github\.com\// });
    }
    const latest = await getJson(`${server.url}/latest`);
    t.equal(latest.status, 200);
    t.match(latest.body, { tag_name: "latest", assets: [] });
  });

  for (const n of NAMES) await upload(server, n);

  for (const prefix of PREFIXES) {
    await t.test(`prefix "${prefix || "/"}"`, async (t) => {
      const api = `${server.url}${prefix}`;
      const list = await getJson(`${api}/releases`);
      t.equal(list.status, 200);
      t.equal(list.headers.get("content-type"), "application/json");
      t.same(
        list.body.map((r: { tag_name: string }) => r.tag_name),
        ["v1.1.0-rc.1", "v1.0.0", "v0.10.0", "v0.9.0", "unversioned"],
        "highest version first, v0.10.0 above v0.9.0",
      );
      t.equal(list.headers.get("link"), null, "one page: no Link header");
      const v1 = list.body[1];
      t.equal(v1.url, `${api}/releases/${v1.id}`, "API URLs keep the prefix the request came in on");
      t.same(v1.assets.map((a: { name: string }) => a.name), ["other-v1.0.0.zip", "tool-v1.0.0.zip"]);

      const latest = await getJson(`${api}/releases/latest`);
      t.equal(latest.body.tag_name, "v1.0.0", "the prerelease is not latest");
      t.same(latest.body.assets.map((a: { name: string }) => a.name), ["other-v1.0.0.zip", "tool-v1.0.0.zip", "notes.txt"]);

      const byTag = await getJson(`${api}/releases/tags/v1.0.0`);
      t.same(byTag.body, v1);
      t.same((await getJson(`${api}/releases/tags/1.0.0`)).body.id, v1.id, "the tag without its v");
      t.same((await getJson(`${api}/releases/tags/latest`)).body.id, latest.body.id);
      t.same((await getJson(`${api}/releases/${v1.id}`)).body, v1);
      t.same((await getJson(`${api}/releases/${latest.body.id}`)).body, latest.body, "the latest view has an id too");
      const assets = await getJson(`${api}/releases/${v1.id}/assets`);
      t.same(assets.body, v1.assets);
      const asset = await getJson(v1.assets[1].url);
      t.same(asset.body, v1.assets[1]);
      t.equal(asset.headers.get("vary"), "Accept");

      const bytes = await fetch(v1.assets[1].url, { headers: { accept: "application/octet-stream" } });
      t.equal(bytes.status, 200);
      t.equal(bytes.headers.get("content-type"), "application/octet-stream");
      t.equal(sha256(new Uint8Array(await bytes.arrayBuffer())), sha256(bytesFor("tool-v1.0.0.zip")));
      const head = await fetch(v1.assets[1].url, { method: "HEAD", headers: { accept: "application/octet-stream" } });
      t.equal(head.status, 200);
      t.equal(head.headers.get("content-length"), String(bytesFor("tool-v1.0.0.zip").length));

      for (const path of ["/releases/123", "/releases/abc", "/releases/0", "/releases/123/assets", "/releases/tags/v9.9.9", "/releases/assets/123", "/releases/assets/x"]) {
        const res = await getJson(`${api}${path}`);
        t.equal(res.status, 404, path);
        t.same(Object.keys(res.body).sort(), ["documentation_url", "message", "status"], `${path}: GitHub's shape`);
        t.equal(res.body.message, "Not Found");
        const octet = await fetch(`${api}${path}`, { headers: { accept: "application/octet-stream" } });
        t.equal(octet.status, 404);
        await octet.body?.cancel();
      }
      const wrongMethod = await fetch(`${api}/releases/${v1.id}`, { method: "PUT" });
      t.equal(wrongMethod.status, 405);
      t.match(wrongMethod.headers.get("allow"), /DELETE, GET, HEAD, PATCH/);
      const anonymous = await fetch(`${api}/releases/${v1.id}`, { method: "DELETE" });
      t.equal(anonymous.status, 401, "writes need the token");
      await wrongMethod.body?.cancel();
    });
  }

  await t.test("other routes keep the {detail} shape", async (t) => {
    const res = await getJson(`${server.url}/assets/nope.zip`);
    t.equal(res.status, 404);
    t.same(Object.keys(res.body), ["detail"]);
    const page = await getJson(`${server.url}/releases/tag/v9.9.9`);
    t.equal(page.status, 404);
    t.same(Object.keys(page.body), ["detail"]);
  });

  await t.test("an asset deleted between lookup and download is a GitHub 404", async (t) => {
    const latest = (await getJson(`${server.url}/api/v3/repos/o/r/releases/tags/unversioned`)).body;
    const notes = latest.assets.find((a: { name: string }) => a.name === "notes.txt");
    const del = await fetch(`${server.url}/packages/notes.txt`, { method: "DELETE", headers: server.auth });
    t.equal(del.status, 204);
    const res = await getJson(notes.url);
    t.equal(res.status, 404);
    t.equal(res.body.message, "Not Found");
  });
});

t.test("Link header paging", async (t) => {
  const server = await startServer({ env: { DEFAULT_REPOSITORY: "o/r", MAX_PACKAGES: "0" } });
  t.teardown(() => server.stop());
  for (let i = 1; i <= 7; i++) await upload(server, `pkg-v1.0.${i}.zip`);
  for (let i = 0; i < 5; i++) await upload(server, `bundle-part${i}-v2.0.0.zip`);

  const first = await getJson(`${server.url}/api/v3/repos/o/r/releases?per_page=3`);
  t.same(first.body.map((r: { tag_name: string }) => r.tag_name), ["v2.0.0", "v1.0.7", "v1.0.6"]);
  t.equal(
    first.headers.get("link"),
    `<${server.url}/api/v3/repos/o/r/releases?per_page=3&page=2>; rel="next", <${server.url}/api/v3/repos/o/r/releases?per_page=3&page=3>; rel="last"`,
  );
  // Follow rel="next" to the end, as GitHub clients do.
  const tags: string[] = [];
  let next: string | null = `${server.url}/repos/o/r/releases?per_page=3`;
  let pages = 0;
  while (next) {
    const page = await getJson(next);
    pages++;
    tags.push(...page.body.map((r: { tag_name: string }) => r.tag_name));
    next = /<([^>]+)>; rel="next"/.exec(page.headers.get("link") ?? "")?.[1] ?? null;
  }
  t.equal(pages, 3);
  t.same(tags, ["v2.0.0", "v1.0.7", "v1.0.6", "v1.0.5", "v1.0.4", "v1.0.3", "v1.0.2", "v1.0.1"]);
  const last = await getJson(`${server.url}/releases?per_page=3&page=3`);
  t.match(last.headers.get("link"), /rel="prev", .*rel="first"/);
  t.notMatch(last.headers.get("link"), /rel="next"/);

  const bundle = first.body[0];
  const assetsPage = await getJson(`${server.url}/repos/o/r/releases/${bundle.id}/assets?per_page=2&page=2`);
  t.same(assetsPage.body.map((a: { name: string }) => a.name), ["bundle-part2-v2.0.0.zip", "bundle-part3-v2.0.0.zip"]);
  t.match(assetsPage.headers.get("link"), new RegExp(`<${server.url}/repos/o/r/releases/${bundle.id}/assets\\?per_page=2&page=3>; rel="next"`));
});

t.test("absolute URLs: PUBLIC_URL, else the Host; forwarding headers only with TRUST_PROXY", async (t) => {
  const proxyHeaders = { "x-forwarded-proto": "https", "x-forwarded-host": "releases.example.com" };
  const forwarded = { forwarded: 'for=192.0.2.1;proto=https;host="fw.example.org"' };

  await t.test("TRUST_PROXY=true", async (t) => {
    const server = await startServer({ env: { DEFAULT_REPOSITORY: "o/r", TRUST_PROXY: "true" } });
    t.teardown(() => server.stop());
    await upload(server, "tool-v1.0.0.zip");
    const viaX = (await getJson(`${server.url}/api/v3/repos/o/r/releases/latest`, proxyHeaders)).body;
    t.equal(viaX.url, `https://releases.example.com/api/v3/repos/o/r/releases/${viaX.id}`);
    t.equal(viaX.html_url, "https://releases.example.com/releases/tag/latest", "the latest view's own page");
    t.equal(viaX.assets[0].browser_download_url, "https://releases.example.com/assets/tool-v1.0.0.zip");
    t.equal(viaX.assets[0].url, `https://releases.example.com/api/v3/repos/o/r/releases/assets/${viaX.assets[0].id}`);
    const viaForwarded = (await getJson(`${server.url}/latest`, { ...forwarded, ...proxyHeaders })).body;
    t.equal(viaForwarded.assets[0].browser_download_url, "https://fw.example.org/assets/tool-v1.0.0.zip", "Forwarded wins over X-Forwarded-*");
    for (let i = 2; i <= 3; i++) await upload(server, `tool-v1.0.${i}.zip`);
    const paged = await getJson(`${server.url}/releases?per_page=1`, proxyHeaders);
    t.match(paged.headers.get("link"), /^<https:\/\/releases\.example\.com\/releases\?per_page=1&page=2>; rel="next"/, "Link URLs too");
    const plain = (await getJson(`${server.url}/latest`)).body;
    t.equal(plain.assets[0].browser_download_url, `${server.url}/assets/tool-v1.0.3.zip`, "no forwarding headers: the Host");
  });

  await t.test("TRUST_PROXY off (the default)", async (t) => {
    const server = await startServer({ env: { DEFAULT_REPOSITORY: "o/r" } });
    t.teardown(() => server.stop());
    await upload(server, "tool-v1.0.0.zip");
    const body = (await getJson(`${server.url}/repos/o/r/releases/latest`, { ...proxyHeaders, ...forwarded })).body;
    t.equal(body.assets[0].browser_download_url, `${server.url}/assets/tool-v1.0.0.zip`, "forwarding headers ignored");
    t.equal(body.url, `${server.url}/repos/o/r/releases/${body.id}`);
    const hosted = JSON.parse(await getWithHost(`${server.url}/latest`, "alias.internal:8080"));
    t.equal(hosted.assets[0].browser_download_url, "http://alias.internal:8080/assets/tool-v1.0.0.zip", "from the Host header");
  });

  await t.test("PUBLIC_URL wins over everything", async (t) => {
    const server = await startServer({ env: { DEFAULT_REPOSITORY: "o/r", TRUST_PROXY: "true", PUBLIC_URL: "https://dl.example.net/base" } });
    t.teardown(() => server.stop());
    await upload(server, "tool-v1.0.0.zip");
    const body = (await getJson(`${server.url}/api/v3/repos/o/r/releases/latest`, proxyHeaders)).body;
    t.equal(body.assets[0].browser_download_url, "https://dl.example.net/base/assets/tool-v1.0.0.zip");
    t.equal(body.assets_url, `https://dl.example.net/base/api/v3/repos/o/r/releases/${body.id}/assets`);
  });
});

t.test("download_count counts completed downloads and survives a restart", async (t) => {
  const storage = await tempDir();
  let server = await startServer({ storage, env: { DEFAULT_REPOSITORY: "o/r" } });
  t.teardown(() => server.stop());
  const big = randomBytes(24 * 1024 * 1024);
  await upload(server, "big-v1.0.0.bin", big);
  await upload(server, "tool-v1.0.0.zip");
  const assetUrl = async (name: string) => {
    const latest = (await getJson(`${server.url}/repos/o/r/releases/latest`)).body;
    return latest.assets.find((a: { name: string }) => a.name === name);
  };
  const countOf = async (name: string) => (await assetUrl(name)).download_count as number;
  const eventually = async (name: string, want: number) => {
    for (let i = 0; i < 50 && (await countOf(name)) !== want; i++) await new Promise((r) => setTimeout(r, 50));
    return countOf(name);
  };

  t.equal(await countOf("tool-v1.0.0.zip"), 0);
  const a = await assetUrl("tool-v1.0.0.zip");
  await (await fetch(a.browser_download_url)).arrayBuffer();
  t.equal(await eventually("tool-v1.0.0.zip", 1), 1, "a browser_download_url download counts");
  await (await fetch(a.url, { headers: { accept: "application/octet-stream" } })).arrayBuffer();
  t.equal(await eventually("tool-v1.0.0.zip", 2), 2, "a download through the API counts");
  await (await fetch(a.url)).arrayBuffer();
  const head = await fetch(a.browser_download_url, { method: "HEAD" });
  await head.body?.cancel();
  t.equal(await countOf("tool-v1.0.0.zip"), 2, "JSON and HEAD do not count");

  // A download abandoned after its first bytes does not count.
  const partial = await fetch((await assetUrl("big-v1.0.0.bin")).browser_download_url);
  const reader = partial.body!.getReader();
  await reader.read();
  await reader.cancel();
  await new Promise((r) => setTimeout(r, 300));
  t.equal(await countOf("big-v1.0.0.bin"), 0, "an abandoned download does not count");

  t.equal(await server.stop(), 0);
  server = await startServer({ storage, env: { DEFAULT_REPOSITORY: "o/r" } });
  t.equal(await countOf("tool-v1.0.0.zip"), 2, "the count survived the restart");
  const pkgs = (await getJson(`${server.url}/packages`)).body.map((p: { name: string }) => p.name).sort();
  t.same(pkgs, ["big-v1.0.0.bin", "tool-v1.0.0.zip"], "the counts file is not a package");

  // Re-uploading different bytes under the same name is a new asset.
  await upload(server, "tool-v1.0.0.zip", bytesFor("tool-v1.0.0.zip", "new"), true);
  t.equal(await countOf("tool-v1.0.0.zip"), 0);
});

t.test("the release page escapes what users control", async (t) => {
  const server = await startServer({ env: { DEFAULT_REPOSITORY: "o/r" } });
  t.teardown(() => server.stop());
  const evil = `<img src=x onerror=alert(1)>"'.zip`;
  await upload(server, evil);
  await upload(server, "tool-v1.0.0-rc.1.zip");
  const latest = (await getJson(`${server.url}/latest`)).body;
  t.equal(latest.tag_name, "v1.0.0-rc.1");
  t.equal(latest.prerelease, true);
  const unversioned = (await getJson(`${server.url}/releases/tags/unversioned`)).body;
  const page = await fetch(unversioned.html_url);
  t.equal(page.status, 200);
  t.match(page.headers.get("content-type"), /^text\/html/);
  t.match(page.headers.get("content-security-policy"), /default-src 'none'/);
  const html = await page.text();
  t.notMatch(html, /<img/);
  t.match(html, />&#60;img src=x onerror=alert\(1\)&#62;%22&#39;\.zip<\/a>/, "FormData sends the quote as %22");
  const latestPage = await (await fetch(latest.html_url)).text();
  t.match(latestPage, /<h1 class="tag"><a href="\/releases\/tag\/latest">Latest: v1\.0\.0-rc\.1<\/a><\/h1> <span class="badge pre">Pre-release<\/span>/, "the latest view's page");
  t.match(latestPage, /2 assets/);
  const rc = await fetch(`${server.url}/releases/tag/v1.0.0-rc.1`);
  t.match(await rc.text(), /<h1 class="tag"><a href="\/releases\/tag\/v1\.0\.0-rc\.1">v1\.0\.0-rc\.1<\/a><\/h1> <span class="badge latest">Latest<\/span> <span class="badge pre">Pre-release<\/span>/);
});

/** fetch() may not set Host; node:http can. */
function getWithHost(url: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { host }, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

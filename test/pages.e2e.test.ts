// The pages over HTTP: who gets HTML and who keeps getting JSON, the strict
// CSP and the files it allows, per-repository release pages, static files.

import t from "tap";
import { parse } from "yaml";
import { readFile } from "node:fs/promises";
import { upload } from "./helpers/releases.js";
import { ROOT, serverFor } from "./helpers/server.js";

const BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

t.test("pages and negotiation", async (t) => {
  const server = await serverFor(t, { env: { DEFAULT_REPOSITORY: "octo/tools" } });
  for (const name of ["tool-v1.0.0.zip", "tool-v1.1.0-rc.1.zip", "notes.txt"]) await upload(server, name);
  const get = (path: string, accept?: string) => fetch(`${server.url}${path}`, { headers: accept ? { accept } : {} });

  await t.test("GET /: a page for browsers, an index of links for programs", async (t) => {
    for (const accept of [undefined, "*/*", "application/json"]) {
      const res = await get("/", accept);
      t.equal(res.headers.get("content-type"), "application/json", `Accept: ${accept}`);
      t.equal(res.headers.get("vary"), "Accept");
      const body = await res.json();
      t.equal(body.links.releases, `${server.url}/releases`);
      t.equal(body.links.openapi, `${server.url}/openapi.json`);
    }
    const res = await get("/", BROWSER);
    t.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    const html = await res.text();
    t.match(html, "specify init my-project --template-url " + server.url + "/latest");
    t.match(html, `curl -LO ${server.url}/releases/latest/download/`);
    t.match(html, "Latest: v1.0.0");
  });

  await t.test("GET /releases: JSON for API clients, the releases page for browsers", async (t) => {
    for (const accept of [undefined, "*/*", "application/json", "application/vnd.github+json", "application/vnd.github.v3+json"]) {
      const res = await get("/releases", accept);
      t.equal(res.headers.get("content-type"), "application/json", `Accept: ${accept}`);
      t.equal(res.headers.get("vary"), "Accept");
      t.same((await res.json()).map((r: { tag_name: string }) => r.tag_name), ["v1.1.0-rc.1", "v1.0.0", "unversioned"]);
    }
    const res = await get("/releases", BROWSER);
    t.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    t.equal(res.headers.get("vary"), "Accept");
    const html = await res.text();
    t.ok(html.indexOf(">v1.1.0-rc.1<") < html.indexOf(">v1.0.0<"), "newest version first");
    t.match(html, '<a href="/releases/tag/v1.0.0">v1.0.0</a></h2> <span class="badge latest">Latest</span>');
    for (const prefix of ["/repos/o/r", "/api/v3/repos/o/r"]) {
      const api = await get(`${prefix}/releases`, BROWSER);
      t.equal(api.headers.get("content-type"), "application/json", `${prefix}/releases stays JSON (the API)`);
      await api.body?.cancel();
    }
  });

  await t.test("/{owner}/{repo}/releases and its release pages", async (t) => {
    const res = await get("/octo/tools/releases");
    t.equal(res.status, 200);
    const html = await res.text();
    t.match(html, "octo/tools");
    t.match(html, 'href="/octo/tools/releases/tag/v1.0.0"');
    t.match(html, "gh release download -R octo/tools");
    const tag = await get("/octo/tools/releases/tag/v1.0.0");
    t.equal(tag.status, 200);
    t.match(await tag.text(), 'href="/octo/tools/releases">← All releases');
    const missing = await get("/octo/tools/releases/tag/v9.9.9");
    t.equal(missing.status, 404);
    t.match((await missing.json()).detail, /no release tagged "v9\.9\.9"/);
    const paged = await get("/releases?page=abc", BROWSER);
    t.equal(paged.status, 200, "a bad page number shows the first page");
    await paged.body?.cancel();
  });

  await t.test("every page carries the strict CSP, and the files it names are served", async (t) => {
    const seen = new Set<string>();
    for (const path of ["/", "/releases", "/octo/tools/releases", "/releases/tag/v1.0.0", "/releases/tag/latest", "/packages", "/docs"]) {
      const res = await get(path, BROWSER);
      t.equal(res.status, 200, path);
      const csp = res.headers.get("content-security-policy") ?? "";
      t.match(csp, "default-src 'none'", path);
      t.match(csp, "script-src 'self';", path);
      t.notMatch(csp, /unsafe-inline|unsafe-eval/, `${path}: nothing inline`);
      const html = await res.text();
      t.notMatch(html, /<script>|<script [^>]*>[^<]|<style|style=/, `${path}: no inline script or style`);
      t.notMatch(html, /(src|href)="https?:\/\//.source.replace("https?", "(?!" + server.url.replace(/[.:/]/g, "\\$&") + ")https?"), `${path}: no external resources`);
      for (const m of html.matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)) seen.add(m[1]);
    }
    t.same([...seen].sort(), ["/static/app.css", "/static/app.js", "/static/docs.css", "/static/docs.js", "/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css"]);
    for (const path of seen) {
      const res = await get(path);
      t.equal(res.status, 200, path);
      t.match(res.headers.get("content-type"), path.endsWith(".js") ? /^text\/javascript/ : /^text\/css/);
      const etag = res.headers.get("etag")!;
      t.ok((await res.arrayBuffer()).byteLength > 0);
      const again = await fetch(`${server.url}${path}`, { headers: { "if-none-match": etag } });
      t.equal(again.status, 304, `${path}: revalidates`);
    }
    for (const path of ["/static/nope.js", "/static/swagger-ui/index.html", "/static/..%2Fpackage.json", "/static/swagger-ui/..%2F..%2Fpackage.json"]) {
      const res = await get(path);
      t.equal(res.status, 404, `${path} is not served`);
      await res.body?.cancel();
    }
  });

  await t.test("/openapi.json is openapi.yaml as JSON", async (t) => {
    const res = await get("/openapi.json");
    t.equal(res.headers.get("content-type"), "application/json");
    t.same(await res.json(), parse(await readFile(`${ROOT}/openapi.yaml`, "utf8")));
  });
});

// Every read endpoint and routing answer of issue 2, against the real server:
// health probes, the package list as JSON and HTML, downloads and their
// headers, invalid names, unknown paths and wrong methods.

import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { curl, download, isError, sha256, uploaded } from "./helpers/requests.js";
import { checkContentLength, S3_BACKEND, serverFor, type RunningServer } from "./helpers/server.js";

// These two work on the storage directory itself; test/store-s3.test.ts covers the bucket's equivalents.
const directoryOnly = S3_BACKEND ? "works on the storage directory, not the bucket" : false;

t.test("health probes", async (t) => {
  const server = await serverFor(t);
  const health = await fetch(`${server.url}/health`);
  t.equal(health.status, 200);
  t.equal(health.headers.get("content-type"), "application/json");
  t.same(await health.json(), { status: "ok" });

  for (const path of ["/healthz", "/readyz"]) {
    const res = await fetch(`${server.url}${path}`);
    t.equal(res.status, 200, path);
    t.match(res.headers.get("content-type"), /^text\/plain/, path);
    t.equal(await res.text(), "OK", path);
  }
});

t.test("readyz is 503 while the storage directory is gone or not a directory, and recovers", { skip: directoryOnly }, async (t) => {
  const server = await serverFor(t);
  // Tests run as root, which chmod does not stop: take the directory away instead.
  await rm(server.storage, { recursive: true });
  const gone = await fetch(`${server.url}/readyz`);
  t.equal(gone.status, 503);
  t.match(await gone.text(), /not ready: the storage directory is missing/);
  t.equal((await fetch(`${server.url}/healthz`)).status, 200, "liveness does not depend on storage");
  const list = await fetch(`${server.url}/packages`);
  t.equal(list.status, 503, "requests that need the storage say it is missing");
  t.match(await list.json(), { detail: /storage directory is missing/ });

  await writeFile(server.storage, "a file where the directory was");
  t.equal((await fetch(`${server.url}/readyz`)).status, 503, "a regular file is not a usable directory");
  await rm(server.storage);
  await mkdir(server.storage);
  t.equal((await fetch(`${server.url}/readyz`)).status, 200, "ready again once the directory is back");
  t.equal((await fetch(`${server.url}/packages`)).status, 200, "and serving again");
});

t.test("the package list", async (t) => {
  const server = await serverFor(t);
  const empty = await fetch(`${server.url}/packages`);
  t.equal(empty.headers.get("content-type"), "application/json", "exactly application/json, no charset");
  t.same(await empty.json(), []);

  const first = await uploaded(t, server, "first.zip", "one");
  await new Promise((r) => setTimeout(r, 20)); // distinct mtimes, so "newest first" is decided
  const second = await uploaded(t, server, "second.zip", "two!");

  t.test("as JSON: newest first, with the older server's field names", async (t) => {
    const res = await fetch(`${server.url}/packages`);
    t.equal(res.status, 200);
    t.equal(res.headers.get("content-type"), "application/json");
    const list = await res.json();
    const entry = ({ removed: _, ...rest }: { removed: string[] }) => rest; // the upload answer also says what retention removed
    t.same(list, [entry(second), entry(first)]);
    t.same(Object.keys(list[0]).sort(), ["created_at", "name", "sha256", "size"]);
    t.match(list[0], { name: "second.zip", size: 4, sha256: sha256("two!") });
    t.match(list[0].created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, "ISO 8601 UTC");
    t.same((await (await fetch(`${server.url}/packages?format=json`, { headers: { accept: "text/html" } })).json()), list, "?format=json overrides Accept");
  });

  t.test("as HTML for a browser's Accept and for ?format=html", async (t) => {
    for (const [what, path, headers] of [
      ["Accept", "/packages", { accept: "text/html,application/xhtml+xml,*/*;q=0.8" }],
      ["?format=html", "/packages?format=html", { accept: "application/json" }],
    ] as const) {
      const res = await fetch(`${server.url}${path}`, { headers });
      t.equal(res.status, 200, what);
      t.equal(res.headers.get("content-type"), "text/html; charset=utf-8", what);
      const page = await res.text();
      t.match(page, /<!doctype html>/i, what);
      t.ok(page.indexOf("second.zip") < page.indexOf("first.zip"), `${what}: newest first`);
      t.match(page, sha256("one"), what);
    }
  });

  t.test("other formats are refused with 422", async (t) => {
    await isError(t, await fetch(`${server.url}/packages?format=xml`), 422, /format must be "json" or "html", not "xml"/);
  });
});

t.test("the HTML page escapes names that hold markup", { skip: directoryOnly }, async (t) => {
  const server = await serverFor(t);
  // Clients percent-encode a quote in a multipart filename, so this one is copied in by hand.
  const quoted = `<script>alert("x&y")<script>.zip`;
  await writeFile(join(server.storage, quoted), "evil");
  const uploadedName = "<b>Tom & 'Jerry'<b>.zip"; // no "/": names are one path segment
  await uploaded(t, server, uploadedName, "also evil");
  const page = await (await fetch(`${server.url}/packages?format=html`)).text();
  t.notMatch(page, "<script>", "no live markup from a name");
  t.notMatch(page, "<b>");
  t.match(page, "&#60;script&#62;alert(&#34;x&#38;y&#34;)&#60;script&#62;.zip");
  t.match(page, "&#60;b&#62;Tom &#38; &#39;Jerry&#39;&#60;b&#62;.zip");
  const names = (await (await fetch(`${server.url}/packages`)).json()).map((p: { name: string }) => p.name);
  t.same(names.sort(), [quoted, uploadedName].sort(), "JSON keeps the names as they are");
});

t.test("downloads", async (t) => {
  const server = await serverFor(t);
  const plain = "spec-kit-template-claude-sh-v0.0.90.zip";
  const unicode = "paquet-naïve-日本.zip";
  const bytes = new Uint8Array(Buffer.from("PK\x03\x04 some zip bytes"));
  const stored = await uploaded(t, server, plain, bytes);
  await uploaded(t, server, unicode, "unicode");

  t.test("200 with every header the issue names", async (t) => {
    const { status, bytes: got, headers } = await download(server, plain);
    t.equal(status, 200);
    t.same(got, Buffer.from(bytes));
    t.equal(headers.get("content-type"), "application/octet-stream");
    checkContentLength(t, headers, bytes.length);
    t.equal(headers.get("content-disposition"), `attachment; filename="${plain}"`);
    t.equal(headers.get("etag"), `"${stored.sha256}"`);
    t.equal(headers.get("last-modified"), new Date(stored.created_at).toUTCString());
    t.equal(headers.get("x-content-type-options"), "nosniff");
  });

  t.test("a non-ASCII name gets filename*=UTF-8''", async (t) => {
    const { status, bytes: got, headers } = await download(server, unicode);
    t.equal(status, 200);
    t.equal(got.toString(), "unicode");
    t.equal(headers.get("content-disposition"), `attachment; filename="paquet-na_ve-__.zip"; filename*=UTF-8''${encodeURIComponent(unicode)}`);
  });

  t.test("HEAD gives the headers without the bytes", async (t) => {
    const res = await fetch(`${server.url}/assets/${plain}`, { method: "HEAD" });
    t.equal(res.status, 200);
    t.equal(res.headers.get("content-length"), String(bytes.length));
    t.equal(res.headers.get("etag"), `"${stored.sha256}"`);
    t.equal((await res.arrayBuffer()).byteLength, 0);
    t.equal((await fetch(`${server.url}/assets/absent.zip`, { method: "HEAD" })).status, 404);
  });

  t.test("curl -O saves the package under its name", async (t) => {
    const dir = server.storage + "-curl";
    await mkdir(dir);
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const res = await curl("-f", "-o", join(dir, plain), `${server.url}/assets/${plain}`);
    t.equal(res.code, 0, res.stderr);
    t.same(await readFile(join(dir, plain)), Buffer.from(bytes));
  });

  t.test("404 for a package that is not there", async (t) => {
    await isError(t, await fetch(`${server.url}/assets/absent.zip`), 404, 'no package named "absent.zip"');
  });

  t.test("400 for names that are not one plain segment, in any encoding", async (t) => {
    for (const path of ["..%2Fetc%2Fpasswd", "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "..%5C..%5Cetc", ".hidden", `${encodeURIComponent(".hidden")}.sha256`, "a%5Cb", "a%00b", "%20lead"]) {
      await isError(t, await fetch(`${server.url}/assets/${path}`), 400, /invalid file name/);
    }
    await isError(t, await fetch(`${server.url}/assets/bad%zz`), 400, /not valid percent-encoding/);
  });

  t.test("dot segments sent as written never reach outside the storage directory", async (t) => {
    // fetch would normalise these paths; curl --path-as-is sends them as written. The server's URL
    // parsing resolves the dot segments first, so they land on another path, never on a file
    // (/assets/%2e%2e is "/", whose JSON index of links is checked below).
    for (const [path, status] of [
      ["/assets/../../../etc/passwd", "404"],
      ["/assets/%2e%2e", "200"], // that is "/", the index of links
      ["/assets/%2e%2e/%2e%2e/etc/passwd", "404"],
      ["/assets/x/%2e%2e", "400"],
    ]) {
      const res = await curl("--path-as-is", "-w", "\n%{http_code}", `${server.url}${path}`);
      t.equal(res.stdout.slice(res.stdout.lastIndexOf("\n") + 1), status, path);
      if (status === "200") t.match(JSON.parse(res.stdout.slice(0, res.stdout.lastIndexOf("\n"))), { name: "release-server" }, path);
    }
  });
});

t.test("GET /latest lists the packages as release assets", async (t) => {
  const server = await serverFor(t);
  await uploaded(t, server, "old.zip", "old");
  await new Promise((r) => setTimeout(r, 20));
  await uploaded(t, server, "new é.zip", "newer");
  const res = await fetch(`${server.url}/latest`);
  t.equal(res.status, 200);
  t.equal(res.headers.get("content-type"), "application/json");
  const latest = await res.json();
  t.match(latest, { tag_name: String, name: String });
  t.match(latest.assets, [
    { name: "new é.zip", size: 5, browser_download_url: `${server.url}/assets/new%20%C3%A9.zip` },
    { name: "old.zip", size: 3, browser_download_url: `${server.url}/assets/old.zip` },
  ]);
  const viaHost = JSON.parse((await curl("-H", "Host: releases.example:8443", `${server.url}/latest`)).stdout);
  t.equal(viaHost.assets[1].browser_download_url, "http://releases.example:8443/assets/old.zip", "from the request's Host");

  const { status, bytes } = await download(server, latest.assets[0].name);
  t.equal(status, 200);
  t.equal(bytes.toString(), "newer");
});

t.test("GET /latest uses PUBLIC_URL when set", async (t) => {
  const server = await serverFor(t, { env: { PUBLIC_URL: "https://releases.example.com/base/" } });
  await uploaded(t, server, "a.zip", "a");
  const latest = JSON.parse((await curl("-H", "Host: other.example", `${server.url}/latest`)).stdout);
  t.equal(latest.assets[0].browser_download_url, "https://releases.example.com/base/assets/a.zip");
});

t.test("behind a proxy, links follow X-Forwarded-* / Forwarded only when TRUST_PROXY is on", async (t) => {
  const forwarded = { "x-forwarded-proto": "https", "x-forwarded-host": "releases.example.com" };
  const link = async (server: RunningServer, headers: Record<string, string>) =>
    (await (await fetch(`${server.url}/latest`, { headers })).json()).assets[0].browser_download_url;

  const trusting = await serverFor(t, { env: { TRUST_PROXY: "true" } });
  await uploaded(t, trusting, "a.zip", "a");
  t.equal(await link(trusting, forwarded), "https://releases.example.com/assets/a.zip");
  t.equal(await link(trusting, { forwarded: 'for=10.0.0.1;proto=https;host="fw.example.com"' }), "https://fw.example.com/assets/a.zip");

  const plain = await serverFor(t);
  await uploaded(t, plain, "a.zip", "a");
  t.equal(await link(plain, forwarded), `${plain.url}/assets/a.zip`, "anyone can send these headers: ignored by default");
});

t.test("reads that carry some other bearer token still succeed", async (t) => {
  const server = await serverFor(t);
  await uploaded(t, server, "a.zip", "a");
  const github = { authorization: "Bearer ghp_someoneElsesGitHubToken" };
  for (const path of ["/packages", "/latest", "/assets/a.zip", "/health"]) {
    t.equal((await fetch(`${server.url}${path}`, { headers: github })).status, 200, path);
  }
});

t.test("routing", async (t) => {
  const server = await serverFor(t);
  t.test("unknown paths are 404 with a JSON detail", async (t) => {
    for (const path of ["/nope", "/packages/a/b", "/assets", "/a/b/c/releases"]) {
      await isError(t, await fetch(`${server.url}${path}`), 404, /nothing at/);
    }
  });
  t.test("a known path with the wrong method is 405 with Allow", async (t) => {
    const cases: [string, string, string][] = [
      ["POST", "/packages", "GET, HEAD"],
      ["POST", "/assets/a.zip", "DELETE, GET, HEAD, PUT"],
      ["GET", "/upload", "POST"],
      ["DELETE", "/health", "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await fetch(`${server.url}${path}`, { method });
      t.equal(res.headers.get("allow"), allow, `${method} ${path}`);
      await isError(t, res, 405, `${method} is not allowed here`);
    }
  });
  t.test("the API description is served", async (t) => {
    const res = await fetch(`${server.url}/openapi.yaml`);
    t.equal(res.status, 200);
    t.match(await res.text(), /^openapi:/m);
    const docs = await fetch(`${server.url}/docs`);
    t.equal(docs.status, 200);
    t.match(docs.headers.get("content-type"), /^text\/html/);
    const page = await docs.text();
    t.match(page, '<script src="/static/swagger-ui/swagger-ui-bundle.js" defer></script>', "Swagger UI, from our origin");
    t.match(page, '<script src="/static/docs.js" defer></script>', "started by a file, not inline");
    t.match(page, /href="\/openapi.yaml"/, "the contract is linked for readers without JavaScript");
  });
});

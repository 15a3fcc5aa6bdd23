// Downloads behave like the best static file servers: HEAD, byte ranges,
// validators and conditional requests, integrity headers, resumable with
// curl -C -, checkable with sha256sum -c, and stable under overwrite/delete.

import { randomBytes } from "node:crypto";
import { writeFile, readFile, truncate } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { curl, download, flakyProxy, run, sha256, upload } from "./helpers/http.js";
import { startServer, tempDir } from "./helpers/server.js";

const NAME = "spec-kit-template-claude-sh-v0.0.90.zip";

t.test("downloads", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const bytes = randomBytes(1_000_000);
  t.equal((await upload(server, NAME, bytes)).status, 200);
  const url = `${server.url}/assets/${NAME}`;
  const digest = sha256(bytes);

  t.test("GET sends the bytes with validators, integrity and caching headers", async (t) => {
    const res = await download(url);
    t.equal(res.status, 200);
    t.ok(res.body.equals(bytes));
    t.equal(res.headers.get("accept-ranges"), "bytes");
    t.equal(res.headers.get("etag"), `"${digest}"`);
    t.ok(res.headers.get("last-modified"));
    t.equal(res.headers.get("repr-digest"), `sha-256=:${Buffer.from(digest, "hex").toString("base64")}:`);
    t.equal(res.headers.get("cache-control"), "public, max-age=86400", "a versioned package may be cached");
  });

  t.test("HEAD answers the same headers as GET, without a body", async (t) => {
    const get = await download(url);
    const head = await fetch(url, { method: "HEAD" });
    t.equal(head.status, 200);
    t.equal((await head.arrayBuffer()).byteLength, 0);
    for (const h of ["content-type", "content-length", "content-disposition", "etag", "last-modified", "accept-ranges", "repr-digest", "cache-control"]) {
      t.equal(head.headers.get(h), get.headers.get(h), h);
    }
    const missing = await fetch(`${server.url}/assets/nope.zip`, { method: "HEAD" });
    t.equal(missing.status, 404);
  });

  t.test("every single-range form gets 206 with Content-Range", async (t) => {
    const cases: [string, number, number][] = [
      ["bytes=0-99", 0, 99],
      ["bytes=100-", 100, bytes.length - 1],
      ["bytes=-500", bytes.length - 500, bytes.length - 1],
      ["bytes=999000-5000000", 999000, bytes.length - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await download(url, { range });
      t.equal(res.status, 206, range);
      t.equal(res.headers.get("content-range"), `bytes ${start}-${end}/${bytes.length}`, range);
      t.equal(res.headers.get("content-length"), String(end - start + 1), range);
      t.ok(res.body.equals(bytes.subarray(start, end + 1)), `${range}: the right bytes`);
      t.equal(res.headers.get("repr-digest"), `sha-256=:${Buffer.from(digest, "hex").toString("base64")}:`, "digest of the whole file on a 206 too");
    }
    // Count bytes, not characters: stdout is decoded as UTF-8, and random bytes may form multi-byte characters.
    const viaCurl = await curl(["-r", "10-19", "-o", "/dev/null", "-w", "%{size_download}", url], {});
    t.equal(viaCurl.stdout, "10");
  });

  t.test("an unsatisfiable range gets 416 with Content-Range: bytes */size", async (t) => {
    for (const range of ["bytes=1000000-", "bytes=2000000-3000000", "bytes=-0"]) {
      const res = await download(url, { range });
      t.equal(res.status, 416, range);
      t.equal(res.headers.get("content-range"), `bytes */${bytes.length}`);
      t.match(JSON.parse(res.body.toString()), { detail: /range/ });
    }
  });

  t.test("several ranges, or an invalid one, get the whole file", async (t) => {
    for (const range of ["bytes=0-1,10-20", "bytes=50-10", "pages=1-2"]) {
      const res = await download(url, { range });
      t.equal(res.status, 200, range);
      t.equal(res.body.length, bytes.length);
    }
  });

  t.test("If-Range: a current validator keeps the range, a stale one gets the whole file", async (t) => {
    const fresh = await download(url, { range: "bytes=0-9", "if-range": `"${digest}"` });
    t.equal(fresh.status, 206);
    const stale = await download(url, { range: "bytes=0-9", "if-range": '"0000"' });
    t.equal(stale.status, 200);
    t.equal(stale.body.length, bytes.length);
    const lastModified = fresh.headers.get("last-modified")!;
    t.equal((await download(url, { range: "bytes=0-9", "if-range": lastModified })).status, 206);
    t.equal((await download(url, { range: "bytes=0-9", "if-range": "Thu, 01 Jan 2004 00:00:00 GMT" })).status, 200);
  });

  t.test("conditional GET: 304 and 412", async (t) => {
    const head = await fetch(url, { method: "HEAD" });
    const lastModified = head.headers.get("last-modified")!;
    const notModified = await download(url, { "if-none-match": `"${digest}"` });
    t.equal(notModified.status, 304);
    t.equal(notModified.body.length, 0);
    t.equal(notModified.headers.get("etag"), `"${digest}"`);
    t.equal((await download(url, { "if-none-match": '"something-else"' })).status, 200);
    t.equal((await download(url, { "if-modified-since": lastModified })).status, 304);
    t.equal((await download(url, { "if-modified-since": "Thu, 01 Jan 2004 00:00:00 GMT" })).status, 200);
    t.equal((await download(url, { "if-match": `"${digest}"` })).status, 200);
    const failed = await download(url, { "if-match": '"something-else"' });
    t.equal(failed.status, 412);
    t.match(JSON.parse(failed.body.toString()), { detail: /If-Match/ });
    t.equal((await download(url, { "if-unmodified-since": "Thu, 01 Jan 2004 00:00:00 GMT" })).status, 412);
    t.equal((await download(url, { "if-unmodified-since": lastModified })).status, 200);
    t.equal((await fetch(url, { method: "HEAD", headers: { "if-none-match": `"${digest}"` } })).status, 304);
  });

  t.test("checksum files in sha256sum format, and sha256sum -c passes", async (t) => {
    const res = await download(`${url}.sha256`);
    t.equal(res.status, 200);
    t.match(res.headers.get("content-type"), /^text\/plain/);
    t.equal(res.body.toString(), `${digest}  ${NAME}\n`);
    t.equal((await download(`${server.url}/assets/missing.zip.sha256`)).status, 404);
    const dir = await tempDir();
    await writeFile(join(dir, NAME), bytes);
    await writeFile(join(dir, `${NAME}.sha256`), res.body);
    const check = await run("sha256sum", ["-c", `${NAME}.sha256`], { cwd: dir });
    t.equal(check.code, 0, check.stdout + check.stderr);
  });

  t.test("an unversioned package is revalidated every time", async (t) => {
    t.equal((await upload(server, "installer.sh", randomBytes(100))).status, 200);
    const res = await download(`${server.url}/assets/installer.sh`);
    t.equal(res.headers.get("cache-control"), "public, no-cache");
  });
});

t.test("curl -C - resumes an interrupted download and the result verifies", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const bytes = randomBytes(4_000_000);
  t.equal((await upload(server, NAME, bytes)).status, 200);
  const dir = await tempDir();
  const url = `${server.url}/assets/${NAME}`;
  // The connection breaks part-way through the download.
  const proxy = await flakyProxy(server.url, 1_500_000);
  t.teardown(proxy.close);
  const partial = await curl(["-o", NAME, `${proxy.url}/assets/${NAME}`], { cwd: dir });
  t.equal(partial.code, 18, "curl reports a partial file");
  const got = (await readFile(join(dir, NAME))).length;
  t.ok(got > 0 && got < bytes.length, `interrupted after ${got} bytes`);
  // A partial file whose tail is lost as well, as after a crash.
  await truncate(join(dir, NAME), Math.floor(got / 2));
  const resumed = await curl(["-C", "-", "-o", NAME, "-w", "%{http_code}", url], { cwd: dir });
  t.equal(resumed.code, 0, resumed.stderr);
  t.equal(resumed.stdout, "206");
  const sums = await curl(["-o", `${NAME}.sha256`, `${url}.sha256`], { cwd: dir });
  t.equal(sums.code, 0);
  const check = await run("sha256sum", ["-c", `${NAME}.sha256`], { cwd: dir });
  t.equal(check.code, 0, check.stdout + check.stderr);
  t.match(check.stdout, `${NAME}: OK`);
});

t.test("a running download completes with the old bytes when the package is overwritten or deleted", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const before = randomBytes(48 * 1024 * 1024);
  const after = randomBytes(48 * 1024 * 1024);
  t.equal((await upload(server, NAME, before)).status, 200);
  const url = `${server.url}/assets/${NAME}`;

  for (const change of ["overwrite", "delete"] as const) {
    const res = await fetch(url);
    const reader = res.body!.getReader();
    const first = await reader.read(); // the download is under way
    if (change === "overwrite") {
      t.equal((await upload(server, NAME, after, { overwrite: true })).status, 200);
      t.equal((await download(url)).headers.get("etag"), `"${sha256(after)}"`, "new requests get the new bytes");
    } else {
      const del = await fetch(url, { method: "DELETE", headers: server.auth });
      t.equal(del.status, 204);
      t.equal((await fetch(url)).status, 404, "new requests see it gone");
    }
    const chunks = [Buffer.from(first.value!)];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
    }
    const got = Buffer.concat(chunks);
    t.equal(got.length, before.length, `${change}: complete`);
    t.equal(sha256(got), sha256(before), `${change}: the old bytes, intact`);
    if (change === "overwrite") {
      // Put the original back for the delete round.
      t.equal((await upload(server, NAME, before, { overwrite: true })).status, 200);
    }
  }
});

t.test("SHA256SUMS for each release and for the latest view; sha256sum -c passes", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const files = new Map<string, Buffer<ArrayBuffer>>();
  for (const name of ["tpl-claude-sh-v1.0.0.zip", "tpl-copilot-ps-v1.0.0.zip", "tpl-claude-sh-v1.1.0.zip"]) {
    files.set(name, randomBytes(20_000));
    t.equal((await upload(server, name, files.get(name)!)).status, 200);
  }
  const sumsOf = async (path: string) => {
    const res = await download(`${server.url}${path}`);
    t.equal(res.status, 200, path);
    t.match(res.headers.get("content-type"), /^text\/plain/);
    return res.body.toString();
  };
  const line = (name: string) => `${sha256(files.get(name)!)}  ${name}\n`;
  t.equal(await sumsOf("/releases/download/v1.0.0/SHA256SUMS"), line("tpl-claude-sh-v1.0.0.zip") + line("tpl-copilot-ps-v1.0.0.zip"));
  t.equal(await sumsOf("/releases/download/v1.1.0/SHA256SUMS"), line("tpl-claude-sh-v1.1.0.zip"));
  const latest = await sumsOf("/latest/SHA256SUMS");
  t.equal(latest, line("tpl-claude-sh-v1.1.0.zip") + line("tpl-copilot-ps-v1.0.0.zip"), "the newest of every family");
  t.equal(await sumsOf("/releases/latest/download/SHA256SUMS"), latest);

  // Download the latest assets the way a user would, then check them.
  const dir = await tempDir();
  await writeFile(join(dir, "SHA256SUMS"), latest);
  for (const name of ["tpl-claude-sh-v1.1.0.zip", "tpl-copilot-ps-v1.0.0.zip"]) {
    const got = await curl(["-f", "-o", name, `${server.url}/releases/latest/download/${name}`], { cwd: dir });
    t.equal(got.code, 0, got.stderr);
  }
  const check = await run("sha256sum", ["-c", "SHA256SUMS"], { cwd: dir });
  t.equal(check.code, 0, check.stdout + check.stderr);

  const asset = await download(`${server.url}/releases/download/v1.0.0/tpl-claude-sh-v1.0.0.zip`);
  t.equal(asset.status, 200);
  t.ok(asset.body.equals(files.get("tpl-claude-sh-v1.0.0.zip")!));
  t.equal((await download(`${server.url}/releases/download/v9.9.9/SHA256SUMS`)).status, 404, "unknown tag");
  t.equal((await download(`${server.url}/releases/download/v1.0.0/tpl-claude-sh-v1.1.0.zip`)).status, 404, "not in that release");
  const etag = (await download(`${server.url}/latest/SHA256SUMS`)).headers.get("etag")!;
  t.equal((await download(`${server.url}/latest/SHA256SUMS`, { "if-none-match": etag })).status, 304);
});

t.test("asset downloads through the release API behave the same: ranges, validators, HEAD", async (t) => {
  const server = await startServer({ env: { DEFAULT_REPOSITORY: "o/r" } });
  t.teardown(() => server.stop());
  const bytes = randomBytes(100_000);
  t.equal((await upload(server, NAME, bytes)).status, 200);
  const latest = await (await fetch(`${server.url}/api/v3/repos/o/r/releases/latest`)).json();
  const asset = latest.assets.find((a: { name: string }) => a.name === NAME);
  const octet = { accept: "application/octet-stream" };
  const part = await download(asset.url, { ...octet, range: "bytes=-100" });
  t.equal(part.status, 206);
  t.equal(part.headers.get("content-range"), `bytes ${bytes.length - 100}-${bytes.length - 1}/${bytes.length}`);
  t.ok(part.body.equals(bytes.subarray(bytes.length - 100)));
  t.equal(part.headers.get("repr-digest"), `sha-256=:${Buffer.from(sha256(bytes), "hex").toString("base64")}:`);
  t.equal((await download(asset.url, { ...octet, "if-none-match": `"${sha256(bytes)}"` })).status, 304);
  t.equal((await download(asset.url, { ...octet, range: "bytes=200000-" })).status, 416);
  const head = await fetch(asset.url, { method: "HEAD", headers: octet });
  t.equal(head.status, 200);
  t.equal(head.headers.get("content-length"), String(bytes.length));
  t.equal(head.headers.get("accept-ranges"), "bytes");
});

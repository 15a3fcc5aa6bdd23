// Answers built from the index are kept and served as bytes, and never once
// stale: an upload, a delete, an overwrite or a file copied in by hand is in
// the very next answer. If-None-Match is answered 304.

import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { curl } from "./helpers/http.js";
import { S3_BACKEND, serverFor, type RunningServer } from "./helpers/server.js";

const put = (server: RunningServer, name: string, body: string, overwrite = false) =>
  fetch(`${server.url}/assets/${name}${overwrite ? "?overwrite=true" : ""}`, { method: "PUT", headers: server.auth, body });

const latestNames = async (server: RunningServer) =>
  ((await (await fetch(`${server.url}/latest`)).json()) as { assets: { name: string }[] }).assets.map((a) => a.name).sort();

t.test("kept answers: a strong ETag, 304, HEAD, and separate keys for separate questions", async (t) => {
  const server = await serverFor(t);
  await put(server, "tool-v1.0.0.zip", "one");
  const first = await fetch(`${server.url}/latest`);
  const etag = first.headers.get("etag")!;
  t.match(etag, /^"[0-9a-f]{32}"$/);
  const body = await first.text();
  const second = await fetch(`${server.url}/latest`);
  t.equal(second.headers.get("etag"), etag);
  t.equal(await second.text(), body, "the same bytes");
  const cached = await fetch(`${server.url}/latest`, { headers: { "if-none-match": etag } });
  t.equal(cached.status, 304);
  t.equal(await cached.text(), "");
  const head = await fetch(`${server.url}/latest`, { method: "HEAD" });
  t.equal(head.headers.get("etag"), etag);
  t.equal(head.headers.get("content-length"), String(Buffer.byteLength(body)));
  // Another public base URL is another answer: links are never mixed between hosts.
  const other = (await curl(["-H", "Host: mirror.example:8443", `${server.url}/latest`])).stdout;
  t.match(other, "http://mirror.example:8443/assets/tool-v1.0.0.zip");
  t.notMatch(body, "mirror.example");
  const html = await fetch(`${server.url}/packages`, { headers: { accept: "text/html" } });
  t.match(html.headers.get("content-type"), "text/html");
  const json = await fetch(`${server.url}/packages`, { headers: { accept: "application/json" } });
  t.match(json.headers.get("content-type"), "application/json");
});

t.test("never stale: uploads, overwrites, deletes and files copied in by hand show in the next answer", async (t) => {
  const server = await serverFor(t);
  await put(server, "a-v1.0.0.zip", "a");
  t.same(await latestNames(server), ["a-v1.0.0.zip"]);
  await put(server, "b-v1.0.0.zip", "b");
  t.same(await latestNames(server), ["a-v1.0.0.zip", "b-v1.0.0.zip"], "after an upload");
  const before = await (await fetch(`${server.url}/assets/a-v1.0.0.zip.sha256`)).text();
  await put(server, "a-v1.0.0.zip", "a, again", true);
  t.not(await (await fetch(`${server.url}/assets/a-v1.0.0.zip.sha256`)).text(), before, "after an overwrite");
  await fetch(`${server.url}/assets/b-v1.0.0.zip`, { method: "DELETE", headers: server.auth });
  t.same(await latestNames(server), ["a-v1.0.0.zip"], "after a delete");
  // On the bucket, objects put by other tools show within INDEX_REFRESH_INTERVAL (test/store-s3.test.ts).
  if (S3_BACKEND) return;
  await writeFile(join(server.storage, "c-v1.0.0.zip"), "copied in");
  t.same(await latestNames(server), ["a-v1.0.0.zip", "c-v1.0.0.zip"], "after a file was copied in by hand");
  const sums = await (await fetch(`${server.url}/latest/SHA256SUMS`)).text();
  t.match(sums, "c-v1.0.0.zip");
});

t.test("download counts in kept answers follow within the save interval", async (t) => {
  const server = await serverFor(t);
  await put(server, "d-v1.0.0.zip", "d");
  const count = async () => ((await (await fetch(`${server.url}/latest`)).json()) as { assets: { download_count: number }[] }).assets[0].download_count;
  t.equal(await count(), 0);
  await (await fetch(`${server.url}/assets/d-v1.0.0.zip`)).arrayBuffer();
  let seen = 0;
  for (let i = 0; i < 40 && seen === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await count();
  }
  t.equal(seen, 1, "the count shows once it is saved (every 2 s at most)");
});

t.test("kept downloads: a small package is sent from memory, counted once per whole download, and never stale or mislabelled", async (t) => {
  const server = await serverFor(t);
  const bytes = (fill: string) => Buffer.alloc(4000, fill);
  const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
  await put(server, "e-v1.0.0.zip", bytes("a").toString());
  const url = `${server.url}/assets/e-v1.0.0.zip`;
  let etag = "";
  for (let i = 0; i < 5; i++) {
    const res = await fetch(url);
    const body = Buffer.from(await res.arrayBuffer());
    etag = res.headers.get("etag")!;
    t.equal(`"${sha(body)}"`, etag, `download ${i + 1}: the bytes are the ones the ETag names`);
    t.equal(res.headers.get("content-disposition"), 'attachment; filename="e-v1.0.0.zip"');
  }
  const head = await fetch(url, { method: "HEAD" });
  t.equal(head.headers.get("content-length"), "4000");
  t.equal(await head.text(), "");
  const range = await fetch(url, { headers: { range: "bytes=10-19" } });
  t.equal(range.status, 206, "a range is still a range");
  t.equal(await range.text(), "a".repeat(10));
  const notModified = await fetch(url, { headers: { "if-none-match": etag } });
  t.equal(notModified.status, 304);
  const count = async () => ((await (await fetch(`${server.url}/latest`)).json()) as { assets: { download_count: number }[] }).assets[0].download_count;
  let seen = 0;
  for (let i = 0; i < 40 && seen < 5; i++) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await count();
  }
  t.equal(seen, 5, "five whole downloads count five; HEAD, a range and a 304 count nothing");

  await put(server, "e-v1.0.0.zip", bytes("b").toString(), true);
  const replaced = Buffer.from(await (await fetch(url)).arrayBuffer());
  t.equal(replaced.toString(), bytes("b").toString(), "an overwrite is in the very next download");
  if (S3_BACKEND) return;
  // Rewritten in place by hand, same size: the next download is the new bytes under their own digest, never the old ones.
  await (await fetch(url)).arrayBuffer();
  await writeFile(join(server.storage, "e-v1.0.0.zip"), bytes("c"));
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  t.equal(body.toString(), bytes("c").toString(), "the bytes now on disk");
  t.equal(res.headers.get("etag"), `"${sha(body)}"`, "labelled with their own digest");
});

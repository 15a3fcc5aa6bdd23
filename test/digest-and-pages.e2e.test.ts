// What the release API stands on, end to end: a checksum stated with an upload
// is the asset's `digest`, and the HTML package list (linked from the release
// page) escapes names.

import { createHash } from "node:crypto";
import t from "tap";
import { bytesFor, getJson } from "./helpers/releases.js";
import { formWith, startServer } from "./helpers/server.js";

t.test("a checksum stated with the upload is checked and becomes the asset's digest", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const name = "tool-v1.0.0.zip";
  const bytes = bytesFor(name);
  const digest = createHash("sha256").update(bytes).digest();
  const post = (headers: Record<string, string>, fields: Record<string, string> = {}) =>
    fetch(`${server.url}/upload`, { method: "POST", headers: { ...server.auth, ...headers }, body: formWith(name, bytes, fields) });

  let res = await post({ "x-checksum-sha256": "0".repeat(64) });
  t.equal(res.status, 400, "a wrong stated checksum is refused");
  t.match((await res.json()).detail, /checksum mismatch/);
  t.equal((await getJson(`${server.url}/releases/tags/v1.0.0`)).status, 404, "nothing was stored");

  res = await post({ "x-checksum-sha256": digest.toString("hex") }, { sha256: digest.toString("base64") });
  t.equal(res.status, 200, "hex header and base64 form field agree with the bytes");
  await res.body?.cancel();
  const latest = await getJson(`${server.url}/latest`);
  t.equal(latest.body.assets[0].digest, `sha256:${digest.toString("hex")}`);
});

t.test("the HTML package list escapes names and links the JSON", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  let page = await fetch(`${server.url}/packages`, { headers: { accept: "text/html" } });
  t.match(await page.text(), /No packages yet/);
  const evil = "<b>bold<b>-v1.0.0.zip";
  const up = await fetch(`${server.url}/upload`, { method: "POST", headers: server.auth, body: formWith(evil, bytesFor(evil)) });
  t.equal(up.status, 200);
  page = await fetch(`${server.url}/packages?format=html`);
  t.equal(page.status, 200);
  const html = await page.text();
  t.notMatch(html, /<b>/);
  t.match(html, /&#60;b&#62;bold&#60;b&#62;-v1\.0\.0\.zip/);
  t.match(html, /1 package,/);
  const bad = await getJson(`${server.url}/packages?format=xml`);
  t.equal(bad.status, 422);
});

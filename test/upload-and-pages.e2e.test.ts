// Core routes the release API stands on, end to end: the checksums an upload
// may state (they become the assets' `digest`), upload errors, and the HTML
// package list beside the release page. (Issue 3's branch runs these so that
// its own `npm test` meets the coverage gate; the core's suites may overlap.)

import { createHash } from "node:crypto";
import t from "tap";
import { bytesFor, getJson } from "./helpers/releases.js";
import { formWith, startServer } from "./helpers/server.js";

t.test("uploads: stated checksums, auth, conflicts, bad parameters", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const name = "tool-v1.0.0.zip";
  const bytes = bytesFor(name);
  const digest = createHash("sha256").update(bytes).digest();
  const post = (headers: Record<string, string>, query = "", fields: Record<string, string> = {}) =>
    fetch(`${server.url}/upload${query}`, { method: "POST", headers: { ...server.auth, ...headers }, body: formWith(name, bytes, fields) });

  let res = await post({ "x-checksum-sha256": "0".repeat(64) });
  t.equal(res.status, 400, "a wrong stated checksum is refused");
  t.match((await res.json()).detail, /checksum mismatch/);
  res = await post({ "x-checksum-sha256": "not-a-digest" });
  t.equal(res.status, 400);
  await res.body?.cancel();
  res = await post({ "repr-digest": "sha-256=:bad:" });
  t.equal(res.status, 400);
  await res.body?.cancel();
  res = await post({ "x-checksum-sha256": digest.toString("hex") }, "", { sha256: digest.toString("base64") + "x" });
  t.equal(res.status, 400, "a malformed form field");
  await res.body?.cancel();
  res = await post({ "x-checksum-sha256": "1".repeat(64), "content-digest": `sha-256=:${digest.toString("base64")}:` });
  t.equal(res.status, 400, "two stated checksums that disagree");
  await res.body?.cancel();

  res = await post({ "x-checksum-sha256": digest.toString("hex"), "repr-digest": `sha-512=:AAAA:, sha-256=:${digest.toString("base64")}:` }, "", {
    sha256: digest.toString("base64"),
  });
  t.equal(res.status, 200, "hex header, RFC 9530 field and base64 form field agree");
  const latest = await getJson(`${server.url}/latest`);
  t.equal(latest.body.assets[0].digest, `sha256:${digest.toString("hex")}`, "the stated checksum is the asset's digest");

  res = await post({});
  t.equal(res.status, 409);
  await res.body?.cancel();
  res = await post({}, "?overwrite=maybe");
  t.equal(res.status, 422);
  await res.body?.cancel();
  res = await post({}, "?overwrite=yes");
  t.equal(res.status, 200);
  await res.body?.cancel();
  res = await fetch(`${server.url}/upload`, { method: "POST", headers: { authorization: "Bearer wrong" }, body: formWith(name, bytes) });
  t.equal(res.status, 401);
  t.match(res.headers.get("www-authenticate"), /^Bearer/);
  await res.body?.cancel();
  res = await fetch(`${server.url}/upload`, { method: "POST", headers: server.auth, body: formWith("empty-v1.0.0.zip", new Uint8Array(0)) });
  t.equal(res.status, 400, "an empty package");
  await res.body?.cancel();
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

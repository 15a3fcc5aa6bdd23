// Uploads and deletes against the real server: every status code, round trips
// checked byte for byte and by sha256, overwrite semantics, retention.

import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t, { type Test } from "tap";
import { curl, download, isError, listed, openUpload, sha256, upload, uploaded } from "./helpers/requests.js";
import { serverFor, TOKEN, type RunningServer } from "./helpers/server.js";
import { storedBytes, storedEntries, uploadsLeft, uploadsUnderWay } from "./helpers/stored.js";

/** The storage directory (or the bucket) holds exactly these packages (plus their sidecars), and no temp files. */
async function storesExactly(t: Test, server: RunningServer, names: string[]) {
  const files = await storedEntries(server.storage);
  t.same(files, names.flatMap((n) => [n, `${n}.sha256`]).sort(), `stored: ${names.join(", ") || "nothing"}`);
}

t.test("upload, download and delete round trip", async (t) => {
  const server = await serverFor(t);
  const bytes = new Uint8Array(randomBytes(1_000_000));
  const name = "spec-kit-template-claude-sh-v0.0.90.zip";

  const res = await upload(server, name, bytes);
  t.equal(res.status, 200);
  t.equal(res.headers.get("content-type"), "application/json");
  const body = await res.json();
  t.same(Object.keys(body).sort(), ["created_at", "name", "removed", "sha256", "size"], "the package, and what retention removed");
  t.match(body, { name, size: bytes.length, sha256: sha256(bytes), removed: [] });
  t.match(body.created_at, /Z$/);

  t.same(await storedBytes(server.storage, name), Buffer.from(bytes), "the stored file holds the bytes");
  t.equal((await storedBytes(server.storage, `${name}.sha256`)).toString(), sha256(bytes), "the sidecar holds the bare hex digest");
  const got = await download(server, name);
  t.equal(got.status, 200);
  t.ok(got.bytes.equals(bytes), "downloaded byte for byte");
  t.equal(sha256(got.bytes), body.sha256, "and by sha256");
  const { removed: _, ...entry } = body;
  t.same(await listed(server), [entry]);

  const del = await fetch(`${server.url}/packages/${name}`, { method: "DELETE", headers: server.auth });
  t.equal(del.status, 204);
  t.equal(await del.text(), "");
  await storesExactly(t, server, []);
  t.same(await listed(server), []);
  await isError(t, await fetch(`${server.url}/assets/${name}`), 404, /no package/);
  await isError(t, await fetch(`${server.url}/packages/${name}`, { method: "DELETE", headers: server.auth }), 404, `no package named "${name}"`);
  await isError(t, await fetch(`${server.url}/assets/${name}`, { method: "DELETE", headers: server.auth }), 404, `no package named "${name}"`);
});

t.test("the README's curl commands work", async (t) => {
  const server = await serverFor(t);
  const dir = server.storage + "-src";
  await mkdir(dir);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bytes = randomBytes(200_000);
  await writeFile(join(dir, "pkg-1.0.zip"), bytes);

  const up = await curl("-f", "-X", "POST", `${server.url}/upload`, "-H", `Authorization: Bearer ${TOKEN}`, "-F", `file=@${join(dir, "pkg-1.0.zip")}`);
  t.equal(up.code, 0, up.stderr);
  t.match(JSON.parse(up.stdout), { name: "pkg-1.0.zip", size: bytes.length, sha256: sha256(bytes) });

  const again = await curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", `${server.url}/upload`, "-H", `Authorization: Bearer ${TOKEN}`, "-F", `file=@${join(dir, "pkg-1.0.zip")}`);
  t.equal(again.stdout, "409");

  const del = await curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", `${server.url}/assets/pkg-1.0.zip`, "-H", `Authorization: Bearer ${TOKEN}`);
  t.equal(del.stdout, "204", "DELETE /assets/{name} too");
  await storesExactly(t, server, []);
});

t.test("overwrite", async (t) => {
  const server = await serverFor(t);
  await uploaded(t, server, "a.zip", "version 1");

  await isError(t, await upload(server, "a.zip", "version 2"), 409, /already exists; add \?overwrite=true/);
  await isError(t, await upload(server, "a.zip", "version 2", "?overwrite=false"), 409, /already exists/);
  t.equal((await download(server, "a.zip")).bytes.toString(), "version 1", "a conflict leaves the old package");

  await isError(t, await upload(server, "a.zip", "version 2", "?overwrite=maybe"), 422, 'overwrite must be true or false, not "maybe"');

  const replaced = await uploaded(t, server, "a.zip", "version 2!", "?overwrite=true");
  t.match(replaced, { size: 10, sha256: sha256("version 2!") });
  t.equal((await download(server, "a.zip")).bytes.toString(), "version 2!");
  t.equal((await storedBytes(server.storage, "a.zip.sha256")).toString(), sha256("version 2!"));
  const { removed, ...listedFields } = replaced;
  t.same(removed, []);
  t.same(await listed(server), [listedFields]);
  t.equal((await upload(server, "new.zip", "n", "?overwrite=true")).status, 200, "overwrite=true also creates");
  await storesExactly(t, server, ["a.zip", "new.zip"]);
});

t.test("an overwrite keeps the old bytes until the new upload is complete", async (t) => {
  const server = await serverFor(t);
  const old = new Uint8Array(randomBytes(100_000));
  await uploaded(t, server, "p.zip", old);
  const fresh = randomBytes(300_000);

  const pending = openUpload(server, "p.zip", "?overwrite=true");
  await pending.send(fresh.subarray(0, 150_000));
  for (let i = 0; i < 3; i++) {
    const during = await download(server, "p.zip");
    t.ok(during.bytes.equals(old), "readers get the old package while the new one arrives");
    t.equal((await listed(server))[0].sha256, sha256(old));
  }
  await pending.send(fresh.subarray(150_000));
  const done = await pending.finish();
  t.equal(done.status, 200, done.body);
  t.equal(JSON.parse(done.body).sha256, sha256(fresh));
  t.ok((await download(server, "p.zip")).bytes.equals(fresh), "then the new one");
  await storesExactly(t, server, ["p.zip"]);
});

t.test("a download in flight keeps the bytes it started with through an overwrite and a delete", async (t) => {
  const server = await serverFor(t);
  const old = new Uint8Array(randomBytes(16 * 1024 * 1024));
  await uploaded(t, server, "d.zip", old);
  for (const change of ["overwrite", "delete"] as const) {
    if (change === "delete") await uploaded(t, server, "d.zip", old, "?overwrite=true");
    const res = await fetch(`${server.url}/assets/d.zip`);
    const reader = res.body!.getReader();
    const chunks = [Buffer.from((await reader.read()).value!)];
    if (change === "overwrite") await uploaded(t, server, "d.zip", "replacement", "?overwrite=true");
    else t.equal((await fetch(`${server.url}/packages/d.zip`, { method: "DELETE", headers: server.auth })).status, 204);
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(Buffer.from(r.value));
    t.ok(Buffer.concat(chunks).equals(old), `${change}: the download is the old package, whole`);
  }
  t.equal((await download(server, "d.zip")).status, 404);
});

t.test("400 for uploads that cannot be stored, with nothing left behind", async (t) => {
  const server = await serverFor(t);
  const post = (body: BodyInit, query = "") => fetch(`${server.url}/upload${query}`, { method: "POST", headers: server.auth, body });
  const form = (build: (f: FormData) => void) => {
    const f = new FormData();
    build(f);
    return f;
  };

  await isError(t, await post(form((f) => f.append("other", new Blob(["x"]), "x.zip"))), 400, 'unexpected file part "other"');
  await isError(t, await post(form((f) => f.append("comment", "no file here"))), 400, 'no "file" part');
  await isError(t, await post(form((f) => f.append("file", "text, not a file"))), 400, '"file" part has no filename');
  await isError(t, await upload(server, "empty.zip", ""), 400, '"empty.zip" is empty');
  await isError(
    t,
    await post(
      form((f) => {
        f.append("file", new Blob(["one"]), "one.zip");
        f.append("file", new Blob(["two"]), "two.zip");
      }),
    ),
    400,
    "more than one file part",
  );
  await isError(t, await post("just text"), 400, "expected a multipart/form-data body");
  await isError(t, await fetch(`${server.url}/upload`, { method: "POST", headers: server.auth }), 400, "expected a multipart/form-data body");
  for (const name of [".hidden.zip", "pkg.zip.sha256", "..", " lead.zip"]) {
    await isError(t, await upload(server, name, "x"), 400, `invalid file name ${JSON.stringify(name)}`);
  }
  await storesExactly(t, server, []);
});

t.test("two uploads of one new name at once: the first to finish wins, the other gets 409", async (t) => {
  const server = await serverFor(t);
  const first = openUpload(server, "race.zip");
  const second = openUpload(server, "race.zip");
  await first.send("first upload");
  await second.send("second upload");
  t.ok(await uploadsUnderWay(server.storage, 2), "both are being received");
  const a = await first.finish();
  t.equal(a.status, 200, a.body);
  const b = await second.finish();
  t.equal(b.status, 409, b.body);
  t.match(JSON.parse(b.body).detail, 'a package named "race.zip" already exists');
  t.equal((await download(server, "race.zip")).bytes.toString(), "first upload");
  await storesExactly(t, server, ["race.zip"]);
});

t.test("malformed multipart bodies are a 400, and the server carries on", async (t) => {
  const server = await serverFor(t);
  const post = (contentType: string, body: string) =>
    fetch(`${server.url}/upload`, { method: "POST", headers: { ...server.auth, "content-type": contentType }, body });
  await isError(t, await post("multipart/form-data; charset=utf-8", "x"), 400, "the multipart body cannot be read");
  const part = '--abc\r\nContent-Disposition: form-data; name="file"; filename="x.zip"\r\n\r\n';
  await isError(t, await post("multipart/form-data; boundary=abc", `${part}the body ends before the closing boundary`), 400, "the multipart body is malformed: Unexpected end of form");
  await isError(t, await post("multipart/form-data; boundary=abc", `${part}one\r\n${part}two, unterminated`), 400, /more than one file part|malformed/);
  t.equal((await fetch(`${server.url}/health`)).status, 200, "still up");
  await storesExactly(t, server, []);
});

t.test("a file name with a path is refused, not cut down to its last segment", async (t) => {
  const server = await serverFor(t);
  for (const name of ["dir/evil.zip", "../../evil.zip", "..\\evil.zip"]) {
    const pending = openUpload(server, name);
    await pending.send("x");
    const res = await pending.finish();
    t.equal(res.status, 400, name);
    t.match(JSON.parse(res.body).detail, "invalid file name", name);
  }
  await storesExactly(t, server, []);
});

t.test("the upload token", async (t) => {
  const server = await serverFor(t);
  const cases: [string, Record<string, string>, RegExp][] = [
    ["no Authorization header", {}, /needs an Authorization: Bearer <token> header/],
    // The older server's exact wording, which its own test suite asserts.
    ["a wrong token", { authorization: "Bearer wrong-token" }, /^Invalid authentication token$/],
    ["a wrong token, GitHub's scheme", { authorization: "token wrong-token" }, /^Invalid authentication token$/],
    ["a token that is a prefix of the right one", { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, /^Invalid authentication token$/],
    ["Basic auth", { authorization: "Basic dXNlcjpwYXNz" }, /must be "Bearer <token>" or "token <token>"/],
  ];
  for (const [what, headers, detail] of cases) {
    for (const [method, path] of [
      ["POST", "/upload"],
      ["DELETE", "/packages/a.zip"],
      ["DELETE", "/assets/a.zip"],
    ]) {
      const res =
        method === "POST" ? await upload(server, "a.zip", "x", "", headers) : await fetch(`${server.url}${path}`, { method, headers });
      t.match(res.headers.get("www-authenticate"), /^Bearer\b/, `${what}: ${method} ${path}`);
      await isError(t, res, 401, detail);
    }
  }
  await storesExactly(t, server, []);
  t.equal((await upload(server, "a.zip", "x", "", { authorization: `bearer ${TOKEN}` })).status, 200, "the scheme is case-insensitive");
  t.equal((await upload(server, "a.zip", "y", "?overwrite=true", { authorization: `token ${TOKEN}` })).status, 200, "GitHub clients' `token <t>` works too");
  t.equal((await fetch(`${server.url}/packages/a.zip`, { method: "DELETE", headers: { authorization: "Bearer nope" } })).status, 401);
  await storesExactly(t, server, ["a.zip"]);
});

t.test("DELETE with an invalid name is a 400", async (t) => {
  const server = await serverFor(t);
  for (const path of ["/packages/.hidden", "/assets/..%2Fx", "/packages/x.sha256"]) {
    await isError(t, await fetch(`${server.url}${path}`, { method: "DELETE", headers: server.auth }), 400, /invalid file name/);
  }
});

t.test("413 above MAX_UPLOAD_SIZE, with nothing left behind", async (t) => {
  const server = await serverFor(t, { env: { MAX_UPLOAD_SIZE: "64K" } });
  t.equal((await upload(server, "fits.zip", new Uint8Array(randomBytes(64 * 1024)))).status, 200, "exactly the limit fits");

  // A declared Content-Length over the limit is refused before the body is read (so none is sent here).
  const declared = openUpload(server, "big.zip", "", { "content-length": String(4 * 1024 * 1024) });
  const early = await declared.response;
  declared.abort();
  t.equal(early.status, 413);
  t.same(JSON.parse(early.body), { detail: "the upload is larger than MAX_UPLOAD_SIZE (65536 bytes)" });

  // A chunked body with no length is cut off once it passes the limit.
  const pending = openUpload(server, "big.zip");
  pending.send(randomBytes(64 * 1024 + 1)).then(() => pending.finish()).catch(() => {});
  const res = await pending.response;
  t.equal(res.status, 413);
  t.match(JSON.parse(res.body).detail, "larger than MAX_UPLOAD_SIZE");

  t.same(await uploadsLeft(server.storage), []);
  await storesExactly(t, server, ["fits.zip"]);
});

t.test("a stated checksum is verified", async (t) => {
  const server = await serverFor(t);
  const right = sha256("payload");
  t.equal((await upload(server, "ok.zip", "payload", "", { ...server.auth, "x-checksum-sha256": right })).status, 200);
  const wrong = sha256("something else");
  await isError(t, await upload(server, "bad.zip", "payload", "", { ...server.auth, "x-checksum-sha256": wrong }), 400, "checksum mismatch");
  await storesExactly(t, server, ["ok.zip"]);
});

t.test("retention keeps the newest MAX_PACKAGES packages", async (t) => {
  const server = await serverFor(t, { env: { MAX_PACKAGES: "3" } });
  const names = ["v1.zip", "v2.zip", "v3.zip", "v4.zip", "v5.zip"];
  for (const name of names) await uploaded(t, server, name, `bytes of ${name}`);
  t.same((await listed(server)).map((p) => p.name), ["v5.zip", "v4.zip", "v3.zip"]);
  await storesExactly(t, server, ["v3.zip", "v4.zip", "v5.zip"]);
  t.equal((await download(server, "v1.zip")).status, 404);
  t.equal((await download(server, "v5.zip")).bytes.toString(), "bytes of v5.zip");
});

t.test("MAX_PACKAGES=0 keeps everything", async (t) => {
  const server = await serverFor(t, { env: { MAX_PACKAGES: "0" } });
  for (let i = 0; i < 12; i++) await uploaded(t, server, `p${i}.zip`, `${i}`);
  t.equal((await listed(server)).length, 12);
});

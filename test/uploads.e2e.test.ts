// Uploads are verifiable end to end: a stated checksum that does not match
// stores nothing and leaves the existing package intact; raw PUT uploads follow
// the same rules as POST /upload; Expect: 100-continue refusals come before
// the body is sent; size limits hold for chunked bodies too.

import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { curl, download, expectContinue, sha256, upload } from "./helpers/http.js";
import { onlyOn, startServer, tempDir, TOKEN } from "./helpers/server.js";
import { uploadsLeft } from "./helpers/stored.js";

const NAME = "tool-v1.0.0.zip";
const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");
const WRONG = "0".repeat(64);

t.test("uploads", async (t) => {
  const server = await startServer({ env: { MAX_UPLOAD_SIZE: "1M" } });
  t.teardown(() => server.stop());
  const original = randomBytes(50_000);
  t.equal((await upload(server, NAME, original)).status, 200);
  const url = `${server.url}/assets/${NAME}`;
  const replacement = randomBytes(60_000);
  const good = sha256(replacement);

  const expectIntact = async (t: { ok: (v: unknown, m: string) => void; same: (a: unknown, b: unknown, m: string) => void }, why: string) => {
    const res = await download(url);
    t.ok(res.body.equals(original), `${why}: the existing package is untouched`);
    const leftovers = await uploadsLeft(server.storage);
    t.same(leftovers, [], `${why}: no temp file left`);
  };

  t.test("a stated checksum that matches is accepted, in every form", async (t) => {
    const forms: [string, Parameters<typeof upload>[3]][] = [
      ["sha256 field", { fields: { sha256: good } }],
      ["X-Checksum-Sha256 hex", { headers: { "x-checksum-sha256": good } }],
      ["X-Checksum-Sha256 base64", { headers: { "x-checksum-sha256": b64(good) } }],
    ];
    for (const [i, [what, opts]] of forms.entries()) {
      const res = await upload(server, `ok-${i}.zip`, replacement, opts);
      t.equal(res.status, 200, what);
      t.equal((await res.json()).sha256, good);
    }
    const put = await fetch(`${server.url}/assets/ok-put.zip`, {
      method: "PUT",
      headers: { ...server.auth, "repr-digest": `sha-256=:${b64(good)}:` },
      body: replacement,
    });
    t.equal(put.status, 201);
  });

  t.test("a checksum mismatch is 400 naming both digests, and stores nothing", async (t) => {
    const attempts: [string, () => Promise<Response>][] = [
      ["sha256 field before the file", () => upload(server, NAME, replacement, { overwrite: true, fields: { sha256: WRONG } })],
      [
        "sha256 field after the file",
        async () => {
          const form = new FormData();
          form.append("file", new Blob([replacement]), NAME);
          form.append("sha256", WRONG);
          return fetch(`${server.url}/upload?overwrite=true`, { method: "POST", headers: server.auth, body: form });
        },
      ],
      ["X-Checksum-Sha256 header", () => upload(server, NAME, replacement, { overwrite: true, headers: { "x-checksum-sha256": WRONG } })],
      ["X-Checksum-Sha256 base64", () => upload(server, NAME, replacement, { overwrite: true, headers: { "x-checksum-sha256": b64(WRONG) } })],
      ...(["repr-digest", "content-digest"] as const).map(
        (h) => [`${h} on a raw upload`, () => fetch(`${url}?overwrite=true`, { method: "PUT", headers: { ...server.auth, [h]: `sha-256=:${b64(WRONG)}:` }, body: replacement })] as [string, () => Promise<Response>],
      ),
    ];
    for (const [what, attempt] of attempts) {
      const res = await attempt();
      t.equal(res.status, 400, what);
      const { detail } = await res.json();
      t.match(detail, WRONG, `${what}: names the stated digest`);
      t.match(detail, good, `${what}: names the received digest`);
      await expectIntact(t, what);
    }
  });

  t.test("a malformed stated checksum is 400", async (t) => {
    const res = await upload(server, "x.zip", replacement, { headers: { "x-checksum-sha256": "abc" } });
    t.equal(res.status, 400);
    const put = await fetch(`${server.url}/assets/x.zip`, { method: "PUT", headers: { ...server.auth, "repr-digest": "sha-256=nope" }, body: replacement });
    t.equal(put.status, 400);
    t.match((await put.json()).detail, /Repr-Digest|repr-digest/);
  });

  t.test("PUT /assets/{name} uploads the raw body", async (t) => {
    const dir = await tempDir();
    const file = join(dir, "raw-2.0.0.tar.gz");
    const bytes = randomBytes(200_000);
    await writeFile(file, bytes);
    const created = await curl(["-T", file, "-H", `Authorization: Bearer ${TOKEN}`, "-w", "\n%{http_code}", `${server.url}/assets/raw-2.0.0.tar.gz`]);
    const [body, code] = created.stdout.split("\n");
    t.equal(code, "201");
    t.match(JSON.parse(body), { name: "raw-2.0.0.tar.gz", size: bytes.length, sha256: sha256(bytes) });
    t.ok((await download(`${server.url}/assets/raw-2.0.0.tar.gz`)).body.equals(bytes));

    const again = await fetch(`${server.url}/assets/raw-2.0.0.tar.gz`, { method: "PUT", headers: server.auth, body: bytes });
    t.equal(again.status, 409);
    const replaced = await fetch(`${server.url}/assets/raw-2.0.0.tar.gz?overwrite=true`, { method: "PUT", headers: server.auth, body: replacement });
    t.equal(replaced.status, 200);
    t.ok((await download(`${server.url}/assets/raw-2.0.0.tar.gz`)).body.equals(replacement));

    const put = (name: string, init: RequestInit) => fetch(`${server.url}/assets/${name}`, { method: "PUT", ...init });
    t.equal((await put("y.zip", { body: bytes })).status, 401, "no token");
    t.equal((await put("y.zip", { headers: { authorization: "Bearer wrong" }, body: bytes })).status, 401, "wrong token");
    t.equal((await put(".hidden", { headers: server.auth, body: bytes })).status, 400, "invalid name");
    t.equal((await put("y.zip.sha256", { headers: server.auth, body: bytes })).status, 400, "reserved suffix");
    t.equal((await put("empty.zip", { headers: server.auth, body: new Uint8Array(0) })).status, 400, "empty body");
    t.equal((await put("y.zip?overwrite=perhaps", { headers: server.auth, body: bytes })).status, 422, "bad overwrite");
    t.equal((await put("big.zip", { headers: server.auth, body: randomBytes(2_000_000) })).status, 413, "too large");
  });

  t.test("a chunked upload over MAX_UPLOAD_SIZE is cut off with 413 and leaves nothing", async (t) => {
    const dir = await tempDir();
    const file = join(dir, "big.zip");
    await writeFile(file, randomBytes(3_000_000));
    // Chunked: there is no Content-Length to check up front.
    const chunked = ["-H", "Transfer-Encoding: chunked", "-H", `Authorization: Bearer ${TOKEN}`, "-w", "\n%{http_code}"];
    const res = await curl(["-X", "PUT", "--data-binary", `@${file}`, ...chunked, `${server.url}/assets/big.zip`]);
    t.match(res.stdout, /413$/);
    const form = await curl(["-F", `file=@${file};filename=big.zip`, ...chunked, `${server.url}/upload`]);
    t.match(form.stdout, /413$/);
    t.equal((await fetch(`${server.url}/assets/big.zip`)).status, 404);
    t.same(await uploadsLeft(server.storage), []);
  });

  t.test("Expect: 100-continue: refusals come before the body is sent", async (t) => {
    if (!onlyOn(t, ["node"], "Bun and Deno answer Expect: 100-continue themselves, before the app can refuse")) return;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const cases: [string, { method: string; path: string; headers: Record<string, string> }, number][] = [
      ["no token", { method: "PUT", path: "/assets/new.zip", headers: { "content-length": "100" } }, 401],
      ["conflict", { method: "PUT", path: `/assets/${NAME}`, headers: { ...auth, "content-length": "100" } }, 409],
      ["too large", { method: "PUT", path: "/assets/new.zip", headers: { ...auth, "content-length": "5000000" } }, 413],
      ["invalid name", { method: "PUT", path: "/assets/..%2Fescape", headers: { ...auth, "content-length": "100" } }, 400],
      ["multipart without token", { method: "POST", path: "/upload", headers: { "content-type": "multipart/form-data; boundary=x", "content-length": "100" } }, 401],
      ["multipart too large", { method: "POST", path: "/upload", headers: { ...auth, "content-type": "multipart/form-data; boundary=x", "content-length": "50000000" } }, 413],
    ];
    for (const [what, request, status] of cases) {
      const answer = await expectContinue(server, request);
      t.notOk(answer.interim, `${what}: no 100 Continue`);
      t.equal(answer.status, status, `${what}: refused at once, body never sent`);
    }
    const accepted = await expectContinue(server, { method: "PUT", path: "/assets/new.zip", headers: { ...auth, "content-length": "100" } });
    t.ok(accepted.interim, "a request that can succeed is told to continue");

    // curl waits for the answer to Expect before sending a large body.
    const dir = await tempDir();
    const file = join(dir, "f.zip");
    await writeFile(file, randomBytes(2_000_000));
    const verbose = await curl(["-v", "-T", file, "-H", "Authorization: Bearer wrong", `${server.url}/assets/f.zip`]);
    t.match(verbose.stderr, /> Expect: 100-continue/);
    t.notMatch(verbose.stderr, /< HTTP\/1.1 100/);
    t.match(verbose.stderr, /< HTTP\/1.1 401/);
  });

  t.test("multipart rules", async (t) => {
    const post = (form: FormData) => fetch(`${server.url}/upload`, { method: "POST", headers: server.auth, body: form });
    const two = new FormData();
    two.append("file", new Blob([replacement]), "a.zip");
    two.append("file", new Blob([replacement]), "b.zip");
    const res = await post(two);
    t.equal(res.status, 400);
    t.match((await res.json()).detail, /more than one file/);
    const other = new FormData();
    other.append("file", new Blob([replacement]), "c.zip");
    other.append("attachment", new Blob([replacement]), "d.zip");
    t.equal((await post(other)).status, 400, "a second file part under another name");
    const noName = new FormData();
    noName.append("file", "just text");
    const r = await post(noName);
    t.equal(r.status, 400);
    t.match((await r.json()).detail, /no filename/);
    const extra = new FormData();
    extra.append("comment", "hello");
    extra.append("file", new Blob([replacement]), "with-fields.zip");
    extra.append("label", "x");
    t.equal((await post(extra)).status, 200, "unknown text fields are ignored");
    t.same(await uploadsLeft(server.storage), []);
  });
});

// What running the server in a container or a pod puts it through, against the
// real server process: restarts on the same volume (a rescheduled pod), a
// volume carried over from the older Python server, an operator copying
// packages in by hand (kubectl cp), retention, the probes and the listing
// people open in a browser, and SIGTERM from the kubelet or `docker stop`.

import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { formWith, S3_BACKEND, startServer, tempDir } from "./helpers/server.js";

// Files put into the directory by hand, a Python server's volume, a volume that goes away: the
// bucket's equivalents (objects put or removed by other tools) are in store-s3 and replicas tests.
const directoryOnly = S3_BACKEND ? "about the storage directory itself; on the bucket, see test/store-s3.test.ts" : false;

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function list(url: string) {
  return (await (await fetch(`${url}/packages`)).json()) as { name: string; sha256: string; size: number }[];
}

t.test("a restarted server (a rescheduled pod) serves the same volume", async (t) => {
  const volume = await tempDir("rs-volume-");
  t.teardown(() => rm(volume, { recursive: true, force: true }));
  const bytes = randomBytes(100_000);
  const first = await startServer({ storage: volume });
  const auth = first.auth;
  t.equal((await fetch(`${first.url}/upload`, { method: "POST", headers: auth, body: formWith("keep-v1.zip", bytes) })).status, 200);
  t.equal(await first.stop("SIGTERM"), 0, "SIGTERM: a clean exit");
  t.match(first.output(), /SIGTERM: finishing open requests \(at most 25s\)[^]*stopped/);

  const second = await startServer({ storage: volume });
  t.teardown(() => second.stop());
  t.match(await list(second.url), [{ name: "keep-v1.zip", sha256: sha256(bytes) }]);
  const got = Buffer.from(await (await fetch(`${second.url}/assets/keep-v1.zip`)).arrayBuffer());
  t.equal(sha256(got), sha256(bytes));
});

t.test("a volume from the older Python server, with leftovers, is picked up unchanged", { skip: directoryOnly }, async (t) => {
  const volume = await tempDir("rs-volume-");
  t.teardown(() => rm(volume, { recursive: true, force: true }));
  const old = randomBytes(20_000);
  const bare = randomBytes(30_000);
  await writeFile(join(volume, "old-v1.zip"), old);
  await writeFile(join(volume, "old-v1.zip.sha256"), sha256(old)); // bare hex, no newline
  await writeFile(join(volume, "no-sidecar-v1.zip"), bare);
  await writeFile(join(volume, ".tmp-leftover"), "half an upload");
  const later = new Date(Date.now() + 5000);
  await utimes(join(volume, "old-v1.zip.sha256"), later, later);

  const server = await startServer({ storage: volume });
  t.teardown(() => server.stop());
  const names = Object.fromEntries((await list(server.url)).map((p) => [p.name, p.sha256]));
  t.same(names, { "old-v1.zip": sha256(old), "no-sidecar-v1.zip": sha256(bare) });
  t.equal(await readFile(join(volume, "no-sidecar-v1.zip.sha256"), "utf8"), sha256(bare), "the missing sidecar is written, in the old format");
  t.notOk((await readdir(volume)).includes(".tmp-leftover"), "leftover temp files are removed");
});

t.test("packages copied in or removed by hand show up on the next request", { skip: directoryOnly }, async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const bytes = randomBytes(10_000);
  await writeFile(join(server.storage, "by-hand-v1.zip"), bytes);
  t.match(await list(server.url), [{ name: "by-hand-v1.zip", sha256: sha256(bytes), size: bytes.length }]);
  const head = await fetch(`${server.url}/assets/by-hand-v1.zip`, { method: "HEAD" });
  t.equal(head.status, 200);
  t.equal(head.headers.get("content-length"), String(bytes.length));
  await rm(join(server.storage, "by-hand-v1.zip"));
  t.same(await list(server.url), []);
  t.equal((await fetch(`${server.url}/assets/by-hand-v1.zip`, { method: "HEAD" })).status, 404);
});

t.test("retention keeps MAX_PACKAGES packages", async (t) => {
  const server = await startServer({ env: { MAX_PACKAGES: "2" } });
  t.teardown(() => server.stop());
  const removed: string[][] = [];
  for (const n of [1, 2, 3]) {
    const up = await fetch(`${server.url}/upload`, { method: "POST", headers: server.auth, body: formWith(`ret-v${n}.zip`, randomBytes(1000)) });
    t.equal(up.status, 200);
    removed.push((await up.json()).removed);
    await new Promise((r) => setTimeout(r, 20)); // distinct creation times
  }
  t.same(removed, [[], [], ["ret-v1.zip"]], "each upload answer says what retention removed");
  t.same((await list(server.url)).map((p) => p.name).sort(), ["ret-v2.zip", "ret-v3.zip"]);
  t.notOk((await readdir(server.storage)).some((f) => f.startsWith("ret-v1")), "the package and its sidecar are gone");
  t.match(server.output(), "retention: deleted ret-v1.zip (MAX_PACKAGES=2)");
});

t.test("probes and the browser listing", async (t) => {
  const server = await startServer({ env: { PUBLIC_URL: "https://releases.example.com" } });
  t.teardown(() => server.stop());
  const healthz = await fetch(`${server.url}/healthz`);
  t.equal(healthz.status, 200);
  t.equal(await healthz.text(), "OK");
  t.equal((await fetch(`${server.url}/readyz`)).status, 200);
  t.same(await (await fetch(`${server.url}/health`)).json(), { status: "ok" });

  await fetch(`${server.url}/upload`, { method: "POST", headers: server.auth, body: formWith("page-v1.zip", randomBytes(100)) });
  const html = await fetch(`${server.url}/packages`, { headers: { accept: "text/html,application/xhtml+xml" } });
  t.match(html.headers.get("content-type"), "text/html");
  t.match(html.headers.get("content-security-policy"), "default-src 'none'");
  t.match(await html.text(), "https://releases.example.com/assets/page-v1.zip");
  t.match((await fetch(`${server.url}/packages?format=html`)).headers.get("content-type"), "text/html");
  t.match((await fetch(`${server.url}/packages?format=json`, { headers: { accept: "text/html" } })).headers.get("content-type"), "application/json");
  const bad = await fetch(`${server.url}/packages?format=xml`);
  t.equal(bad.status, 422);
  t.match(await bad.json(), { detail: /format must be "json" or "html"/ });

  if (S3_BACKEND) return; // an unreachable bucket: test/store-s3.test.ts
  await rm(server.storage, { recursive: true, force: true }); // the volume went away
  t.equal((await fetch(`${server.url}/readyz`)).status, 503, "not ready without its storage");
});

// The storage directory as the real server sees it: what survives a restart,
// temp files, the older version's layout, and files changed by hand while
// the server runs.

import { randomBytes } from "node:crypto";
import { appendFile, copyFile, mkdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { download, eventually, listed, openUpload, sha256, tempFiles, upload, uploaded } from "./helpers/requests.js";
import { keptDir, onlyOn, S3_BACKEND, serverFor } from "./helpers/server.js";
import { directoryEntries } from "./helpers/stored.js";

// The storage directory's own behaviour; the bucket's is in test/store-s3.test.ts.
const directoryOnly = S3_BACKEND ? "about the storage directory itself; on the bucket, see test/store-s3.test.ts" : false;

const IN_PLACE = "Bun and Deno deliver fs.watch events after they have answered the next request, so a file rewritten in place (same directory entry) shows in listings a moment later there; under Bun downloads, HEAD and ETags are still checked against the file at every open (store-faults.e2e); Deno reads ctime in whole seconds";


t.test("packages survive a restart unchanged", async (t) => {
  const storage = await keptDir(t);
  const first = await serverFor(t, { storage });
  const bytes = new Uint8Array(randomBytes(50_000));
  await uploaded(t, first, "a.zip", bytes);
  await new Promise((r) => setTimeout(r, 20));
  await uploaded(t, first, "b.zip", "bee");
  const before = await listed(first);
  t.equal(await first.stop(), 0);

  const second = await serverFor(t, { storage });
  t.same(await listed(second), before, "same names, sizes, sha256 and created_at, same order");
  t.ok((await download(second, "a.zip")).bytes.equals(bytes));
});

t.test("a restart trusts the checksum files it wrote: no package is hashed again", { skip: directoryOnly }, async (t) => {
  // A sidecar is trusted while its stamp matches its package's ctime as the runtime reads it. Were
  // the start-up scan to read times otherwise than the stamping did (a runtime's own stat instead of
  // its node:fs), every package would be hashed again at each start. More packages than the store
  // hashes inline, so that it would say so.
  const storage = await keptDir(t);
  const env = { MAX_PACKAGES: "0" };
  const first = await serverFor(t, { storage, env });
  const names = Array.from({ length: 70 }, (_, i) => `p${i}.zip`);
  for (let i = 0; i < names.length; i += 10) {
    const statuses = await Promise.all(names.slice(i, i + 10).map(async (n) => (await upload(first, n, n)).status));
    t.same(statuses, Array(statuses.length).fill(200));
  }
  const sidecars = () => Promise.all(names.map(async (n) => (await stat(join(storage, `${n}.sha256`))).mtimeMs));
  const before = await sidecars();
  t.equal(await first.stop(), 0);

  const second = await serverFor(t, { storage, env });
  t.equal((await fetch(`${second.url}/readyz`)).status, 200, "ready at once");
  t.equal((await listed(second)).length, names.length);
  t.notMatch(second.output(), /checking the digests/);
  t.same(await sidecars(), before, "each sidecar is the one written at upload");
});

t.test("the server's own changes, many at once, are taken in without reading the storage again", async (t) => {
  // Each upload used to end by reading the whole storage directory, one upload at a time, and every
  // read that came meanwhile waited for it: with 10,000 packages and 8 uploaders, a GET /latest took
  // a quarter of a second. Each acknowledged change must still show on the very next request.
  // (The bucket is otherwise listed on a timer, every second in the tests: not within this test.)
  const server = await serverFor(t, { env: { MAX_PACKAGES: "0", INDEX_REFRESH_INTERVAL: "3600" } });
  const listings = async () => Number((await (await fetch(`${server.url}/metrics`)).text()).match(/^release_server_storage_listings_total (\d+)$/m)?.[1]);
  await uploaded(t, server, "seed-v0.1.0.zip", "seed");
  const before = await listings();
  t.ok(before >= 1, "the first scan is counted");
  const names = Array.from({ length: 32 }, (_, i) => `tool-v1.${i}.0.zip`);
  for (let i = 0; i < names.length; i += 8) {
    const statuses = await Promise.all(
      names.slice(i, i + 8).map(async (name) => {
        const status = (await upload(server, name, name)).status;
        const latest = (await (await fetch(`${server.url}/latest`)).json()) as { tag_name: string };
        const got = await download(server, name);
        return `${status} ${got.status} ${got.bytes.toString() === name} ${latest.tag_name >= "v1."}`;
      }),
    );
    t.same(statuses, Array(statuses.length).fill("200 200 true true"), `uploads ${i} to ${i + 7}, each seen at once`);
  }
  t.equal((await upload(server, names[0], "replaced", "?overwrite=true")).status, 200);
  t.equal((await download(server, names[0])).bytes.toString(), "replaced", "a replacement is seen at once");
  t.equal((await fetch(`${server.url}/assets/${names[1]}`, { method: "DELETE", headers: server.auth })).status, 204);
  t.equal((await download(server, names[1])).status, 404, "a removal is seen at once");
  t.equal((await listed(server)).length, names.length, "every package listed once");
  t.equal(await listings(), before, "the storage was not read again");

  if (S3_BACKEND) return; // the bucket has no hand changes to see between its timed listings
  await writeFile(join(server.storage, "by-hand.zip"), "by hand");
  t.equal((await download(server, "by-hand.zip")).bytes.toString(), "by hand", "a change by hand is still seen at once");
});

t.test("leftover temp files are removed at startup", { skip: directoryOnly }, async (t) => {
  const storage = await keptDir(t);
  await writeFile(join(storage, ".tmp-xyz"), "half of an upload from a crash");
  await writeFile(join(storage, ".tmp-0123456789abcdef"), randomBytes(1000));
  await writeFile(join(storage, "kept.zip"), "kept");
  const server = await serverFor(t, { storage });
  t.same(await tempFiles(storage), []);
  t.same((await listed(server)).map((p) => p.name), ["kept.zip"]);
});

t.test("an upload cut off mid-body by the client leaves no temp file", { skip: directoryOnly }, async (t) => {
  const server = await serverFor(t);
  const pending = openUpload(server, "cut.zip");
  await pending.send(randomBytes(200_000));
  t.ok(await eventually(async () => (await tempFiles(server.storage)).length === 1), "the upload is being written to a temp file");
  pending.abort();
  t.ok(await eventually(async () => (await tempFiles(server.storage)).length === 0), "the temp file is removed");
  t.same(await directoryEntries(server.storage), []);
  t.same(await listed(server), []);
  t.equal((await fetch(`${server.url}/health`)).status, 200, "the server carries on");
});

t.test("a directory in the older version's format is picked up unchanged", { skip: directoryOnly }, async (t) => {
  const storage = await keptDir(t);
  const legacy = randomBytes(10_000);
  const noSidecar = randomBytes(5_000);
  await writeFile(join(storage, "spec-kit-template-claude-sh-v0.0.89.zip"), legacy);
  await writeFile(join(storage, "spec-kit-template-claude-sh-v0.0.89.zip.sha256"), sha256(legacy)); // bare hex, no newline
  await writeFile(join(storage, "spec-kit-template-copilot-sh-v0.0.89.zip"), noSidecar);
  const legacySidecar = await readFile(join(storage, "spec-kit-template-claude-sh-v0.0.89.zip.sha256"));

  const server = await serverFor(t, { storage });
  const list = await listed(server);
  t.same(list.map((p) => [p.name, p.size, p.sha256]).sort(), [
    ["spec-kit-template-claude-sh-v0.0.89.zip", legacy.length, sha256(legacy)],
    ["spec-kit-template-copilot-sh-v0.0.89.zip", noSidecar.length, sha256(noSidecar)],
  ]);
  t.ok((await download(server, "spec-kit-template-claude-sh-v0.0.89.zip")).bytes.equals(legacy));
  t.ok((await download(server, "spec-kit-template-copilot-sh-v0.0.89.zip")).bytes.equals(noSidecar));
  t.same(await readFile(join(storage, "spec-kit-template-claude-sh-v0.0.89.zip.sha256")), legacySidecar, "the existing sidecar is left as it was");
  t.equal(await readFile(join(storage, "spec-kit-template-copilot-sh-v0.0.89.zip.sha256"), "utf8"), sha256(noSidecar), "the missing one is written in the same format");
});

t.test("files changed by hand while the server runs show up on the very next request", { skip: directoryOnly }, async (t) => {
  const server = await serverFor(t);
  const src = await keptDir(t);
  t.same(await listed(server), []);

  t.test("copied in", async (t) => {
    const bytes = randomBytes(300_000);
    await writeFile(join(src, "copied.zip"), bytes);
    await copyFile(join(src, "copied.zip"), join(server.storage, "copied.zip"));
    t.match(await listed(server), [{ name: "copied.zip", size: bytes.length, sha256: sha256(bytes) }]);
    t.ok((await download(server, "copied.zip")).bytes.equals(bytes));
  });

  t.test("copied in with its sidecar", async (t) => {
    await writeFile(join(server.storage, "with-sidecar.zip"), "w");
    await writeFile(join(server.storage, "with-sidecar.zip.sha256"), sha256("w"));
    t.equal((await download(server, "with-sidecar.zip")).bytes.toString(), "w", "a download is the first request");
    t.match((await listed(server)).find((p) => p.name === "with-sidecar.zip"), { sha256: sha256("w") });
  });

  t.test("moved in by rename", async (t) => {
    await writeFile(join(src, "moved.zip"), "moved");
    await rename(join(src, "moved.zip"), join(server.storage, "moved.zip"));
    t.ok((await listed(server)).some((p) => p.name === "moved.zip"));
  });

  t.test("removed", async (t) => {
    await rm(join(server.storage, "copied.zip"));
    t.notOk((await listed(server)).some((p) => p.name === "copied.zip"));
    t.equal((await download(server, "copied.zip")).status, 404);
  });

  t.test("rewritten in place gets the right sha256 once it is complete", async (t) => {
    if (!onlyOn(t, ["node"], IN_PLACE)) return;
    const path = join(server.storage, "with-sidecar.zip");
    await writeFile(path, "first half,");
    // A request while the copy is half done sees (and may index) the half...
    t.equal((await download(server, "with-sidecar.zip")).bytes.toString(), "first half,");
    await appendFile(path, " second half");
    // ...and the next one after the copy completes sees the whole file, with the right digest.
    const whole = "first half, second half";
    t.match((await listed(server)).find((p) => p.name === "with-sidecar.zip"), { size: whole.length, sha256: sha256(whole) });
    const res = await fetch(`${server.url}/assets/with-sidecar.zip`);
    t.equal(res.headers.get("etag"), `"${sha256(whole)}"`);
    t.equal(await res.text(), whole);
    t.equal(await readFile(`${path}.sha256`, "utf8"), sha256(whole), "the sidecar is brought up to date");
  });

  t.test("a file that grows right after it was indexed is never listed with the old digest", async (t) => {
    if (!onlyOn(t, ["node"], IN_PLACE)) return;
    // Each round: the server indexes a half-written file, then the rest arrives within a few ms,
    // often inside the same file-time tick as the sidecar the server just wrote.
    const path = join(server.storage, "growing.zip");
    const stale: number[] = [];
    for (let i = 0; i < 100; i++) {
      await writeFile(path, `round ${i}`);
      await listed(server);
      await appendFile(path, " and the rest");
      const entry = (await listed(server)).find((p) => p.name === "growing.zip");
      if (entry?.sha256 !== sha256(`round ${i} and the rest`)) stale.push(i);
    }
    t.same(stale, [], "no round listed a stale digest");
    await rm(path);
  });

  t.test("a sub-directory, a symlink and a stray sidecar are not packages", async (t) => {
    await mkdir(join(server.storage, "subdir"));
    await symlink("/etc/passwd", join(server.storage, "passwd"));
    await writeFile(join(server.storage, "stray.zip.sha256"), sha256("nothing"));
    const names = (await listed(server)).map((p) => p.name);
    t.notOk(names.includes("subdir") || names.includes("passwd") || names.includes("stray.zip.sha256"), names.join(", "));
    t.equal((await download(server, "passwd")).status, 404, "a symlink out of the directory is never served");
  });
});

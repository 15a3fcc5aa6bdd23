// A full storage volume: the upload fails with 507, leaves no temp file, and
// the package already stored under that name is untouched. Uses a real 1 MiB
// tmpfs, so it needs root (CI runs as root).

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { download, sha256, upload } from "./helpers/http.js";
import { startServer } from "./helpers/server.js";

const canMount = process.getuid?.() === 0;

t.test("uploads to a full volume get 507 and store nothing", { skip: canMount ? false : "mounting a tmpfs needs root" }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rs-full-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
  t.teardown(async () => {
    execFileSync("umount", [dir]);
    await rmdir(dir);
  });
  const server = await startServer({ storage: dir });
  t.teardown(() => server.stop());

  const small = randomBytes(100_000);
  t.equal((await upload(server, "app-v1.0.0.zip", small)).status, 200);
  const big = randomBytes(2_000_000);

  const multipart = await upload(server, "app-v1.0.0.zip", big, { overwrite: true });
  t.equal(multipart.status, 507);
  t.match(await multipart.json(), { detail: /storage volume is full/ });
  const raw = await fetch(`${server.url}/assets/other-v2.0.0.zip`, { method: "PUT", headers: server.auth, body: big });
  t.equal(raw.status, 507);

  t.same((await readdir(dir)).sort(), ["app-v1.0.0.zip", "app-v1.0.0.zip.sha256"], "no temp files, nothing new");
  const kept = await download(`${server.url}/assets/app-v1.0.0.zip`);
  t.equal(sha256(kept.body), sha256(small), "the stored package is untouched");
  t.equal((await upload(server, "after-v1.0.0.zip", randomBytes(1000))).status, 200, "and the server keeps working");
});

// The end-to-end smoke: upload, list, latest, download, delete, run unchanged
// against the server under Node, Bun and Deno (both installed from npm), and
// the pages' own files.

import { createHash, randomBytes } from "node:crypto";
import t from "tap";
import { formWith, startServer } from "./helpers/server.js";

for (const runtime of ["node", "bun", "deno"] as const) t.test(`smoke on ${runtime}`, async (t) => {
  const server = await startServer({ runtime });
  t.teardown(() => server.stop());
  const bytes = randomBytes(300_000);
  const sha = createHash("sha256").update(bytes).digest("hex");
  const name = "spec-kit-template-claude-sh-v0.0.90.zip";

  const up = await fetch(`${server.url}/upload`, { method: "POST", headers: server.auth, body: formWith(name, bytes) });
  t.equal(up.status, 200);
  t.match(await up.json(), { name, size: bytes.length, sha256: sha });

  const list = await (await fetch(`${server.url}/packages`)).json();
  t.match(list, [{ name, size: bytes.length, sha256: sha }]);

  const latest = await (await fetch(`${server.url}/latest`)).json();
  t.equal(latest.assets[0].name, name);
  const download = await fetch(latest.assets[0].browser_download_url);
  t.equal(download.status, 200);
  const got = Buffer.from(await download.arrayBuffer());
  t.equal(createHash("sha256").update(got).digest("hex"), sha);

  const del = await fetch(`${server.url}/packages/${name}`, { method: "DELETE", headers: server.auth });
  t.equal(del.status, 204);
  t.equal((await fetch(`${server.url}/assets/${name}`)).status, 404);

  // The pages, with their files and Swagger UI's, work on every runtime.
  const home = await fetch(`${server.url}/`, { headers: { accept: "text/html" } });
  t.match(await home.text(), /No releases yet/);
  for (const path of ["/static/app.js", "/static/swagger-ui/swagger-ui.css"]) {
    const res = await fetch(`${server.url}${path}`);
    t.equal(res.status, 200, path);
    t.ok((await res.arrayBuffer()).byteLength > 1000, `${path} has its bytes`);
  }
});

// The release API under every runtime the server supports: the specify
// client's algorithm, an asset's bytes through the API, and download_count
// (counted when a download completes, which each adapter reports its own way).
// Also a package of more than one upload part: on the bucket (`npm run
// test:s3`) the parts go over node:http, which each runtime implements itself.

import { randomBytes } from "node:crypto";
import t from "tap";
import { bytesFor, getJson, sha256, specifyDownload, upload } from "./helpers/releases.js";
import { startServer } from "./helpers/server.js";

for (const runtime of ["node", "bun", "deno"] as const) {
  t.test(`releases on ${runtime}`, async (t) => {
    const server = await startServer({ runtime, env: { DEFAULT_REPOSITORY: "o/r" } });
    t.teardown(() => server.stop());
    for (const v of ["v0.0.10", "v0.0.9"]) {
      for (const ai of ["claude", "gemini"]) for (const script of ["sh", "ps"]) await upload(server, `spec-kit-template-${ai}-${script}-${v}.zip`);
    }
    for (const ai of ["claude", "gemini"]) {
      for (const script of ["sh", "ps"]) {
        const got = await specifyDownload(`${server.url}/latest`, ai, script);
        t.equal(got.name, `spec-kit-template-${ai}-${script}-v0.0.10.zip`);
      }
    }
    const latest = (await getJson(`${server.url}/api/v3/repos/o/r/releases/latest`)).body;
    t.equal(latest.tag_name, "v0.0.10");
    const asset = latest.assets.find((a: { name: string }) => a.name === "spec-kit-template-claude-sh-v0.0.10.zip");
    const res = await fetch(asset.url, { headers: { accept: "application/octet-stream" } });
    t.equal(res.status, 200);
    t.equal(sha256(new Uint8Array(await res.arrayBuffer())), sha256(bytesFor(asset.name)));
    let count = 0;
    for (let i = 0; i < 50 && count !== 2; i++) {
      count = (await getJson(asset.url)).body.download_count;
      if (count !== 2) await new Promise((r) => setTimeout(r, 50));
    }
    t.equal(count, 2, "the specify download and the API download both counted");
    const big = randomBytes(2 * 8 * 2 ** 20 + 123); // three parts of an upload to the bucket
    const put = await fetch(`${server.url}/assets/big-1.0.0.bin`, { method: "PUT", headers: server.auth, body: big });
    t.equal(put.status, 201, "a package of three upload parts is stored");
    t.equal((await put.json()).sha256, sha256(big));
    t.equal(sha256(new Uint8Array(await (await fetch(`${server.url}/assets/big-1.0.0.bin`)).arrayBuffer())), sha256(big), "and comes back whole");
    const missing = await getJson(`${server.url}/repos/o/r/releases/tags/v9.9.9`);
    t.equal(missing.status, 404);
    t.equal(missing.body.message, "Not Found");
  });
}

// The fastest server this runtime can be, for the benchmark's reference row:
// one process, no routing, no checks, no headers beyond the necessary, the
// same bytes from memory on every request. Whatever it reaches is the
// ceiling for any server on this runtime and machine; the release server's
// distance to it is ours to close, its distance to nginx is the runtime's.
//
//   <runtime> bench/bare-server.mjs PORT LATEST_FILE ASSET_FILE
// GET /latest answers LATEST_FILE's bytes (application/json), anything else ASSET_FILE's.

import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const [port, latestFile, assetFile] = process.argv.slice(2);
const latest = readFileSync(latestFile);
const asset = readFileSync(assetFile);
const answer = (path) => (path === "/latest" ? [latest, "application/json"] : [asset, "application/octet-stream"]);

if (typeof Bun !== "undefined") {
  Bun.serve({
    hostname: "127.0.0.1",
    port: Number(port),
    fetch(request) {
      const [body, type] = answer(new URL(request.url).pathname);
      return new Response(body, { headers: { "content-type": type } });
    },
  });
} else if (typeof Deno !== "undefined") {
  Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen() {} }, (request) => {
    const [body, type] = answer(new URL(request.url).pathname);
    return new Response(body, { headers: { "content-type": type } });
  });
} else {
  createServer((req, res) => {
    const [body, type] = answer(req.url);
    res.writeHead(200, { "content-type": type, "content-length": body.length });
    res.end(body);
  }).listen(Number(port), "127.0.0.1");
}

// The fastest server this runtime can be, for the benchmark's reference row:
// one process, no routing, no checks, no headers beyond the necessary, the
// same bytes from memory on every request. Whatever it reaches is the
// ceiling for any server on this runtime and machine; the release server's
// distance to it is ours to close, its distance to nginx is the runtime's.
//
//   <runtime> bench/bare-server.mjs PORT LATEST_FILE ASSET_FILE [UPLOAD_FILE]
// GET /latest answers LATEST_FILE's bytes (application/json), anything else ASSET_FILE's.
// PUT hashes the body while writing it to UPLOAD_FILE, fsyncs and answers 201: the runtime's own
// memory floor for receiving an upload and storing it.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { createServer } from "node:http";

const [port, latestFile, assetFile, uploadFile] = process.argv.slice(2);
const latest = readFileSync(latestFile);
const asset = readFileSync(assetFile);
const answer = (path) => (path === "/latest" ? [latest, "application/json"] : [asset, "application/octet-stream"]);

/** Hashes and writes the chunks of a body (Node's request and the web's body stream are both async iterables). */
async function store(chunks) {
  const hash = createHash("sha256");
  const file = await open(uploadFile, "w");
  for await (const chunk of chunks) {
    hash.update(chunk);
    await file.write(chunk);
  }
  await file.sync();
  await file.close();
  return hash.digest("hex");
}

if (typeof Bun !== "undefined") {
  Bun.serve({
    hostname: "127.0.0.1",
    port: Number(port),
    maxRequestBodySize: 2 ** 40,
    async fetch(request) {
      if (request.method === "PUT") return new Response(await store(request.body), { status: 201 });
      const [body, type] = answer(new URL(request.url).pathname);
      return new Response(body, { headers: { "content-type": type } });
    },
  });
} else if (typeof Deno !== "undefined") {
  Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen() {} }, async (request) => {
    if (request.method === "PUT") return new Response(await store(request.body), { status: 201 });
    const [body, type] = answer(new URL(request.url).pathname);
    return new Response(body, { headers: { "content-type": type } });
  });
} else {
  createServer(async (req, res) => {
    if (req.method === "PUT") return res.writeHead(201).end(await store(req));
    const [body, type] = answer(req.url);
    res.writeHead(200, { "content-type": type, "content-length": body.length });
    res.end(body);
  }).listen(Number(port), "127.0.0.1");
}

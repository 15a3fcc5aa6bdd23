// File bodies as web streams: what the Bun and Deno adapters send (the Node
// adapter takes the file directly). Ranges, the end of the file, cancelling.

import { open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { fileBodyOf, fileResponse } from "../src/file-body.js";
import { keptDir } from "./helpers/server.js";

const BYTES = Buffer.from(Array.from({ length: 600 * 1024 }, (_, i) => i % 251)); // more than one 256 KiB chunk

async function fileOf(t: Parameters<typeof keptDir>[0]) {
  const dir = await keptDir(t);
  const path = join(dir, "f.bin");
  await writeFile(path, BYTES);
  return path;
}

t.test("the whole file, then onComplete, then the handle is closed", async (t) => {
  const handle = await open(await fileOf(t), "r");
  let completed = 0;
  const res = fileResponse({ handle, start: 0, end: BYTES.length - 1, onComplete: () => completed++ }, { headers: { "x-a": "b" } });
  t.equal(res.headers.get("x-a"), "b");
  t.equal(fileBodyOf(res)?.handle, handle, "the Node adapter can take the file itself");
  t.ok(Buffer.from(await res.arrayBuffer()).equals(BYTES));
  t.equal(completed, 1);
  await t.rejects(handle.stat(), "closed");
});

t.test("a byte range", async (t) => {
  const handle = await open(await fileOf(t), "r");
  const res = fileResponse({ handle, start: 1000, end: 300_000 }, {});
  t.ok(Buffer.from(await res.arrayBuffer()).equals(BYTES.subarray(1000, 300_001)));
});

t.test("an empty range is an empty body", async (t) => {
  const handle = await open(await fileOf(t), "r");
  t.equal((await fileResponse({ handle, start: 0, end: -1 }, {}).arrayBuffer()).byteLength, 0);
});

t.test("a file shorter than promised is an error, not a short body", async (t) => {
  const path = await fileOf(t);
  const handle = await open(path, "r");
  const res = fileResponse({ handle, start: 0, end: BYTES.length + 10 }, {});
  await t.rejects(res.arrayBuffer(), /ended before the expected length/);
});

t.test("cancelling closes the file", async (t) => {
  const handle = await open(await fileOf(t), "r");
  let completed = false;
  const res = fileResponse({ handle, start: 0, end: BYTES.length - 1, onComplete: () => (completed = true) }, {});
  const reader = res.body!.getReader();
  await reader.read();
  await reader.cancel();
  await t.rejects(handle.stat(), "closed");
  t.notOk(completed, "an unfinished body is not complete");
});

t.test("a response that is not a file", async (t) => {
  t.equal(fileBodyOf(new Response("x")), undefined);
});

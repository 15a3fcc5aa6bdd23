// A 200 MB upload and download through the real server: the bytes arrive
// intact, and the server's resident memory stays bounded while they stream
// (it never holds a whole package in memory).

import { createHash, randomBytes } from "node:crypto";
import { open } from "node:fs/promises";
import { join } from "node:path";
import t from "tap";
import { curl, listed, upload } from "./helpers/requests.js";
import { keptDir, serverFor, TOKEN, type RunningServer } from "./helpers/server.js";
import { storedBytes, storedChunks } from "./helpers/stored.js";

const SIZE = 200 * 1024 * 1024;
// Generous (buffers, GC slack, a busy machine) yet far below the 200 MB a buffered upload would need.
const MAX_GROWTH = 150 * 1024 * 1024;

/** Writes `size` bytes of varied data (a random block, each copy stamped with its index) and returns the sha256. */
async function bigFile(path: string, size: number): Promise<string> {
  const block = randomBytes(1024 * 1024);
  const hash = createHash("sha256");
  const file = await open(path, "w");
  try {
    for (let i = 0; i < size / block.length; i++) {
      block.writeUInt32BE(i, 0);
      hash.update(block);
      await file.write(block);
    }
  } finally {
    await file.close();
  }
  return hash.digest("hex");
}

/** The largest RSS of the server, sampled every 100 ms until `work` settles. */
async function peakRss<T>(server: RunningServer, work: Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = await server.rss();
  let done = false;
  const sampling = (async () => {
    while (!done) {
      peak = Math.max(peak, await server.rss());
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    return { result: await work, peak };
  } finally {
    done = true;
    await sampling;
  }
}

async function streamedSha256(url: string): Promise<string> {
  const res = await fetch(url);
  const hash = createHash("sha256");
  const reader = res.body!.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) hash.update(r.value);
  return hash.digest("hex");
}

t.test("a 200 MB upload streams through with bounded memory", async (t) => {
  const dir = await keptDir(t);
  const path = join(dir, "big-package.zip");
  const sha = await bigFile(path, SIZE);
  const server = await serverFor(t);
  // Warm up (first request, JIT, buffers) before taking the baseline.
  t.equal((await upload(server, "warm-up.zip", "warm")).status, 200);
  const baseline = await server.rss();

  const { result: up, peak } = await peakRss(
    server,
    curl("-f", "-X", "POST", `${server.url}/upload`, "-H", `Authorization: Bearer ${TOKEN}`, "-F", `file=@${path}`),
  );
  t.equal(up.code, 0, up.stderr);
  t.match(JSON.parse(up.stdout), { name: "big-package.zip", size: SIZE, sha256: sha });
  t.ok(peak - baseline < MAX_GROWTH, `RSS grew by ${((peak - baseline) / 2 ** 20).toFixed(1)} MiB during the upload (limit ${MAX_GROWTH / 2 ** 20} MiB)`);

  t.equal((await storedBytes(server.storage, "big-package.zip.sha256")).toString(), sha, "the sidecar");
  t.equal((await listed(server)).find((p) => p.name === "big-package.zip")?.sha256, sha, "the index");
  const stored = createHash("sha256");
  for await (const chunk of storedChunks(server.storage, "big-package.zip")) stored.update(chunk);
  t.equal(stored.digest("hex"), sha, "the stored bytes");

  const down = await peakRss(server, streamedSha256(`${server.url}/assets/big-package.zip`));
  t.equal(down.result, sha, "downloaded intact");
  t.ok(down.peak - baseline < MAX_GROWTH, `RSS grew by ${((down.peak - baseline) / 2 ** 20).toFixed(1)} MiB during the download`);
});

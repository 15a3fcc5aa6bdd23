// How long the object-storage backend takes to build its index of N packages
// at startup: a restart (answering from the index saved in .cache/index.json,
// then ready once a listing confirmed it), the listing alone (what every
// INDEX_REFRESH_INTERVAL costs), and the first start on objects it has never
// described (one HEAD each, once).
//
//   node bench/index-listing.mjs [count]     (S3_* settings in the environment; npm run build first)
//
// Writes `count` small packages as the server lays them out (the object with our metadata and its
// `.sha256` object: 2 × count keys) under a fresh prefix, removes them afterwards.

import { randomUUID } from "node:crypto";
import { S3Client } from "../dist/store/s3/client.js";
import { S3Store } from "../dist/store/s3/s3-store.js";

const count = Number(process.argv[2] ?? 10_000);
const client = new S3Client({
  endpoint: process.env.S3_ENDPOINT,
  region: process.env.S3_REGION ?? "us-east-1",
  bucket: process.env.S3_BUCKET,
  accessKeyId: process.env.S3_ACCESS_KEY_ID,
  secretAccessKey: process.env.S3_SECRET_ACCESS_KEY,
  forcePathStyle: (process.env.S3_FORCE_PATH_STYLE ?? "true") === "true",
});
const prefix = `bench-index-${randomUUID()}/`;
const X_SHA256 = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
const names = Array.from({ length: count }, (_, i) => `pkg-${String(i).padStart(6, "0")}-v1.0.0.zip`);

async function inParallel(items, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

const time = async (fn) => {
  const t0 = performance.now();
  const result = await fn();
  return [performance.now() - t0, result];
};

try {
  const [putMs] = await time(() =>
    inParallel(names, 16, async (name) => {
      await client.put(prefix + name, "x", { "x-amz-meta-sha256": X_SHA256, "x-amz-meta-created": new Date().toISOString() });
      await client.put(prefix + name + ".sha256", X_SHA256);
    }),
  );
  console.log(`wrote ${count} packages (${2 * count} objects) in ${(putMs / 1000).toFixed(1)} s`);
  const [firstMs, first] = await time(() => S3Store.open({ client, prefix, refreshIntervalMs: 3_600_000 }));
  console.log(`first start (list + one HEAD per object): ${firstMs.toFixed(0)} ms, ${(await first.list()).length} packages`);
  await first.close(); // writes .cache/index.json
  const runs = [];
  const confirmed = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const [ms, store] = await time(() => S3Store.open({ client, prefix, refreshIntervalMs: 3_600_000 }));
    runs.push(ms);
    if ((await store.list()).length !== count) throw new Error("wrong count");
    while (!(await store.health()).indexed) await new Promise((r) => setTimeout(r, 5));
    confirmed.push(performance.now() - started);
    await store.close();
  }
  console.log(`restart, answering from the saved index: ${runs.map((ms) => ms.toFixed(0)).join(", ")} ms`);
  console.log(`restart, until the listing (in slices at the saved names) confirmed it and /readyz is ready: ${confirmed.map((ms) => ms.toFixed(0)).join(", ")} ms`);
  let listed = 0;
  const [listMs] = await time(async () => {
    for await (const _ of client.list(prefix, "/")) listed++;
  });
  console.log(`one listing from start to end, for comparison: ${listMs.toFixed(0)} ms for ${listed} objects`);
} finally {
  const keys = [];
  for await (const o of client.list(prefix)) keys.push(o.key);
  await inParallel(keys, 16, (key) => client.delete(key));
}

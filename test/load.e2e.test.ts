// The load script (npm run load), shortened: mixed downloads, ranges, listings
// and uploads at full concurrency with wrk; zero errors, and afterwards every
// listed package hashes to its listed digest. Figures: docs/OPERATIONS.md.

import { join } from "node:path";
import t from "tap";
import { run } from "./helpers/http.js";
import { ROOT, RUNTIME } from "./helpers/server.js";

t.test(`npm run load, 5 seconds, under ${RUNTIME}`, async (t) => {
  const r = await run(process.execPath, [join(ROOT, "bench", "load.mjs"), "--duration", "5", "--connections", "16", "--runtime", RUNTIME], { timeout: 120_000 });
  t.equal(r.code, 0, "exit code 0");
  if (r.code !== 0) t.comment(r.stdout + r.stderr);
  const summary = JSON.parse(/^LOAD (.*)$/m.exec(r.stdout)?.[1] ?? "{}");
  t.match(summary, { socket_errors: 0, http_errors: 0, digest_mismatches: 0 });
  for (const kind of ["download", "range", "list", "latest", "upload"]) t.ok(summary[kind] > 0, `${kind}: ${summary[kind]} requests`);
  t.ok(summary.packages_checked >= 6, `${summary.packages_checked} packages checked`);
});

// The benchmark script works: a smoke run at tiny sizes prints every figure.
// It asserts no speed; the figures live in docs/BENCHMARKS.md.

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import t from "tap";
import { run } from "./helpers/http.js";
import { s3Env } from "./helpers/object-storage.js";
import { ROOT } from "./helpers/server.js";

const has = (cmd: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const missing = ["wrk", "nginx", "sha256sum", "dd"].filter((c) => !has(c));

t.test("npm run bench -- --smoke prints the whole table", { skip: missing.length ? `needs ${missing.join(", ")} (.ci/run installs them)` : false }, async (t) => {
  const r = await run(process.execPath, [join(ROOT, "bench", "bench.mjs"), "--smoke"], { cwd: ROOT, timeout: 240_000 });
  t.equal(r.code, 0, r.stderr);
  for (const figure of [
    "`GET /latest` req/s (34 packages)",
    "`GET /latest` p99 latency",
    "`GET /assets/<150 KB>` req/s",
    "MiB/s (4 connections)",
    "`GET /packages?format=json` req/s",
    "`GET /latest` req/s, a bare node server (one process, the same bytes from memory, nothing else)",
    "upload MiB/s (ceiling: hash, then write with fsync)",
    "Resident memory: idle; peak during the",
    "a bare node server (hash and write the body with fsync, nothing else)",
    "First answer after start, 200 packages stored",
    "`GET /latest` req/s (200 packages)",
  ]) {
    t.match(r.stdout, figure, figure);
  }
  t.match(r.stdout, /on \d+ × .*memory; wrk/, "names the machine it ran on");
  t.notMatch(r.stdout, /NaN/);
});

t.test("npm run bench -- --smoke --backend s3 measures the server on the bucket", async (t) => {
  if (missing.length) return t.pass(`skipped: needs ${missing.join(", ")} (.ci/run installs them)`);
  const s3 = await s3Env();
  if (typeof s3 === "string") return t.pass(`skipped: no S3 server: ${s3}`);
  const r = await run(process.execPath, [join(ROOT, "bench", "bench.mjs"), "--smoke", "--backend", "s3"], { cwd: ROOT, timeout: 300_000, env: { ...process.env, ...s3.env } });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, `STORAGE_BACKEND=s3 at ${s3.env.S3_ENDPOINT}`, "says where the packages were");
  t.match(r.stdout, "`GET /assets/<150 KB>` req/s");
  t.match(r.stdout, "First answer after start, 200 packages stored");
  t.notMatch(r.stdout, /NaN/);
  const left: string[] = [];
  for await (const o of s3.client.list("bench-")) left.push(o.key);
  t.same(left, [], "nothing left in the bucket");
});

t.test("unknown arguments are refused with a pointer to the usage", async (t) => {
  const r = await run(process.execPath, [join(ROOT, "bench", "bench.mjs"), "--nope"], { cwd: ROOT });
  t.not(r.code, 0);
  t.match(r.stderr, /unknown argument --nope/);
});

// `npm test`: the whole suite under c8, lines >= 90%.
//
// The object-storage code is tested against real servers (../shared/s3/ and
// ../shared/pg/, which .ci/run starts). When one cannot be started here, its
// tests skip, saying why, and the code they would have run is left out of the
// coverage figure, with a line saying so, rather than counted as untested.

import { execFileSync, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SHARED = join(ROOT, "..", "shared");
const env = { ...process.env };

function script(path, extraEnv = {}) {
  return execFileSync("bash", [path], { encoding: "utf8", env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 });
}

/** Why there is no S3 server, or null when there is one (started here when the environment names none). */
async function s3Problem() {
  try {
    if (!env.S3_ENDPOINT) {
      for (const line of script(join(SHARED, "s3", "start-s3.sh")).split("\n")) {
        const i = line.indexOf("=");
        if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
      }
    }
    await fetch(env.S3_ENDPOINT, { signal: AbortSignal.timeout(5000) });
    return null;
  } catch (err) {
    return `no S3 server: ${(err.stderr || err.message || String(err)).trim().split("\n").slice(-1)[0]}`;
  }
}

/** Why PostgreSQL cannot be run (the replica tests start their own cluster), or null. */
async function pgProblem() {
  const port = await new Promise((done) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => done(port));
    });
  });
  const probe = { PG_STATE_DIR: `/tmp/rs-pg-probe-${randomUUID().slice(0, 8)}`, PG_PORT: String(port) };
  try {
    script(join(SHARED, "pg", "start-pg.sh"), probe);
    return null;
  } catch (err) {
    return `no PostgreSQL: ${(err.stderr || err.message || String(err)).trim().split("\n").slice(-1)[0]}`;
  } finally {
    try {
      script(join(SHARED, "pg", "stop-pg.sh"), { ...probe, PG_PURGE: "1" });
    } catch {
      // nothing was started
    }
  }
}

const config = JSON.parse(readFileSync(join(ROOT, ".c8rc.json"), "utf8"));
const exclude = [...config.exclude];
const s3 = await s3Problem();
const pg = s3 ?? (await pgProblem());
if (s3) exclude.push("src/store/s3/**", "dist/store/s3/**");
if (pg) exclude.push("src/store/pg/**", "dist/store/pg/**");
for (const why of new Set([s3, pg].filter(Boolean))) console.log(`coverage: object-storage code left out (${why}); its tests skip`);

const c8 = join(ROOT, "node_modules", ".bin", "c8");
const args = ["--check-coverage", "--lines", "90", "--reporter=text-summary", "--reporter=lcov", ...exclude.flatMap((e) => ["--exclude", e]), "tap"];
const { status } = spawnSync(c8, args, { stdio: "inherit", env, cwd: ROOT });
process.exit(status ?? 1);

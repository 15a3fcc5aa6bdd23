// The older API's black-box end-to-end files again, with every server storing
// its packages in the bucket (STORAGE_BACKEND=s3, see test/helpers/server.ts):
// the same requests must get the same answers as on a directory.

import { execFile } from "node:child_process";
import t from "tap";
import { s3Env } from "./helpers/object-storage.js";
import { ROOT } from "./helpers/server.js";

// The older API (upload, list, latest, download, delete, retention), the specify client, shutdown,
// a 200 MB upload with bounded memory (multipart),
// the release API under Node, Bun and Deno, and WORKERS (node:cluster) sharing one bucket.
const FILES = [
  "test/api.e2e.test.ts",
  "test/downloads.e2e.test.ts",
  "test/upload.e2e.test.ts",
  "test/uploads.e2e.test.ts",
  "test/specify.e2e.test.ts",
  "test/lifecycle.e2e.test.ts",
  "test/big-upload.e2e.test.ts",
  "test/releases-runtimes.e2e.test.ts",
  "test/workers.e2e.test.ts",
];

const env = await s3Env();
t.test("the black-box e2e files against the S3 backend", { skip: typeof env === "string" ? `no S3 server: ${env}` : false }, async (t) => {
  if (typeof env === "string") return;
  const result = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      process.execPath,
      [`${ROOT}/node_modules/tap/dist/esm/run.mjs`, "-R", "terse", "--disable-coverage", "--jobs", "2", ...FILES],
      { cwd: ROOT, env: { ...process.env, ...env.env, STORAGE_BACKEND: "s3" }, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
  t.equal(result.code, 0, `every file passes on the bucket${result.code === 0 ? "" : ":\n" + result.output.slice(-6000)}`);
});

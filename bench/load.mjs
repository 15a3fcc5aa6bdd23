#!/usr/bin/env node
// Load test: starts the server (built dist/) on a temp directory, seeds packages,
// drives mixed downloads, ranges, listings and uploads with wrk at full
// concurrency, then checks every listed package hashes to its listed digest.
// Exit code 0 only with zero errors and every digest right.
//
//   npm run load -- [--duration 60] [--connections 64] [--threads 2] [--runtime node|bun|deno]
//
// Needs wrk (Debian: apt-get install wrk).

import { spawn, execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const { values: opts } = parseArgs({
  options: {
    duration: { type: "string", default: "60" },
    connections: { type: "string", default: "64" },
    threads: { type: "string", default: "2" },
    runtime: { type: "string", default: "node" },
  },
});

const token = randomBytes(24).toString("base64url");
const storage = await mkdtemp(join(tmpdir(), "rs-load-"));
const bin = (name) => join(ROOT, "node_modules", ".bin", name);
const entry = join(ROOT, "dist", "main.js");
const command = { node: [process.execPath, entry], bun: [bin("bun"), entry], deno: [bin("deno"), "run", "--allow-all", `--config=${join(ROOT, "deno.json")}`, entry] }[opts.runtime];
if (!command) throw new Error(`--runtime must be node, bun or deno`);

const server = spawn(command[0], command.slice(1), {
  env: { ...process.env, HOST: "127.0.0.1", PORT: "0", STORAGE_PATH: storage, AUTH_TOKEN: token, MAX_PACKAGES: "0", LOG_FORMAT: "json", CONFIG_PATH: "" },
  stdio: ["ignore", "pipe", "inherit"],
});
let output = "";
const url = await new Promise((resolveUrl, reject) => {
  server.stdout.on("data", (d) => {
    output += d;
    const m = /listening on (http:\/\/[^\s"]+)/.exec(output);
    if (m) resolveUrl(m[1]);
  });
  server.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening:\n${output}`)));
});
// The access log is written (that is part of the load) and dropped here; warnings and errors are shown.
let partial = "";
server.stdout.on("data", (d) => {
  const lines = (partial + d).split("\n");
  partial = lines.pop();
  for (const line of lines) if (/"level":"(warn|error)"/.test(line)) console.log(line);
});

let failed = false;
try {
  // Packages of typical sizes: a checksum file, templates, a larger archive.
  const sizes = [4 * 1024, 40 * 1024, 200 * 1024, 700 * 1024, 2 * 1024 * 1024, 8 * 1024 * 1024];
  const names = [];
  for (const [i, size] of sizes.entries()) {
    const name = `pkg-${i}-v1.0.${i}.zip`;
    const res = await fetch(`${url}/assets/${name}`, { method: "PUT", headers: { authorization: `Bearer ${token}` }, body: randomBytes(size) });
    if (res.status !== 201) throw new Error(`seeding ${name}: ${res.status} ${await res.text()}`);
    names.push(name);
  }

  const args = ["-t", opts.threads, "-c", opts.connections, "-d", `${opts.duration}s`, "--timeout", "30s", "--latency", "-s", join(ROOT, "bench", "load.lua"), url];
  console.log(`wrk ${args.join(" ")}  (${opts.runtime})`);
  const wrk = await new Promise((resolveRun, reject) => {
    execFile("wrk", args, { env: { ...process.env, LOAD_PACKAGES: names.join(" "), LOAD_TOKEN: token }, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      if (err && err.code === "ENOENT") reject(new Error("wrk is not installed (apt-get install wrk)"));
      else if (err) reject(new Error(`wrk failed: ${err.message}\n${stdout}${stderr}`));
      else resolveRun({ stdout, stderr });
    });
  });
  process.stdout.write(wrk.stdout.replace(/^LOAD-RESULT .*\n/m, ""));
  if (wrk.stderr) process.stderr.write(wrk.stderr);
  const result = JSON.parse(/^LOAD-RESULT (.*)$/m.exec(wrk.stdout)[1]);

  // Afterwards: every listed package is intact.
  const listed = await (await fetch(`${url}/packages`)).json();
  let bad = 0;
  for (const p of listed) {
    const bytes = Buffer.from(await (await fetch(`${url}/assets/${encodeURIComponent(p.name)}`)).arrayBuffer());
    const digest = createHash("sha256").update(bytes).digest("hex");
    if (digest !== p.sha256 || bytes.length !== p.size) {
      bad++;
      console.error(`${p.name}: listed sha256 ${p.sha256} (${p.size} bytes), downloaded ${digest} (${bytes.length} bytes)`);
    }
  }
  const summary = { runtime: opts.runtime, connections: Number(opts.connections), ...result, requests_per_second: Math.round(result.requests / result.seconds), mib_per_second: +(result.bytes / result.seconds / 2 ** 20).toFixed(1), packages_checked: listed.length, digest_mismatches: bad };
  console.log(`LOAD ${JSON.stringify(summary)}`);
  failed = result.socket_errors > 0 || result.http_errors > 0 || bad > 0 || result.upload === 0 || result.download === 0;
  console.log(failed ? "FAILED: errors or digest mismatches (see above)" : `OK: ${result.requests} requests, zero errors, ${listed.length} packages hash to their listed digests`);
} catch (err) {
  console.error(`load: ${err.message}`);
  failed = true;
} finally {
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  await rm(storage, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

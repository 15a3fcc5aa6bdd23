#!/usr/bin/env node
// The release server next to nginx serving the very same bytes, on loopback.
//
//   npm run bench -- [--runtime node|bun|deno] [--workers N] [--backend fs|s3] [--rounds 3] [--seconds 5] [--smoke]
//
// Starts the built server (dist/, production settings) with a fresh storage
// directory, seeds it through the API (34 template zips of about 150 KB named
// like a Spec Kit release, one 100 MiB file; then a second scenario of 10,000
// small packages), starts nginx (Debian's package; 2 workers, sendfile) on
// another port serving the same directory and a saved copy of our /latest,
// and measures with wrk, alternating server and nginx for several rounds and
// keeping medians. Prints a Markdown table with every ratio and the machine.
// --smoke runs every step at a tiny size, for the test suite: it proves the
// script works and asserts no speed. Needs wrk, nginx, curl, sha256sum, dd.
// --backend s3 stores the packages in the bucket named by the S3_* settings in
// the environment (e.g. from ../shared/s3/start-s3.sh) under a fresh prefix,
// removed afterwards; nginx serves a copy of the same bytes from the disk.

import { spawn, execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { chmodSync, copyFileSync, createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync, statSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { basename, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const ROOT = resolve(import.meta.dirname, "..");
const args = parseArgs(process.argv.slice(2));
const SMOKE = args.smoke === true;
const RUNTIME = args.runtime ?? "node";
const WORKERS = Number(args.workers ?? 1);
const BACKEND = args.backend ?? "fs";
if (BACKEND !== "fs" && BACKEND !== "s3") throw new Error(`--backend must be fs or s3, not ${BACKEND}`);
if (BACKEND === "s3" && !process.env.S3_ENDPOINT) throw new Error("--backend s3 needs the S3_* settings in the environment (bash ../shared/s3/start-s3.sh prints them)");
const S3_RUN_PREFIX = `bench-${randomUUID()}/`;
const ROUNDS = Number(args.rounds ?? (SMOKE ? 1 : 3));
const SECONDS = Number(args.seconds ?? (SMOKE ? 1 : 5));
const CONNECTIONS = 32;
const SIZES = SMOKE
  ? { template: 150_000, big: 2 * 2 ** 20, upload: 4 * 2 ** 20, huge: 8 * 2 ** 20, many: 200 }
  : { template: 150_000, big: 100 * 2 ** 20, upload: 100 * 2 ** 20, huge: 2 ** 30, many: 10_000 };
const TOKEN = "bench-token-0123456789abcdef";
const AGENTS = ["claude", "gemini", "copilot", "cursor-agent", "qwen", "opencode", "codex", "windsurf", "kilocode", "auggie", "roo", "codebuddy", "amp", "shai", "q", "bob", "qoder"];

const work = mkdtempSync(join(tmpdir(), "rs-bench-"));
chmodSync(work, 0o755); // nginx workers run as an unprivileged user
const children = [];
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));

// ---- processes ----

function serverCommand() {
  const bin = (name) => join(ROOT, "node_modules", ".bin", name);
  const entry = join(ROOT, "dist", "main.js");
  if (RUNTIME === "bun") return [bin("bun"), entry];
  if (RUNTIME === "deno") return [bin("deno"), "run", "--allow-all", `--config=${join(ROOT, "deno.json")}`, entry];
  return [args.node ?? process.execPath, entry];
}

async function startServer(storage, port) {
  const [cmd, ...rest] = serverCommand();
  const started = performance.now();
  const child = spawn(cmd, rest, {
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), STORAGE_PATH: storage, AUTH_TOKEN: TOKEN, CONFIG_PATH: "", MAX_PACKAGES: "0", MAX_UPLOAD_SIZE: "2GiB", WORKERS: String(WORKERS), LOG_LEVEL: "warn", ...backendEnv(storage) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/latest`);
  return { url, child, firstAnswerMs: performance.now() - started, stop: () => stop(child) };
}

/** The bucket settings of a storage directory's scenario (--backend s3): a prefix of its own. */
function backendEnv(storage) {
  if (BACKEND === "fs") return {};
  return { STORAGE_BACKEND: "s3", S3_PREFIX: `${S3_RUN_PREFIX}${basename(storage)}/`, INDEX_REFRESH_INTERVAL: "3600" };
}

/** Removes everything this run put into the bucket. */
async function emptyBucketPrefix() {
  if (BACKEND !== "s3") return;
  const { S3Client } = await import("../dist/store/s3/client.js");
  const env = process.env;
  const client = new S3Client({ endpoint: env.S3_ENDPOINT, region: env.S3_REGION ?? "us-east-1", bucket: env.S3_BUCKET, accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY, forcePathStyle: env.S3_FORCE_PATH_STYLE === "true" });
  const keys = [];
  for await (const o of client.list(S3_RUN_PREFIX)) keys.push(o.key);
  for (let i = 0; i < keys.length; i += 16) await Promise.all(keys.slice(i, i + 16).map((k) => client.delete(k)));
  for (const u of await client.listMultipartUploads(S3_RUN_PREFIX)) await client.abortMultipart(u.key, u.uploadId);
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

async function waitFor(url, status = 200) {
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === status) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`no answer from ${url}`);
}

/** bench/bare-server.mjs under the runtime measured: the ceiling of any server on it (one process). */
async function startBare(latestFile, assetFile, port) {
  const [cmd, ...rest] = serverCommand();
  const uploadFile = join(work, "bare-upload.bin");
  const child = spawn(cmd, [...rest.slice(0, -1), join(ROOT, "bench", "bare-server.mjs"), String(port), latestFile, assetFile, uploadFile], { stdio: ["ignore", "ignore", "inherit"] });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/latest`);
  return { url, child, stop: () => stop(child).then(() => rmSync(uploadFile, { force: true })) };
}

function startNginx(storage, latestFile, port) {
  const conf = join(work, "nginx.conf");
  writeFileSync(
    conf,
    `worker_processes 2;
pid ${work}/nginx.pid;
error_log ${work}/nginx-error.log;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    location /assets/ { alias ${storage}/; }
    location = /latest { default_type application/json; alias ${latestFile}; }
  }
}
`,
  );
  const child = spawn("nginx", ["-c", conf, "-p", work], { stdio: ["ignore", "ignore", "inherit"] });
  children.push(child);
  return { url: `http://127.0.0.1:${port}`, stop: () => stop(child) };
}

function rssOf(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024;
  } catch {
    return 0;
  }
}

/** Resident memory of a process and its children (the workers). */
function treeRss(pid) {
  let total = rssOf(pid);
  try {
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean)) total += treeRss(Number(child));
  } catch {
    // no children file
  }
  return total;
}

// ---- measurements ----

/** wrk against `url`: requests/s, bytes/s and p99 latency in ms. */
function wrk(url, connections = CONNECTIONS) {
  const out = execFileSync("wrk", ["-t2", `-c${connections}`, `-d${SECONDS}s`, "--latency", url], { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const transfer = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(out);
  const unit = { B: 1, KB: 1024, MB: 2 ** 20, GB: 2 ** 30 }[transfer[2]] ?? 1;
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99ms = p99 ? Number(p99[1]) * { us: 0.001, ms: 1, s: 1000 }[p99[2]] : NaN;
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (errors) throw new Error(`${url}: ${errors[1]} error responses`);
  return { rps, bytesPerSec: Number(transfer[1]) * unit, p99ms };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Alternates ours and nginx's `round` times; medians of each figure. */
function alternate(ours, theirs, connections) {
  const a = [];
  const b = [];
  for (let i = 0; i < ROUNDS; i++) {
    a.push(wrk(ours, connections));
    if (theirs) b.push(wrk(theirs, connections));
  }
  const med = (runs) => runs.length && { rps: median(runs.map((r) => r.rps)), bytesPerSec: median(runs.map((r) => r.bytesPerSec)), p99ms: median(runs.map((r) => r.p99ms)) };
  return { ours: med(a), nginx: med(b) };
}

function makeFile(path, size) {
  const fd = openSync(path, "w");
  const chunk = randomBytes(Math.min(size, 4 * 2 ** 20));
  for (let written = 0; written < size; written += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, size - written));
  closeSync(fd);
}

async function put(url, name, path) {
  const size = statSync(path).size;
  const started = performance.now();
  const res = await fetch(`${url}/assets/${encodeURIComponent(name)}?overwrite=true`, {
    method: "PUT",
    headers: { authorization: `Bearer ${TOKEN}`, "content-length": String(size) },
    body: createReadStream(path),
    duplex: "half",
  });
  await res.arrayBuffer();
  if (res.status !== 201 && res.status !== 200) throw new Error(`upload of ${name}: ${res.status}`);
  return performance.now() - started;
}

/** The machine's own ceiling for a stored upload: hashing the bytes, then writing them with fsync. */
function ceilingMiBps(path) {
  const size = statSync(path).size;
  const time = (cmd, cmdArgs) => {
    const started = performance.now();
    execFileSync(cmd, cmdArgs, { stdio: "ignore" });
    return performance.now() - started;
  };
  const hash = time("sha256sum", [path]);
  const copy = time("dd", [`if=${path}`, `of=${join(work, "copy.bin")}`, "bs=1M", "conv=fsync"]);
  rmSync(join(work, "copy.bin"));
  return size / 2 ** 20 / ((hash + copy) / 1000);
}

/** Uploads `path` while sampling the server's memory; MiB/s and the peak above idle. */
async function measuredUpload(server, name, path) {
  const idle = treeRss(server.child.pid);
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, treeRss(server.child.pid))), 25);
  const ms = await put(server.url, name, path);
  clearInterval(sampler);
  return { MiBps: statSync(path).size / 2 ** 20 / (ms / 1000), idle, peak };
}

// ---- the run ----

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "–");
const MB = (bytes) => `${fmt(bytes / 2 ** 20)} MB`;
const rows = [];
const row = (figure, nginx, ours, ratio, target = "") => rows.push(`| ${figure} | ${nginx} | ${ours} | ${ratio} | ${target} |`);
const ratio = (ours, theirs) => (theirs ? fmt(ours / theirs, 2) : "–");

const storage = join(work, "data");
execFileSync("mkdir", ["-p", storage]);
chmodSync(storage, 0o755);
let server = await startServer(storage, 18600);
const idleRss = treeRss(server.child.pid);

// Scenario 1: a Spec Kit release and one large file.
const template = join(work, "template.zip");
makeFile(template, SIZES.template);
const templates = AGENTS.flatMap((a) => ["sh", "ps"].map((s) => `spec-kit-template-${a}-${s}-v0.0.90.zip`));
for (const name of templates) await put(server.url, name, template);
const big = join(work, "big.bin");
makeFile(big, SIZES.big);
await put(server.url, "big-1.0.0.bin", big);
if (BACKEND === "s3") {
  // nginx serves the same bytes from the disk.
  for (const name of templates) copyFileSync(template, join(storage, name));
  copyFileSync(big, join(storage, "big-1.0.0.bin"));
}
const latestFile = join(work, "latest.json");
writeFileSync(latestFile, Buffer.from(await (await fetch(`${server.url}/latest`)).arrayBuffer()));
chmodSync(latestFile, 0o644);
const nginx = startNginx(storage, latestFile, 18680);
await waitFor(`${nginx.url}/latest`);

const latest = alternate(`${server.url}/latest`, `${nginx.url}/latest`);
row("`GET /latest` req/s (34 packages)", fmt(latest.nginx.rps), fmt(latest.ours.rps), ratio(latest.ours.rps, latest.nginx.rps), "≥ 0.6 Node, 1 worker");
row("`GET /latest` p99 latency", `${fmt(latest.nginx.p99ms, 2)} ms`, `${fmt(latest.ours.p99ms, 2)} ms`, ratio(latest.nginx.p99ms, latest.ours.p99ms));
const small = alternate(`${server.url}/assets/${templates[0]}`, `${nginx.url}/assets/${templates[0]}`);
row("`GET /assets/<150 KB>` req/s", fmt(small.nginx.rps), fmt(small.ours.rps), ratio(small.ours.rps, small.nginx.rps), "≥ 0.4 Node");
const large = alternate(`${server.url}/assets/big-1.0.0.bin`, `${nginx.url}/assets/big-1.0.0.bin`, 4);
row(`\`GET /assets/<${MB(SIZES.big)}>\` MiB/s (4 connections)`, fmt(large.nginx.bytesPerSec / 2 ** 20), fmt(large.ours.bytesPerSec / 2 ** 20), ratio(large.ours.bytesPerSec, large.nginx.bytesPerSec), "≥ 0.6 Node");
const bare = await startBare(latestFile, template, 18690);
const bareLatest = alternate(`${bare.url}/latest`, null).ours;
const bareSmall = alternate(`${bare.url}/asset`, null).ours;
await bare.stop();
row(`\`GET /latest\` req/s, a bare ${RUNTIME} server (one process, the same bytes from memory, nothing else)`, fmt(latest.nginx.rps), fmt(bareLatest.rps), ratio(bareLatest.rps, latest.nginx.rps), "the runtime's ceiling");
row(`\`GET <150 KB>\` req/s, the same bare ${RUNTIME} server`, fmt(small.nginx.rps), fmt(bareSmall.rps), ratio(bareSmall.rps, small.nginx.rps), "the runtime's ceiling");
const packages = alternate(`${server.url}/packages?format=json`, null);
row("`GET /packages?format=json` req/s", "–", fmt(packages.ours.rps), "–");
await nginx.stop();

// Uploads, against the machine's ceiling for the same bytes.
const upload = join(work, "upload.bin");
makeFile(upload, SIZES.upload);
const uploadCeiling = ceilingMiBps(upload);
const up = await measuredUpload(server, "upload-1.0.0.bin", upload);
row(`\`PUT\` ${MB(SIZES.upload)} upload MiB/s (ceiling: hash, then write with fsync${BACKEND === "s3" ? ", on the local disk; the bytes go to the bucket" : ""})`, `${fmt(uploadCeiling)} (ceiling)`, fmt(up.MiBps), ratio(up.MiBps, uploadCeiling), "≥ 0.8 of the ceiling");
rmSync(upload);
const huge = join(work, "huge.bin");
makeFile(huge, SIZES.huge);
const hugeCeiling = ceilingMiBps(huge);
// On a freshly started server, so the peak is measured from an idle process, not from one the
// download benchmarks above have grown.
await server.stop();
server = await startServer(storage, 18600);
const hugeUp = await measuredUpload(server, "huge-1.0.0.bin", huge);
row(`\`PUT\` ${MB(SIZES.huge)} upload MiB/s`, `${fmt(hugeCeiling)} (ceiling)`, fmt(hugeUp.MiBps), ratio(hugeUp.MiBps, hugeCeiling), "≥ 0.8 of the ceiling");
row(`Resident memory: idle; peak during the ${MB(SIZES.huge)} upload (restarted, idle before it)`, "–", `${MB(idleRss)}; ${MB(hugeUp.peak)} (+${MB(hugeUp.peak - hugeUp.idle)} above ${MB(hugeUp.idle)})`, "–", "idle < 60 MB; peak ≤ idle + 32 MB");
await server.stop();
// The same upload into a bare server of the runtime that only hashes and writes it: the runtime's own floor.
const bareStore = await startBare(latestFile, template, 18691);
const bareUp = await measuredUpload({ url: bareStore.url, child: bareStore.child }, "huge-1.0.0.bin", huge);
await bareStore.stop();
row(`Peak during the ${MB(SIZES.huge)} upload, a bare ${RUNTIME} server (hash and write the body with fsync, nothing else)`, "–", `+${MB(bareUp.peak - bareUp.idle)} above ${MB(bareUp.idle)}`, "–", "the runtime's floor");
rmSync(huge);

// Scenario 2: many packages.
const many = join(work, "many");
execFileSync("mkdir", ["-p", many]);
chmodSync(many, 0o755);
server = await startServer(many, 18601);
const names = Array.from({ length: SIZES.many }, (_, i) => `pkg${i % 500}-v1.${Math.floor(i / 500)}.0.zip`);
const tiny = join(work, "tiny.zip");
makeFile(tiny, 2000);
for (let i = 0; i < names.length; i += 16) await Promise.all(names.slice(i, i + 16).map((n) => put(server.url, n, tiny)));
await server.stop();
server = await startServer(many, 18602); // a restart: the first answer comes from an index built from the sidecars
row(`First answer after start, ${fmt(SIZES.many)} packages stored`, "–", `${fmt(server.firstAnswerMs)} ms`, "–", "< 1 s");
writeFileSync(latestFile, Buffer.from(await (await fetch(`${server.url}/latest`)).arrayBuffer()));
const nginxMany = startNginx(many, latestFile, 18681);
await waitFor(`${nginxMany.url}/latest`);
const latestMany = alternate(`${server.url}/latest`, `${nginxMany.url}/latest`);
row(`\`GET /latest\` req/s (${fmt(SIZES.many)} packages)`, fmt(latestMany.nginx.rps), fmt(latestMany.ours.rps), ratio(latestMany.ours.rps, latestMany.nginx.rps), "≥ 0.6 Node, 1 worker");
await nginxMany.stop();
await server.stop();
await emptyBucketPrefix();

// ---- the report ----
const node = execFileSync(serverCommand()[0], ["--version"], { encoding: "utf8" }).trim();
console.log(`Release server (${RUNTIME} ${node}, WORKERS=${WORKERS}, ${BACKEND === "s3" ? `STORAGE_BACKEND=s3 at ${process.env.S3_ENDPOINT}` : "on a directory"}) next to nginx ${execFileSync("nginx", ["-v"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim() || "(Debian)"} on ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, ${MB(totalmem())} memory; wrk -t2 -c${CONNECTIONS}, ${SECONDS} s × ${ROUNDS} rounds, medians${SMOKE ? " (smoke run: tiny sizes, figures mean nothing)" : ""}.`);
console.log("");
console.log("| Figure | nginx | release-server | Ratio | Target |");
console.log("|---|---|---|---|---|");
for (const r of rows) console.log(r);

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(runtime|workers|backend|rounds|seconds|node|smoke)$/.exec(argv[i]);
    if (!m) throw new Error(`unknown argument ${argv[i]}; see the comment at the top of bench/bench.mjs`);
    if (m[1] === "smoke") out.smoke = true;
    else out[m[1]] = argv[++i];
  }
  return out;
}

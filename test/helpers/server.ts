// Starts the real server process on an ephemeral port with a temp storage
// directory, for end-to-end tests that speak HTTP to it.
//
// With STORAGE_BACKEND=s3 in the test's environment (and the S3_* settings,
// as `npm run test:s3` runs the end-to-end files), every server stores its
// packages in the bucket instead, under a prefix named after its temp
// directory: a restart on the same directory finds the same packages.

import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import type { Test } from "tap";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { unwatch, watchServer } from "./contract-watch.js";

export const ROOT = resolve(import.meta.dirname, "../..");
export const TOKEN = "test-token-0123456789";

export interface ServerOptions {
  env?: Record<string, string>;
  storage?: string; // reuse a directory (restart tests); default: a new temp dir
  runtime?: "node" | "bun" | "deno";
  /** Command to run instead of the runtime's default, e.g. for an image layout. */
  command?: string[];
  cwd?: string;
  /** More secrets that must never appear in the server's output (AUTH_TOKEN's tokens are checked anyway). */
  secrets?: string[];
}

export interface RunningServer {
  url: string;
  storage: string;
  proc: ChildProcess;
  output: () => string;
  /** SIGTERM, then wait for exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resident memory of the server process in bytes (from /proc). */
  rss(): Promise<number>;
  /** Responses fetch() received from this server that break openapi.yaml, so far. */
  contractProblems(): Promise<string[]>;
  auth: { authorization: string };
}

export type Runtime = "node" | "bun" | "deno";

/**
 * The runtime the end-to-end suite runs the server under: RS_RUNTIME=bun or
 * deno runs the same files against Bun or Deno (`npm run test:runtimes`).
 */
export const RUNTIME: Runtime = (() => {
  const r = process.env.RS_RUNTIME ?? "node";
  if (r !== "node" && r !== "bun" && r !== "deno") throw new Error(`RS_RUNTIME must be node, bun or deno, not ${r}`);
  return r;
})();

/** Skips the rest of a test file, with the reason printed, when the runtime under test cannot do what it checks. */
export function onlyOn(t: Test, runtimes: Runtime[], reason: string): boolean {
  if (runtimes.includes(RUNTIME)) return true;
  t.comment(`skipped under ${RUNTIME}: ${reason}`);
  t.pass(`skipped under ${RUNTIME}: ${reason}`);
  return false;
}

/** A download's Content-Length; Bun sends a streamed body chunked without one, which is skipped there, saying so. */
export function checkContentLength(t: Test, headers: Headers, expected: number | string, what = "content-length"): void {
  if (RUNTIME === "bun") t.comment(`${what}: skipped under bun: Bun sends a streamed response chunked and drops Content-Length`);
  else t.equal(headers.get("content-length"), String(expected), what);
}

/** Whether this run stores packages in the bucket (STORAGE_BACKEND=s3 in the test's environment). */
export const S3_BACKEND = process.env.STORAGE_BACKEND === "s3";

/** The bucket prefix of a server on this storage directory: one per directory path, so a restart on it finds the same packages. */
export function storagePrefix(storage: string): string {
  return `e2e/${basename(storage)}-${createHash("sha256").update(resolve(storage)).digest("hex").slice(0, 12)}/`;
}

export function objectStorageEnv(storage: string): Record<string, string> {
  return S3_BACKEND ? { S3_PREFIX: storagePrefix(storage), INDEX_REFRESH_INTERVAL: process.env.INDEX_REFRESH_INTERVAL ?? "1" } : {};
}

export async function tempDir(prefix = "rs-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function runtimeCommand(runtime: "node" | "bun" | "deno"): string[] {
  const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
  const entry = join(ROOT, "dist", "main.js");
  if (runtime === "bun") return [bin("bun"), entry];
  if (runtime === "deno") return [bin("deno"), "run", "--allow-all", `--config=${join(ROOT, "deno.json")}`, entry];
  return [process.execPath, entry];
}

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const storage = opts.storage ?? (await tempDir());
  const [cmd, ...args] = opts.command ?? runtimeCommand(opts.runtime ?? RUNTIME);
  const proc = spawn(cmd, args, {
    cwd: opts.cwd ?? storage,
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: "0",
      STORAGE_PATH: storage,
      AUTH_TOKEN: TOKEN,
      CONFIG_PATH: "",
      ...objectStorageEnv(storage),
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: a signal meant for the test runner's group is not one for the server.
    detached: true,
  });
  // Never leave a server behind, even when the test process ends early.
  const killOnExit = () => proc.kill("SIGKILL");
  process.once("exit", killOnExit);
  proc.once("exit", () => process.off("exit", killOnExit));
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((res) => proc.once("exit", (code) => res(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${out}`)), 30_000);
    const check = () => {
      const m = /listening on (https?:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    };
    proc.stdout!.on("data", check);
    proc.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code ?? signal} before listening:\n${out}`));
    });
  });
  // Every response a test fetches from this server is checked against openapi.yaml;
  // stop() fails when one broke it, so no test can pass on an undocumented answer.
  const contract = await watchServer(url);
  const secrets = [TOKEN, ...tokensIn(opts.env?.AUTH_TOKEN ?? ""), ...(opts.secrets ?? [])];
  return {
    url,
    storage,
    proc,
    output: () => out,
    auth: { authorization: `Bearer ${TOKEN}` },
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const code = await exited;
      if (!opts.storage) {
        await rm(storage, { recursive: true, force: true });
        if (S3_BACKEND) await (await import("./object-storage.js")).emptyPrefixOfServer(storage);
      }
      const problems = await contract.settle();
      unwatch(url);
      if (problems.length) throw new Error(`responses that break openapi.yaml:\n${problems.join("\n")}`);
      // Every test's server output is scanned: no token may ever be logged.
      const leaked = secrets.filter((s) => s.length >= 8 && out.includes(s));
      if (leaked.length > 0) throw new Error(`the server output contains a token (${leaked.length} of them):\n${out.slice(0, 2000)}`);
      return code;
    },
    contractProblems: () => contract.settle(),
    async rss() {
      const { readFile } = await import("node:fs/promises");
      const status = await readFile(`/proc/${proc.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
    },
  };
}

/** The tokens in an AUTH_TOKEN value ("a,name:b"), as the server reads it. */
function tokensIn(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim().replace(/^[A-Za-z0-9_.-]{1,64}:/, ""))
    .filter(Boolean);
}

/** A multipart body holding `data` as the "file" part, built with the platform's FormData. */
export function formWith(name: string, data: Uint8Array<ArrayBuffer> | Blob, fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append("file", data instanceof Blob ? data : new Blob([data]), name);
  return form;
}

/** startServer, stopped (and its temp storage removed) when the test ends. */
export async function serverFor(t: Test, opts: ServerOptions = {}): Promise<RunningServer> {
  const server = await startServer(opts);
  t.teardown(() => server.stop());
  return server;
}

/** Runs the server with `env` until it exits by itself (a startup error); the exit code and all output. */
export async function runUntilExit(env: Record<string, string>, cwd?: string): Promise<{ code: number | null; output: string }> {
  const storage = await tempDir();
  const [cmd, ...args] = runtimeCommand(RUNTIME);
  const proc = spawn(cmd, args, {
    cwd: cwd ?? storage,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", STORAGE_PATH: storage, AUTH_TOKEN: TOKEN, CONFIG_PATH: "", ...objectStorageEnv(storage), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  proc.stdout!.on("data", (d) => (output += d));
  proc.stderr!.on("data", (d) => (output += d));
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  const code = await new Promise<number | null>((res) => proc.once("exit", (c) => res(c)));
  clearTimeout(timer);
  await rm(storage, { recursive: true, force: true });
  return { code, output };
}

/** A temp directory removed when the test ends; for storage that outlives a server (restarts, shutdown). */
export async function keptDir(t: Test): Promise<string> {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

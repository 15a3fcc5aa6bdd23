// The real S3-compatible server and PostgreSQL the object-storage tests run
// against: taken from the environment when .ci/run started them (S3_ENDPOINT),
// else started here with the scripts in ../shared/. A test is
// skipped, with the reason printed, only when the server cannot be started.
// Every test works under its own random prefix, so runs never see each other.

import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Test } from "tap";
import type { S3Client, S3Settings } from "../../src/store/s3/client.js";
import { ROOT, storagePrefix } from "./server.js";

const run = promisify(execFile);
const SHARED = join(ROOT, "..", "shared");

export interface S3Env {
  settings: S3Settings;
  client: S3Client;
  /** The variables for a server process (without S3_PREFIX). */
  env: Record<string, string>;
}

let s3: Promise<S3Env | string> | null = null;

async function startScript(script: string): Promise<Record<string, string> | string> {
  const path = join(SHARED, script);
  if (!existsSync(path)) return `${path} is not there`;
  try {
    const { stdout } = await run("bash", [path], { timeout: 300_000 });
    return Object.fromEntries(stdout.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return `${script} failed: ${(e.stderr ?? e.message).trim().split("\n").slice(-3).join(" / ")}`;
  }
}

/** The S3 server's settings, or why there is none. */
export function s3Env(): Promise<S3Env | string> {
  s3 ??= (async () => {
    let vars: Record<string, string | undefined> | string = process.env;
    if (!process.env.S3_ENDPOINT) vars = await startScript("s3/start-s3.sh");
    if (typeof vars === "string") return vars;
    const settings: S3Settings = {
      endpoint: vars.S3_ENDPOINT!,
      region: vars.S3_REGION ?? "us-east-1",
      bucket: vars.S3_BUCKET ?? "releases",
      accessKeyId: vars.S3_ACCESS_KEY_ID!,
      secretAccessKey: vars.S3_SECRET_ACCESS_KEY!,
      forcePathStyle: (vars.S3_FORCE_PATH_STYLE ?? "true") === "true",
    };
    // Imported only when there is a server: without one, the test process never loads the S3 code.
    const { S3Client } = await import("../../src/store/s3/client.js");
    const client = new S3Client(settings);
    try {
      await client.headBucket();
    } catch (err) {
      return `the S3 server at ${settings.endpoint} does not answer: ${(err as Error).message}`;
    }
    const env = {
      S3_ENDPOINT: settings.endpoint,
      S3_REGION: settings.region,
      S3_BUCKET: settings.bucket,
      S3_ACCESS_KEY_ID: settings.accessKeyId,
      S3_SECRET_ACCESS_KEY: settings.secretAccessKey,
      S3_FORCE_PATH_STYLE: String(settings.forcePathStyle),
    };
    return { settings, client, env };
  })();
  return s3;
}

/** A fresh prefix in the bucket, emptied when the test ends. */
export function testPrefix(t: Test, client: S3Client): string {
  const prefix = `test-${randomUUID()}/`;
  t.teardown(() => emptyPrefix(client, prefix));
  return prefix;
}

export async function emptyPrefix(client: S3Client, prefix: string): Promise<void> {
  for (const u of await client.listMultipartUploads(prefix).catch(() => [])) await client.abortMultipart(u.key, u.uploadId).catch(() => {});
  const keys: string[] = [];
  for await (const o of client.list(prefix)) keys.push(o.key);
  for (const key of keys) await client.delete(key).catch(() => {});
}

/** Empties the prefix a server on this temp directory used (see objectStorageEnv in server.ts). */
export async function emptyPrefixOfServer(storage: string): Promise<void> {
  const env = await s3Env();
  if (typeof env === "string") return;
  await emptyPrefix(env.client, storagePrefix(storage));
}

/** Every key under a prefix. */
export async function keysUnder(client: S3Client, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of client.list(prefix)) keys.push(o.key.slice(prefix.length));
  return keys.sort();
}

// What a test server keeps, whichever backend it runs on: the entries of its
// storage directory, or (STORAGE_BACKEND=s3) the keys under its prefix in the
// bucket, where staged uploads play the part of the directory's temp files.

import { createReadStream } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { S3Client } from "../../src/store/s3/client.js";
import { s3Env } from "./object-storage.js";
import { S3_BACKEND, storagePrefix } from "./server.js";

async function bucket(storage: string): Promise<{ client: S3Client; prefix: string }> {
  const env = await s3Env();
  if (typeof env === "string") throw new Error(`STORAGE_BACKEND=s3 but no S3 server: ${env}`);
  return { client: env.client, prefix: storagePrefix(storage) };
}

/** The entries of a storage directory, less the server's watch mark (Bun, Deno: src/store/fs/fs-store.ts, caughtUp). */
export async function directoryEntries(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => !n.startsWith(".watch_")).sort();
}

/** Packages, sidecars and uploads under way; not the server's own bookkeeping (documents, index cache, the watch mark). */
export async function storedEntries(storage: string): Promise<string[]> {
  if (!S3_BACKEND) return directoryEntries(storage);
  const { client, prefix } = await bucket(storage);
  const keys: string[] = [];
  for await (const o of client.list(prefix)) {
    const key = o.key.slice(prefix.length);
    if (!key.startsWith(".documents/") && !key.startsWith(".cache/")) keys.push(key);
  }
  return keys.sort();
}

export async function storedBytes(storage: string, name: string): Promise<Buffer> {
  if (!S3_BACKEND) return readFile(join(storage, name));
  const { client, prefix } = await bucket(storage);
  const res = await client.get(prefix + name);
  if (!res) throw new Error(`no object ${prefix + name}`);
  return Buffer.from(await res.arrayBuffer());
}

/** A stored file's bytes as a stream, for files too big to hold. */
export async function* storedChunks(storage: string, name: string): AsyncIterable<Uint8Array> {
  if (!S3_BACKEND) {
    yield* createReadStream(join(storage, name));
    return;
  }
  const { client, prefix } = await bucket(storage);
  const res = await client.get(prefix + name);
  if (!res) throw new Error(`no object ${prefix + name}`);
  yield* res.body as unknown as AsyncIterable<Uint8Array>;
}

/** Uploads being received, or leftovers of ones that were: temp files; staged objects and multipart uploads. */
export async function uploadsLeft(storage: string): Promise<string[]> {
  if (!S3_BACKEND) return (await readdir(storage)).filter((n) => n.startsWith(".tmp-"));
  const { client, prefix } = await bucket(storage);
  const staged = (await storedEntries(storage)).filter((k) => k.startsWith(".staging/"));
  const multipart = (await client.listMultipartUploads(prefix)).map((u) => u.key.slice(prefix.length));
  return [...staged, ...multipart];
}

/**
 * Waits until `n` uploads are being received. A bucket shows an upload only
 * once its first part is sent (8 MiB); smaller ones are in the server's
 * memory until they complete, so there it only gives them a moment to start.
 */
export async function uploadsUnderWay(storage: string, n: number): Promise<boolean> {
  if (S3_BACKEND) {
    await new Promise((r) => setTimeout(r, 300));
    return true;
  }
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if ((await uploadsLeft(storage)).length === n) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

// HTTP helpers for the end-to-end tests: uploads (whole, or streamed piece by
// piece to hold them open), JSON error checks, curl, and polling the disk.

import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { readdir } from "node:fs/promises";
import type { Test } from "tap";
import { formWith, type RunningServer } from "./server.js";

export const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

/** POST /upload with `data` as the file part; `query` like "?overwrite=true". */
export function upload(server: RunningServer, name: string, data: Uint8Array<ArrayBuffer> | string, query = "", headers: Record<string, string> = server.auth): Promise<Response> {
  const bytes = typeof data === "string" ? new Uint8Array(Buffer.from(data)) : data;
  return fetch(`${server.url}/upload${query}`, { method: "POST", headers, body: formWith(name, bytes) });
}

/** Uploads and expects 200; returns the JSON body. */
export async function uploaded(t: Test, server: RunningServer, name: string, data: Uint8Array<ArrayBuffer> | string, query = "") {
  const res = await upload(server, name, data, query);
  t.equal(res.status, 200, `upload of ${name}`);
  return res.json();
}

/** GET /assets/{name}: status and bytes. */
export async function download(server: RunningServer, name: string): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const res = await fetch(`${server.url}/assets/${encodeURIComponent(name)}`);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

export async function listed(server: RunningServer): Promise<{ name: string; size: number; created_at: string; sha256: string }[]> {
  const res = await fetch(`${server.url}/packages`);
  return res.json();
}

/** Checks an error response: the status, `Content-Type: application/json` and a `{"detail": "..."}` body matching `detail`. */
export async function isError(t: Test, res: Response, status: number, detail: RegExp | string): Promise<void> {
  t.equal(res.status, status, `status ${status}`);
  t.equal(res.headers.get("content-type"), "application/json");
  const body = await res.json();
  t.same(Object.keys(body), ["detail"], "the body is {detail}");
  t.match(body.detail, detail);
}

/** Runs curl with a time limit; resolves with its exit code and output. */
export function curl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("curl", ["-sS", "-m", "120", ...args], { maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** An upload sent piece by piece over one connection, so a test can act while it is in flight. */
export interface OpenUpload {
  /** Sends more of the file's bytes. */
  send(data: Uint8Array | string): Promise<void>;
  /** Sends the end of the multipart body and waits for the answer. */
  finish(): Promise<{ status: number; body: string }>;
  /** The answer, whenever it comes (also without finish, e.g. when the server cuts the upload off). */
  response: Promise<{ status: number; body: string }>;
  /** Drops the connection mid-body, like a client that goes away. */
  abort(): void;
}

export function openUpload(server: RunningServer, name: string, query = "", headers: Record<string, string> = {}): OpenUpload {
  const boundary = `rs-test-${randomBytes(8).toString("hex")}`;
  const req = httpRequest(`${server.url}/upload${query}`, {
    method: "POST",
    headers: { ...server.auth, "content-type": `multipart/form-data; boundary=${boundary}`, ...headers },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
  response.catch(() => {}); // an aborted upload has no answer; callers that care await it
  const write = (data: Uint8Array | string) => new Promise<void>((resolve, reject) => req.write(data, (err) => (err ? reject(err) : resolve())));
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const started = write(Buffer.from(head));
  return {
    async send(data) {
      await started;
      await write(data);
    },
    async finish() {
      await started;
      req.end(`\r\n--${boundary}--\r\n`);
      return response;
    },
    response,
    abort: () => req.destroy(),
  };
}

/** The temp files (".tmp-*") in a storage directory. */
export async function tempFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith(".tmp-"));
}

/** Polls `check` every 50 ms until it returns true; fails after `ms`. Only for waiting on the server, never to measure it. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

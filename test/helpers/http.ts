// Small clients for end-to-end tests: fetch-based uploads, curl, and a raw
// HTTP/1.1 socket for what fetch hides (Expect: 100-continue).

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { connect, type Socket } from "node:net";
import { formWith, type RunningServer } from "./server.js";

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export async function upload(
  server: RunningServer,
  name: string,
  bytes: Uint8Array<ArrayBuffer>,
  { overwrite = false, fields = {}, headers = {} }: { overwrite?: boolean; fields?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(`${server.url}/upload${overwrite ? "?overwrite=true" : ""}`, {
    method: "POST",
    headers: { ...server.auth, ...headers },
    body: formWith(name, bytes, fields),
  });
}

export async function download(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

export interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { cwd?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, timeout: opts.timeout ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export function curl(args: string[], opts: { cwd?: string; timeout?: number } = {}): Promise<CurlResult> {
  return run("curl", ["--silent", "--show-error", "--max-time", "60", ...args], opts);
}

/**
 * Sends a request's head with `Expect: 100-continue` and no body, then reports
 * what the server answered before (and without) the body being sent.
 */
export async function expectContinue(
  server: RunningServer,
  { method, path, headers }: { method: string; path: string; headers: Record<string, string> },
): Promise<{ interim: boolean; status: number; text: string }> {
  const { hostname, port } = new URL(server.url);
  const socket = connect(Number(port), hostname);
  const head = [`${method} ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, "Expect: 100-continue", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.write(head.join("\r\n") + "\r\n\r\n");
  let text = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, 3000);
    socket.on("data", (d) => {
      text += d;
      // Stop at the first complete status line + headers: that is the server's first answer.
      if (text.includes("\r\n\r\n")) {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      }
    });
    socket.on("error", reject);
  });
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  return { interim: status === 100, status, text };
}

/**
 * A TCP forwarder to `target` that cuts every connection after passing
 * `limit` bytes back to the client: a network failure mid-download.
 */
export async function flakyProxy(target: string, limit: number): Promise<{ url: string; close(): void }> {
  const { createServer } = await import("node:net");
  const { hostname, port } = new URL(target);
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    let passed = 0;
    client.on("data", (d) => upstream.write(d));
    upstream.on("data", (d: Buffer) => {
      const room = limit - passed;
      passed += d.length;
      if (room > 0) client.write(d.subarray(0, room));
      if (passed >= limit) {
        upstream.destroy();
        client.end(() => client.destroy());
      }
    });
    const close = () => {
      upstream.destroy();
      client.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
    upstream.on("end", () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, close: () => server.close() };
}

/**
 * A TCP forwarder to `target`, each connection piped both ways. `admit` may
 * refuse a connection (it is reset); `sent` sees what each client sends, which
 * is passed on once the promise it may return has settled.
 */
async function forwarder(target: string, hooks: { admit?: () => boolean; sent?: (data: Buffer, client: Socket) => Promise<unknown> | void } = {}) {
  const { createServer } = await import("node:net");
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  const server = createServer((client) => {
    if (hooks.admit?.() === false) return client.resetAndDestroy();
    const upstream = connect(Number(port), hostname);
    const pair = [client, upstream];
    for (const s of pair) open.add(s);
    client.on("data", (d: Buffer) => {
      const seen = hooks.sent?.(d, client);
      if (!seen) return void upstream.write(d);
      client.pause();
      void seen.finally(() => {
        upstream.write(d);
        client.resume();
      });
    });
    client.on("end", () => upstream.end());
    upstream.pipe(client);
    const close = () => {
      for (const s of pair) {
        open.delete(s);
        s.destroy();
      }
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  /** Resets every connection open now. */
  const reset = () => {
    for (const s of open) s.resetAndDestroy();
    open.clear();
  };
  return { url: `http://127.0.0.1:${address.port}`, reset, close: () => (reset(), server.close()) };
}

/**
 * A TCP forwarder to `target` that can be cut: cut() resets every connection
 * and every new one until restore(), as when the network to a server fails.
 */
export async function cuttableProxy(target: string): Promise<{ url: string; cut(): void; restore(): void; close(): void }> {
  let down = false;
  const proxy = await forwarder(target, { admit: () => !down });
  return {
    url: proxy.url,
    cut() {
      down = true;
      proxy.reset();
    },
    restore: () => (down = false),
    close: proxy.close,
  };
}

/**
 * A TCP forwarder to `target` that reports the request line of every HTTP/1.1
 * request passing through, with the client's port: who asked what of `target`.
 * A request goes on once what `onRequest` returns has settled, so the client is
 * still connected, waiting, meanwhile.
 */
export async function recordingProxy(target: string, onRequest: (line: string, clientPort: number) => Promise<unknown> | void): Promise<{ url: string; close(): void }> {
  const proxy = await forwarder(target, {
    sent(data, client) {
      // Bodies here are small documents and short uploads: a line shaped like a request head is one.
      const heads = [...data.toString("latin1").matchAll(/^(?:GET|HEAD|PUT|POST|DELETE) \S+ HTTP\/1\.1\r$/gm)];
      return heads.length === 0 ? undefined : Promise.all(heads.map((m) => onRequest(m[0].trimEnd(), client.remotePort!)));
    },
  });
  return { url: proxy.url, close: proxy.close };
}

/** The process holding the loopback TCP socket whose local port is `port`, among `pids` (Linux: /proc). */
export async function ownerOfPort(port: number, pids: number[]): Promise<number | undefined> {
  const { readFile, readdir, readlink } = await import("node:fs/promises");
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  let inode: string | undefined;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const row of (await readFile(table, "utf8").catch(() => "")).split("\n").slice(1)) {
      const cols = row.trim().split(/\s+/);
      // Inode 0: a closed socket in TIME_WAIT that had the same port before; not the one asking now.
      if (cols[1]?.endsWith(`:${hex}`) && cols[9] !== "0") inode = cols[9];
    }
  }
  if (!inode) return undefined;
  for (const pid of pids) {
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")) === `socket:[${inode}]`) return pid;
    }
  }
  return undefined;
}

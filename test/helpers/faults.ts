// Faults for the store, made real: a small tmpfs the test mounts and fills to
// the byte, remounts read-only, and the server process killed by strace at a
// chosen system call. After each, checkServed() holds the invariant: every
// listed package's bytes hash to its listed digest, wherever it is shown.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, rmdir, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Test } from "tap";
import { runtimeCommand, type RunningServer } from "./server.js";

export const isRoot = process.getuid?.() === 0;
export const PAGE = 4096;

const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** A tmpfs of `size` mounted on a new directory, unmounted when the test ends. */
export async function mountTmpfs(t: Test, size: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "rs-tmpfs-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  t.teardown(async () => {
    execFileSync("umount", ["-l", dir]);
    await rmdir(dir);
  });
  return dir;
}

export function remount(dir: string, mode: "ro" | "rw"): void {
  execFileSync("mount", ["-o", `remount,${mode}`, dir]);
}

/** Free pages on the file system of `dir`. */
export async function freePages(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return (fs.bavail * fs.bsize) / PAGE;
}

/**
 * Fills the volume of `dir` until exactly `pages` pages are free, with a filler
 * in two files: removing `.fill-one` frees exactly one more page.
 */
export async function fillTo(dir: string, pages: number): Promise<void> {
  await rm(join(dir, ".fill"), { force: true });
  await rm(join(dir, ".fill-one"), { force: true });
  await writeFile(join(dir, ".fill-one"), Buffer.alloc(PAGE));
  const extra = (await freePages(dir)) - pages;
  if (extra < 0) throw new Error(`cannot fill to ${pages} free pages: only ${extra + pages} are free`);
  await writeFile(join(dir, ".fill"), Buffer.alloc(extra * PAGE));
}

/** The invariant, through the API: listing, download, `.sha256`, ETag and Repr-Digest all agree with the bytes. */
export async function checkServed(t: Test, server: RunningServer, what: string): Promise<Map<string, string>> {
  const res = await fetch(`${server.url}/packages?format=json`);
  t.equal(res.status, 200, `${what}: the listing answers`);
  const listed = (await res.json()) as { name: string; size: number; sha256: string }[];
  const digests = new Map<string, string>();
  for (const p of listed) {
    const got = await fetch(`${server.url}/assets/${encodeURIComponent(p.name)}`);
    const bytes = new Uint8Array(await got.arrayBuffer());
    t.equal(got.status, 200, `${what}: ${p.name} downloads`);
    t.equal(sha(bytes), p.sha256, `${what}: ${p.name}'s bytes hash to its listed digest`);
    t.equal(bytes.length, p.size, `${what}: ${p.name}'s size is its listed size`);
    t.equal(got.headers.get("etag"), `"${p.sha256}"`, `${what}: ${p.name}'s ETag`);
    t.equal(got.headers.get("repr-digest"), `sha-256=:${Buffer.from(p.sha256, "hex").toString("base64")}:`, `${what}: ${p.name}'s Repr-Digest`);
    const sidecar = await (await fetch(`${server.url}/assets/${encodeURIComponent(p.name)}.sha256`)).text();
    t.equal(sidecar.split(/\s/)[0], p.sha256, `${what}: ${p.name}.sha256`);
    digests.set(p.name, p.sha256);
  }
  return digests;
}

/** No temp file is left in `dir` (fillers and documents aside). */
export async function noTempFiles(t: Test, dir: string, what: string): Promise<void> {
  t.same((await readdir(dir)).filter((n) => n.startsWith(".tmp-")), [], `${what}: no temp files left`);
}

/**
 * The server command under strace, killed with SIGKILL when it enters the
 * `nth` call of `syscall` after startup. One thread-pool thread, so the file
 * system calls of a commit come in a fixed order.
 */
export function killedAt(syscall: string, nth: number): { command: string[]; env: Record<string, string> } {
  return {
    command: ["strace", "-f", "-qq", "-o", "/dev/null", "-e", `trace=${syscall}`, "-e", `inject=${syscall}:signal=KILL:when=${nth}`, ...runtimeCommand("node")],
    env: { UV_THREADPOOL_SIZE: "1" },
  };
}

export function hasStrace(): boolean {
  try {
    execFileSync("strace", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

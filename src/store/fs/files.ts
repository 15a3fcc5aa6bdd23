// File-level building blocks of the filesystem store: temp files, atomic
// replacement, directory sync, hashing, and the sidecar with its stamp.
//
// A sidecar `<name>.sha256` holds the bare hex digest (the older Python
// server's format). Its content alone cannot say which bytes it describes, so
// the store stamps it: the sidecar's mtime is set from its package's ctime at
// the moment the digest was known to be right. Nobody can set a ctime; any
// change to the package (a rewrite, `cp -p`, `touch -d`, `rsync -a`, a tar
// restore, a replacement by rename) gives it a new one. A sidecar is trusted
// only while its stamp still matches its package's ctime.
//
// The stamp is the ctime less exactly one day: two files written one after
// the other often share a coarse timestamp, so a sidecar made by hand right
// after its package could match the ctime itself by accident, but never that.

import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { open, readFile, rename, rm, stat, utimes, type FileHandle } from "node:fs/promises";
import { join } from "node:path";

export const TEMP_PREFIX = ".tmp-";
/** The watch mark's (fs-store.ts, caughtUp): never a document's, whose names have no underscore. */
export const MARK_PREFIX = ".watch_";

const STAMP_OFFSET_MS = -86_400_000;
/** How far a stamp may differ from what it should be: utimes rounds to about a microsecond. */
const STAMP_TOLERANCE_MS = 0.005;

export function tempPath(dir: string): string {
  return join(dir, TEMP_PREFIX + randomBytes(8).toString("hex"));
}

/** The identity of a file's bytes as the file system tells it; any change to the bytes changes it. */
export interface Identity {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** What the store reads of a stat; node:fs's Stats has all of it. */
export interface FileStat extends Identity {
  mtime: Date;
  isFile(): boolean;
}

/**
 * The blocking calls the store makes: the first scan's (before the server
 * listens), and on the request path the directory check and the check that
 * kept bytes are still the file's. node:fs's by default;
 * a runtime with cheaper ones of its own supplies them (src/adapters/types.ts,
 * StoreSupport). They must report the same times as its node:fs: sidecar
 * stamps are compared with what it reports.
 */
export interface SyncFiles {
  stat(path: string): FileStat;
  readText(path: string): string;
  /** The directory's entries, and whether each is a regular file (symlinks are not followed). */
  list(path: string): { name: string; isFile(): boolean }[];
}

export const nodeSyncFiles: SyncFiles = {
  stat: (path) => statSync(path),
  readText: (path) => readFileSync(path, "utf8"),
  list: (path) => readdirSync(path, { withFileTypes: true }),
};

export function identityOf(st: FileStat): Identity {
  return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** Writes `text` to a new fsynced temp file in `dir`, stamped with `stampMs` when given; returns its path. */
export async function writeTemp(dir: string, text: string, stampMs?: number): Promise<string> {
  const path = tempPath(dir);
  try {
    const handle = await open(path, "wx");
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (stampMs !== undefined) await stamp(path, stampMs);
    return path;
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
}

/** Replaces `dir/name` with `text` atomically: a reader or a crash sees the old content or the new. */
export async function writeFileAtomic(dir: string, name: string, text: string, stampMs?: number): Promise<void> {
  const temp = await writeTemp(dir, text, stampMs);
  try {
    await rename(temp, join(dir, name));
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

export function stamp(path: string, ctimeMs: number): Promise<void> {
  const seconds = (ctimeMs + STAMP_OFFSET_MS) / 1000;
  return utimes(path, seconds, seconds);
}

export function isStampedFor(sidecar: FileStat, ctimeMs: number): boolean {
  return Math.abs(sidecar.mtimeMs - (ctimeMs + STAMP_OFFSET_MS)) <= STAMP_TOLERANCE_MS;
}

/** The digest a sidecar holds, if it is well-formed and stamped for bytes with this ctime. */
export async function readSidecar(path: string, ctimeMs: number): Promise<string | null> {
  try {
    const [text, st] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    return sidecarDigest(text, st, ctimeMs);
  } catch {
    return null;
  }
}

/** readSidecar without the thread pool: for the scan at startup, before anything is served. */
export function readSidecarSync(files: SyncFiles, path: string, ctimeMs: number): string | null {
  try {
    const st = files.stat(path);
    return st.isFile() ? sidecarDigest(files.readText(path), st, ctimeMs) : null;
  } catch {
    return null;
  }
}

function sidecarDigest(text: string, st: FileStat, ctimeMs: number): string | null {
  if (!st.isFile() || !isStampedFor(st, ctimeMs)) return null;
  // Bare hex (ours and the older server's) or `sha256sum` output: the digest comes first.
  const m = /^\s*([0-9a-fA-F]{64})(\s|$)/.exec(text);
  return m ? m[1].toLowerCase() : null;
}

export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  const handle = await open(path, "r");
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false, highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

/** Makes renames durable: a directory entry is only on disk once the directory is synced. */
export async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is still atomic.
  } finally {
    await handle?.close().catch(() => {});
  }
}

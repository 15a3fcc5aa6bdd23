// The package store: one directory, one file per package plus a `<name>.sha256`
// sidecar holding its hex digest, and an in-memory index of both.
//
// Writes are crash-safe: bytes go to a temp file in the same directory, are
// fsynced, then renamed over the final name, so a reader sees the old package
// or the new one, never a mix. The package is renamed before its sidecar; a
// sidecar older than its package is therefore never trusted (see describe()).
//
// Operators may add or remove files by hand while the server runs. Requests
// never scan the directory: one stat of the directory (its mtime changes when
// an entry is added, removed or renamed) and an fs.watch hint (which also sees
// files rewritten in place) decide whether the index must be brought up to date.

import { createHash } from "node:crypto";
import { statSync, watch, type FSWatcher, type Stats } from "node:fs";
import { lstat, open, readdir, readFile, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { TEMP_PREFIX, tempPath, writeFileAtomic } from "./atomic-file.js";
import { isValidName, SIDECAR_SUFFIX } from "./names.js";

export interface PackageEntry {
  name: string;
  size: number;
  sha256: string; // hex
  createdAt: Date; // the file's mtime: when its bytes were last written
}

interface IndexEntry extends PackageEntry {
  mtimeMs: number; // with size, tells whether the file changed behind our back
}

/** A received upload, complete and fsynced, waiting to be committed under a name. */
export interface TempFile {
  path: string;
  size: number;
  sha256: string;
}

export class ConflictError extends Error {}
export class TooLargeError extends Error {}


export class Storage {
  private readonly index = new Map<string, IndexEntry>();
  private sorted: IndexEntry[] | null = null;
  private dirMtimeMs = -1;
  private dirty = true;
  private watcher: FSWatcher | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private running = 0; // operations queued or under way

  private constructor(readonly dir: string) {}

  /** Removes leftover temp files, builds the index and starts watching the directory. */
  static async open(dir: string): Promise<Storage> {
    const storage = new Storage(dir);
    for (const name of await readdir(dir)) {
      if (name.startsWith(TEMP_PREFIX)) await rm(join(dir, name), { force: true });
    }
    try {
      storage.watcher = watch(dir, { persistent: false }, () => {
        storage.dirty = true;
      });
      storage.watcher.on("error", () => {
        storage.dirty = true;
      });
    } catch {
      // Without inotify the directory mtime check still sees added and removed files.
    }
    await storage.refresh();
    return storage;
  }

  close(): void {
    this.watcher?.close();
  }

  /** All packages, newest first. */
  async list(): Promise<readonly PackageEntry[]> {
    await this.refresh();
    this.sorted ??= [...this.index.values()].sort(
      (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.name < b.name ? -1 : 1),
    );
    return this.sorted;
  }

  async get(name: string): Promise<PackageEntry | undefined> {
    await this.refresh();
    const entry = this.index.get(name);
    return entry && publicEntry(entry);
  }

  /**
   * Opens a package for reading. The open handle keeps these exact bytes
   * readable even if the package is overwritten or deleted meanwhile.
   */
  async openPackage(name: string): Promise<{ entry: PackageEntry; handle: FileHandle } | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      await this.refresh();
      const entry = this.index.get(name);
      if (!entry) return undefined;
      let handle: FileHandle;
      try {
        handle = await open(join(this.dir, name), "r");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        this.dirty = true;
        continue;
      }
      const st = await handle.stat();
      if (st.isFile() && st.size === entry.size && st.mtimeMs === entry.mtimeMs) return { entry: publicEntry(entry), handle };
      // Changed by hand since it was indexed: describe it again before serving it.
      await handle.close();
      this.dirty = true;
    }
    return undefined;
  }

  /** Streams `source` into a temp file, hashing as it goes; rejects with TooLargeError past `maxBytes`. */
  async receive(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<TempFile> {
    const path = tempPath(this.dir);
    const hash = createHash("sha256");
    let size = 0;
    const handle = await open(path, "wx");
    try {
      for await (const chunk of source) {
        size += chunk.length;
        if (size > maxBytes) throw new TooLargeError(`the upload is larger than the limit of ${maxBytes} bytes`);
        hash.update(chunk);
        await handle.write(chunk);
      }
      await handle.sync();
    } catch (err) {
      await handle.close().catch(() => {});
      await rm(path, { force: true });
      throw err;
    }
    await handle.close();
    return { path, size, sha256: hash.digest("hex") };
  }

  /** Removes a received upload that will not be committed. */
  async discard(temp: TempFile): Promise<void> {
    await rm(temp.path, { force: true });
  }

  /**
   * Moves a received upload into place under `name`. Until the rename, readers
   * keep seeing the previous package. Throws ConflictError when the name is
   * taken and `overwrite` is false; the temp file is removed either way.
   */
  commit(temp: TempFile, name: string, overwrite: boolean): Promise<{ entry: PackageEntry; replaced: boolean }> {
    return this.exclusive(async () => {
      const path = join(this.dir, name);
      let replaced: boolean;
      try {
        replaced = await exists(path);
        if (replaced && !overwrite) {
          throw new ConflictError(`a package named "${name}" already exists; upload with overwrite=true to replace it`);
        }
        await rename(temp.path, path);
      } catch (err) {
        await rm(temp.path, { force: true });
        throw err;
      }
      await this.writeSidecar(name, temp.sha256);
      await syncDir(this.dir);
      const st = await stat(path);
      const entry = { name, size: temp.size, sha256: temp.sha256, createdAt: st.mtime, mtimeMs: st.mtimeMs };
      this.setEntry(entry);
      return { entry: publicEntry(entry), replaced };
    });
  }

  /** Deletes a package and its sidecar; false when there was no such package. */
  remove(name: string): Promise<boolean> {
    return this.exclusive(async () => {
      await this.rescanIfChanged();
      const known = this.index.has(name);
      let found = true;
      try {
        await rm(join(this.dir, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        found = known;
      }
      // Also when the package was removed by hand: a sidecar left behind would be trusted for a later file of that name.
      await rm(join(this.dir, name + SIDECAR_SUFFIX), { force: true });
      if (!found) return false;
      await syncDir(this.dir);
      this.index.delete(name);
      this.sorted = null;
      return true;
    });
  }

  /** Brings the index up to date with the directory if anything may have changed. */
  refresh(): Promise<void> {
    // The common case, nothing changed and nothing under way, costs one stat
    // and no waiting. It is a synchronous stat: a single syscall, cheaper than
    // a trip through the thread pool on the path of every request.
    if (this.running === 0 && !this.dirty && this.dirMtime() === this.dirMtimeMs) return Promise.resolve();
    return this.exclusive(() => this.rescanIfChanged());
  }

  private dirMtime(): number {
    try {
      return statSync(this.dir).mtimeMs;
    } catch {
      return -1;
    }
  }

  // Mutations and rescans run one at a time, so a rescan never sees a half-done commit.
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.running++;
    const run = this.queue.then(fn, fn).finally(() => this.running--);
    this.queue = run.catch(() => {});
    return run;
  }

  private async rescanIfChanged(): Promise<void> {
    const st = await stat(this.dir);
    if (!this.dirty && st.mtimeMs === this.dirMtimeMs) return;
    // Recorded before reading, so a change made during the scan triggers another one.
    this.dirty = false;
    this.dirMtimeMs = st.mtimeMs;
    await this.rescan();
  }

  private async rescan(): Promise<void> {
    const seen = new Set<string>();
    for (const dirent of await readdir(this.dir, { withFileTypes: true })) {
      const name = dirent.name;
      // Only regular files: a symlink could point outside the storage directory.
      if (!dirent.isFile() || !isValidName(name)) continue;
      seen.add(name);
      const st = await stat(join(this.dir, name)).catch(() => null);
      if (!st) continue;
      const known = this.index.get(name);
      if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) continue;
      const entry = await this.describe(name, st);
      if (entry) this.setEntry(entry);
      else this.dirty = true; // still being written: look again next time
    }
    for (const name of this.index.keys()) {
      if (!seen.has(name)) {
        this.index.delete(name);
        this.sorted = null;
      }
    }
  }

  /** Builds the index entry of a file found on disk: from its sidecar, or by hashing it. */
  private async describe(name: string, st: Stats): Promise<IndexEntry | null> {
    const path = join(this.dir, name);
    const base = { name, size: st.size, createdAt: st.mtime, mtimeMs: st.mtimeMs };
    const sidecar = await readSidecar(path + SIDECAR_SUFFIX);
    // A sidecar written before the file's last change describes older bytes. File times are coarse
    // (a clock tick of a few ms), so one from the same tick as the file may predate a change too.
    if (sidecar && sidecar.mtimeMs > st.mtimeMs) return { ...base, sha256: sidecar.sha256 };
    const sha256 = await hashFile(path);
    const unchanged = async () => {
      const now = await stat(path).catch(() => null);
      return now !== null && now.size === st.size && now.mtimeMs === st.mtimeMs;
    };
    if (!(await unchanged())) return null;
    await this.writeSidecar(name, sha256);
    if (!(await unchanged())) {
      // Changed while the sidecar was being written: that sidecar must never be trusted.
      await rm(path + SIDECAR_SUFFIX, { force: true });
      return null;
    }
    return { ...base, sha256 };
  }

  // Bare hex with no newline, as the older Python server wrote it, so a volume
  // can move back and forth between the two.
  private writeSidecar(name: string, sha256: string): Promise<void> {
    return writeFileAtomic(this.dir, name + SIDECAR_SUFFIX, sha256);
  }

  private setEntry(entry: IndexEntry): void {
    this.index.set(entry.name, entry);
    this.sorted = null;
  }
}

function publicEntry({ name, size, sha256, createdAt }: IndexEntry): PackageEntry {
  return { name, size, sha256, createdAt };
}

async function readSidecar(path: string): Promise<{ sha256: string; mtimeMs: number } | null> {
  try {
    const [text, st] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    // Bare hex (ours and the older server's) or `sha256sum` output: the digest comes first.
    const m = /^\s*([0-9a-fA-F]{64})(\s|$)/.exec(text);
    return m ? { sha256: m[1].toLowerCase(), mtimeMs: st.mtimeMs } : null;
  } catch {
    return null;
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  const handle = await open(path, "r");
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Makes renames durable: a directory entry is only on disk once the directory is synced. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}

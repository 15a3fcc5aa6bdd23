// The filesystem backend: one directory, one file per package plus its
// `<name>.sha256` sidecar (see files.ts for the stamp that says which bytes a
// sidecar describes), and an in-memory index of both. The layout is the older
// Python server's, so a volume moves between the two unchanged.
//
// A commit never lies. Bytes are staged in a temp file (hashed, fsynced); the
// sidecar is written to a temp file next, so a volume too full for it fails
// before anything is visible; then the package is renamed into place and its
// stamped sidecar after it. Whatever fails, the directory holds the complete
// old state or the complete new one, and commit() resolves only for the new.
// After a crash, leftover temp files are removed at startup, and a package
// whose sidecar is missing or not stamped for it is hashed again.
//
// Operators may add, replace or remove files by hand while the server runs.
// Requests never scan the directory: one stat of it (its mtime changes when an
// entry is added, removed or renamed) and an fs.watch hint (which also sees
// files rewritten in place) decide whether the index must be brought up to
// date, and every open checks the file's identity before serving it.

import { createHash } from "node:crypto";
import { statSync, watch, type FSWatcher, type Stats } from "node:fs";
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { nameProblem, SIDECAR_SUFFIX } from "../../names.js";
import type { PackageEntry, PackageReader, PackageStore, StagedUpload, StoreHealth } from "../contract.js";
import { ConflictError, InvalidNameError, StorageUnavailableError, StoreError, TooLargeError, UploadAbortedError } from "../errors.js";
import { errnoOf, translate } from "./errno.js";
import {
  hashFile,
  identityOf,
  readSidecar,
  sameIdentity,
  stamp,
  syncDir,
  TEMP_PREFIX,
  tempPath,
  writeFileAtomic,
  writeTemp,
  type Identity,
} from "./files.js";

type Indexed = PackageEntry & Identity;

class FsStaged implements StagedUpload {
  used = false;
  constructor(
    readonly path: string,
    readonly size: number,
    readonly sha256: string,
  ) {}
}

const READ_CHUNK = 512 * 1024;
const HEALTH_TTL_MS = 1000;

class FsReader implements PackageReader {
  private closed = false;
  constructor(
    readonly entry: PackageEntry,
    private readonly handle: FileHandle,
  ) {}

  async *read(start: number, end: number): AsyncIterable<Uint8Array> {
    let position = start;
    while (position <= end) {
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, end - position + 1));
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) throw new Error("the package ended before its indexed size");
      position += bytesRead;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

export interface FsStoreOptions {
  log?: (message: string) => void;
  /** Create the directory (and its parents) when missing: for repository namespaces, never for STORAGE_PATH itself. */
  create?: boolean;
}

/** The directory of namespaced stores: dot-prefixed, so the default store's scan never takes it for a package. */
export const NAMESPACE_DIR = ".repos";

export class FsStore implements PackageStore {
  private readonly index = new Map<string, Indexed>();
  private sorted: PackageEntry[] | null = null;
  private dirState = ""; // the directory's inode and mtime when it was last scanned
  private dirty = true;
  private watcher: FSWatcher | null = null;
  private watchedIno = -1;
  private queue: Promise<unknown> = Promise.resolve();
  private running = 0; // operations queued or under way
  private readonly listeners = new Set<() => void>();
  private readonly skipped = new Map<string, string>(); // entries not served, and why (logged once)
  private healthCache: { at: number; dirState: string; health: StoreHealth } | null = null;
  private readonly log: (message: string) => void;

  private constructor(
    readonly dir: string,
    opts: FsStoreOptions,
  ) {
    this.log = opts.log ?? (() => {});
  }

  /**
   * The directory of a namespace: the storage path itself for [], else
   * `.repos/<a>/<b>/` below it. Each part must be one plain path segment
   * (the caller has checked the names; this refuses anything else outright).
   */
  static directoryFor(storagePath: string, namespace: readonly string[]): string {
    for (const part of namespace) {
      if (!/^[a-z0-9_][a-z0-9._-]*$/.test(part) || part.length > 100) throw new Error(`not a store namespace segment: ${JSON.stringify(part)}`);
    }
    return namespace.length === 0 ? storagePath : join(storagePath, NAMESPACE_DIR, ...namespace);
  }

  /** Removes leftover temp files and builds the index. */
  static async open(dir: string, opts: FsStoreOptions = {}): Promise<FsStore> {
    const store = new FsStore(dir, opts);
    try {
      if (opts.create) await mkdir(dir, { recursive: true });
      for (const name of await readdir(dir)) {
        if (name.startsWith(TEMP_PREFIX)) await rm(join(dir, name), { force: true, recursive: true });
      }
    } catch (err) {
      throw await translate(err, dir);
    }
    await store.refresh();
    return store;
  }

  async close(): Promise<void> {
    this.watcher?.close();
    this.watcher = null;
  }

  async list(): Promise<readonly PackageEntry[]> {
    await this.refresh();
    this.sorted ??= [...this.index.values()]
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.name < b.name ? -1 : 1))
      .map(publicEntry);
    return this.sorted;
  }

  async get(name: string): Promise<PackageEntry | undefined> {
    await this.refresh();
    const entry = this.index.get(name);
    return entry && publicEntry(entry);
  }

  async open(name: string): Promise<PackageReader | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      await this.refresh();
      const entry = this.index.get(name);
      if (!entry) return undefined;
      let handle: FileHandle;
      try {
        handle = await open(join(this.dir, name), "r");
      } catch (err) {
        if (errnoOf(err) !== "ENOENT") throw await translate(err, this.dir);
        this.dirty = true; // removed behind our back
        continue;
      }
      const st = await handle.stat();
      // The digest is served only for the bytes it was computed from.
      if (st.isFile() && sameIdentity(entry, identityOf(st))) return new FsReader(publicEntry(entry), handle);
      await handle.close();
      this.dirty = true; // changed behind our back: describe it again before serving it
    }
    throw new StorageUnavailableError(`the package "${name}" is being changed on the storage volume; try again shortly`);
  }

  async stage(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedUpload> {
    const path = tempPath(this.dir);
    const hash = createHash("sha256");
    let size = 0;
    let handle: FileHandle;
    try {
      handle = await open(path, "wx");
    } catch (err) {
      throw await translate(err, this.dir);
    }
    try {
      const chunks = source[Symbol.asyncIterator]();
      for (;;) {
        let step: IteratorResult<Uint8Array>;
        try {
          step = await chunks.next();
        } catch (err) {
          throw new UploadAbortedError(`the upload was interrupted before it was complete (${(err as Error)?.message ?? err}); nothing was stored`);
        }
        if (step.done) break;
        size += step.value.length;
        if (size > maxBytes) {
          await chunks.return?.();
          throw new TooLargeError(`the upload is larger than the limit of ${maxBytes} bytes`);
        }
        hash.update(step.value);
        await handle.write(step.value);
      }
      await handle.sync();
      await handle.close();
    } catch (err) {
      await handle.close().catch(() => {});
      await rm(path, { force: true }).catch(() => {});
      throw await translate(err, this.dir);
    }
    return new FsStaged(path, size, hash.digest("hex"));
  }

  async discard(staged: StagedUpload): Promise<void> {
    await rm(this.own(staged).path, { force: true }).catch(() => {});
  }

  async commit(staged: StagedUpload, name: string, { overwrite }: { overwrite: boolean }): Promise<{ entry: PackageEntry; replaced: boolean }> {
    const own = this.own(staged);
    own.used = true;
    const problem = nameProblem(name);
    if (problem) {
      await rm(own.path, { force: true }).catch(() => {});
      throw new InvalidNameError(problem);
    }
    return this.exclusive(async () => {
      const path = join(this.dir, name);
      let existing: Stats | null = null;
      let sidecarTemp: string | null = null;
      try {
        await this.rescanIfChanged();
        existing = await lstat(path).catch((err) => (errnoOf(err) === "ENOENT" ? null : Promise.reject(err)));
        if (existing && !existing.isFile()) throw new ConflictError(`"${name}" is taken by something in the storage directory that is not a package`);
        if (existing && !overwrite) throw new ConflictError(`a package named "${name}" already exists`);
        // The sidecar first: a volume too full for it fails here, while nothing is visible yet.
        sidecarTemp = await writeTemp(this.dir, own.sha256);
        await rename(own.path, path);
      } catch (err) {
        await rm(own.path, { force: true }).catch(() => {});
        if (sidecarTemp) await rm(sidecarTemp, { force: true }).catch(() => {});
        throw await translate(err, this.dir);
      }
      // The new bytes are visible; their sidecar follows, stamped with their ctime.
      const st = await stat(path);
      try {
        await stamp(sidecarTemp, st.ctimeMs);
        await rename(sidecarTemp, path + SIDECAR_SUFFIX);
      } catch (err) {
        await rm(sidecarTemp, { force: true }).catch(() => {});
        if (!existing && (await rm(path).then(() => true, () => false))) {
          // Undone: the answer "nothing was stored" is true.
          throw await translate(err, this.dir);
        }
        // The old bytes are gone, so the new state stands. A sidecar not stamped
        // for these bytes is never trusted; they are hashed again at the next start.
        this.log(`stored ${name}, but could not write its checksum file (${(err as Error).message}); it is written again at the next start`);
      }
      await syncDir(this.dir);
      const entry: Indexed = { name, sha256: own.sha256, createdAt: st.mtime, ...identityOf(st) };
      this.index.set(name, entry);
      this.changed();
      return { entry: publicEntry(entry), replaced: existing !== null };
    });
  }

  remove(name: string): Promise<boolean> {
    return this.exclusive(async () => {
      try {
        await this.rescanIfChanged();
        if (!this.index.has(name)) return false;
        await rm(join(this.dir, name), { force: true });
        await rm(join(this.dir, name + SIDECAR_SUFFIX), { force: true });
      } catch (err) {
        throw await translate(err, this.dir);
      }
      await syncDir(this.dir);
      this.index.delete(name);
      this.changed();
      return true;
    });
  }

  async loadDocument(key: string): Promise<string | null> {
    try {
      return await readFile(join(this.dir, documentFile(key)), "utf8");
    } catch (err) {
      if (errnoOf(err) === "ENOENT") return null;
      throw await translate(err, this.dir);
    }
  }

  async saveDocument(key: string, text: string): Promise<void> {
    try {
      await writeFileAtomic(this.dir, documentFile(key), text);
    } catch (err) {
      throw await translate(err, this.dir);
    }
  }

  async health(): Promise<StoreHealth> {
    // A probe writes and fsyncs, so a healthy answer is reused for a moment;
    // a failing one, or one from before the directory changed, never is.
    const cached = this.healthCache;
    if (cached && Date.now() - cached.at <= HEALTH_TTL_MS && cached.dirState === this.directoryState()) return cached.health;
    const health = await this.probe();
    this.healthCache = health.writable ? { at: Date.now(), dirState: this.directoryState(), health } : null;
    return health;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads the directory, then writes (and fsyncs) a byte: the only honest test of a full or read-only volume. */
  private async probe(): Promise<StoreHealth> {
    try {
      await readdir(this.dir);
    } catch (err) {
      return { readable: false, writable: false, detail: reason(await translate(err, this.dir)) };
    }
    try {
      await rm(await writeTemp(this.dir, "."));
    } catch (err) {
      return { readable: true, writable: false, detail: reason(await translate(err, this.dir)) };
    }
    return { readable: true, writable: true };
  }

  private own(staged: StagedUpload): FsStaged {
    if (!(staged instanceof FsStaged) || staged.used) throw new Error("not an upload staged by this store, or one already used");
    return staged;
  }

  /** Brings the index up to date with the directory if anything may have changed. */
  private refresh(): Promise<void> {
    // The common case, nothing changed and nothing under way, costs one stat
    // and no waiting. It is a synchronous stat: a single syscall, cheaper than
    // a trip through the thread pool on the path of every request.
    if (this.running === 0 && !this.dirty && this.directoryState() === this.dirState) return Promise.resolve();
    return this.exclusive(() => this.rescanIfChanged());
  }

  private directoryState(): string {
    try {
      const st = statSync(this.dir);
      return `${st.ino}:${st.mtimeMs}`;
    } catch {
      return "";
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
    const state = this.directoryState();
    if (state === "") throw await translate(Object.assign(new Error("no storage directory"), { code: "ENOENT" }), this.dir);
    if (!this.dirty && state === this.dirState) return;
    // Recorded before reading, so a change made during the scan triggers another one.
    this.dirty = false;
    this.dirState = state;
    this.watch(Number(state.split(":")[0]));
    await this.rescan();
  }

  /** Watches the directory for hints of change; again when it was replaced (removed and created anew). */
  private watch(ino: number): void {
    if (ino === this.watchedIno) return;
    this.watcher?.close();
    this.watcher = null;
    this.watchedIno = ino;
    try {
      this.watcher = watch(this.dir, { persistent: false }, () => {
        this.dirty = true;
      });
      this.watcher.on("error", () => {
        this.dirty = true;
      });
    } catch {
      // Without inotify the directory check still sees added and removed files, and opens see the rest.
    }
  }

  private async rescan(): Promise<void> {
    let dirents;
    try {
      dirents = await readdir(this.dir, { withFileTypes: true });
    } catch (err) {
      throw await translate(err, this.dir);
    }
    const seen = new Set<string>();
    let changed = false;
    for (const dirent of dirents) {
      const name = dirent.name;
      // Temp files and documents start with a dot; sidecars are read with their packages.
      if (name.startsWith(".") || name.toLowerCase().endsWith(SIDECAR_SUFFIX)) continue;
      // Only regular files: a symlink could point outside the storage directory.
      const problem = dirent.isFile() ? nameProblem(name) : "it is not a regular file";
      if (problem) {
        this.skip(name, problem);
        continue;
      }
      seen.add(name);
      try {
        const st = await stat(join(this.dir, name));
        const known = this.index.get(name);
        if (known && sameIdentity(known, identityOf(st))) continue;
        const entry = await this.describe(name, st);
        if (entry) this.index.set(name, entry);
        else {
          this.index.delete(name); // still being written: look again next time
          this.dirty = true;
        }
        changed = true;
      } catch (err) {
        if (this.index.delete(name)) changed = true;
        if (errnoOf(err) === "ENOENT") continue; // removed while we looked
        this.skip(name, (err as Error).message);
      }
    }
    for (const name of this.index.keys()) {
      if (!seen.has(name)) {
        this.index.delete(name);
        changed = true;
      }
    }
    if (changed) this.changed();
  }

  /** The index entry of a file found on disk: from its sidecar when stamped for these bytes, else by hashing. */
  private async describe(name: string, st: Stats): Promise<Indexed | null> {
    const path = join(this.dir, name);
    const identity = identityOf(st);
    const base = { name, createdAt: st.mtime, ...identity };
    const trusted = await readSidecar(path + SIDECAR_SUFFIX, st.ctimeMs);
    if (trusted) return { ...base, sha256: trusted };
    const sha256 = await hashFile(path);
    if (!sameIdentity(identity, identityOf(await stat(path)))) return null; // changed while hashed
    try {
      // Stamped with the ctime the bytes had when hashed: if they changed since, it no longer matches.
      await writeFileAtomic(this.dir, name + SIDECAR_SUFFIX, sha256, st.ctimeMs);
    } catch (err) {
      this.log(`could not write the checksum file of ${name} (${(err as Error).message}); its digest is kept in memory`);
    }
    return { ...base, sha256 };
  }

  private skip(name: string, why: string): void {
    if (this.skipped.get(name) === why) return;
    this.skipped.set(name, why);
    this.log(`storage: not serving ${JSON.stringify(name)}: ${why}`);
  }

  private changed(): void {
    this.sorted = null;
    for (const listener of this.listeners) listener();
  }
}

function publicEntry({ name, size, sha256, createdAt }: Indexed): PackageEntry {
  return { name, size, sha256, createdAt };
}

/** Documents are dot-files beside the packages, so they are never taken for packages. */
function documentFile(key: string): string {
  if (!/^[a-z][a-z0-9-]*\.json$/.test(key) || key.startsWith("tmp-")) throw new Error(`not a document key: ${key}`);
  return "." + key;
}

function reason(err: unknown): string {
  return err instanceof StoreError ? err.detail : `the storage directory cannot be used: ${(err as Error)?.message ?? err}`;
}

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
// Requests never read the directory for the store's own changes, nor wait for
// them: a commit or removal updates the index itself, and while the store's
// own changes are under way the directory's moving mtime is taken as theirs
// (see ownChange). Requests read it only after someone else changed it: one
// stat of it (its mtime changes when an entry is added, removed or renamed)
// and an fs.watch hint (which also sees files rewritten in place) tell, and
// every open checks the file's identity before serving it.

import { createHash, randomBytes } from "node:crypto";
import { constants, watch, type FSWatcher, type Stats } from "node:fs";
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { setImmediate } from "node:timers";
import { nameProblem, SIDECAR_SUFFIX } from "../../names.js";
import type { DocumentChange, KeptBytes, PackageEntry, PackageReader, PackageStore, StagedUpload, StoreHealth } from "../contract.js";
import { ConflictError, InvalidNameError, StorageUnavailableError, StoreError } from "../errors.js";
import { publicEntry } from "../public-entry.js";
import { InTurn, updateInTurn } from "../in-turn.js";
import { uploadChunks } from "../upload-chunks.js";
import { errnoOf, translate } from "./errno.js";
import {
  hashFile,
  identityOf,
  MARK_PREFIX,
  nodeSyncFiles,
  readSidecar,
  readSidecarSync,
  sameIdentity,
  stamp,
  syncDir,
  TEMP_PREFIX,
  tempPath,
  writeFileAtomic,
  writeTemp,
  type FileStat,
  type Identity,
  type SyncFiles,
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

// 64 KiB, as Node's own file streams: a download holds one chunk at a time, so 500 stalled readers cost 32 MB, not 256.
const READ_CHUNK = 64 * 1024;
const SCAN_CONCURRENCY = 32;
/** More names than this reported since the last look (a bulk copy; a flooded watcher may have dropped some): read the directory. */
const NAMED_MAX = 256;
/** How long to wait for the watcher's report of the mark (see caughtUp) before reading the directory instead. */
const MARK_WAIT_MS = 250;
/** Packages up to this size are kept in memory once read, up to SMALL_BODIES_BYTES in all. */
const SMALL_BODY_BYTES = 256 * 1024;
const SMALL_BODIES_BYTES = 64 * 1024 * 1024;
const INLINE_HASH_FILES = 64;
const INLINE_HASH_BYTES = 64 * 1024 * 1024;
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

  async readInto(buffer: Uint8Array, position: number): Promise<number> {
    return (await this.handle.read(buffer, 0, buffer.length, position)).bytesRead;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/** The bytes of a small package, read once and kept: they stay readable whatever happens to the file. */
class MemoryReader implements PackageReader {
  readonly kept: KeptBytes;

  constructor(
    readonly entry: PackageEntry,
    private readonly bytes: Uint8Array,
    stillStored: () => boolean,
  ) {
    this.kept = { bytes, stillStored };
  }

  async *read(start: number, end: number): AsyncIterable<Uint8Array> {
    if (end >= start) yield this.bytes.subarray(start, end + 1);
  }

  async close(): Promise<void> {}
}

/** The whole of a small file, in one read; null when it is shorter than its indexed size. Closes the handle. */
async function readSmall(handle: FileHandle, size: number): Promise<Uint8Array | null> {
  try {
    const buffer = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
      if (bytesRead === 0) return null;
      filled += bytesRead;
    }
    return buffer;
  } finally {
    await handle.close();
  }
}

/**
 * A directory state ("ino:mtimeMs") to record as read. Where the clock counts
 * whole milliseconds or seconds (Deno's stat, some filesystems), a change in
 * the same tick as the read leaves the mtime as it was: a state that recent is
 * recorded as unconfirmed, so the next request reads the directory again.
 */
function confirmed(state: string): string {
  const mtimeMs = Number(state.slice(state.indexOf(":") + 1));
  if (!Number.isInteger(mtimeMs)) return state; // finer than a millisecond: any change moves it
  const tick = mtimeMs % 1000 === 0 ? 1000 : 1;
  return Date.now() - mtimeMs <= tick + 1 ? `${state}:unconfirmed` : state;
}

/** Whether a recorded directory state is `state`, confirmed or not. */
function unconfirmedAs(recorded: string, state: string): boolean {
  return recorded === state || recorded === `${state}:unconfirmed`;
}

/** Whether the file at `path` is still the one `identity` describes: one synchronous stat. */
function stillAt(files: SyncFiles, path: string, identity: Identity): () => boolean {
  return () => {
    try {
      return sameIdentity(identity, identityOf(files.stat(path)));
    } catch {
      return false;
    }
  };
}

export interface FsStoreOptions {
  log?: (message: string) => void;
  /** Scan synchronously at open: for a store opened before the server listens, never for one opened while it serves. */
  syncFirstScan?: boolean;
  /** Create the directory (and its parents) when missing: for repository namespaces, never for STORAGE_PATH itself. */
  create?: boolean;
  /** Remove leftover temp files at open (default). A WORKERS worker does not: a sibling may be receiving into one. */
  sweep?: boolean;
  /** Stat the directory once per turn of the event loop for current(), not per call (Node only: see directoryStateThisTurn). */
  statOncePerTurn?: boolean;
  /**
   * How fs.watch reports (src/adapters/types.ts, StoreSupport): a change it named is then looked at
   * alone (rescanIfChanged). Absent, the directory is read after any change not the store's own.
   */
  watchReports?: "in-time" | "in-order";
  /** Leave the first scan to the first read (the index is built by any read that finds it out of date). */
  indexWhenAsked?: boolean;
  /** The blocking calls, where the runtime has cheaper ones than node:fs (files.ts, SyncFiles). */
  syncFiles?: SyncFiles;
}

/** The directory of namespaced stores: dot-prefixed, so the default store's scan never takes it for a package. */
export const NAMESPACE_DIR = ".repos";

export class FsStore implements PackageStore {
  private readonly index = new Map<string, Indexed>();
  private readonly documentTurns = new InTurn();
  /** Whether the scan under way may block: only the first, before the server listens. */
  private scanningSync = false;
  private sorted: PackageEntry[] | null = null;
  private dirState = ""; // the directory's inode and mtime when it was last scanned
  private turnState: string | null = null; // its state as stat'ed in this turn of the event loop
  private readonly statOncePerTurn: boolean;
  /** How the watcher reports (src/adapters/types.ts); without it, every change not the store's own is looked for by reading the directory. */
  private readonly watchReports: "in-time" | "in-order" | undefined;
  private readonly files: SyncFiles;
  private readonly changing = new Map<string, number>(); // names this store is changing itself right now (how many times)
  private dirty = true;
  private scanning = false; // a rescan is reading the directory: what it finds is not in the index yet
  private ownChanges = 0; // the store's own changes of the directory under way (see ownChange)
  private ownTrusted = false; // while there are some: the index was up to date when they began
  private watcher: FSWatcher | null = null;
  private watchedIno = -1;
  private listed = 0; // times the directory was read in full
  private queue: Promise<unknown> = Promise.resolve(); // commits, removals and rescans, one at a time
  private readonly listeners = new Set<() => void>();
  private readonly skipped = new Map<string, string>(); // entries not served, and why (logged once)
  private healthCache: { at: number; dirState: string; health: Omit<StoreHealth, "indexed"> } | null = null;
  private rescanAll = true; // the next scan stats every file, not only the ones the watcher named
  private suspects = new Set<string>(); // names the watcher saw change
  private reports = 0; // the watcher's reports (of dot-files too, not of the mark)
  private reportsAtState = 0; // how many there had been when the directory's recorded state was taken
  private mark: { handle: FileHandle; name: string; readyAt: number } | null | undefined; // see caughtUp; null: none can be made
  private marksSent = 0;
  private marksSeen = 0;
  private markReported: (() => void) | null = null;
  private readonly pending = new Map<string, FileStat>(); // found without a trusted digest, waiting to be hashed
  private hashing = false;
  private readonly smallBodies = new Map<string, { identity: Identity; bytes: Uint8Array }>(); // by name, oldest first
  private smallBytes = 0;
  private readonly log: (message: string) => void;

  private constructor(
    readonly dir: string,
    opts: FsStoreOptions,
  ) {
    this.log = opts.log ?? (() => {});
    this.statOncePerTurn = opts.statOncePerTurn === true;
    this.watchReports = opts.watchReports;
    this.files = opts.syncFiles ?? nodeSyncFiles;
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
      // Leftovers of a crash. Not in a WORKERS worker: a sibling may be receiving into one right now.
      if (opts.sweep !== false) {
        for (const name of opts.syncFirstScan ? store.files.list(dir).map((e) => e.name) : await readdir(dir)) {
          if (name.startsWith(TEMP_PREFIX) || name.startsWith(MARK_PREFIX)) await rm(join(dir, name), { force: true, recursive: true });
        }
      }
    } catch (err) {
      throw await translate(err, dir);
    }
    if (opts.indexWhenAsked) return store;
    // The first scan, before anything is served: the listing, and a stat and a sidecar read per
    // package, without the thread pool's round trips (10,000 packages: a fifth of a second instead of
    // one and a half; Deno's asynchronous listing alone takes twice its synchronous one).
    store.scanningSync = opts.syncFirstScan === true;
    try {
      await store.refresh();
    } finally {
      store.scanningSync = false;
    }
    return store;
  }

  async close(): Promise<void> {
    this.watcher?.close();
    this.watcher = null;
    await this.dropMark();
  }

  listings(): number {
    return this.listed;
  }

  current(): boolean {
    if (this.dirty || this.scanning) return false;
    if (this.ownChanges > 0 && this.ownTrusted) return true; // the directory moves, by our own hand: nothing to read
    return this.directoryStateThisTurn() === this.dirState;
  }

  /**
   * The directory's state, stat'ed at most once per turn of the event loop
   * (under load, one turn answers many requests; the stat was a tenth of a
   * kept answer's time). Every request answered in this turn was received
   * before the stat, so a change made before a request was sent is seen by
   * it, as with a stat per request. That holds for Node's event loop, where
   * setImmediate runs after the poll phase's callbacks; elsewhere
   * (statOncePerTurn off) every call stats.
   */
  private directoryStateThisTurn(): string {
    if (!this.statOncePerTurn) return this.directoryState();
    if (this.turnState === null) {
      this.turnState = this.directoryState();
      setImmediate(() => (this.turnState = null));
    }
    return this.turnState;
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
    if (!entry) this.checkNotPending(name);
    return entry && publicEntry(entry);
  }

  async open(name: string): Promise<PackageReader | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      await this.refresh();
      const entry = this.index.get(name);
      if (!entry) {
        this.checkNotPending(name);
        return undefined;
      }
      const path = join(this.dir, name);
      const kept = this.smallBodies.get(name);
      if (kept && sameIdentity(kept.identity, entry)) {
        // A small package read before: one stat proves the file still holds these bytes.
        const stillStored = stillAt(this.files, path, entry);
        if (stillStored()) return new MemoryReader(publicEntry(entry), kept.bytes, stillStored);
        this.lookAgain(name);
        continue;
      }
      let handle: FileHandle;
      try {
        handle = await open(path, "r");
      } catch (err) {
        if (errnoOf(err) !== "ENOENT") throw await translate(err, this.dir);
        this.lookAgain(name); // removed behind our back
        continue;
      }
      const st = await handle.stat().catch(async (err) => {
        await handle.close();
        throw await translate(err, this.dir);
      });
      // The digest is served only for the bytes it was computed from.
      if (st.isFile() && sameIdentity(entry, identityOf(st))) {
        if (entry.size > SMALL_BODY_BYTES) return new FsReader(publicEntry(entry), handle);
        const bytes = await readSmall(handle, entry.size);
        if (bytes && sameIdentity(entry, identityOf(await stat(path)))) {
          this.keepSmall(name, entry, bytes);
          return new MemoryReader(publicEntry(entry), bytes, stillAt(this.files, path, entry));
        }
      } else {
        await handle.close();
      }
      this.lookAgain(name); // changed behind our back: describe it again before serving it
    }
    throw new StorageUnavailableError(`the package "${name}" is being changed on the storage volume; try again shortly`);
  }

  async stage(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedUpload> {
    const path = tempPath(this.dir);
    const hash = createHash("sha256");
    let size = 0;
    let handle: FileHandle;
    try {
      handle = await this.ownChange(() => open(path, "wx"));
    } catch (err) {
      throw await translate(err, this.dir);
    }
    try {
      for await (const chunk of uploadChunks(source, maxBytes, hash)) {
        size += chunk.length;
        await handle.write(chunk);
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
    return this.exclusive(() => this.ownChange(async () => {
      const path = join(this.dir, name);
      let existing: Stats | null = null;
      let sidecarTemp: string | null = null;
      try {
        // No rescan first: what is there is asked of the file system itself.
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
      this.pending.delete(name);
      this.dropSmall(name);
      this.index.set(name, entry);
      this.changed();
      return { entry: publicEntry(entry), replaced: existing !== null };
    }, name));
  }

  remove(name: string): Promise<boolean> {
    return this.exclusive(async () => {
      try {
        await this.rescanIfChanged();
        if (!this.index.has(name) && !this.pending.delete(name)) return false;
      } catch (err) {
        throw await translate(err, this.dir);
      }
      return this.ownChange(async () => {
        try {
          await rm(join(this.dir, name), { force: true });
          await rm(join(this.dir, name + SIDECAR_SUFFIX), { force: true });
        } catch (err) {
          throw await translate(err, this.dir);
        }
        await syncDir(this.dir);
        this.index.delete(name);
        this.dropSmall(name);
        this.changed();
        return true;
      }, name);
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
      await this.ownChange(() => writeFileAtomic(this.dir, documentFile(key), text));
    } catch (err) {
      throw await translate(err, this.dir);
    }
    this.changed(); // answers built from documents (release metadata, counts) are stale now
  }
  updateDocument(key: string, change: DocumentChange): Promise<void> {
    return updateInTurn(this.documentTurns, this, key, change);
  }


  private async probeCached(): Promise<Omit<StoreHealth, "indexed">> {
    // A probe writes and fsyncs, so a healthy answer is reused for a moment;
    // a failing one, or one from before the directory changed, never is.
    const cached = this.healthCache;
    if (cached && Date.now() - cached.at <= HEALTH_TTL_MS && cached.dirState === this.directoryState()) return cached.health;
    const health = await this.probe();
    this.healthCache = health.writable ? { at: Date.now(), dirState: this.directoryState(), health } : null;
    return health;
  }

  noteChanged(names: readonly string[]): void {
    for (const name of names) this.suspects.add(name);
    this.dirty = true;
    this.changed(); // documents may have changed too: what was built from them is stale
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads the directory, then writes (and fsyncs) a byte: the only honest test of a full or read-only volume. */
  private async probe(): Promise<Omit<StoreHealth, "indexed">> {
    try {
      await readdir(this.dir);
    } catch (err) {
      return { readable: false, writable: false, detail: reason(await translate(err, this.dir)) };
    }
    try {
      await this.ownChange(async () => rm(await writeTemp(this.dir, ".")));
    } catch (err) {
      return { readable: true, writable: false, detail: reason(await translate(err, this.dir)) };
    }
    return { readable: true, writable: true };
  }

  async health(): Promise<StoreHealth> {
    const state = await this.probeCached();
    if (this.pending.size === 0) return { ...state, indexed: true };
    const hashing = `${this.pending.size} packages found without a trusted checksum are being hashed`;
    return { ...state, indexed: false, detail: state.detail ? `${state.detail}; ${hashing}` : hashing };
  }

  /**
   * Runs a change of the store's own to the directory (an upload's temp file
   * and its commit, a removal, a sidecar, a document, the health probe) whose
   * effect on the index the store applies itself. While such changes are
   * under way, and the index was up to date when the first of them began, the
   * directory's moving mtime is taken as theirs: requests neither read the
   * directory nor wait. When the last one ends, the directory's new state is
   * recorded as seen. Anyone else's change in that time is reported by the
   * watcher by name (its reports of ours are told apart: reportIsNews): without a
   * watcher nothing is taken as ours, and the next request reads the
   * directory, as after any change. With `name`, the change is of that
   * package (or its sidecar) and ends by updating its entry: the watcher's
   * reports of the name meanwhile are ours.
   */
  private async ownChange<T>(change: () => Promise<T>, name?: string): Promise<T> {
    if (this.ownChanges++ === 0) this.ownTrusted = this.watcher !== null && !this.dirty && !this.scanning && unconfirmedAs(this.dirState, this.directoryState());
    if (name !== undefined) this.changing.set(name, (this.changing.get(name) ?? 0) + 1);
    try {
      return await change();
    } finally {
      if (name !== undefined) {
        const left = this.changing.get(name)! - 1;
        if (left > 0) this.changing.set(name, left);
        else this.changing.delete(name);
      }
      if (--this.ownChanges === 0 && this.ownTrusted && !this.dirty && !this.scanning) {
        // No "unconfirmed" mark (see confirmed): a change in the same tick is the watcher's to report, as above.
        this.reportsAtState = this.reports;
        this.dirState = this.directoryState();
        this.turnState = null;
      }
    }
  }

  /**
   * Whether the watcher's report of a change to package `name` (or its
   * sidecar) tells the index something new. Not while this store is itself
   * changing that name (it updates the index when done), nor when the index
   * already describes what is there: the report of our own change, come
   * back a moment later (one synchronous stat tells, where the next request
   * would otherwise look). A sidecar alone never changes an entry: its
   * package's identity does.
   */
  private reportIsNews(name: string): boolean {
    if (this.changing.has(name)) return false; // see ownChange
    const known = this.index.get(name);
    try {
      return !(known && sameIdentity(known, identityOf(this.files.stat(join(this.dir, name)))));
    } catch (err) {
      return known !== undefined || this.pending.has(name) || errnoOf(err) !== "ENOENT";
    }
  }

  private lookAgain(name: string): void {
    this.suspects.add(name);
    this.dirty = true;
    this.dropSmall(name);
  }

  /** Keeps a small package's bytes, so the next download costs one stat instead of an open and a read. */
  private keepSmall(name: string, identity: Identity, bytes: Uint8Array): void {
    this.dropSmall(name);
    while (this.smallBytes + bytes.length > SMALL_BODIES_BYTES && this.smallBodies.size > 0) {
      this.dropSmall(this.smallBodies.keys().next().value as string);
    }
    this.smallBodies.set(name, { identity: { ...identity }, bytes });
    this.smallBytes += bytes.length;
  }

  private dropSmall(name: string): void {
    const kept = this.smallBodies.get(name);
    if (!kept) return;
    this.smallBodies.delete(name);
    this.smallBytes -= kept.bytes.length;
  }

  private checkNotPending(name: string): void {
    if (this.pending.has(name)) throw new StorageUnavailableError(`the package "${name}" was found without a trusted checksum and is being hashed; try again shortly`);
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
    if (this.current()) return Promise.resolve();
    return this.exclusive(() => this.rescanIfChanged());
  }

  private directoryState(): string {
    try {
      const st = this.files.stat(this.dir);
      return `${st.ino}:${st.mtimeMs}`;
    } catch {
      return "";
    }
  }

  // Mutations and rescans run one at a time, so a rescan never sees a half-done commit.
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private async rescanIfChanged(): Promise<void> {
    let reportsAtState = this.reports;
    let state = this.directoryState();
    if (state === "") throw await translate(Object.assign(new Error("no storage directory"), { code: "ENOENT" }), this.dir);
    if (this.seenAt(state)) return;
    if (this.watchReports === "in-order" && this.mark === undefined) {
      // Made before the state is taken, so that its making is no change anybody looks for.
      await this.makeMark();
      reportsAtState = this.reports;
      state = this.directoryState();
    }
    // Where the watcher names every change in time, a look at the names it gave is enough: another
    // process's upload (WORKERS) costs a stat and a sidecar read, not a read of the directory. Its
    // reports of the changes made before the stat above are read by the loop's next poll: the
    // second turn from here comes after it (a wait shorter than a read).
    // Elsewhere (Bun, Deno) the watcher's reports come in order but late: its report of a touch of a
    // file of ours, made after the stat, says every change before it has been reported.
    const ino = Number(state.split(":")[0]);
    let named = this.watchReports !== undefined && this.watcher !== null && !this.rescanAll && ino === this.watchedIno;
    if (named) {
      if (this.watchReports === "in-time") await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
      else named = await this.caughtUp();
      if (this.seenAt(this.directoryState())) return;
      // Only when it reported something since the last look (and was not lost for words, nor
      // flooded, and the directory is still the one it watches); otherwise the directory is read.
      // The state recorded is the one from before the wait: every change before it was reported.
      named &&= (this.dirty || this.reports > this.reportsAtState) && !this.rescanAll && this.suspects.size <= NAMED_MAX && ino === this.watchedIno;
    }
    // Recorded before reading, so a change made during the scan triggers another one.
    this.dirty = false;
    this.reportsAtState = reportsAtState;
    this.dirState = confirmed(state);
    this.turnState = null;
    this.watch(ino);
    this.scanning = true;
    try {
      if (named) await this.rescanNamed();
      else await this.rescan();
    } finally {
      this.scanning = false;
    }
    // Our own changes still under way began before this read or during it: theirs, as in ownChange.
    if (this.ownChanges > 0) this.ownTrusted = this.watcher !== null && !this.dirty;
  }

  /**
   * Touches the mark (a dot-file of this store's, made with the first scan, removed at close and
   * swept at start like temp files) and waits for the watcher to report it: its reports come in
   * the order of the changes, so once that one is in, so is every change made before the touch.
   * False when there is no mark, or the report did not come in time (the directory is read
   * instead). The touch changes the file's times, not the directory's mtime, and never its name,
   * so it is nobody's change of a package.
   */
  private async caughtUp(): Promise<boolean> {
    const mark = this.mark;
    if (!mark || performance.now() < mark.readyAt) return false;
    const wanted = ++this.marksSent;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reported = new Promise<boolean>((resolve) => {
      this.markReported = () => this.marksSeen >= wanted && resolve(true);
      timer = setTimeout(() => resolve(false), MARK_WAIT_MS);
    });
    try {
      const now = new Date();
      await mark.handle.utimes(now, now);
      if (await reported) return true;
    } catch {
      // A volume that refuses it: read the directory.
    } finally {
      clearTimeout(timer);
      this.markReported = null;
    }
    await this.dropMark(); // lost, or reported too late: a new one next time, counted afresh
    return false;
  }

  /**
   * Makes the mark, opened read-only (a file open for writing would keep the volume from being
   * remounted read-only). Deno reports its creation as a change too, which must not be taken for a
   * touch's: made before the watcher starts (with the first scan), nothing is reported of it;
   * made again later, it is used once its creation must have been reported.
   */
  private async makeMark(): Promise<void> {
    const name = MARK_PREFIX + randomBytes(8).toString("hex");
    const readyAt = this.watcher === null ? 0 : performance.now() + MARK_WAIT_MS;
    this.mark = await open(join(this.dir, name), constants.O_RDONLY | constants.O_CREAT | constants.O_EXCL).then(
      (handle) => ({ handle, name, readyAt }),
      () => null, // a read-only volume, say: no mark, the directory is read instead
    );
  }

  private async dropMark(): Promise<void> {
    const mark = this.mark;
    if (!mark) return;
    this.mark = undefined;
    this.marksSent = this.marksSeen = 0;
    await mark.handle.close().catch(() => {});
    await this.ownChange(() => rm(join(this.dir, mark.name), { force: true })).catch(() => {});
  }

  /** Whether the index is up to date with the directory in `state`, as far as this store knows: no change noticed. */
  private seenAt(state: string): boolean {
    return !this.dirty && (state === this.dirState || (this.ownChanges > 0 && this.ownTrusted));
  }

  /** Watches the directory for hints of change; again when it was replaced (removed and created anew). */
  private watch(ino: number): void {
    if (ino === this.watchedIno) return;
    if (this.watcher && this.mark) void this.dropMark(); // it was in the directory that was replaced
    this.watcher?.close();
    this.watcher = null;
    this.watchedIno = ino;
    try {
      this.watcher = watch(this.dir, { persistent: false }, (event, filename) => {
        // Some runtimes report a path rather than the entry's name: its last segment is the name.
        const name = filename ? basename(filename.toString()) : undefined;
        const mark = this.mark;
        if (name !== undefined && name === mark?.name) {
          if (event === "change" && performance.now() >= mark.readyAt) this.marksSeen++;
          this.markReported?.();
          return;
        }
        this.reports++;
        if (name?.startsWith(".")) return; // temp files and documents: no package changed
        const pkg = name && (name.toLowerCase().endsWith(SIDECAR_SUFFIX) ? name.slice(0, -SIDECAR_SUFFIX.length) : name);
        if (pkg && !this.reportIsNews(pkg)) return;
        this.dirty = true;
        if (!pkg) this.rescanAll = true;
        else this.suspects.add(pkg);
      });
      this.watcher.on("error", () => {
        this.dirty = true;
        this.rescanAll = true;
      });
    } catch {
      // Without inotify the directory check still sees added and removed files, and opens see the rest.
    }
  }

  private async rescan(): Promise<void> {
    let dirents;
    try {
      dirents = this.scanningSync ? this.files.list(this.dir) : await readdir(this.dir, { withFileTypes: true });
    } catch (err) {
      throw await translate(err, this.dir);
    }
    this.listed++;
    // With a watcher, only names it reported (and names not yet indexed) need a
    // stat; without one, or when it could not say which file changed, all do.
    const everything = this.rescanAll || this.watcher === null;
    const suspects = this.suspects;
    this.rescanAll = false;
    this.suspects = new Set();
    const seen = new Set<string>();
    const toCheck: string[] = [];
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
      if (everything || suspects.has(name) || (!this.index.has(name) && !this.pending.has(name))) toCheck.push(name);
    }
    let changed = await this.checkNames(toCheck);
    for (const name of [...this.index.keys(), ...this.pending.keys()]) {
      if (seen.has(name)) continue;
      this.pending.delete(name);
      if (this.index.delete(name)) changed = true;
    }
    if (changed) this.changed();
  }

  /** Looks at the names the watcher (or a sibling process, or a failed open) reported, and at nothing else. */
  private async rescanNamed(): Promise<void> {
    const names = [...this.suspects].filter((name) => {
      const problem = nameProblem(name);
      if (problem) this.skip(name, problem);
      return !problem;
    });
    this.suspects = new Set();
    if (await this.checkNames(names)) this.changed();
  }

  /** Brings these names' entries up to date, hashing the files found without a trusted digest; true when the index changed. */
  private async checkNames(names: readonly string[]): Promise<boolean> {
    let changed = false;
    const unhashed: [string, FileStat][] = [];
    await eachLimit(names, SCAN_CONCURRENCY, async (name) => {
      const outcome = await this.check(name);
      if (outcome === "changed") changed = true;
      else if (outcome !== "unchanged") unhashed.push(outcome);
    });
    return (await this.hash(unhashed)) || changed;
  }

  /** Brings one name's entry up to date from a stat and its sidecar; the file and its stat when it must be hashed. */
  private async check(name: string): Promise<"changed" | "unchanged" | [string, FileStat]> {
    const path = join(this.dir, name);
    try {
      // Not followed: a symlink could point outside the storage directory (the listing checks too).
      const st = this.scanningSync ? this.files.stat(path) : await lstat(path);
      if (!st.isFile()) throw Object.assign(new Error("it is not a regular file"), { code: "ENOTFILE" });
      const known = this.index.get(name);
      if (known && sameIdentity(known, identityOf(st))) return "unchanged";
      // The file changed but its ctime did not: the clock is too coarse to tell the versions apart (Deno's
      // ctime has whole seconds), so a sidecar stamped for that ctime may describe the old bytes. Hash again.
      const stampProvesNothing = known !== undefined && known.ctimeMs === st.ctimeMs;
      const trusted = stampProvesNothing
        ? null
        : this.scanningSync ? readSidecarSync(this.files, path + SIDECAR_SUFFIX, st.ctimeMs) : await readSidecar(path + SIDECAR_SUFFIX, st.ctimeMs);
      if (trusted) {
        this.pending.delete(name);
        this.index.set(name, { name, sha256: trusted, createdAt: st.mtime, ...identityOf(st) });
        return "changed";
      }
      // Bytes without a trusted digest are not served until they are hashed.
      return [name, st];
    } catch (err) {
      this.pending.delete(name);
      const had = this.index.delete(name);
      if (errnoOf(err) !== "ENOENT") this.skip(name, (err as Error).message); // ENOENT: removed while we looked
      return had ? "changed" : "unchanged";
    }
  }

  /**
   * Hashes files found without a trusted digest. A few small ones are hashed
   * before the scan returns, so a file copied in by hand is served on the next
   * request; many or large ones (a volume from elsewhere, at startup) are
   * hashed in the background while the rest is served and health() says the
   * index is not complete. True when the index changed already.
   */
  private async hash(files: [string, FileStat][]): Promise<boolean> {
    if (files.length === 0) return false;
    let changed = false;
    for (const [name] of files) if (this.index.delete(name)) changed = true;
    const bytes = files.reduce((sum, [, st]) => sum + st.size, 0);
    if (files.length <= INLINE_HASH_FILES && bytes <= INLINE_HASH_BYTES) {
      for (const [name, st] of files) {
        let entry: Indexed | null;
        try {
          entry = await this.describe(name, st);
        } catch (err) {
          this.skip(name, `it cannot be read: ${(err as Error).message}`); // unreadable: not served, never fatal
          continue;
        }
        if (entry) this.index.set(name, entry);
        else this.lookAgain(name); // still being written: look again next time
        changed = true;
      }
      return changed;
    }
    for (const [name, st] of files) this.pending.set(name, st);
    this.log(`storage: checking the digests of ${files.length} packages found without a trusted checksum file, in the background`);
    void this.hashPending();
    return changed;
  }

  /** Works through the pending files one at a time; a file changed meanwhile is looked at again by the next scan. */
  private async hashPending(): Promise<void> {
    if (this.hashing) return;
    this.hashing = true;
    try {
      for (;;) {
        const next = this.pending.entries().next();
        if (next.done) break;
        const [name, st] = next.value;
        let unreadable: unknown = null;
        const entry = await this.describe(name, st).catch((err: unknown) => ((unreadable = err), null));
        if (this.pending.get(name) !== st) continue; // removed, replaced or committed meanwhile
        this.pending.delete(name);
        if (unreadable) {
          this.skip(name, `it cannot be read: ${(unreadable as Error).message}`);
        } else if (entry) {
          this.index.set(name, entry);
          this.changed();
        } else {
          this.suspects.add(name);
          this.dirty = true;
        }
      }
    } finally {
      this.hashing = false;
    }
  }

  /** The index entry of a file found without a trusted sidecar: hashed, then stamped. Null when it changed meanwhile. */
  private async describe(name: string, st: FileStat): Promise<Indexed | null> {
    const path = join(this.dir, name);
    const identity = identityOf(st);
    const sha256 = await hashFile(path);
    if (!sameIdentity(identity, identityOf(await stat(path)))) return null; // changed while hashed
    try {
      // Stamped with the ctime the bytes had when hashed: if they changed since, it no longer matches.
      await this.ownChange(() => writeFileAtomic(this.dir, name + SIDECAR_SUFFIX, sha256, st.ctimeMs), name);
    } catch (err) {
      this.log(`could not write the checksum file of ${name} (${(err as Error).message}); its digest is kept in memory`);
    }
    return { name, sha256, createdAt: st.mtime, ...identity };
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

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}



/** Documents are dot-files beside the packages, so they are never taken for packages. */
function documentFile(key: string): string {
  if (!/^[a-z][a-z0-9-]*\.json$/.test(key) || key.startsWith("tmp-")) throw new Error(`not a document key: ${key}`);
  return "." + key;
}

function reason(err: unknown): string {
  return err instanceof StoreError ? err.detail : `the storage directory cannot be used: ${(err as Error)?.message ?? err}`;
}

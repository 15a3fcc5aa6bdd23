// The store contract: everything the routes, the release model and the
// adapters know about where packages live. A backend (the filesystem today,
// object storage later) implements PackageStore and passes the conformance
// suite in test/helpers/store-conformance.ts; nothing above this file knows
// paths, file handles or errno.
//
// It is shaped for object storage as much as for a directory: bytes are
// staged under a private key and become visible under a name only by a commit
// (a conditional create, or an overwrite), objects are never modified in
// place, and reads take byte ranges.

export interface PackageEntry {
  name: string;
  size: number;
  sha256: string; // hex, of exactly the bytes a reader of this entry gets
  createdAt: Date; // when these bytes were stored
}

/** An upload received in full, hashed and durable, not yet visible under any name. */
export interface StagedUpload {
  readonly size: number;
  readonly sha256: string;
}

/** A package opened for reading: these exact bytes stay readable until close(), whatever happens to the name. */
export interface PackageReader {
  readonly entry: PackageEntry;
  /** Bytes start..end (inclusive offsets), in order; reading stops early if the consumer stops. */
  read(start: number, end: number): AsyncIterable<Uint8Array>;
  /**
   * Optional, for backends with positional reads (a file): fills `buffer` from
   * `position` and returns the bytes read (0 at the end), so a sender can reuse
   * one buffer for a whole download instead of making garbage per chunk.
   */
  readInto?(buffer: Uint8Array, position: number): Promise<number>;
  close(): Promise<void>;
  /**
   * Optional: a short-lived URL where a client may fetch these bytes itself
   * (object storage with S3_REDIRECT_DOWNLOADS). The download route then
   * answers 302 instead of streaming; see serveAsset in src/routes/assets.ts.
   */
  directUrl?(): Promise<string>;
  /**
   * Optional: the whole package, already in memory, with a synchronous check
   * that the stored bytes are still these. A download answer made from it may
   * be kept and sent again without opening anything (src/response-cache.ts).
   */
  readonly kept?: KeptBytes;
}

export interface KeptBytes {
  readonly bytes: Uint8Array;
  /** Whether the medium still holds exactly these bytes under the name (a stat, no waiting). */
  stillStored(): boolean;
}

export interface StoreHealth {
  readable: boolean;
  writable: boolean;
  /** Every package the medium holds is in the index (false while digests found missing are computed). */
  indexed: boolean;
  /** Why not, in words an operator can act on; absent when both are true. */
  detail?: string;
  /**
   * Writes fail for every replica alike (the shared database is down) while
   * reads still work: taking this replica out of service would help nobody.
   */
  writesDownEverywhere?: boolean;
}

export interface PackageStore {
  /** Every package, newest first (ties by name). */
  list(): Promise<readonly PackageEntry[]>;
  /**
   * Optional: true when the index is known to be up to date right now (no
   * change noticed, none under way), decided without waiting. Answers kept
   * from the index are then sent without calling list() first.
   */
  current?(): boolean;
  /**
   * Optional: how many times since it opened the store has read its whole
   * listing (the directory, the bucket). Reads and the store's own writes
   * should not need one; a change behind its back, or a timer, does.
   */
  listings?(): number;
  get(name: string): Promise<PackageEntry | undefined>;
  /** Opens a package for reading; undefined when there is none by that name. */
  open(name: string): Promise<PackageReader | undefined>;

  /**
   * Receives an upload: streamed, hashed while written, never whole in memory.
   * Rejects with TooLargeError past `maxBytes` and UploadAbortedError when the
   * source fails; nothing is left behind either way.
   */
  stage(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedUpload>;
  /**
   * Makes a staged upload visible under `name`: a conditional create, or with
   * `overwrite` a replacement. Afterwards the store holds the complete old
   * state or the complete new state; it resolves only in the second case.
   * The staged upload is used up either way.
   */
  commit(staged: StagedUpload, name: string, options: { overwrite: boolean }): Promise<{ entry: PackageEntry; replaced: boolean }>;
  /** Throws the staged bytes away. */
  discard(staged: StagedUpload): Promise<void>;
  /** Deletes a package; false when there was none by that name. Works on a full volume. */
  remove(name: string): Promise<boolean>;

  /** Small documents kept beside the packages (download counts, release metadata); null when absent. */
  loadDocument(key: string): Promise<string | null>;
  /** Replaces a document atomically. */
  saveDocument(key: string, text: string): Promise<void>;
  /**
   * Reads, changes and saves a document as one step: concurrent updates of
   * the same key (in this process, and in other replicas sharing the store)
   * take turns, so none is lost. `change` gets the current text (null when
   * absent) and returns the new one, or null to leave it as it is; when it
   * throws, nothing is saved and the error is the update's.
   */
  updateDocument(key: string, change: DocumentChange): Promise<void>;

  /** Whether the packages can be read, and new ones written, right now. */
  health(): Promise<StoreHealth>;
  /**
   * Calls `listener` whenever the set of packages or their bytes changed,
   * through this store or behind its back (once noticed). Returns an unsubscribe.
   */
  onChange(listener: () => void): () => void;
  /** Another process changed these names on the same medium: look at them again before the next answer. */
  noteChanged(names: readonly string[]): void;
  close(): Promise<void>;

  /**
   * Optional: removes the packages `choose` picks from the current list, as
   * one step that concurrent callers (other replicas too) take in turn.
   * Without it, retention removes the chosen packages one by one.
   */
  prune?(choose: (packages: readonly PackageEntry[]) => PackageEntry[] | Promise<PackageEntry[]>): Promise<PackageEntry[]>;
  /** Optional: adds downloads counted here to counts shared by every replica; returns the totals. */
  addDownloads?(counts: DownloadTally[]): Promise<DownloadTally[]>;
}

export type DocumentChange = (text: string | null) => string | null | Promise<string | null>;

export interface DownloadTally {
  name: string;
  sha256: string;
  count: number;
}

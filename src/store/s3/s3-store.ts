// The object-storage backend with the bucket as the only truth (one replica,
// no database). Layout under the namespace's prefix P:
//
//   P<name>             the package; metadata sha256 and created (ms precision)
//   P<name>.sha256      its digest, bare hex: the filesystem layout's sidecar
//   P.staging/<id>/...  uploads being received (multipart for large bodies)
//   P.documents/<key>   documents (download counts, release metadata)
//   P.cache/index.json  digests of listed objects, so a restart lists instead of HEADing
//
// A commit copies the staged object to its name, server-side. The in-memory
// index answers every read; it is rebuilt by listing the bucket at startup and
// again every INDEX_REFRESH_INTERVAL, so objects written or removed by other
// tools appear and vanish within that time. A reader pins the bytes it opened
// by starting their GET at open time (see S3Reader).
//
// The PostgreSQL mode (../pg/) extends this class: the same staging, reading
// and index, with the database as the truth instead of the bucket.

import { createHash, randomUUID } from "node:crypto";
import { nameProblem, SIDECAR_SUFFIX } from "../../names.js";
import type { DocumentChange, PackageEntry, PackageReader, PackageStore, StagedUpload, StoreHealth } from "../contract.js";
import { ConflictError, InvalidNameError, StorageUnavailableError, StoreError } from "../errors.js";
import { InTurn, updateInTurn } from "../in-turn.js";
import { publicEntry } from "../public-entry.js";
import { S3Error, type HeadInfo, type ObjectInfo, type S3Client } from "./client.js";
import { s3Problem, translateS3 } from "./errors.js";
import { uploadStream } from "./upload.js";

export const STAGING = ".staging/";
export const DOCUMENTS = ".documents/";
const CACHE_KEY = ".cache/index.json";
/** Names changed since the index was saved (an empty object each): a restart looks at them again. */
const CHANGING = ".cache/changing/";
const HEALTH_TTL_MS = 2000;
const DESCRIBE_WIDTH = 8;
/** Listings side by side at most, and the fewest known names per slice (about two pages, with the sidecars). */
const LIST_WIDTH = 4;
const LIST_SLICE_MIN = 1000;

/** An index entry: the public entry plus where its bytes are and which bytes they are. */
export interface Indexed extends PackageEntry {
  key: string;
  etag: string;
}

export class S3Staged implements StagedUpload {
  used = false;
  constructor(
    readonly key: string,
    readonly size: number,
    readonly sha256: string,
  ) {}
}

export interface S3StoreOptions {
  client: S3Client;
  /** The namespace's key prefix: "" or ending in "/". */
  prefix: string;
  /** How often the bucket is listed again, ms; reads wait for a listing only when the index is older than this. */
  refreshIntervalMs: number;
  /** Sign download redirects for this many seconds; 0 streams downloads through the server. */
  redirectSeconds?: number;
  log?: (message: string) => void;
  /** Identifies this process's uploads under .staging/. */
  replicaId?: string;
  /** Remove leftover uploads at startup; false in a WORKERS worker, whose siblings' uploads are no leftovers. */
  sweep?: boolean;
  /** The fewest known names worth a listing slice of their own (default 1,000; tests use fewer). */
  listSliceMin?: number;
  /**
   * List the bucket only when a read asks, never at open nor on a timer: for a WORKERS primary, which
   * serves nothing and needs the index only to prune download counts, while its workers keep their own.
   */
  indexWhenAsked?: boolean;
}

/**
 * The bytes of one object as they were when opened. The GET of the whole
 * object starts at open time, so an overwrite or delete of the key afterwards
 * does not change what this reader serves; a read of a later range asks for
 * those bytes with If-Match, and fails rather than serve other bytes.
 */
class S3Reader implements PackageReader {
  private pinned: Response | null; // null: every read asks for its range with If-Match
  constructor(
    readonly entry: PackageEntry,
    private readonly client: S3Client,
    private readonly key: string,
    private readonly etag: string,
    pinned: Response | null,
    redirectSeconds: number,
  ) {
    this.pinned = pinned;
    if (redirectSeconds > 0) this.directUrl = () => this.client.presign(this.key, redirectSeconds);
  }

  async *read(start: number, end: number): AsyncIterable<Uint8Array> {
    if (end < start) return;
    let response = this.pinned;
    this.pinned = null;
    if (!response || start !== 0) {
      await response?.body?.cancel().catch(() => {});
      response = await this.client.get(this.key, { start, end, ifMatch: this.etag }).catch((err) => Promise.reject(translateS3(err, this.client.settings.bucket)));
      if (!response) throw new StorageUnavailableError(`the package "${this.entry.name}" was changed in the bucket while being read; try again`);
    }
    let left = end - start + 1;
    const body = response.body!.getReader();
    try {
      while (left > 0) {
        const { done, value } = await body.read();
        if (done) throw new Error("the object ended before its indexed size");
        const chunk = value.length > left ? value.subarray(0, left) : value;
        left -= chunk.length;
        yield chunk;
      }
    } finally {
      await body.cancel().catch(() => {});
    }
  }

  async close(): Promise<void> {
    const pinned = this.pinned;
    this.pinned = null;
    await pinned?.body?.cancel().catch(() => {});
  }

  /** A short-lived presigned URL for these bytes, when downloads are redirected. */
  directUrl?: () => Promise<string>;
}

interface CachedDigest {
  etag: string;
  size: number;
  sha256: string;
  createdAt: string;
}

export class S3Store implements PackageStore {
  protected index = new Map<string, Indexed>();
  private readonly documentTurns = new InTurn();
  private sorted: PackageEntry[] | null = null;
  private readonly listeners = new Set<() => void>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Names changed through this store, and when: a listing begun before that must not undo them. */
  protected readonly touched = new Map<string, number>();
  private refreshedAt = -Infinity; // when the listing behind the index began
  /** The first listing after a start from the saved index, until it is done. */
  private confirming: Promise<void> | null = null;
  private refreshing: { startedAt: number; done: Promise<void> } | null = null; // the listing under way
  private timer: ReturnType<typeof setInterval> | null = null;
  private healthCache: { at: number; health: StoreHealth } | null = null;
  private cacheDirty = false;
  private noted: Promise<void> | null = null; // looking again at names a WORKERS sibling changed
  protected listed = 0; // times the bucket was listed (listTop)
  private readonly skipped = new Map<string, string>();
  protected readonly client: S3Client;
  protected readonly prefix: string;
  protected readonly log: (message: string) => void;
  protected readonly replicaId: string;
  protected closed = false;
  /** Where uploads are received: under .staging/, by replica, until a commit copies them to their name. */
  protected staging = STAGING;

  constructor(protected readonly opts: S3StoreOptions) {
    this.client = opts.client;
    this.prefix = opts.prefix;
    this.log = opts.log ?? (() => {});
    this.replicaId = opts.replicaId ?? randomUUID();
  }

  /** Checks the bucket, sweeps stale uploads, builds the index and starts refreshing it. */
  static async open(opts: S3StoreOptions): Promise<S3Store> {
    const store = new S3Store(opts);
    await store.start();
    return store;
  }

  protected async start(): Promise<void> {
    await this.checkBucket();
    if (this.opts.indexWhenAsked) {
      // The first read lists (fresh() finds no listing yet); no timer lists again meanwhile.
      if (this.opts.sweep !== false) await this.sweep(this.notMine);
      return;
    }
    const saved = await this.savedIndex();
    if (saved.size === 0) {
      if (this.opts.sweep !== false) await this.sweep(this.notMine); // one replica: every other staged upload is a leftover
      await this.refresh();
    } else {
      // A restart: answer at once from the index saved last time (with the names this store was
      // changing when it stopped looked at again), and confirm it against a listing of the bucket
      // right away, for what other tools changed meanwhile. Until then /readyz says not ready, and a
      // download of an object changed since is refused by its If-Match and looked at again.
      this.index = saved;
      this.refreshedAt = performance.now();
      this.confirming = (async () => {
        if (this.opts.sweep !== false) await this.sweep(this.notMine); // this store may be receiving uploads already
        await this.refresh(true);
      })()
        .catch((err) => this.log(`could not confirm the saved index against the bucket (serving it; retried every INDEX_REFRESH_INTERVAL): ${(err as Error).message}`))
        .finally(() => (this.confirming = null));
    }
    this.startTimer();
  }

  protected async checkBucket(): Promise<void> {
    try {
      await this.client.headBucket();
    } catch (err) {
      if (err instanceof S3Error) throw new StorageUnavailableError(s3Problem(err, this.client.settings.bucket));
      throw err;
    }
  }

  protected startTimer(): void {
    // Half the interval, so an index is never older than the interval when a read wants it.
    const every = Math.max(50, this.opts.refreshIntervalMs / 2);
    let failing = "";
    this.timer = setInterval(
      () =>
        void this.refresh().then(
          () => {
            if (failing) this.log("index refresh works again");
            failing = "";
          },
          (err) => {
            // Logged when the reason changes, not every few seconds while the storage is away.
            const why = (err as Error).message;
            if (why !== failing) this.log(`index refresh failed (serving the last index): ${why}`);
            failing = why;
          },
        ),
      every,
    );
    (this.timer as { unref?: () => void }).unref?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.confirming;
    await this.refreshing?.done.catch(() => {});
    await this.queue.catch(() => {});
    await this.saveCache().catch(() => {});
  }

  current(): boolean {
    return this.noted === null && performance.now() - this.refreshedAt <= this.opts.refreshIntervalMs;
  }

  listings(): number {
    return this.listed;
  }

  async list(): Promise<readonly PackageEntry[]> {
    await this.fresh();
    this.sorted ??= [...this.index.values()]
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.name < b.name ? -1 : 1))
      .map(publicEntry);
    return this.sorted;
  }

  async get(name: string): Promise<PackageEntry | undefined> {
    await this.fresh();
    const entry = this.index.get(name);
    return entry && publicEntry(entry);
  }

  async open(name: string): Promise<PackageReader | undefined> {
    await this.fresh();
    for (let attempt = 0; attempt < 3; attempt++) {
      const entry = this.index.get(name);
      if (!entry) return undefined;
      const redirect = this.opts.redirectSeconds ?? 0;
      // Downloads that are redirected never read through the server: a HEAD checks the bytes are still these.
      const response = await (redirect > 0
        ? this.client.head(entry.key).then((h) => (h && h.etag === entry.etag ? null : false))
        : this.client.get(entry.key, { ifMatch: entry.etag }).then((r) => r ?? false)
      ).catch((err) => Promise.reject(translateS3(err, this.client.settings.bucket)));
      if (response !== false) return new S3Reader(publicEntry(entry), this.client, entry.key, entry.etag, response, redirect);
      // Gone or replaced behind our back: never serve a digest for other bytes.
      await this.recheck(entry);
    }
    throw new StorageUnavailableError(`the package "${name}" is being changed in the bucket; try again shortly`);
  }

  async stage(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedUpload> {
    const key = `${this.prefix}${this.staging}${this.replicaId}/${randomUUID()}`;
    try {
      const { size, sha256 } = await uploadStream(this.client, key, source, maxBytes);
      return new S3Staged(key, size, sha256);
    } catch (err) {
      await this.client.delete(key).catch(() => {});
      throw translateS3(err, this.client.settings.bucket);
    }
  }

  async discard(staged: StagedUpload): Promise<void> {
    const own = this.own(staged);
    own.used = true;
    await this.client.delete(own.key).catch(() => {});
  }

  async commit(staged: StagedUpload, name: string, { overwrite }: { overwrite: boolean }): Promise<{ entry: PackageEntry; replaced: boolean }> {
    const own = this.own(staged);
    own.used = true;
    const problem = nameProblem(name);
    if (problem) {
      await this.client.delete(own.key).catch(() => {});
      throw new InvalidNameError(problem);
    }
    try {
      const { entry, replaced } = await this.publish(own, name, overwrite);
      this.touched.set(name, performance.now());
      this.index.set(name, entry);
      this.changed();
      return { entry: publicEntry(entry), replaced };
    } catch (err) {
      await this.client.delete(own.key).catch(() => {});
      throw translateS3(err, this.client.settings.bucket);
    }
  }

  async remove(name: string): Promise<boolean> {
    if (nameProblem(name)) return false;
    try {
      const removed = await this.unpublish(name);
      this.touched.set(name, performance.now());
      if (this.index.delete(name) || removed) this.changed();
      return removed;
    } catch (err) {
      throw translateS3(err, this.client.settings.bucket);
    }
  }

  async loadDocument(key: string): Promise<string | null> {
    checkDocumentKey(key);
    return this.client.getText(this.prefix + DOCUMENTS + key).catch((err) => Promise.reject(translateS3(err, this.client.settings.bucket)));
  }

  async saveDocument(key: string, text: string): Promise<void> {
    checkDocumentKey(key);
    // A PUT replaces an object whole: readers see the old text or the new one.
    await this.client.put(this.prefix + DOCUMENTS + key, text, { "content-type": "application/json" }).catch((err) => Promise.reject(translateS3(err, this.client.settings.bucket)));
    this.changed(); // answers built from documents (release metadata, counts) are stale now
  }
  updateDocument(key: string, change: DocumentChange): Promise<void> {
    return updateInTurn(this.documentTurns, this, key, change);
  }


  async health(): Promise<StoreHealth> {
    const cached = this.healthCache;
    let health: StoreHealth;
    if (cached && Date.now() - cached.at <= HEALTH_TTL_MS) health = cached.health;
    else {
      health = await this.probe();
      this.healthCache = health.writable ? { at: Date.now(), health } : null;
    }
    if (!this.confirming || !health.readable) return health;
    const detail = `confirming the ${this.index.size} packages of the saved index against a listing of the bucket`;
    return { ...health, indexed: false, detail: health.detail ? `${health.detail}; ${detail}` : detail };
  }

  /** Another process (a WORKERS sibling) changed these names in the bucket: look at them again before the next answer. */
  noteChanged(names: readonly string[]): void {
    if (names.length === 0) {
      this.changed(); // a document changed: what was built from it is stale
      return;
    }
    const looking = (this.noted ?? Promise.resolve()).then(() => this.lookAgain(names));
    this.noted = looking.catch(() => {
      this.refreshedAt = -Infinity; // could not look: the next read lists everything again
    });
  }

  /** The named objects as they are now: one HEAD each, not a listing of the bucket. */
  private async lookAgain(names: readonly string[]): Promise<void> {
    let changed = false;
    await Promise.all(
      names.map(async (name) => {
        const key = this.prefix + name;
        const head = await this.client.head(key);
        this.touched.set(name, performance.now());
        const known = this.index.get(name);
        if (!head) {
          if (this.index.delete(name)) changed = true;
          return;
        }
        if (known && known.key === key && known.etag === head.etag) return;
        const entry = await this.describe({ key, size: head.size, etag: head.etag, lastModified: head.lastModified });
        if (entry) {
          this.index.set(name, entry);
          changed = true;
        }
      }),
    );
    if (changed) this.changed();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---------------------------------------------------------------- the truth: the bucket

  /** Makes staged bytes visible under `name`; one replica, so one commit at a time decides. */
  protected publish(staged: S3Staged, name: string, overwrite: boolean): Promise<{ entry: Indexed; replaced: boolean }> {
    return this.exclusive(async () => {
      const key = this.prefix + name;
      const existing = await this.client.head(key);
      if (existing && !overwrite) throw new ConflictError(`a package named "${name}" already exists`);
      await this.markChanging(name);
      const createdAt = new Date();
      await this.client.copy(staged.key, key, { sha256: staged.sha256, created: createdAt.toISOString() });
      await this.client.delete(staged.key).catch(() => {});
      const head = await this.client.head(key);
      if (!head) throw new StorageUnavailableError(`"${name}" vanished from the bucket right after it was stored`);
      await this.client.put(key + SIDECAR_SUFFIX, staged.sha256, { "content-type": "text/plain" }).catch((err) => {
        this.log(`stored ${name}, but could not write its checksum object (${(err as Error).message}); the digest is in the object's metadata`);
      });
      this.cacheDirty = true;
      return { entry: { name, key, etag: head.etag, size: staged.size, sha256: staged.sha256, createdAt }, replaced: existing !== null };
    });
  }

  protected unpublish(name: string): Promise<boolean> {
    return this.exclusive(async () => {
      const key = this.prefix + name;
      const existing = this.index.has(name) || (await this.client.head(key)) !== null;
      if (!existing) return false;
      await this.markChanging(name);
      await this.client.delete(key);
      await this.client.delete(key + SIDECAR_SUFFIX);
      this.cacheDirty = true;
      return true;
    });
  }

  /** The packages as the bucket has them now. */
  protected async scan(): Promise<Map<string, Indexed>> {
    const cache = await this.loadCache();
    const objects = await this.listTop([...(this.index.size > 0 ? this.index.keys() : cache.keys())]);
    const out = new Map<string, Indexed>();
    const unknown: ObjectInfo[] = [];
    for (const o of objects) {
      const name = o.key.slice(this.prefix.length);
      if (name.startsWith(".") || name.toLowerCase().endsWith(SIDECAR_SUFFIX)) continue;
      const problem = nameProblem(name);
      if (problem) {
        this.skip(name, problem);
        continue;
      }
      const known = this.index.get(name) ?? cache.get(name);
      if (known && known.etag === o.etag && known.size === o.size) out.set(name, { ...known, name, key: o.key });
      else unknown.push(o);
    }
    // Objects never seen before (other tools', or ours before the cache was written): a few at a time.
    await inParallel(unknown, DESCRIBE_WIDTH, async (o) => {
      const described = await this.describe(o).catch((err) => {
        this.skip(o.key.slice(this.prefix.length), (err as Error).message);
        return null;
      });
      if (described) out.set(described.name, described);
    });
    return out;
  }

  /**
   * The objects directly under the prefix. A listing is pages of 1,000 keys
   * one after another; with the names of the last listing known, it is cut
   * into slices at those names and the slices are listed side by side.
   */
  protected async listTop(known: string[]): Promise<ObjectInfo[]> {
    this.listed++;
    const slices = Math.min(LIST_WIDTH, Math.floor(known.length / (this.opts.listSliceMin ?? LIST_SLICE_MIN)) + 1);
    const keys = known.map((name) => Buffer.from(this.prefix + name)).sort(Buffer.compare);
    const cuts = Array.from({ length: slices - 1 }, (_, i) => keys[Math.floor(((i + 1) * keys.length) / slices)].toString());
    const parts = await Promise.all(
      Array.from({ length: slices }, async (_, i) => {
        const out: ObjectInfo[] = [];
        for await (const o of this.client.list(this.prefix, "/", { after: cuts[i - 1], upTo: cuts[i] })) out.push(o);
        return out;
      }),
    );
    return parts.flat();
  }

  // ---------------------------------------------------------------- index upkeep

  /** An indexed object could not be read as indexed: describe it again. */
  protected recheck(_entry: Indexed): Promise<void> {
    return this.refresh(true);
  }

  /** Waits for names a sibling changed, and for a listing when the index is older than the refresh interval (a starved timer). */
  protected async fresh(): Promise<void> {
    const noted = this.noted;
    if (noted) {
      await noted;
      if (this.noted === noted) this.noted = null;
    }
    if (performance.now() - this.refreshedAt > this.opts.refreshIntervalMs) await this.refresh(true);
  }

  /** Lists again; with `forced`, a listing already under way that began too early is not enough. */
  protected refresh(forced = false): Promise<void> {
    const inflight = this.refreshing;
    if (inflight && (!forced || inflight.startedAt >= performance.now() - this.opts.refreshIntervalMs)) return inflight.done;
    const before = inflight?.done.catch(() => {}) ?? Promise.resolve();
    const entry = { startedAt: Infinity, done: Promise.resolve() }; // Infinity until it begins: late enough for anyone
    entry.done = before
      .then(async () => {
        entry.startedAt = performance.now();
        this.apply(await this.scan(), entry.startedAt);
        this.refreshedAt = entry.startedAt;
      })
      .catch((err) => Promise.reject(translateS3(err, this.client.settings.bucket)))
      .finally(() => {
        if (this.refreshing === entry) this.refreshing = null;
      });
    this.refreshing = entry;
    return entry.done;
  }

  /** Replaces the index with a scan, except for names this store changed after the scan began. */
  protected apply(scanned: Map<string, Indexed>, startedAt: number): void {
    let changed = false;
    for (const [name, at] of this.touched) if (at < startedAt - 60_000) this.touched.delete(name);
    const recent = (name: string) => (this.touched.get(name) ?? -Infinity) >= startedAt;
    for (const [name, entry] of scanned) {
      if (recent(name)) continue;
      const known = this.index.get(name);
      if (!known || known.etag !== entry.etag || known.key !== entry.key || known.sha256 !== entry.sha256) {
        this.index.set(name, entry);
        changed = true;
      }
    }
    for (const name of [...this.index.keys()]) {
      if (!scanned.has(name) && !recent(name)) {
        this.index.delete(name);
        changed = true;
      }
    }
    if (changed) {
      this.cacheDirty = true;
      this.changed();
    }
    if (this.cacheDirty) void this.saveCache().catch(() => {});
  }

  /** An object not seen before: its digest from our metadata, else by reading it. */
  protected async describe(o: ObjectInfo): Promise<Indexed | null> {
    const name = o.key.slice(this.prefix.length);
    const head: HeadInfo | null = await this.client.head(o.key);
    if (!head) return null; // removed while we looked
    const created = head.metadata.created ? new Date(head.metadata.created) : head.lastModified;
    if (/^[0-9a-f]{64}$/.test(head.metadata.sha256 ?? "")) {
      return { name, key: o.key, etag: head.etag, size: head.size, sha256: head.metadata.sha256, createdAt: isNaN(created.getTime()) ? head.lastModified : created };
    }
    const response = await this.client.get(o.key, { ifMatch: head.etag });
    if (!response) return null; // changed while we looked: the next listing sees it
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.length;
    }
    return { name, key: o.key, etag: head.etag, size, sha256: hash.digest("hex"), createdAt: head.lastModified };
  }

  private async loadCache(): Promise<Map<string, Indexed>> {
    const out = new Map<string, Indexed>();
    if (this.index.size > 0) return out; // after the first listing, the index is the cache
    try {
      const text = await this.client.getText(this.prefix + CACHE_KEY);
      const saved = text ? (JSON.parse(text) as Record<string, CachedDigest>) : {};
      for (const [name, c] of Object.entries(saved)) {
        out.set(name, { name, key: this.prefix + name, etag: c.etag, size: c.size, sha256: c.sha256, createdAt: new Date(c.createdAt) });
      }
    } catch (err) {
      this.log(`index cache unreadable, describing every object again: ${(err as Error).message}`);
    }
    return out;
  }

  /**
   * Saves the index for the next start. Between commits (which hold the same
   * turn), then clears the marks of the changes it holds: a mark whose name
   * the bucket has with other bytes than the saved entry stays for the next save.
   */
  private saveCache(): Promise<void> {
    if (!this.cacheDirty || this.usesDatabase()) return Promise.resolve();
    return this.exclusive(async () => {
      if (!this.cacheDirty) return;
      this.cacheDirty = false;
      const saved: Record<string, CachedDigest> = {};
      for (const e of this.index.values()) saved[e.name] = { etag: e.etag, size: e.size, sha256: e.sha256, createdAt: e.createdAt.toISOString() };
      try {
        await this.client.put(this.prefix + CACHE_KEY, JSON.stringify(saved), { "content-type": "application/json" });
        for await (const mark of this.client.list(this.prefix + CHANGING)) {
          const name = mark.key.slice((this.prefix + CHANGING).length);
          const head = await this.client.head(this.prefix + name);
          if ((head?.etag ?? null) === (saved[name]?.etag ?? null)) await this.client.delete(mark.key);
        }
      } catch (err) {
        this.cacheDirty = true;
        throw err;
      }
    });
  }

  /** The saved index, with every name a mark says was being changed looked at again: the saved index as the bucket has it. */
  private async savedIndex(): Promise<Map<string, Indexed>> {
    const saved = await this.loadCache();
    if (saved.size === 0) return saved;
    for await (const mark of this.client.list(this.prefix + CHANGING)) {
      const name = mark.key.slice((this.prefix + CHANGING).length);
      const head = await this.client.head(this.prefix + name);
      const entry = head && (await this.describe(head));
      if (entry) saved.set(name, entry);
      else saved.delete(name);
    }
    return saved;
  }

  private readonly notMine = (_key: string, replica: string) => replica !== this.replicaId;

  /** Marks a name as being changed, before the change: a start from the saved index looks at it again. */
  private markChanging(name: string): Promise<unknown> {
    return this.client.put(this.prefix + CHANGING + name, "");
  }

  protected usesDatabase(): boolean {
    return false;
  }

  /** Aborts multipart uploads and removes staged objects of uploads no longer under way. */
  protected async sweep(isStale: (key: string, replicaId: string) => boolean | Promise<boolean>): Promise<number> {
    const staging = this.prefix + this.staging;
    let swept = 0;
    try {
      for (const u of await this.client.listMultipartUploads(staging)) {
        if (!(await isStale(u.key, replicaOf(u.key, staging)))) continue;
        await this.client.abortMultipart(u.key, u.uploadId);
        swept++;
      }
      for await (const o of this.client.list(staging)) {
        if (!(await isStale(o.key, replicaOf(o.key, staging)))) continue;
        await this.client.delete(o.key);
        swept++;
      }
    } catch (err) {
      this.log(`sweep of stale uploads failed: ${(err as Error).message}`);
    }
    if (swept > 0) this.log(`removed ${swept} leftover upload(s) from ${staging}`);
    return swept;
  }

  private async probe(): Promise<StoreHealth> {
    try {
      await this.client.headBucket();
    } catch (err) {
      return { readable: false, writable: false, indexed: true, detail: reason(err, this.client.settings.bucket) };
    }
    try {
      const key = `${this.prefix}${STAGING}probe-${this.replicaId}-${randomUUID()}`;
      await this.client.put(key, ".");
      await this.client.delete(key);
    } catch (err) {
      return { readable: true, writable: false, indexed: true, detail: reason(err, this.client.settings.bucket) };
    }
    // The index is complete from the start: open() describes every object before it resolves.
    return { readable: true, writable: true, indexed: true };
  }

  protected own(staged: StagedUpload): S3Staged {
    if (!(staged instanceof S3Staged) || staged.used) throw new Error("not an upload staged by this store, or one already used");
    return staged;
  }

  protected exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private skip(name: string, why: string): void {
    if (this.skipped.get(name) === why) return;
    this.skipped.set(name, why);
    this.log(`storage: not serving ${JSON.stringify(name)}: ${why}`);
  }

  protected changed(): void {
    this.sorted = null;
    for (const listener of this.listeners) listener();
  }
}

export function checkDocumentKey(key: string): void {
  if (!/^[a-z][a-z0-9-]*\.json$/.test(key)) throw new Error(`not a document key: ${key}`);
}

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

function replicaOf(key: string, staging: string): string {
  return key.slice(staging.length).split("/")[0];
}

function reason(err: unknown, bucket: string): string {
  const e = translateS3(err, bucket);
  return e instanceof StoreError ? e.detail : `the object storage cannot be used: ${(e as Error)?.message ?? e}`;
}

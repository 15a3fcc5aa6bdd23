// Several replicas on one bucket: the bytes in the bucket, the truth about
// names in PostgreSQL. Everything else (staging, readers, the in-memory index
// every read is answered from) is the single-replica S3Store's.
//
// - Uploads stream to a unique key P.objects/<replica>/<id>; a commit is one
//   transaction that publishes the name. overwrite=false is an insert into a
//   primary key, so of any number of concurrent uploads of one name through
//   any replicas exactly one wins; the losers' objects are deleted.
// - Every change is announced with NOTIFY; each replica LISTENs on its own
//   connection (which also holds its liveness lock) and updates its index
//   from the row that changed. After a lost connection it reloads everything.
// - Every INDEX_REFRESH_INTERVAL the bucket is listed and reconciled: a row
//   whose object is gone is dropped; an object put at P<name> by another tool
//   is published (or replaces the name, when newer than the row).
// - Staged objects of replicas that died mid-upload are swept: a replica is
//   dead when its advisory lock can be taken.
// - With the database down, reads are served from memory; writes fail with
//   StorageUnavailableError (503) and health says why; recovery is automatic.

import postgres from "postgres";
import { nameProblem, SIDECAR_SUFFIX } from "../../names.js";
import type { PackageEntry } from "../contract.js";
import { ConflictError, StorageUnavailableError, StoreError } from "../errors.js";
import type { DocumentChange, StagedUpload, StoreHealth } from "../contract.js";
import type { ObjectInfo } from "../s3/client.js";
import { S3Store, checkDocumentKey, type Indexed, type S3Staged, type S3StoreOptions } from "../s3/s3-store.js";
import { CHANNEL, databaseProblem, isConnectionError, openDatabase, releaseDatabase, type Sql } from "./database.js";

const OBJECTS = ".objects/";
const RECONNECT_MS = 500;
const HEALTH_TTL_MS = 1000;

export interface PgS3StoreOptions extends S3StoreOptions {
  databaseUrl: string;
  /** The repository, "" for the default one: rows are kept apart by bucket and prefix. */
  namespace: string;
}

interface Row {
  name: string;
  object_key: string;
  etag: string;
  size: string | number;
  sha256: string;
  created_at: Date;
}

export class PgS3Store extends S3Store {
  private sql!: Sql;
  private hasDatabase = false;
  private listener: Sql | null = null;
  private listening = false;
  private reconnecting: Promise<void> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private notifications: Promise<void> = Promise.resolve();
  private rowsNoted: Promise<void> | null = null;
  private dbHealth: { at: number; problem: string | null } | null = null;
  private readonly storeId: string;

  private constructor(private readonly pgOpts: PgS3StoreOptions) {
    super(pgOpts);
    this.staging = OBJECTS;
    this.storeId = `${pgOpts.client.settings.bucket}/${pgOpts.prefix}`;
  }

  static override async open(opts: PgS3StoreOptions): Promise<PgS3Store> {
    const store = new PgS3Store(opts);
    await store.start();
    return store;
  }

  protected override async start(): Promise<void> {
    await this.checkBucket();
    this.sql = await openDatabase(this.pgOpts.databaseUrl);
    this.hasDatabase = true;
    try {
      await this.connectListener();
      await this.reload(); // the index, from the database: reads can be answered
    } catch (err) {
      await this.close();
      throw err instanceof StoreError ? err : new StorageUnavailableError(databaseProblem(err));
    }
    // The bucket listed against the rows, and what dead replicas left behind swept (scan): in the
    // background, as every INDEX_REFRESH_INTERVAL after it.
    void this.refresh().catch((err) => this.log(`reconciling the bucket with the database failed (retried every INDEX_REFRESH_INTERVAL): ${(err as Error).message}`));
    this.startTimer();
    // Reconnects the listener (and its liveness lock) soon after the database comes back.
    this.watchdog = setInterval(() => {
      if (!this.listening && !this.closed) void this.connectListener().then(() => this.reload()).catch(() => {});
    }, RECONNECT_MS);
    (this.watchdog as { unref?: () => void }).unref?.();
  }

  override async close(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    await super.close();
    await this.notifications.catch(() => {});
    const listener = this.listener;
    this.listener = null;
    await listener?.end({ timeout: 1 }).catch(() => {});
    if (this.hasDatabase) await releaseDatabase(this.pgOpts.databaseUrl);
    this.hasDatabase = false;
  }

  // ------------------------------------------------------------------ listening

  /** One connection of its own: it LISTENs, and holds the lock that says this replica is alive. */
  private connectListener(): Promise<void> {
    this.reconnecting ??= (async () => {
      const old = this.listener;
      this.listener = null;
      await old?.end({ timeout: 0 }).catch(() => {});
      // onnotify is the option postgres.js's own listen() is built on; used
      // directly, the one connection that listens also holds the liveness lock,
      // and its loss is seen (onclose) and repaired by the watchdog.
      const sql = postgres(this.pgOpts.databaseUrl, {
        max: 1,
        idle_timeout: 0,
        max_lifetime: 0,
        connect_timeout: 5,
        onnotice: () => {},
        onnotify: (channel: string, payload: string) => {
          if (channel === CHANNEL) this.onNotify(payload);
        },
        onclose: () => {
          if (this.listener === sql) this.listening = false;
        },
      } as postgres.Options<{}>);
      try {
        await sql`select pg_advisory_lock(hashtext(${"release-server:replica:" + this.replicaId}))`;
        await sql.unsafe(`listen ${CHANNEL}`);
      } catch (err) {
        await sql.end({ timeout: 0 }).catch(() => {});
        throw err;
      }
      if (this.closed) {
        await sql.end({ timeout: 0 }).catch(() => {});
        return;
      }
      this.listener = sql;
      this.listening = true;
    })().finally(() => {
      this.reconnecting = null;
    });
    return this.reconnecting;
  }

  private onNotify(payload: string): void {
    let change: { store?: string; name?: string; document?: string };
    try {
      change = JSON.parse(payload);
    } catch {
      return;
    }
    if (change.store !== this.storeId) return;
    // A document (release metadata) another replica saved: what was built from it is stale now.
    if (typeof change.document === "string") this.changed();
    else if (typeof change.name === "string") this.reloadName(change.name);
  }

  /** Reads one name's row into the index, after every earlier one: the row read is at least as new as the notice. */
  private reloadName(name: string): void {
    this.notifications = this.notifications
      .then(async () => {
        const [row] = await this.sql<Row[]>`select * from rs_packages where store = ${this.storeId} and name = ${name}`;
        const known = this.index.get(name);
        if (row) {
          const entry = fromRow(row);
          if (known && known.key === entry.key && known.etag === entry.etag) return;
          this.index.set(name, entry);
        } else if (!this.index.delete(name)) return;
        this.changed();
      })
      .catch((err) => {
        this.log(`could not apply a change of ${JSON.stringify(name)} from the database: ${(err as Error).message}; reloading`);
        this.listening = false; // the watchdog reloads everything
      });
  }

  /** A WORKERS sibling changed these names: read their rows before the next answer (NOTIFY would tell us too, a moment later). */
  override noteChanged(names: readonly string[]): void {
    if (names.length === 0) this.changed(); // a document: its NOTIFY comes too, this is sooner
    for (const name of names) this.reloadName(name);
    this.rowsNoted = this.notifications;
  }

  /** The whole index from the database, as after a lost connection. */
  private async reload(): Promise<void> {
    const startedAt = performance.now();
    const rows = await this.rows();
    this.apply(rows, startedAt);
    this.markDb(null);
  }

  private async rows(): Promise<Map<string, Indexed>> {
    const rows = await this.sql<Row[]>`select * from rs_packages where store = ${this.storeId}`;
    return new Map(rows.map((r) => [r.name, fromRow(r)]));
  }

  // ------------------------------------------------------------------ reads

  /** The index is kept current by notifications; reads wait only for rows a WORKERS sibling just changed. */
  protected override async fresh(): Promise<void> {
    const noted = this.rowsNoted;
    if (noted) {
      await noted;
      if (this.rowsNoted === noted) this.rowsNoted = null;
    }
  }

  protected override async recheck(entry: Indexed): Promise<void> {
    // The object is gone or changed: drop or describe the row again, then read the truth.
    if ((await this.client.head(entry.key)) === null) await this.forget(entry).catch(() => {});
    this.index.delete(entry.name);
    const [row] = await this.sql<Row[]>`select * from rs_packages where store = ${this.storeId} and name = ${entry.name}`.catch(() => []);
    if (row && row.object_key !== entry.key) this.index.set(entry.name, fromRow(row));
    this.changed();
  }

  // ------------------------------------------------------------------ writes

  override async stage(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedUpload> {
    const problem = await this.databaseProblem();
    if (problem) throw new StorageUnavailableError(problem);
    return super.stage(source, maxBytes);
  }

  protected override async publish(staged: S3Staged, name: string, overwrite: boolean): Promise<{ entry: Indexed; replaced: boolean }> {
    const head = await this.client.head(staged.key);
    if (!head) throw new StorageUnavailableError("the uploaded object vanished from the bucket before it was published; nothing was stored");
    const entry: Indexed = { name, key: staged.key, etag: head.etag, size: staged.size, sha256: staged.sha256, createdAt: new Date() };
    const old = await this.db(() =>
      this.sql.begin(async (tx) => {
        const [previous] = await tx<{ object_key: string }[]>`select object_key from rs_packages where store = ${this.storeId} and name = ${name} for update`;
        if (previous && !overwrite) throw new ConflictError(`a package named "${name}" already exists`);
        const inserted = await tx`
          insert into rs_packages (store, name, object_key, etag, size, sha256, created_at)
          values (${this.storeId}, ${name}, ${entry.key}, ${entry.etag}, ${entry.size}, ${entry.sha256}, ${entry.createdAt})
          on conflict (store, name) do update set object_key = excluded.object_key, etag = excluded.etag, size = excluded.size,
            sha256 = excluded.sha256, created_at = excluded.created_at
          where ${overwrite}
          returning name`;
        // A concurrent create of the same name committed between our select and insert.
        if (inserted.length === 0) throw new ConflictError(`a package named "${name}" already exists`);
        await tx`select pg_notify(${CHANNEL}, ${this.notice(name)})`;
        return previous?.object_key ?? null;
      }),
    );
    if (old) await this.deleteObject(old, name);
    return { entry, replaced: old !== null };
  }

  protected override async unpublish(name: string): Promise<boolean> {
    const removed = await this.db(() =>
      this.sql.begin(async (tx) => {
        const rows = await tx<{ object_key: string }[]>`delete from rs_packages where store = ${this.storeId} and name = ${name} returning object_key`;
        await tx`delete from rs_downloads where store = ${this.storeId} and name = ${name}`;
        if (rows.length > 0) await tx`select pg_notify(${CHANNEL}, ${this.notice(name)})`;
        return rows[0]?.object_key ?? null;
      }),
    );
    if (removed === null) return false;
    await this.deleteObject(removed, name);
    return true;
  }

  /**
   * Retention as one transaction under an advisory lock: replicas applying it
   * at once take turns, each choosing from the names as they are then, so
   * together they never remove more than one would.
   */
  async prune(choose: (packages: readonly PackageEntry[]) => PackageEntry[] | Promise<PackageEntry[]>): Promise<PackageEntry[]> {
    const doomed = await this.db(() =>
      this.sql.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(hashtext(${"release-server:retention:" + this.storeId}))`;
        const rows = (await tx<Row[]>`select * from rs_packages where store = ${this.storeId}`).map(fromRow);
        rows.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.name < b.name ? -1 : 1));
        const chosen = new Set((await choose(rows)).map((p) => p.name));
        const gone = rows.filter((r) => chosen.has(r.name));
        for (const r of gone) {
          await tx`delete from rs_packages where store = ${this.storeId} and name = ${r.name}`;
          await tx`delete from rs_downloads where store = ${this.storeId} and name = ${r.name}`;
          await tx`select pg_notify(${CHANNEL}, ${this.notice(r.name)})`;
        }
        return gone;
      }),
    );
    for (const r of doomed) {
      this.touched.set(r.name, performance.now());
      this.index.delete(r.name);
      await this.deleteObject(r.key, r.name);
    }
    if (doomed.length > 0) this.changed();
    return doomed.map(({ name, size, sha256, createdAt }) => ({ name, size, sha256, createdAt }));
  }

  override async loadDocument(key: string): Promise<string | null> {
    checkDocumentKey(key);
    const [row] = await this.db(() => this.sql<{ body: string }[]>`select body from rs_documents where store = ${this.storeId} and key = ${key}`);
    return row?.body ?? null;
  }

  /** A whole new text is an update that ignores the old one: the same transaction, lock and notice. */
  override saveDocument(key: string, text: string): Promise<void> {
    return this.updateDocument(key, () => text);
  }

  /** Under a transaction-scoped advisory lock per document: replicas updating one document take turns. */
  override async updateDocument(key: string, change: DocumentChange): Promise<void> {
    checkDocumentKey(key);
    let failed: { err: unknown } | null = null; // change's own error, not the database's
    try {
      await this.db(() =>
        this.sql.begin(async (tx) => {
          await tx`select pg_advisory_xact_lock(hashtext(${"release-server:document:" + this.storeId + ":" + key}))`;
          const [row] = await tx<{ body: string }[]>`select body from rs_documents where store = ${this.storeId} and key = ${key}`;
          let next: string | null;
          try {
            next = await change(row?.body ?? null);
          } catch (err) {
            failed = { err };
            throw err;
          }
          if (next !== null) {
            await tx`insert into rs_documents (store, key, body) values (${this.storeId}, ${key}, ${next})
                     on conflict (store, key) do update set body = excluded.body`;
            await tx`select pg_notify(${CHANNEL}, ${JSON.stringify({ store: this.storeId, document: key })})`;
          }
        }),
      );
    } catch (err) {
      throw failed ? (failed as { err: unknown }).err : err;
    }
    this.changed();
  }

  /** Adds downloads counted on this replica to the shared counts; returns the totals. */
  async addDownloads(counts: { name: string; sha256: string; count: number }[]): Promise<{ name: string; sha256: string; count: number }[]> {
    return this.db(() =>
      this.sql.begin(async (tx) => {
        for (const c of counts) {
          await tx`insert into rs_downloads (store, name, sha256, count) values (${this.storeId}, ${c.name}, ${c.sha256}, ${c.count})
                   on conflict (store, name) do update set
                     count = case when rs_downloads.sha256 = excluded.sha256 then rs_downloads.count + excluded.count else excluded.count end,
                     sha256 = excluded.sha256`;
        }
        const rows = await tx<{ name: string; sha256: string; count: string }[]>`select name, sha256, count from rs_downloads where store = ${this.storeId}`;
        return rows.map((r) => ({ name: r.name, sha256: r.sha256, count: Number(r.count) }));
      }),
    );
  }

  override async health(): Promise<StoreHealth> {
    const bucket = await super.health();
    const problem = await this.databaseProblem();
    if (!problem) return bucket;
    if (bucket.detail) return { ...bucket, writable: false, detail: `${bucket.detail}; ${problem}` };
    return { ...bucket, writable: false, detail: problem, writesDownEverywhere: true };
  }

  // ------------------------------------------------------------------ the bucket, reconciled

  /** Lists the bucket against the rows read just before: drops rows whose object is gone, adopts objects put at P<name>. */
  protected override async scan(): Promise<Map<string, Indexed>> {
    if (!(await this.databaseProblem())) {
      const rows = await this.rows(); // first: every row read here has its object in the listing below
      const objects = new Map<string, ObjectInfo>();
      for (const o of await this.listTop([...rows.keys()])) objects.set(o.key, o);
      for await (const o of this.client.list(this.prefix + OBJECTS)) objects.set(o.key, o);
      for (const row of rows.values()) if (!objects.has(row.key)) await this.forget(row);
      const referenced = new Set([...rows.values()].map((r) => r.key));
      const alive = new Map<string, Promise<boolean>>();
      for (const o of objects.values()) {
        const name = o.key.slice(this.prefix.length);
        if (name.startsWith(".") || name.toLowerCase().endsWith(SIDECAR_SUFFIX) || nameProblem(name)) continue;
        const row = rows.get(name);
        if (row && (row.key === o.key ? row.etag === o.etag : o.lastModified <= row.createdAt)) continue;
        await this.adopt(o, row);
      }
      await this.sweep(async (key, replica) => {
        if (referenced.has(key) || replica === this.replicaId) return false;
        if (!alive.has(replica)) alive.set(replica, this.isAlive(replica));
        return !(await alive.get(replica)) && (await this.isStale(key, replica));
      });
    }
    return this.rows();
  }

  /** Publishes an object another tool put at P<name>, or its replacement of the name. */
  private async adopt(o: ObjectInfo, row: Indexed | undefined): Promise<void> {
    const entry = await this.describe(o);
    if (!entry) return;
    const changed = await this.sql.begin(async (tx) => {
      const done = row
        ? await tx`update rs_packages set object_key = ${entry.key}, etag = ${entry.etag}, size = ${entry.size}, sha256 = ${entry.sha256}, created_at = ${entry.createdAt}
                   where store = ${this.storeId} and name = ${entry.name} and object_key = ${row.key} and etag = ${row.etag} returning name`
        : await tx`insert into rs_packages (store, name, object_key, etag, size, sha256, created_at)
                   values (${this.storeId}, ${entry.name}, ${entry.key}, ${entry.etag}, ${entry.size}, ${entry.sha256}, ${entry.createdAt})
                   on conflict do nothing returning name`;
      if (done.length > 0) await tx`select pg_notify(${CHANNEL}, ${this.notice(entry.name)})`;
      return done.length > 0;
    });
    if (!changed) return;
    this.log(`adopted ${entry.name}, put into the bucket by another tool`);
    if (row && row.key !== entry.key) await this.deleteObject(row.key, row.name);
    // Removed again while we adopted it: do not keep a name for nothing.
    if ((await this.client.head(entry.key)) === null) await this.forget(entry);
  }

  /** Drops a row whose object is gone, unless the name has moved on to other bytes meanwhile. */
  private async forget(row: Indexed): Promise<void> {
    await this.sql.begin(async (tx) => {
      const gone = await tx`delete from rs_packages where store = ${this.storeId} and name = ${row.name} and object_key = ${row.key} returning name`;
      if (gone.length > 0) await tx`select pg_notify(${CHANNEL}, ${this.notice(row.name)})`;
    });
  }

  /** A staged object is stale when its replica is gone (its lock is free) and no row uses it. */
  private async isStale(key: string, replica: string): Promise<boolean> {
    if (replica === this.replicaId || (await this.isAlive(replica))) return false;
    const [used] = await this.sql`select 1 from rs_packages where store = ${this.storeId} and object_key = ${key}`;
    return !used;
  }

  /** A replica holds its lock on its listening connection for as long as it runs. */
  private isAlive(replica: string): Promise<boolean> {
    return this.sql.begin(async (tx) => {
      const [{ free }] = await tx<{ free: boolean }[]>`select pg_try_advisory_xact_lock(hashtext(${"release-server:replica:" + replica})) as free`;
      return !free;
    });
  }

  private async deleteObject(key: string, name: string): Promise<void> {
    try {
      await this.client.delete(key);
      if (key === this.prefix + name) await this.client.delete(key + SIDECAR_SUFFIX);
    } catch (err) {
      this.log(`could not delete the object ${key} of ${name} (${(err as Error).message}); it is removed by a later sweep`);
    }
  }

  // ------------------------------------------------------------------ the database's health

  private notice(name: string): string {
    return JSON.stringify({ store: this.storeId, name });
  }

  /** Runs a statement; a lost database becomes a 503 with the reason. */
  private async db<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const result = await fn();
      this.markDb(null);
      return result;
    } catch (err) {
      if (err instanceof StoreError) throw err;
      if (isConnectionError(err)) {
        const problem = databaseProblem(err);
        this.markDb(problem);
        throw new StorageUnavailableError(problem);
      }
      throw new StorageUnavailableError(databaseProblem(err));
    }
  }

  private markDb(problem: string | null): void {
    this.dbHealth = { at: Date.now(), problem };
  }

  /** Why the database cannot take writes now, or null; asked at most once a second. */
  private async databaseProblem(): Promise<string | null> {
    const cached = this.dbHealth;
    if (cached && Date.now() - cached.at <= HEALTH_TTL_MS) return cached.problem;
    try {
      await this.sql`select 1`;
      this.markDb(null);
    } catch (err) {
      this.markDb(databaseProblem(err));
    }
    return this.dbHealth!.problem;
  }

  protected override usesDatabase(): boolean {
    return true;
  }
}

function fromRow(r: Row): Indexed {
  return { name: r.name, key: r.object_key, etag: r.etag, size: Number(r.size), sha256: r.sha256, createdAt: new Date(r.created_at) };
}

// The store's one door: the contract, its errors, and the backend the
// configuration chooses. Everything outside src/store/ imports from here.

import { FsStore } from "./fs/fs-store.js";
import type { SyncFiles } from "./fs/files.js";
import type { PackageStore } from "./contract.js";
import type { S3Config } from "../config.js";

export type { DocumentChange, KeptBytes, PackageEntry, PackageReader, PackageStore, StagedUpload, StoreHealth } from "./contract.js";
export * from "./errors.js";
export { DownloadCounts } from "./download-counts.js";
export type { FileStat, SyncFiles } from "./fs/files.js";

export interface StoreOptions {
  storagePath: string;
  log: (message: string) => void;
  /**
   * Which repository's store: [] is the default repository, ["owner", "repo"]
   * another one. The caller checks the names (src/github/repo-names.ts); each
   * backend maps a namespace to its medium (the filesystem: a hidden
   * subdirectory `.repos/<owner>/<repo>/`, created when first opened; object
   * storage: the prefix `<S3_PREFIX>repos/<owner>/<repo>/`).
   */
  namespace?: readonly string[];
  backend?: "fs" | "s3";
  s3?: S3Config | null;
  /** Seconds between listings of the bucket. */
  indexRefreshInterval?: number;
  databaseUrl?: string | null;
  /** Remove leftover uploads at startup (default); a WORKERS worker leaves that to the primary. */
  sweep?: boolean;
  /** Opened at startup, before the server answers anything: its first scan may block. */
  beforeServing?: boolean;
  /**
   * Build the index when first asked, not at open: for a WORKERS primary, which serves nothing and
   * needs the index only to prune download counts, while its workers build their own. On a directory
   * and a bucket without a database (whose index then is not listed again on a timer either); with
   * a database the store reads its index from it at open, and reconciles it with the bucket as usual.
   */
  indexWhenAsked?: boolean;
  /**
   * A directory may be stat'ed once per turn of the event loop instead of once per request: only
   * where a turn is Node's (every request answered in it was received before the stat).
   */
  statOncePerTurn?: boolean;
  /** fs.watch names every change of the directory in time (src/adapters/types.ts, StoreSupport). */
  watchReports?: "in-time" | "in-order";
  /** The directory store's blocking calls, where the runtime has cheaper ones than node:fs (src/adapters/types.ts). */
  syncFiles?: SyncFiles;
}

/** How long a redirected download's presigned URL stays valid. */
export const REDIRECT_SECONDS = 300;

export async function openStore(opts: StoreOptions): Promise<PackageStore> {
  const namespace = opts.namespace ?? [];
  if ((opts.backend ?? "fs") === "fs") {
    return FsStore.open(FsStore.directoryFor(opts.storagePath, namespace), { log: opts.log, create: namespace.length > 0, sweep: opts.sweep, syncFirstScan: opts.beforeServing, statOncePerTurn: opts.statOncePerTurn, watchReports: opts.watchReports, syncFiles: opts.syncFiles, indexWhenAsked: opts.indexWhenAsked });
  }
  // Loaded only when chosen: a server on a directory never loads the object-storage code.
  const [{ S3Client }, { S3Store }] = await Promise.all([import("./s3/client.js"), import("./s3/s3-store.js")]);
  const s3 = opts.s3!;
  const client = new S3Client(s3);
  const storeOpts = {
    client,
    prefix: namespacePrefix(s3.prefix, namespace),
    refreshIntervalMs: (opts.indexRefreshInterval ?? 30) * 1000,
    redirectSeconds: s3.redirectDownloads ? REDIRECT_SECONDS : 0,
    log: opts.log,
    sweep: opts.sweep,
    indexWhenAsked: opts.indexWhenAsked,
  };
  if (opts.databaseUrl) {
    const { PgS3Store } = await import("./pg/pg-store.js");
    return PgS3Store.open({ ...storeOpts, databaseUrl: opts.databaseUrl, namespace: namespace.join("/") });
  }
  return S3Store.open(storeOpts);
}

/** The default repository lives at S3_PREFIX itself; another under repos/<owner>/<repo>/. */
export function namespacePrefix(prefix: string, namespace: readonly string[]): string {
  return namespace.length === 0 ? prefix : `${prefix}repos/${namespace.join("/")}/`;
}

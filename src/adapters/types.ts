import type { App } from "../app.js";
import type { Logger } from "../ops/log.js";
import type { SyncFiles } from "../store/index.js";

export interface ServeOptions {
  host: string;
  port: number;
  /** Largest request body the runtime must accept; the app enforces the exact limit. */
  maxBodyBytes: number;
  /** PEM certificate chain and key: serve HTTPS (HTTP/1.1) instead of HTTP. */
  tls?: { cert: string; key: string };
  /** Milliseconds; 0 turns a limit off. See the README's "Timeouts and limits". */
  headersTimeout: number;
  bodyIdleTimeout: number;
  sendTimeout: number;
  keepAliveTimeout: number;
  /** Open connections at most; 0 means no limit of our own. */
  maxConnections: number;
  /** One of several processes on one port (WORKERS under Bun and Deno): the kernel spreads connections (SO_REUSEPORT). */
  reusePort?: boolean;
  log: Logger;
}

export interface RunningServer {
  /** Where the server listens, for the startup log, e.g. http://127.0.0.1:8000 */
  url: string;
  /** Stops accepting connections; resolves when the open ones have finished. */
  close(): Promise<void>;
  /** Cuts every open connection; for when close() took too long. */
  forceClose(): void;
  /** Client connections open now (requests in flight where the runtime does not count connections). */
  openConnections(): number;
}

export type Serve = (app: App, options: ServeOptions) => Promise<RunningServer>;

/** How WORKERS processes (node:cluster workers) share the port under this runtime. */
export interface WorkerSupport {
  /** Each worker binds the port itself with SO_REUSEPORT (else node:cluster's primary shares its socket). */
  bindsOwnPort: boolean;
  /** Why workers cannot run in this process (a permission or flag missing), or undefined when they can. */
  unavailable?(): string | undefined;
}

/** What the directory store should know of this runtime (src/store/fs/fs-store.ts). */
export interface StoreSupport {
  /**
   * The event loop answers every request it read in one turn before its setImmediate callbacks (as
   * Node's does), so the storage directory may be stat'ed once per turn instead of per request.
   */
  statOncePerTurn: boolean;
  /**
   * How fs.watch reports the changes of the storage directory. "in-time": before the next request
   * is read (Node's inotify, read by libuv before the sockets that became readable after it), so
   * one more poll of the loop brings every report of a change made before a request. "in-order":
   * in the order of the changes but late, so the store touches a file of its own and waits for its
   * report (fs-store.ts, caughtUp).
   */
  watchReports: "in-time" | "in-order";
  /** The directory store's blocking calls (the first scan, the directory check, the check of kept bytes), where the runtime has cheaper ones than node:fs. */
  syncFiles?: SyncFiles;
}

/** What each module in src/adapters/ exports. */
export interface Adapter {
  serve: Serve;
  workers: WorkerSupport;
  store: StoreSupport;
}

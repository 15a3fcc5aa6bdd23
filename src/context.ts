import type { TokenAuth } from "./auth.js";
import type { Config } from "./config.js";
import type { Repositories } from "./github/repositories.js";
import type { Logger } from "./ops/log.js";
import type { Metrics } from "./ops/metrics.js";
import type { Params } from "./router.js";
import type { PackageEntry, PackageStore } from "./store/index.js";

export interface RequestContext {
  request: Request;
  url: URL;
  params: Params;
}

export type Handler = (ctx: RequestContext) => Promise<Response> | Response;

/** What the routes need from the outside world, handed in once at startup. */
export interface Deps {
  config: Config;
  /** The default repository's store: the older API's packages. */
  storage: PackageStore;
  /** Every repository, the default one included. */
  repositories: Repositories;
  /** `log(message)` logs at info; also log.debug/info/warn/error(message, fields). */
  log: Logger;
  /** The upload tokens; `auth.authorize(request)` throws 401 without a current one. */
  auth: TokenAuth;
  /** Counters for GET /metrics; absent in unit tests. */
  metrics?: Metrics;
  /** Called when a download has sent every byte of a package. */
  onDownloadComplete?: (entry: PackageEntry) => void;
  /** Completed downloads of these exact bytes so far, for release assets' download_count. */
  downloadCount?: (entry: PackageEntry) => number;
}

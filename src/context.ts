import type { Config } from "./config.js";
import type { Repositories } from "./github/repositories.js";
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
  log: (message: string) => void;
  /** Called when a download has sent every byte of a package. */
  onDownloadComplete?: (entry: PackageEntry) => void;
  /** Completed downloads of these exact bytes so far, for release assets' download_count. */
  downloadCount?: (entry: PackageEntry) => number;
}

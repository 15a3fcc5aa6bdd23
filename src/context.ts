import type { Config } from "./config.js";
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
  storage: PackageStore;
  log: (message: string) => void;
  /** Called when a download has sent every byte of a package. */
  onDownloadComplete?: (entry: PackageEntry) => void;
  /** Completed downloads of these exact bytes so far, for release assets' download_count. */
  downloadCount?: (entry: PackageEntry) => number;
}

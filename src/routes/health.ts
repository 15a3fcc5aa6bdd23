import { constants } from "node:fs";
import { access } from "node:fs/promises";
import type { Deps, Handler } from "../context.js";
import { json, text } from "../http.js";

export const health: Handler = () => json({ status: "ok" });

export const liveness: Handler = () => text("OK");

/** Ready while the storage directory can be read and written. */
export function readiness({ config }: Deps): Handler {
  return async () => {
    try {
      await access(config.storagePath, constants.R_OK | constants.W_OK | constants.X_OK);
      return text("OK");
    } catch {
      return text("storage directory is not readable and writable", 503);
    }
  };
}

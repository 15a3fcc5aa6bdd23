import type { Deps, Handler } from "../context.js";
import { json, text } from "../http.js";

export const health: Handler = () => json({ status: "ok" });

export const liveness: Handler = () => text("OK");

/** Ready while the store can be read and written: a full or read-only volume is not ready. */
export function readiness({ storage }: Deps): Handler {
  return async () => {
    const state = await storage.health();
    return state.readable && state.writable ? text("OK") : text(`not ready: ${state.detail}`, 503);
  };
}

import type { Deps, Handler } from "../context.js";
import { json, text } from "../http.js";

export const health: Handler = () => json({ status: "ok" });

export const liveness: Handler = () => text("OK");

/** Ready while the store can be read and written and its index is complete: a full or read-only volume is not ready. */
export function readiness({ storage }: Deps): Handler {
  return async () => {
    const state = await storage.health();
    return state.readable && state.writable && state.indexed ? text("OK") : text(`not ready: ${state.detail}`, 503);
  };
}

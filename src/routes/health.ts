import type { Deps, Handler } from "../context.js";
import { json, text } from "../http.js";

export const health: Handler = () => json({ status: "ok" });

export const liveness: Handler = () => text("OK");

/**
 * Ready while the store can be read and written and its index is complete: a
 * full or read-only volume is not ready. When the shared database is down,
 * every replica is read-only alike and still serves reads, so each stays ready
 * and says so: failing them all would take the reads away too.
 */
export function readiness({ storage }: Deps): Handler {
  return async () => {
    const state = await storage.health();
    if (!state.readable || !state.indexed) return text(`not ready: ${state.detail}`, 503);
    if (state.writable) return text("OK");
    return state.writesDownEverywhere ? text(`OK, read-only: ${state.detail}`) : text(`not ready: ${state.detail}`, 503);
  };
}

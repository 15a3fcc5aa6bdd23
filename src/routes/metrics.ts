import type { Deps, Handler } from "../context.js";

/** GET /metrics: the Prometheus text format; with METRICS=token it needs an upload token. */
export function metricsRoute(deps: Deps): Handler {
  return async ({ request }) => {
    if (deps.config.metrics === "token") deps.auth.authorize(request);
    const { body, contentType } = await deps.metrics!.render();
    return new Response(body, { headers: { "content-type": contentType, "cache-control": "no-store" } });
  };
}

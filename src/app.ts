// The whole service as one web-standard handler: (Request) => Promise<Response>.
// Runtime adapters turn their native requests into Requests and call fetch().

import type { Deps, Handler } from "./context.js";
import { errorResponse, HttpError, json } from "./http.js";
import { inScope, requestIdFrom, type RequestScope } from "./ops/request-scope.js";
import { Router } from "./router.js";
import { downloadAsset } from "./routes/assets.js";
import { checksumRoutes } from "./routes/checksums.js";
import { health, liveness, readiness } from "./routes/health.js";
import { metricsRoute } from "./routes/metrics.js";
import { openapiRoutes } from "./routes/openapi.js";
import { deletePackage, listPackages } from "./routes/packages.js";
import { releaseRoutes, type RouteSpec } from "./routes/releases.js";
import { putPackage, tooLarge, uploadPackage } from "./routes/upload.js";
import { TooLargeError } from "./storage.js";

/** What the adapter knows about the connection a request came on. */
export interface Connection {
  client?: string;
}

/** How sending a response ended, as the adapter saw it. */
export interface Outcome {
  /** Request body bytes received (the declared Content-Length where the runtime does not count). */
  bytesIn: number;
  /** Response body bytes handed to the connection. */
  bytesOut: number;
  /** The client went away (or was dropped) before the whole response was sent. */
  aborted: boolean;
  /** The status actually sent, when the adapter answered instead of the app (a 408 for a stalled body). */
  status?: number;
}

export interface App {
  fetch(request: Request, connection?: Connection): Promise<Response>;
  /** Adapters call this once per response, when it has been sent in full or abandoned: the access log and metrics. */
  finished(response: Response, outcome: Outcome): void;
  /** Resolves once no request is being handled; used to let uploads clean up on shutdown. */
  idle(): Promise<void>;
}

/** Every route of the service: [method, pattern, handler]. HEAD is served wherever GET is. */
export function routes(deps: Deps): RouteSpec[] {
  const openapi = openapiRoutes();
  return [
    ["GET", "/health", health],
    ["GET", "/healthz", liveness],
    ["GET", "/readyz", readiness(deps)],
    ["GET", "/openapi.yaml", openapi.yaml],
    ["GET", "/docs", openapi.docs],
    ...(deps.config.metrics !== "off" && deps.metrics ? [["GET", "/metrics", metricsRoute(deps)] as RouteSpec] : []),
    ["GET", "/packages", listPackages(deps)],
    ["DELETE", "/packages/:name", deletePackage(deps)],
    ["GET", "/assets/:name", downloadAsset(deps)],
    ["PUT", "/assets/:name", putPackage(deps)],
    ["DELETE", "/assets/:name", deletePackage(deps)],
    ["POST", "/upload", uploadPackage(deps)],
    // /latest and the GitHub Releases API, at the root and under the GitHub prefixes.
    ...releaseRoutes(deps),
    ...checksumRoutes(deps),
  ];
}

export function createApp(deps: Deps): App {
  const router = new Router<{ handler: Handler; pattern: string }>();
  for (const [method, pattern, handler] of routes(deps)) router.add(method, pattern, { handler, pattern });

  const inflight = new Set<Promise<Response>>();
  let idleWaiters: (() => void)[] = [];
  /** Each response's request, until the adapter reports it finished. */
  const scopes = new WeakMap<Response, RequestScope>();

  async function handle(request: Request, scope: RequestScope): Promise<Response> {
    const response = await route(request, scope);
    scope.status = response.status;
    response.headers.set("x-request-id", scope.id);
    scopes.set(response, scope);
    return response;
  }

  async function route(request: Request, scope: RequestScope): Promise<Response> {
    const url = new URL(request.url);
    scope.path = url.pathname;
    const match = router.match(request.method, url.pathname);
    try {
      switch (match.kind) {
        case "found":
          scope.route = match.handler.pattern;
          return withCommonHeaders(await match.handler.handler({ request, url, params: match.params }));
        case "method-not-allowed":
          throw new HttpError(405, `${request.method} is not allowed here; use ${match.allow.join(", ")}`, { allow: match.allow.join(", ") });
        case "bad-path":
          throw new HttpError(400, "the path is not valid percent-encoding");
        case "not-found":
          throw new HttpError(404, `nothing at ${url.pathname}; see /openapi.yaml for the API`);
      }
    } catch (err) {
      return withCommonHeaders(toErrorResponse(err, deps));
    }
  }

  return {
    fetch(request, connection = {}) {
      const scope: RequestScope = {
        id: requestIdFrom(request.headers.get("x-request-id")),
        method: request.method,
        path: "",
        start: performance.now(),
        client: connection.client ?? "",
        userAgent: request.headers.get("user-agent") ?? "",
      };
      const pending = inScope(scope, () => handle(request, scope));
      inflight.add(pending);
      const done = () => {
        inflight.delete(pending);
        if (inflight.size === 0) {
          for (const wake of idleWaiters) wake();
          idleWaiters = [];
        }
      };
      pending.then(done, done);
      return pending;
    },
    finished(response, { bytesIn, bytesOut, aborted, status = response.status }) {
      const scope = scopes.get(response);
      if (!scope) return;
      scopes.delete(response);
      const seconds = (performance.now() - scope.start) / 1000;
      const route = scope.route ?? "(unmatched)";
      deps.metrics?.observe({ method: scope.method, route, status, seconds, bytesIn, bytesOut, aborted });
      deps.log.info("request", {
        request_id: scope.id,
        method: scope.method,
        path: scope.path,
        route,
        status,
        bytes_in: bytesIn,
        bytes_out: bytesOut,
        duration_ms: Math.round(seconds * 1e4) / 10,
        client: scope.client,
        user_agent: scope.userAgent,
        ...(scope.token ? { token: scope.token } : {}),
        ...(aborted ? { aborted: true } : {}),
      });
    },
    idle() {
      return inflight.size === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}

function toErrorResponse(err: unknown, deps: Deps): Response {
  if (err instanceof HttpError) return errorResponse(err);
  if (err instanceof TooLargeError) return errorResponse(tooLarge(deps.config.maxUploadSize));
  const { code, path } = (err ?? {}) as NodeJS.ErrnoException;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return errorResponse(new HttpError(507, "the storage volume is full; nothing was stored"));
  }
  if (code === "ENOENT" && path === deps.config.storagePath) {
    return errorResponse(new HttpError(503, "the storage directory is missing; it may be mounted again, or the server restarted to create it"));
  }
  deps.log.error("internal error", { error: (err as Error)?.stack ?? String(err) });
  return json({ detail: "internal server error; the server log has the details" }, 500);
}

function withCommonHeaders(response: Response): Response {
  response.headers.set("x-content-type-options", "nosniff");
  return response;
}

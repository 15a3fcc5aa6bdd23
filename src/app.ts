// The whole service as one web-standard handler: (Request) => Promise<Response>.
// Runtime adapters turn their native requests into Requests and call fetch().

import type { Deps, Handler } from "./context.js";
import { errorResponse, HttpError, json } from "./http.js";
import { apiRoot, currentUser } from "./github/api-root.js";
import { graphqlRoute } from "./github/graphql.js";
import { Router } from "./router.js";
import { downloadAsset } from "./routes/assets.js";
import { checksumRoutes } from "./routes/checksums.js";
import { health, liveness, readiness } from "./routes/health.js";
import { openapiRoutes } from "./routes/openapi.js";
import { deletePackage, listPackages } from "./routes/packages.js";
import { releaseRoutes, type RouteSpec } from "./routes/releases.js";
import { putPackage, tooLarge, uploadPackage } from "./routes/upload.js";
import { StoreError } from "./store/index.js";

export interface App {
  fetch(request: Request): Promise<Response>;
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
    ["GET", "/packages", listPackages(deps)],
    ["DELETE", "/packages/:name", deletePackage(deps)],
    ["GET", "/assets/:name", downloadAsset(deps)],
    ["PUT", "/assets/:name", putPackage(deps)],
    ["DELETE", "/assets/:name", deletePackage(deps)],
    ["POST", "/upload", uploadPackage(deps)],
    // /latest and the GitHub Releases API, at the root and under the GitHub prefixes.
    ["GET", "/api/v3", apiRoot(deps)],
    ["GET", "/api/v3/", apiRoot(deps)],
    ["GET", "/api/v3/user", currentUser(deps)],
    ["POST", "/api/graphql", graphqlRoute(deps)],
    ...releaseRoutes(deps),
    ...checksumRoutes(deps),
  ];
}

export function createApp(deps: Deps): App {
  const router = new Router<Handler>();
  for (const [method, pattern, handler] of routes(deps)) router.add(method, pattern, handler);

  const inflight = new Set<Promise<Response>>();
  let idleWaiters: (() => void)[] = [];

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const match = router.match(request.method, url.pathname);
    try {
      switch (match.kind) {
        case "found":
          return withCommonHeaders(await match.handler({ request, url, params: match.params }));
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
    fetch(request) {
      const pending = handle(request);
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
    idle() {
      return inflight.size === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}

/** The store's typed errors as HTTP statuses: the one place they are mapped. */
const STORE_STATUS: Record<StoreError["kind"], number> = {
  conflict: 409,
  "too-large": 413,
  "invalid-name": 400,
  full: 507,
  unavailable: 503,
  aborted: 400,
};

function toErrorResponse(err: unknown, deps: Deps): Response {
  if (err instanceof HttpError) return errorResponse(err);
  if (err instanceof StoreError) {
    if (err.kind === "too-large") return errorResponse(tooLarge(deps.config.maxUploadSize));
    // The client left: nobody reads the answer, and it is not the server's fault.
    if (err.kind === "aborted") deps.log(`upload aborted by the client: ${err.detail}`);
    return errorResponse(new HttpError(STORE_STATUS[err.kind], err.detail));
  }
  deps.log(`internal error: ${(err as Error)?.stack ?? String(err)}`);
  return json({ detail: "internal server error; the server log has the details" }, 500);
}

function withCommonHeaders(response: Response): Response {
  response.headers.set("x-content-type-options", "nosniff");
  return response;
}

// The whole service as one web-standard handler: (Request) => Promise<Response>.
// Runtime adapters turn their native requests into Requests and call fetch().

import { createHash } from "node:crypto";
import type { Deps, Handler, RequestContext } from "./context.js";
import { errorResponse, HttpError, json } from "./http.js";
import { apiRoot, currentUser } from "./github/api-root.js";
import { graphqlRoute } from "./github/graphql.js";
import { packageBodyOf } from "./package-body.js";
import { publicBaseUrl } from "./public-url.js";
import { answerResponse, isIndexOnly, ResponseCache } from "./response-cache.js";
import { Router } from "./router.js";
import { downloadAsset } from "./routes/assets.js";
import { checksumRoutes } from "./routes/checksums.js";
import { health, liveness, readiness } from "./routes/health.js";
import { openapiRoutes } from "./routes/openapi.js";
import { deletePackage, listPackages } from "./routes/packages.js";
import { landing, releaseTag, repositoryReleases } from "./routes/pages.js";
import { releaseRoutes, type RouteSpec } from "./routes/releases.js";
import { staticRoutes } from "./routes/static.js";
import { putPackage, tooLarge, uploadPackage } from "./routes/upload.js";
import { StoreError } from "./store/index.js";

export interface App {
  fetch(request: Request): Promise<Response>;
  /** Drops every answer built from the index; for changes the store does not see (saved download counts). */
  invalidate(): void;
  /** Resolves once no request is being handled; used to let uploads clean up on shutdown. */
  idle(): Promise<void>;
}

/** Every route of the service: [method, pattern, handler]. HEAD is served wherever GET is. */
export function routes(deps: Deps): RouteSpec[] {
  const openapi = openapiRoutes();
  const files = staticRoutes();
  return [
    ["GET", "/", landing(deps)],
    ["GET", "/health", health],
    ["GET", "/healthz", liveness],
    ["GET", "/readyz", readiness(deps)],
    ["GET", "/openapi.yaml", openapi.yaml],
    ["GET", "/openapi.json", openapi.json],
    ["GET", "/docs", openapi.docs],
    ["GET", "/static/:name", files.own],
    ["GET", "/static/swagger-ui/:name", files.swagger],
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
    // Pages for people; the release pages also exist per repository, as on GitHub.
    ["GET", "/releases/tag/:tag", releaseTag(deps)],
    ["GET", "/:owner/:repo/releases", repositoryReleases(deps)],
    ["GET", "/:owner/:repo/releases/tag/:tag", releaseTag(deps)],
  ];
}

export function createApp(deps: Deps): App {
  const router = new Router<Handler>();
  for (const [method, pattern, handler] of routes(deps)) router.add(method, pattern, handler);

  const answers = new ResponseCache();
  deps.storage.onChange(() => answers.clear());
  deps.repositories.onChange(() => answers.clear());

  /** A GET or HEAD of a handler that depends only on the index: from the cache, or built once and kept. */
  async function fromIndex(handler: Handler, ctx: RequestContext): Promise<Response> {
    const { request, url } = ctx;
    await deps.storage.list(); // notices changes behind the store's back; a change empties the cache
    const auth = request.headers.get("authorization");
    const key = [url.pathname + url.search, publicBaseUrl(request, deps.config), request.headers.get("accept") ?? "", auth ? createHash("sha256").update(auth).digest("hex") : ""].join("\n");
    const hit = answers.get(key);
    if (hit) return answerResponse(hit, request.method, request.headers.get("if-none-match"));
    const generation = answers.begin();
    const response = await handler(ctx);
    // Package bytes are never kept here, and a HEAD answer has no body to keep.
    if (request.method !== "GET" || response.status !== 200 || packageBodyOf(response)) return response;
    return answerResponse(await answers.store(key, generation, response), "GET", request.headers.get("if-none-match"));
  }

  const inflight = new Set<Promise<Response>>();
  let idleWaiters: (() => void)[] = [];

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const match = router.match(request.method, url.pathname);
    try {
      switch (match.kind) {
        case "found": {
          const ctx = { request, url, params: match.params };
          const cacheable = (request.method === "GET" || request.method === "HEAD") && isIndexOnly(match.handler);
          return withCommonHeaders(await (cacheable ? fromIndex(match.handler, ctx) : match.handler(ctx)));
        }
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
    invalidate: () => answers.clear(),
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

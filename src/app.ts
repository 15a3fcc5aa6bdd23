// The whole service as one web-standard handler: (Request) => Promise<Response>.
// Runtime adapters turn their native requests into Requests and call fetch(),
// after offering a GET or HEAD to answerAtOnce(), which sends what the response
// cache keeps from the request's head alone (see src/response-cache.ts).

import type { Deps, Handler, RequestContext } from "./context.js";
import { errorResponse, HttpError, json } from "./http.js";
import { apiRoot, currentUser } from "./github/api-root.js";
import { packageBodyOf } from "./package-body.js";
import { publicBaseUrl, type UrlSource } from "./public-url.js";
import { answerResponse, cacheKey, isIndexOnly, keptReply, plainTarget, ResponseCache, servesAsIs } from "./response-cache.js";
import { inScope, openScope, type RequestScope } from "./ops/request-scope.js";
import { Router } from "./router.js";
import { downloadAsset } from "./routes/assets.js";
import { checksumRoutes } from "./routes/checksums.js";
import { health, liveness, readiness } from "./routes/health.js";
import { metricsRoute } from "./routes/metrics.js";
import { openapiRoutes } from "./routes/openapi.js";
import { deletePackage, listPackages } from "./routes/packages.js";
import { landing, releaseTag, repositoryReleases } from "./routes/pages.js";
import { releaseRoutes, type RouteSpec } from "./routes/releases.js";
import { staticRoutes } from "./routes/static.js";
import { putPackage, tooLarge, uploadPackage } from "./routes/upload.js";
import { StoreError } from "./store/index.js";

/** What the adapter knows about the connection a request came on. */
export interface Connection {
  /** The client's address; may be a getter, read only when the access log is written. */
  readonly client?: string;
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

/** What an adapter knows of a request before building a Request: enough to find a kept answer. */
export interface RequestHead extends UrlSource {
  readonly method: string;
  /** The request target as sent (origin form: path and query). */
  readonly target: string;
}

/** An answer given at once from kept bytes; the adapter writes it, then reports how sending ended. */
export interface AtOnce {
  status: number;
  headers: [string, string][];
  /** null for HEAD and 304. */
  body: Uint8Array | null;
  /** Package bytes: a download counts only once all were sent, so finished() should wait for that. */
  download: boolean;
  finished(outcome: { bytesOut: number; aborted: boolean }): void;
}

export interface App {
  fetch(request: Request, connection?: Connection): Promise<Response>;
  /**
   * The answer to a GET or HEAD the response cache already holds, found from
   * the request's head alone; undefined when the request needs fetch().
   * Adapters try this first: for the answers asked for most it skips the
   * Request, the URL, the router and the Response.
   */
  answerAtOnce(head: RequestHead, connection?: Connection): AtOnce | undefined;
  /** Adapters call this once per response, when it has been sent in full or abandoned: the access log and metrics. */
  finished(response: Response, outcome: Outcome): void;
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
    ...(deps.config.metrics !== "off" && deps.metrics ? [["GET", "/metrics", metricsRoute(deps)] as RouteSpec] : []),
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
    ["POST", "/api/graphql", loadedOnFirstUse(() => import("./github/graphql.js").then((m) => m.graphqlRoute(deps)))],
    ...releaseRoutes(deps),
    ...checksumRoutes(deps),
    // Pages for people; the release pages also exist per repository, as on GitHub.
    ["GET", "/releases/tag/:tag", releaseTag(deps)],
    ["GET", "/:owner/:repo/releases", repositoryReleases(deps)],
    ["GET", "/:owner/:repo/releases/tag/:tag", releaseTag(deps)],
  ];
}

export function createApp(deps: Deps): App {
  const router = new Router<{ handler: Handler; pattern: string }>();
  for (const [method, pattern, handler] of routes(deps)) router.add(method, pattern, { handler, pattern });

  const answers = new ResponseCache();
  deps.storage.onChange(() => answers.clear());
  deps.repositories.onChange(() => answers.clear());

  /** A GET or HEAD of a handler that depends only on the index: from the cache, or built once and kept. */
  async function fromIndex(handler: Handler, ctx: RequestContext, route: string): Promise<Response> {
    const { request, url } = ctx;
    await deps.storage.list(); // notices changes behind the store's back; a change empties the cache
    const authorization = request.headers.get("authorization");
    const key = cacheKey(url.pathname + url.search, publicBaseUrl(request, deps.config), request.headers.get("accept"), authorization);
    const hit = answers.get(key);
    // Kept package bytes are sent by answerAtOnce only, which counts the download.
    if (hit && !hit.package) return answerResponse(hit, request.method, request.headers.get("if-none-match"));
    const generation = answers.begin();
    const response = await handler(ctx);
    // A HEAD answer has no body to keep.
    if (request.method !== "GET" || response.status !== 200) return response;
    const pkg = packageBodyOf(response);
    if (pkg) {
      // A whole package the store holds in memory is kept for the next plain GET (answerAtOnce never takes tokens).
      const kept = pkg.reader.kept;
      if (kept && !authorization && pkg.start === 0 && pkg.end === kept.bytes.length - 1) {
        answers.storePackage(key, generation, response, kept.bytes, route, { valid: kept.stillStored, onSent: pkg.onComplete });
      }
      return response;
    }
    return answerResponse(await answers.store(key, generation, response, route), "GET", request.headers.get("if-none-match"));
  }

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
        case "found": {
          scope.route = match.handler.pattern;
          const handler = match.handler.handler;
          const ctx = { request, url, params: match.params };
          const cacheable = (request.method === "GET" || request.method === "HEAD") && isIndexOnly(handler);
          return withCommonHeaders(await (cacheable ? fromIndex(handler, ctx, match.handler.pattern) : handler(ctx)));
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

  /** The access log line and the metrics of one request. */
  function report(scope: RequestScope, { bytesIn, bytesOut, aborted, status }: Outcome & { status: number }): void {
    const seconds = (performance.now() - scope.start) / 1000;
    const route = scope.route ?? "(unmatched)";
    deps.metrics?.observe({ method: scope.method, route, status, seconds, bytesIn, bytesOut, aborted });
    if (!deps.log.enabled("info")) return;
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
  }

  return {
    fetch(request, connection = {}) {
      const scope = openScope(request.method, request.headers, connection);
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
    answerAtOnce(head, connection = {}) {
      const { method, headers } = head;
      // With a token the ordinary path runs: it checks the token and logs its name.
      if ((method !== "GET" && method !== "HEAD") || headers.get("authorization") !== null) return undefined;
      const pathAndQuery = plainTarget(head.target);
      if (pathAndQuery === undefined || deps.storage.current?.() !== true) return undefined;
      const hit = answers.get(cacheKey(pathAndQuery, publicBaseUrl(head, deps.config), headers.get("accept"), null));
      if (!hit || !servesAsIs(hit, (name) => headers.get(name))) return undefined;
      const scope = openScope(method, headers, connection);
      const q = pathAndQuery.indexOf("?");
      scope.path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
      scope.route = hit.route;
      const reply = keptReply(hit, method, headers.get("if-none-match"));
      const onSent = reply.body ? hit.package?.onSent : undefined;
      return {
        status: reply.status,
        headers: [...reply.headers, ...COMMON_HEADERS, ["x-request-id", scope.id]],
        body: reply.body,
        download: onSent !== undefined,
        finished(outcome) {
          if (!outcome.aborted) onSent?.();
          report(scope, { bytesIn: 0, ...outcome, status: reply.status });
        },
      };
    },
    invalidate: () => answers.clear(),
    finished(response, { status = response.status, ...outcome }) {
      const scope = scopes.get(response);
      if (!scope) return;
      scopes.delete(response);
      report(scope, { ...outcome, status });
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
  deps.log.error("internal error", { error: (err as Error)?.stack ?? String(err) });
  return json({ detail: "internal server error; the server log has the details" }, 500);
}

/** Headers every answer carries, whichever path sent it. */
const COMMON_HEADERS: [string, string][] = [["x-content-type-options", "nosniff"]];

function withCommonHeaders(response: Response): Response {
  for (const [name, value] of COMMON_HEADERS) response.headers.set(name, value);
  return response;
}

/**
 * A handler whose module is loaded by its first request: graphql-js costs
 * about 10 MB and 60 ms at startup, and only `gh` ever asks for GraphQL.
 */
function loadedOnFirstUse(load: () => Promise<Handler>): Handler {
  let handler: Promise<Handler> | null = null;
  return async (ctx) => (await (handler ??= load()))(ctx);
}

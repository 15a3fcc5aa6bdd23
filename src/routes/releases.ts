// GitHub's Releases API: reads here, writes in src/github/write-routes.ts
// (see src/github/model.ts for the model). Every route exists at the root and
// under /repos/{owner}/{repo} and /api/v3/repos/{owner}/{repo} (GitHub
// Enterprise's layout). The root acts on the default repository
// (DEFAULT_REPOSITORY); under a prefix, owner/repo name the repository, and an
// unknown one is GitHub's 404. Errors on these routes use GitHub's shape:
// {"message": "Not Found", "documentation_url": "...", "status": "404"}.

import type { Deps, Handler, RequestContext } from "../context.js";
import { HttpError, json, negotiate } from "../http.js";
import { paginate } from "../paging.js";
import { dependsOnIndex } from "../response-cache.js";
import { assetJson, releaseJson, type Release, type UrlBases } from "../releases.js";
import { githubErrorResponse } from "../github/errors.js";
import { notFound, repoContext, type RepoContext } from "../github/repo-context.js";
import { writeRoutes } from "../github/write-routes.js";
import { serveAsset } from "./assets.js";
import { releasesHtml, wantsHtml } from "./pages.js";

export const API_PREFIXES = ["", "/repos/:owner/:repo", "/api/v3/repos/:owner/:repo"] as const;

export const DOCS = "https://docs.github.com/rest/releases";

export type RouteSpec = [method: string, pattern: string, handler: Handler];

/** Every release route, once per prefix, for the app's route table. Order matters: literal segments first. */
export function releaseRoutes(deps: Deps): RouteSpec[] {
  const routes: RouteSpec[] = [
    ["GET", "/latest", github(`${DOCS}/releases#get-the-latest-release`, (ctx) => latest(deps, ctx, "", false))],
  ];
  for (const prefix of API_PREFIXES) {
    const rc = (ctx: RequestContext) => repoContext(deps, ctx, prefix);
    routes.push(
      ["GET", `${prefix}/releases`, github(`${DOCS}/releases#list-releases`, async (ctx) => listReleases(deps, ctx, await rc(ctx), prefix === ""))],
      ["GET", `${prefix}/releases/latest`, github(`${DOCS}/releases#get-the-latest-release`, (ctx) => latest(deps, ctx, prefix, true))],
      ["GET", `${prefix}/releases/tags/:tag`, github(`${DOCS}/releases#get-a-release-by-tag-name`, async (ctx) => releaseByTag(ctx, await rc(ctx)))],
      ["GET", `${prefix}/releases/assets/:id`, github(`${DOCS}/assets#get-a-release-asset`, async (ctx) => releaseAsset(ctx, await rc(ctx)))],
      ["GET", `${prefix}/releases/:id`, github(`${DOCS}/releases#get-a-release`, async (ctx) => releaseById(ctx, await rc(ctx)))],
      ["GET", `${prefix}/releases/:id/assets`, github(`${DOCS}/assets#list-release-assets`, async (ctx) => releaseAssets(ctx, await rc(ctx)))],
      ...writeRoutes(deps, prefix),
    );
  }
  return routes;
}

/** Turns errors into GitHub's error shape for the routes GitHub clients call. */
export function github(documentationUrl: string, handler: Handler): Handler {
  return dependsOnIndex(async (ctx) => {
    try {
      return await handler(ctx);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      return githubErrorResponse(err, documentationUrl);
    }
  });
}

/** GitHub ids are decimal integers; anything else names nothing. */
export function idParam(value: string): number {
  if (!/^[1-9]\d{0,15}$/.test(value)) throw notFound();
  return Number(value);
}

export function releaseObject(rc: RepoContext, release: Release, urls: UrlBases = rc.urls) {
  return releaseJson(release, urls, rc.downloads, rc.extras);
}

/**
 * GET /latest and GET .../releases/latest: the newest package of every family.
 * With nothing stored, /latest (kept from the older server) answers an empty
 * release; .../releases/latest answers 404, as GitHub does for a repository
 * without releases.
 */
async function latest(deps: Deps, ctx: RequestContext, prefix: string, github: boolean): Promise<Response> {
  const rc = await repoContext(deps, ctx, prefix);
  if (github && rc.model.latest.packages.length === 0) throw notFound();
  return json(releaseObject(rc, rc.model.latest));
}

/**
 * GET .../releases: highest version first, GitHub's paging. At the root a
 * browser (preferring text/html) gets the releases page instead; API clients
 * (JSON, GitHub's media types, `*\/*`, no Accept) keep getting JSON.
 */
async function listReleases(deps: Deps, ctx: RequestContext, rc: RepoContext, negotiates: boolean): Promise<Response> {
  if (negotiates && wantsHtml(ctx.request)) return releasesHtml(deps, ctx);
  const response = pagedJson(ctx, rc.urls, rc.model.releases, (r) => releaseObject(rc, r));
  if (negotiates) response.headers.set("vary", "Accept");
  return response;
}

function releaseByTag(ctx: RequestContext, rc: RepoContext): Response {
  const release = rc.model.byTag(ctx.params.tag);
  if (!release) throw notFound();
  return json(releaseObject(rc, release));
}

function releaseById(ctx: RequestContext, rc: RepoContext): Response {
  const release = rc.model.release(idParam(ctx.params.id));
  if (!release) throw notFound();
  return json(releaseObject(rc, release));
}

/** GET .../releases/{id}/assets: the release's assets, GitHub's paging. */
function releaseAssets(ctx: RequestContext, rc: RepoContext): Response {
  const release = rc.model.release(idParam(ctx.params.id));
  if (!release) throw notFound();
  return pagedJson(ctx, rc.urls, release.packages, (p) => assetJson(p, rc.urls, rc.downloads, rc.extras));
}

/** One page of `items` as JSON, with GitHub's `Link` header when there are more pages. */
function pagedJson<T>(ctx: RequestContext, urls: UrlBases, items: readonly T[], toJson: (item: T) => unknown): Response {
  const page = paginate(items, ctx.url.searchParams, `${urls.site}${ctx.url.pathname}${ctx.url.search}`);
  return json(page.items.map(toJson), 200, page.link ? { link: page.link } : {});
}

/** GET .../releases/assets/{id}: the asset as JSON, or its bytes with `Accept: application/octet-stream`. */
async function releaseAsset(ctx: RequestContext, rc: RepoContext): Promise<Response> {
  const entry = rc.model.asset(idParam(ctx.params.id));
  if (!entry) throw notFound();
  const wanted = negotiate(ctx.request.headers.get("accept"), ["application/json", "application/octet-stream"]);
  const response =
    wanted === "application/octet-stream"
      ? await serveAsset(rc.deps, ctx.request, entry.name)
      : json(assetJson(entry, rc.urls, rc.downloads, rc.extras));
  response.headers.set("vary", "Accept");
  return response;
}

// GitHub's Releases API, read-only, over the stored packages (see releases.ts
// for the model). Every route exists at the root, under /repos/{owner}/{repo}
// and under /api/v3/repos/{owner}/{repo} (GitHub Enterprise's layout), so a
// GitHub client pointed at the server works unchanged; owner and repo are
// accepted and ignored. Errors on these routes use GitHub's shape:
// {"message": "Not Found", "documentation_url": "...", "status": "404"}.

import type { Deps, Handler, RequestContext } from "../context.js";
import { HttpError, json, negotiate } from "../http.js";
import { paginate } from "../paging.js";
import { publicBaseUrl } from "../public-url.js";
import { dependsOnIndex } from "../response-cache.js";
import { assetJson, releaseJson, releaseModel, type Release, type ReleaseModel, type UrlBases } from "../releases.js";
import { serveAsset } from "./assets.js";
import { releasesHtml, wantsHtml } from "./pages.js";

export const API_PREFIXES = ["", "/repos/:owner/:repo", "/api/v3/repos/:owner/:repo"] as const;

const DOCS = "https://docs.github.com/rest/releases";

export type RouteSpec = [method: string, pattern: string, handler: Handler];

/** Every release route, once per prefix, for the app's route table. Order matters: literal segments first. */
export function releaseRoutes(deps: Deps): RouteSpec[] {
  const routes: RouteSpec[] = [
    ["GET", "/latest", github(`${DOCS}/releases#get-the-latest-release`, (ctx) => latest(deps, ctx, "", false))],
  ];
  for (const prefix of API_PREFIXES) {
    const api = (ctx: RequestContext): UrlBases => urlBases(deps, ctx, prefix);
    routes.push(
      ["GET", `${prefix}/releases`, github(`${DOCS}/releases#list-releases`, (ctx) => listReleases(deps, ctx, api(ctx), prefix === ""))],
      ["GET", `${prefix}/releases/latest`, github(`${DOCS}/releases#get-the-latest-release`, (ctx) => latest(deps, ctx, prefix, true))],
      ["GET", `${prefix}/releases/tags/:tag`, github(`${DOCS}/releases#get-a-release-by-tag-name`, (ctx) => releaseByTag(deps, ctx, api(ctx)))],
      ["GET", `${prefix}/releases/assets/:id`, github(`${DOCS}/assets#get-a-release-asset`, (ctx) => releaseAsset(deps, ctx, api(ctx)))],
      ["GET", `${prefix}/releases/:id`, github(`${DOCS}/releases#get-a-release`, (ctx) => releaseById(deps, ctx, api(ctx)))],
      ["GET", `${prefix}/releases/:id/assets`, github(`${DOCS}/assets#list-release-assets`, (ctx) => releaseAssets(deps, ctx, api(ctx)))],
    );
  }
  return routes;
}

/** Turns errors into GitHub's error shape for the routes GitHub clients call. */
function github(documentationUrl: string, handler: Handler): Handler {
  return dependsOnIndex(async (ctx) => {
    try {
      return await handler(ctx);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      const message = err.status === 404 ? "Not Found" : err.detail;
      return json({ message, documentation_url: documentationUrl, status: String(err.status) }, err.status, err.headers);
    }
  });
}

function urlBases(deps: Deps, { request, params }: RequestContext, prefix: string): UrlBases {
  const site = publicBaseUrl(request, deps.config);
  const path = prefix
    .replace(":owner", () => encodeURIComponent(params.owner))
    .replace(":repo", () => encodeURIComponent(params.repo));
  return { site, api: site + path };
}

async function model(deps: Deps): Promise<ReleaseModel> {
  return releaseModel(await deps.storage.list());
}

function counts(deps: Deps) {
  return (entry: Parameters<NonNullable<Deps["downloadCount"]>>[0]) => deps.downloadCount?.(entry) ?? 0;
}

function notFound(): HttpError {
  return new HttpError(404, "Not Found");
}

/** GitHub ids are decimal integers; anything else names nothing. */
function idParam(value: string): number {
  if (!/^[1-9]\d{0,15}$/.test(value)) throw notFound();
  return Number(value);
}

function releaseResponse(deps: Deps, release: Release, urls: UrlBases): Response {
  return json(releaseJson(release, urls, counts(deps)));
}

/**
 * GET /latest and GET .../releases/latest: the newest package of every family.
 * With nothing stored, /latest (kept from the older server) answers an empty
 * release; .../releases/latest answers 404, as GitHub does for a repository
 * without releases.
 */
async function latest(deps: Deps, ctx: RequestContext, prefix: string, github: boolean): Promise<Response> {
  const m = await model(deps);
  if (github && m.latest.packages.length === 0) throw notFound();
  return releaseResponse(deps, m.latest, urlBases(deps, ctx, prefix));
}

/**
 * GET .../releases: highest version first, GitHub's paging. At the root a
 * browser (preferring text/html) gets the releases page instead; API clients
 * (JSON, GitHub's media types, `*\/*`, no Accept) keep getting JSON.
 */
async function listReleases(deps: Deps, ctx: RequestContext, urls: UrlBases, negotiates: boolean): Promise<Response> {
  if (negotiates && wantsHtml(ctx.request)) return releasesHtml(deps, ctx);
  const { releases } = await model(deps);
  const downloads = counts(deps);
  const response = pagedJson(ctx, urls, releases, (r) => releaseJson(r, urls, downloads));
  if (negotiates) response.headers.set("vary", "Accept");
  return response;
}

async function releaseByTag(deps: Deps, ctx: RequestContext, urls: UrlBases): Promise<Response> {
  const release = (await model(deps)).byTag(ctx.params.tag);
  if (!release) throw notFound();
  return releaseResponse(deps, release, urls);
}

async function releaseById(deps: Deps, ctx: RequestContext, urls: UrlBases): Promise<Response> {
  const release = (await model(deps)).release(idParam(ctx.params.id));
  if (!release) throw notFound();
  return releaseResponse(deps, release, urls);
}

/** GET .../releases/{id}/assets: the release's assets, GitHub's paging. */
async function releaseAssets(deps: Deps, ctx: RequestContext, urls: UrlBases): Promise<Response> {
  const release = (await model(deps)).release(idParam(ctx.params.id));
  if (!release) throw notFound();
  const downloads = counts(deps);
  return pagedJson(ctx, urls, release.packages, (p) => assetJson(p, urls, downloads));
}

/** One page of `items` as JSON, with GitHub's `Link` header when there are more pages. */
function pagedJson<T>(ctx: RequestContext, urls: UrlBases, items: readonly T[], toJson: (item: T) => unknown): Response {
  const page = paginate(items, ctx.url.searchParams, `${urls.site}${ctx.url.pathname}${ctx.url.search}`);
  return json(page.items.map(toJson), 200, page.link ? { link: page.link } : {});
}

/** GET .../releases/assets/{id}: the asset as JSON, or its bytes with `Accept: application/octet-stream`. */
async function releaseAsset(deps: Deps, ctx: RequestContext, urls: UrlBases): Promise<Response> {
  const entry = (await model(deps)).asset(idParam(ctx.params.id));
  if (!entry) throw notFound();
  const wanted = negotiate(ctx.request.headers.get("accept"), ["application/json", "application/octet-stream"]);
  const response =
    wanted === "application/octet-stream"
      ? await serveAsset(deps, ctx.request, entry.name)
      : json(assetJson(entry, urls, counts(deps)));
  response.headers.set("vary", "Accept");
  return response;
}

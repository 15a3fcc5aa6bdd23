// Pages for people: the landing page, the releases of a repository and one
// release. Browsers get HTML; GET / answers JSON clients with a small index of
// links instead. (GET /releases negotiates in releases.ts: it is also GitHub's
// list-releases route.)

import type { Deps, Handler, RequestContext } from "../context.js";
import { HttpError, json, negotiate } from "../http.js";
import { publicBaseUrl } from "../public-url.js";
import { dependsOnIndex } from "../response-cache.js";
import { repoContext } from "../github/repo-context.js";
import type { ReleaseModel } from "../releases.js";
import type { Repository } from "../repository.js";
import { HTML_HEADERS } from "../views/layout.js";
import { loadMarkdown } from "../views/markdown.js";
import { landingPage, releasePage, releasesPage, type PageContext } from "../views/pages.js";

/** True when the client prefers HTML to JSON: browsers do; curl, Octokit and fetch (`*\/*`) do not. */
export function wantsHtml(request: Request): boolean {
  return negotiate(request.headers.get("accept"), ["application/json", "text/html"]) === "text/html";
}

export function htmlResponse(body: string, vary = false): Response {
  return new Response(body, { headers: { ...HTML_HEADERS, ...(vary ? { vary: "Accept" } : {}) } });
}

function releasesPathOf(params: Record<string, string>): string {
  return params.owner !== undefined ? `/${encodeURIComponent(params.owner)}/${encodeURIComponent(params.repo)}/releases` : "/releases";
}

/** The page's repository (the default one at the root; GitHub's 404 for an unknown one), its model as this viewer sees it, and the page context. */
async function pageContext(deps: Deps, ctx: RequestContext): Promise<{ model: ReleaseModel; page: PageContext }> {
  const rc = await repoContext(deps, ctx, "");
  if (rc.model.releases.some((r) => r.record?.body)) await loadMarkdown();
  const repository: Repository = { owner: rc.repo.name.owner, repo: rc.repo.name.repo };
  return {
    model: rc.model,
    page: {
      site: publicBaseUrl(ctx.request, deps.config),
      now: new Date(),
      downloads: rc.downloads,
      repository,
      releasesPath: releasesPathOf(ctx.params),
    },
  };
}

/** GET /: the landing page for browsers, an index of links for programs. */
export function landing(deps: Deps): Handler {
  return dependsOnIndex(async (ctx) => {
    const site = publicBaseUrl(ctx.request, deps.config);
    if (!wantsHtml(ctx.request)) {
      const links = {
        releases: `${site}/releases`,
        latest: `${site}/latest`,
        packages: `${site}/packages`,
        upload: `${site}/upload`,
        docs: `${site}/docs`,
        openapi: `${site}/openapi.json`,
        health: `${site}/health`,
      };
      return json({ name: "release-server", links }, 200, { vary: "Accept" });
    }
    const { model, page } = await pageContext(deps, ctx);
    return htmlResponse(landingPage(model, page), true);
  });
}

/** The releases page: GET /releases (for browsers) and GET /{owner}/{repo}/releases. */
export async function releasesHtml(deps: Deps, ctx: RequestContext): Promise<Response> {
  const { model, page } = await pageContext(deps, ctx);
  const n = Number(ctx.url.searchParams.get("page") ?? "1");
  return htmlResponse(releasesPage(model, page, Number.isSafeInteger(n) ? n : 1), ctx.params.owner === undefined);
}

export function repositoryReleases(deps: Deps): Handler {
  return dependsOnIndex((ctx) => releasesHtml(deps, ctx));
}

/** GET /releases/tag/{tag} and /{owner}/{repo}/releases/tag/{tag}: one release, where html_url points. */
export function releaseTag(deps: Deps): Handler {
  return dependsOnIndex(async (ctx) => {
    const { model, page } = await pageContext(deps, ctx);
    const release = model.byTag(ctx.params.tag);
    if (!release) throw new HttpError(404, `no release tagged "${ctx.params.tag}"; see ${page.releasesPath} for the list`);
    return htmlResponse(releasePage(model, release, page));
  });
}

// The pages themselves: the landing page (/), the releases of a repository
// (/releases, /{owner}/{repo}/releases), one release (/releases/tag/{tag}) and
// the flat package list (/packages, the older server's page). Pure: they take
// the release model and return HTML; the routes do the I/O.

import { escapeHtml } from "../http.js";
import { LATEST_TAG, type Release, type ReleaseModel } from "../releases.js";
import type { PackageEntry } from "../store/index.js";
import { assetTable } from "./assets.js";
import { plural } from "./format.js";
import { filterBox, page } from "./layout.js";
import { releaseSection, releaseTitle, type ReleaseView } from "./release.js";
import { usageBox, type Repository } from "./usage.js";

/** Releases per page of a releases list; the first few are expanded, the rest collapsed. */
export const RELEASES_PER_PAGE = 10;
const OPEN_RELEASES = 3;
/** Assets a release shows inside a list; all of them are on its own page. */
export const ASSETS_IN_LIST = 100;

export interface PageContext {
  /** Public URL, for download links and commands. */
  site: string;
  now: Date;
  downloads: (p: PackageEntry) => number;
  repository: Repository;
  /** Site-relative path of this repository's releases page: /releases or /{owner}/{repo}/releases. */
  releasesPath: string;
}

function view(model: ReleaseModel, release: Release): ReleaseView {
  const isLatest = release.key !== LATEST_TAG && model.latest.packages.length > 0 && release.tag === model.latest.tag;
  // A release made through the write API has its notes (gh release create --notes, GitHub Actions).
  return { release, isLatest, notes: release.record?.body ?? undefined };
}

function tagHref(ctx: PageContext, r: Release): string {
  return `${ctx.releasesPath}/tag/${encodeURIComponent(r.key === LATEST_TAG ? LATEST_TAG : r.tag)}`;
}

function releaseList(model: ReleaseModel, releases: readonly Release[], ctx: PageContext, openFirst: number): string {
  return releases
    .map((r, i) =>
      releaseSection(view(model, r), { site: ctx.site, now: ctx.now, downloads: ctx.downloads, pageHref: tagHref(ctx, r), open: i < openFirst, maxAssets: ASSETS_IN_LIST }),
    )
    .join("\n");
}

function emptyState(ctx: PageContext): string {
  const command = `curl -X POST ${ctx.site}/upload -H "Authorization: Bearer $AUTH_TOKEN" -F "file=@tool-v1.0.0.zip"`;
  return `<div class="empty"><p>No releases yet. Upload a package and it appears here, grouped by the version in its name:</p><pre><code>${escapeHtml(command)}</code></pre></div>`;
}

/** GET / for browsers: the latest release with the usage box, then the releases. */
export function landingPage(model: ReleaseModel, ctx: PageContext): string {
  const intro = `<h1>Releases of ${escapeHtml(`${ctx.repository.owner}/${ctx.repository.repo}`)}</h1>`;
  if (model.releases.length === 0) return page({ title: "Release Server", section: "home", body: `${intro}\n${emptyState(ctx)}` });
  const latest = model.latest;
  const top = releaseSection(
    { release: latest, isLatest: false },
    { site: ctx.site, now: ctx.now, downloads: ctx.downloads, pageHref: tagHref(ctx, latest), open: true, maxAssets: ASSETS_IN_LIST },
  );
  const shown = model.releases.slice(0, RELEASES_PER_PAGE);
  const all =
    model.releases.length > shown.length
      ? `<p class="more"><a href="${ctx.releasesPath}">All ${plural(model.releases.length, "release")} →</a></p>`
      : "";
  const body = `${intro}
<p class="lead">The newest package of every family is the latest release: what <code>specify init</code> and GitHub clients fetch.</p>
${usageBox(ctx.site, latest, ctx.repository)}
${filterBox("Filter releases and packages")}
<div class="releases">
${top}
<h2 class="list-title">Releases</h2>
${releaseList(model, shown, ctx, 0)}
</div>
${all}`;
  return page({ title: "Release Server", section: "home", body });
}

/** A repository's releases, newest version first, RELEASES_PER_PAGE at a time. */
export function releasesPage(model: ReleaseModel, ctx: PageContext, pageNumber: number): string {
  const pages = Math.max(1, Math.ceil(model.releases.length / RELEASES_PER_PAGE));
  const n = Math.min(Math.max(1, pageNumber), pages);
  const shown = model.releases.slice((n - 1) * RELEASES_PER_PAGE, n * RELEASES_PER_PAGE);
  const heading = `<h1>Releases <span class="meta">${escapeHtml(`${ctx.repository.owner}/${ctx.repository.repo}`)} · ${plural(model.releases.length, "release")}</span></h1>`;
  if (shown.length === 0) return page({ title: "Releases", section: "releases", body: `${heading}\n${emptyState(ctx)}` });
  const body = `${heading}
${n === 1 ? usageBox(ctx.site, model.latest, ctx.repository) : ""}
${filterBox("Filter releases and packages")}
<div class="releases">
${releaseList(model, shown, ctx, n === 1 ? OPEN_RELEASES : 0)}
</div>
${pager(ctx.releasesPath, n, pages)}`;
  return page({ title: n > 1 ? `Releases, page ${n}` : "Releases", section: "releases", body });
}

function pager(path: string, current: number, pages: number): string {
  if (pages === 1) return "";
  const link = (n: number, label: string, rel: string) => `<a href="${path}?page=${n}" rel="${rel}">${label}</a>`;
  // Both lists run newest first: the next page holds older items.
  const prev = current > 1 ? link(current - 1, "← Newer", "prev") : "<span></span>";
  const next = current < pages ? link(current + 1, "Older →", "next") : "<span></span>";
  return `<nav class="pager" aria-label="Pages">${prev}<span>Page ${current} of ${pages}</span>${next}</nav>`;
}

/** One release, every asset, with its own usage box: where a release's html_url points. */
export function releasePage(model: ReleaseModel, release: Release, ctx: PageContext): string {
  const section = releaseSection(view(model, release), {
    site: ctx.site,
    now: ctx.now,
    downloads: ctx.downloads,
    pageHref: tagHref(ctx, release),
    open: true,
    heading: "h1",
  });
  const body = `<p class="crumbs"><a href="${ctx.releasesPath}">← All releases</a></p>
${release.packages.length ? usageBox(ctx.site, release, ctx.repository) : ""}
${release.packages.length > 10 ? filterBox("Filter packages") : ""}
${section}`;
  return page({ title: `${releaseTitle(release)} · Releases`, section: "releases", body });
}

/** Packages per page of /packages for browsers: a page stays light with tens of thousands stored. */
export const PACKAGES_PER_PAGE = 1000;

/** GET /packages for browsers: every package, newest first (the older server's page), a thousand at a time. */
export function packagesPage(packages: readonly PackageEntry[], ctx: Pick<PageContext, "site" | "now" | "downloads">, pageNumber = 1): string {
  const pages = Math.max(1, Math.ceil(packages.length / PACKAGES_PER_PAGE));
  const n = Math.min(Math.max(1, pageNumber), pages);
  const shown = packages.slice((n - 1) * PACKAGES_PER_PAGE, n * PACKAGES_PER_PAGE);
  const body = `<h1>Packages <span class="meta">${plural(packages.length, "package")}, newest first · <a href="/packages?format=json">JSON</a></span></h1>
${filterBox(pages > 1 ? "Filter the packages on this page" : "Filter packages")}
<section class="release" data-filter="">
${shown.length ? assetTable(shown, ctx) : '<p class="empty">No packages yet.</p>'}
</section>
${pager("/packages", n, pages)}`;
  return page({ title: n > 1 ? `Packages, page ${n}` : "Packages", section: "packages", body });
}

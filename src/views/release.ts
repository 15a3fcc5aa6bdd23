// One release as a section of a page: its tag, badges, notes, assets and links.
// Older releases render collapsed (<details>) so long histories stay short.

import { escapeHtml } from "../http.js";
import { LATEST_TAG, UNVERSIONED_TAG, type Release } from "../releases.js";
import type { PackageEntry } from "../store/index.js";
import { assetTable } from "./assets.js";
import { exactTime, plural, relativeTime } from "./format.js";
import { renderMarkdown } from "./markdown.js";

/** A release as the pages show it: the model's release plus what only pages care about. */
export interface ReleaseView {
  release: Release;
  /** The release the latest view's tag names: it gets the Latest badge. */
  isLatest: boolean;
  /** Release notes, Markdown: a release made through the write API may have them; one derived from package names has none. */
  notes?: string;
  /** Drafts exist only for readers with a token; none are made today. */
  draft?: boolean;
}

export interface ReleaseSectionOptions {
  site: string;
  now: Date;
  downloads: (p: PackageEntry) => number;
  /** Where this release's own page is, e.g. /releases/tag/v1.0.0 (site-relative). */
  pageHref: string;
  open: boolean;
  /** At most this many assets here; the rest are on the release's own page. */
  maxAssets?: number;
  /** Heading level: h2 in lists, h1 on the release's own page. */
  heading?: "h1" | "h2";
}

export function badges(view: Pick<ReleaseView, "isLatest" | "draft" | "release">): string {
  const out: string[] = [];
  if (view.draft) out.push('<span class="badge draft">Draft</span>');
  if (view.isLatest) out.push('<span class="badge latest">Latest</span>');
  if (view.release.prerelease) out.push('<span class="badge pre">Pre-release</span>');
  return out.join(" ");
}

export function releaseTitle(r: Release): string {
  if (r.key === LATEST_TAG) return r.packages.length ? `Latest: ${r.tag}` : "Latest";
  if (r.key === UNVERSIONED_TAG) return "Unversioned packages";
  // As on GitHub: the release's name when it has one, else its tag.
  return r.record?.name || r.tag;
}

export function releaseSection(view: ReleaseView, opts: ReleaseSectionOptions): string {
  const r = view.release;
  const h = opts.heading ?? "h2";
  const newest = r.packages.reduce<Date | null>((max, p) => (!max || p.createdAt > max ? p.createdAt : max), null);
  const when = newest ? ` · <time datetime="${newest.toISOString()}" title="${exactTime(newest)}">${relativeTime(newest, opts.now)}</time>` : "";
  const title = `<${h} class="tag"><a href="${escapeHtml(opts.pageHref)}">${escapeHtml(releaseTitle(r))}</a></${h}>`;
  const summary = `${title} ${badges(view)} <span class="meta">${plural(r.packages.length, "asset")}${when}</span>`;
  const notes = view.notes ? `<div class="notes">${renderMarkdown(view.notes)}</div>` : "";
  const shown = opts.maxAssets !== undefined ? r.packages.slice(0, opts.maxAssets) : r.packages;
  const more =
    shown.length < r.packages.length
      ? `<p class="more"><a href="${escapeHtml(opts.pageHref)}">All ${plural(r.packages.length, "asset")} of ${escapeHtml(r.tag)} →</a></p>`
      : "";
  const tagPath = encodeURIComponent(r.key === LATEST_TAG ? LATEST_TAG : r.tag);
  const links = r.packages.length
    ? `<p class="links"><a href="/releases/download/${escapeHtml(tagPath)}/SHA256SUMS">SHA256SUMS</a> · <a href="/releases/tags/${escapeHtml(tagPath)}">JSON</a></p>`
    : "";
  const table = assetTable(shown, { site: opts.site, now: opts.now, downloads: opts.downloads });
  const filterText = `${r.tag} ${releaseTitle(r)}`.toLowerCase();
  return `<section class="release" data-filter="${escapeHtml(filterText)}">
<details${opts.open ? " open" : ""}><summary>${summary}</summary>
${notes}${table}${more}${links}
</details>
</section>`;
}

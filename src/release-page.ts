// One release as a page for people: where a release's `html_url` points.
// Everything a user controls (names, tags, notes) is escaped.

import { htmlPage, packageTable, plural } from "./html.js";
import { escapeHtml } from "./http.js";
import type { PackageEntry } from "./store/index.js";
import { LATEST_TAG, type DownloadCount, type Release } from "./releases.js";

/** Where a release page links to; the default repository's routes when absent. */
export interface ReleasePageLinks {
  json: string;
  sums: string;
  asset: (p: PackageEntry) => string;
}

export function renderReleasePage(release: Release, baseUrl: string, downloads: DownloadCount, links?: ReleasePageLinks): string {
  const tag = escapeHtml(release.tag);
  const draft = release.record?.draft ? " <small>(draft)</small>" : "";
  const heading = `${release.key === LATEST_TAG ? "Latest: " : ""}${tag}${release.prerelease ? " <small>(prerelease)</small>" : ""}${draft}`;
  const base = escapeHtml(baseUrl);
  const json = links ? escapeHtml(links.json) : `${base}/releases/tags/${escapeHtml(encodeURIComponent(release.tag))}`;
  const sums = links ? escapeHtml(links.sums) : `${base}/releases/download/${escapeHtml(encodeURIComponent(release.tag))}/SHA256SUMS`;
  const all = links ? "" : ` · <a href="${base}/packages?format=html">All packages</a>`;
  const nav = `<a href="${json}">JSON</a> · <a href="${sums}">SHA256SUMS</a>${all}`;
  const title = release.record?.name ? `<p>${escapeHtml(release.record.name)}</p>\n` : "";
  // Release notes are Markdown; shown as written (escaped), never rendered as HTML.
  const notes = release.record?.body ? `<pre class="notes">${escapeHtml(release.record.body)}</pre>\n` : "";
  const table = packageTable(release.packages, baseUrl, [{ header: "Downloads", cell: downloads }], links?.asset);
  return htmlPage(`Release Server: ${release.tag}`, heading, `${title}${notes}<p>${plural(release.packages.length, "package")}. ${nav}</p>\n${table}`);
}

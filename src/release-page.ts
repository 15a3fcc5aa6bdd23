// One release as a page for people: where a release's `html_url` points.
// Everything a user controls (names, tags) is escaped.

import { htmlPage, packageTable, plural } from "./html.js";
import { escapeHtml } from "./http.js";
import { LATEST_TAG, type DownloadCount, type Release } from "./releases.js";

export function renderReleasePage(release: Release, baseUrl: string, downloads: DownloadCount): string {
  const tag = escapeHtml(release.tag);
  const heading = `${release.key === LATEST_TAG ? "Latest: " : ""}${tag}${release.prerelease ? " <small>(prerelease)</small>" : ""}`;
  const base = escapeHtml(baseUrl);
  const links = `<a href="${base}/releases/tags/${escapeHtml(encodeURIComponent(release.tag))}">JSON</a> · <a href="${base}/releases/download/${escapeHtml(encodeURIComponent(release.tag))}/SHA256SUMS">SHA256SUMS</a> · <a href="${base}/packages?format=html">All packages</a>`;
  const table = packageTable(release.packages, baseUrl, [{ header: "Downloads", cell: downloads }]);
  return htmlPage(`Release Server: ${release.tag}`, heading, `<p>${plural(release.packages.length, "package")}. ${links}</p>\n${table}`);
}

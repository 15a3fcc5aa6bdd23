// One release as a page for people: where a release's `html_url` points.
// Everything a user controls (names, tags) is escaped.

import { escapeHtml } from "./http.js";
import { formatSize } from "./html.js";
import { LATEST_TAG, type DownloadCount, type Release } from "./releases.js";

export function renderReleasePage(release: Release, baseUrl: string, downloads: DownloadCount): string {
  const rows = release.packages
    .map((p) => {
      const href = `${baseUrl}/assets/${encodeURIComponent(p.name)}`;
      return `<tr><td><a href="${escapeHtml(href)}" download>${escapeHtml(p.name)}</a></td><td class="n">${formatSize(p.size)}</td><td class="n">${downloads(p)}</td><td><time datetime="${p.createdAt.toISOString()}">${p.createdAt.toISOString().replace("T", " ").slice(0, 19)} UTC</time></td><td><code>${escapeHtml(p.sha256)}</code></td></tr>`;
    })
    .join("\n");
  const body = release.packages.length
    ? `<table><thead><tr><th>Name</th><th class="n">Size</th><th class="n">Downloads</th><th>Uploaded</th><th>SHA-256</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>`
    : "<p>No packages yet.</p>";
  const title = escapeHtml(release.tag);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Release Server: ${title}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1f24}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #d0d7de}
.n{text-align:right;white-space:nowrap}code{font-size:.8rem;word-break:break-all}
</style>
</head>
<body>
<h1>${release.key === LATEST_TAG ? "Latest: " : ""}${title}${release.prerelease ? " <small>(prerelease)</small>" : ""}</h1>
<p>${release.packages.length} package${release.packages.length === 1 ? "" : "s"}. <a href="${escapeHtml(baseUrl)}/releases/tags/${escapeHtml(encodeURIComponent(release.tag))}">JSON</a> · <a href="${escapeHtml(baseUrl)}/packages?format=html">All packages</a></p>
${body}
</body>
</html>
`;
}

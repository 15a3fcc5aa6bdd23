// The package list as a page for people. Everything a user controls is escaped.

import { escapeHtml } from "./http.js";
import type { PackageEntry } from "./storage.js";

export function renderPackageList(packages: readonly PackageEntry[], baseUrl: string): string {
  const rows = packages
    .map((p) => {
      const href = `${baseUrl}/assets/${encodeURIComponent(p.name)}`;
      return `<tr><td><a href="${escapeHtml(href)}" download>${escapeHtml(p.name)}</a></td><td class="n">${formatSize(p.size)}</td><td><time datetime="${p.createdAt.toISOString()}">${escapeHtml(p.createdAt.toISOString().replace("T", " ").slice(0, 19))} UTC</time></td><td><code>${escapeHtml(p.sha256)}</code></td></tr>`;
    })
    .join("\n");
  const body = packages.length
    ? `<table><thead><tr><th>Name</th><th class="n">Size</th><th>Uploaded</th><th>SHA-256</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>`
    : "<p>No packages yet.</p>";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Release Server: packages</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1f24}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #d0d7de}
.n{text-align:right;white-space:nowrap}code{font-size:.8rem;word-break:break-all}
</style>
</head>
<body>
<h1>Packages</h1>
<p>${packages.length} package${packages.length === 1 ? "" : "s"}, newest first. <a href="${escapeHtml(baseUrl)}/packages?format=json">JSON</a></p>
${body}
</body>
</html>
`;
}

export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${n.toFixed(1)} ${units[i]}`;
}

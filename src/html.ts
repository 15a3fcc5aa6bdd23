// Pages for people: the package list and the shared layout and table that the
// release page uses too. Everything a user controls is escaped.

import { escapeHtml } from "./http.js";
import type { PackageEntry } from "./store/index.js";

export function renderPackageList(packages: readonly PackageEntry[], baseUrl: string): string {
  const summary = `${plural(packages.length, "package")}, newest first. <a href="${escapeHtml(baseUrl)}/packages?format=json">JSON</a>`;
  return htmlPage("Release Server: packages", "Packages", `<p>${summary}</p>\n${packageTable(packages, baseUrl)}`);
}

/** An extra column for packageTable, e.g. download counts. */
export interface Column {
  header: string;
  cell: (p: PackageEntry) => string | number;
}

/** A table of packages with download links; `columns` go after the size. */
export function packageTable(packages: readonly PackageEntry[], baseUrl: string, columns: Column[] = [], hrefOf?: (p: PackageEntry) => string): string {
  if (packages.length === 0) return "<p>No packages yet.</p>";
  const head = ["<th>Name</th>", '<th class="n">Size</th>', ...columns.map((c) => `<th class="n">${escapeHtml(c.header)}</th>`), "<th>Uploaded</th>", "<th>SHA-256</th>"];
  const rows = packages.map((p) => {
    const href = hrefOf ? hrefOf(p) : `${baseUrl}/assets/${encodeURIComponent(p.name)}`;
    const iso = p.createdAt.toISOString();
    return [
      `<td><a href="${escapeHtml(href)}" download>${escapeHtml(p.name)}</a></td>`,
      `<td class="n">${formatSize(p.size)}</td>`,
      ...columns.map((c) => `<td class="n">${escapeHtml(String(c.cell(p)))}</td>`),
      `<td><time datetime="${iso}">${iso.replace("T", " ").slice(0, 19)} UTC</time></td>`,
      `<td><code>${escapeHtml(p.sha256)}</code></td>`,
    ].join("");
  });
  return `<table><thead><tr>${head.join("")}</tr></thead>\n<tbody>\n${rows.map((r) => `<tr>${r}</tr>`).join("\n")}\n</tbody></table>`;
}

/** The page layout. `title` is plain text; `heading` and `content` are HTML the caller escaped. */
export function htmlPage(title: string, heading: string, content: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1f24}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #d0d7de}
.n{text-align:right;white-space:nowrap}code{font-size:.8rem;word-break:break-all}
</style>
</head>
<body>
<h1>${heading}</h1>
${content}
</body>
</html>
`;
}

/** Headers for an HTML page: nothing but inline styles may load or run. */
export const HTML_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
} as const;

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
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

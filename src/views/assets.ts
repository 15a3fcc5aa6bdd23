// A table of packages: name and download link, size, upload time (relative and
// exact), download count, the SHA-256 shortened with a copy button. On a narrow
// screen app.css turns each row into a small card, so nothing scrolls sideways.

import { escapeHtml } from "../http.js";
import type { PackageEntry } from "../store/index.js";
import { exactTime, formatSize, relativeTime } from "./format.js";
import { copyButton } from "./layout.js";

export interface AssetTableOptions {
  /** Public URL the download links start with. */
  site: string;
  now: Date;
  /** Completed downloads; the column is left out when absent. */
  downloads?: (p: PackageEntry) => number;
}

export function assetTable(packages: readonly PackageEntry[], { site, now, downloads }: AssetTableOptions): string {
  if (packages.length === 0) return '<p class="empty">No packages.</p>';
  const head = `<tr><th scope="col">Name</th><th scope="col" class="n">Size</th><th scope="col">Uploaded</th>${downloads ? '<th scope="col" class="n">Downloads</th>' : ""}<th scope="col">SHA-256</th></tr>`;
  const rows = packages.map((p) => assetRow(p, site, now, downloads)).join("\n");
  return `<div class="table-wrap"><table class="assets"><thead>${head}</thead>\n<tbody>\n${rows}\n</tbody></table></div>`;
}

function assetRow(p: PackageEntry, site: string, now: Date, downloads?: (p: PackageEntry) => number): string {
  const name = escapeHtml(p.name);
  const href = escapeHtml(`${site}/assets/${encodeURIComponent(p.name)}`);
  const iso = p.createdAt.toISOString();
  const count = downloads ? `<td class="n" data-label="Downloads">${downloads(p).toLocaleString("en-US")}</td>` : "";
  return (
    `<tr data-name="${escapeHtml(p.name.toLowerCase())}">` +
    `<td class="name"><a href="${href}" download>${name}</a></td>` +
    `<td class="n" data-label="Size">${formatSize(p.size)}</td>` +
    `<td data-label="Uploaded"><time datetime="${iso}" title="${exactTime(p.createdAt)}">${relativeTime(p.createdAt, now)}</time> <span class="exact">${exactTime(p.createdAt)}</span></td>` +
    count +
    `<td class="digest" data-label="SHA-256"><code title="${p.sha256}">${p.sha256.slice(0, 12)}…</code>${copyButton(p.sha256, `Copy the SHA-256 of ${p.name}`)}</td>` +
    `</tr>`
  );
}
